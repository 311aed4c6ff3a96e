#!/usr/bin/env bash
# Drops databases left by earlier test runs (each test creates opeka_t_<uuid>).
set -euo pipefail
PG="${OPEKA_TEST_PG:-postgres://postgres@127.0.0.1:5432}"
psql -qAt "$PG/postgres" -c "select datname from pg_database where datname like 'opeka\_t\_%'" |
while read -r db; do
    psql -q "$PG/postgres" -c "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true
done
