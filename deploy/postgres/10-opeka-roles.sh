#!/bin/sh
# Creates the two Opeka roles on the first start of an empty data directory (run by the
# postgres image's entrypoint as the superuser). The owner role owns the schemas and runs
# migrations; the app role is what the services log in as, and is neither superuser nor
# BYPASSRLS, so Row-Level Security applies to it.
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_pw="$OPEKA_OWNER_PASSWORD" -v app_pw="$OPEKA_APP_PASSWORD" <<'SQL'
CREATE ROLE opeka_owner LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'owner_pw';
CREATE ROLE opeka_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'app_pw';
CREATE DATABASE opeka OWNER opeka_owner;
REVOKE ALL ON DATABASE opeka FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE opeka TO opeka_app;
SQL
