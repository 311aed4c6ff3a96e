#!/bin/sh
# Creates the Opeka roles on the first start of an empty data directory (run by the
# postgres image's entrypoint as the superuser). The owner role owns the schemas and runs
# migrations; each service logs in as its own role (opeka_identity, opeka_cases, ...),
# neither superuser nor BYPASSRLS, so Row-Level Security applies to it, and
# `opeka migrate` grants each role its own schema only.
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_pw="$OPEKA_OWNER_PASSWORD" \
    -v identity_pw="$OPEKA_IDENTITY_DB_PASSWORD" -v cases_pw="$OPEKA_CASES_DB_PASSWORD" \
    -v files_pw="$OPEKA_FILES_DB_PASSWORD" -v notifications_pw="$OPEKA_NOTIFICATIONS_DB_PASSWORD" \
    -v scheduler_pw="$OPEKA_SCHEDULER_DB_PASSWORD" -v gateway_pw="$OPEKA_GATEWAY_DB_PASSWORD" <<'SQL'
CREATE ROLE opeka_owner LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'owner_pw';
CREATE ROLE opeka_identity LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'identity_pw';
CREATE ROLE opeka_cases LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'cases_pw';
CREATE ROLE opeka_files LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'files_pw';
CREATE ROLE opeka_notifications LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'notifications_pw';
CREATE ROLE opeka_scheduler LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'scheduler_pw';
CREATE ROLE opeka_gateway LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'gateway_pw';
CREATE DATABASE opeka OWNER opeka_owner;
REVOKE ALL ON DATABASE opeka FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE opeka
    TO opeka_identity, opeka_cases, opeka_files, opeka_notifications, opeka_scheduler, opeka_gateway;
SQL
