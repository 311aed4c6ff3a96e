#!/usr/bin/env bash
# make run: ensure PostgreSQL and NATS, migrate, seed the demo tenant, serve
# every service in one process. Ctrl-C stops the suite and whatever this
# script started (NATS, a project-local PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
started_nats=0
started_pg=0
port_open "$NATS_PORT" || started_nats=1
port_open 5432 || started_pg=1
bash scripts/postgres.sh

# Every process authenticates to NATS with its own user (DESIGN.md §3).
# The passwords are generated once and kept, readable by this user only.
CREDS="$OPEKA_STATE_DIR/nats-credentials.env"
if ! [ -s "$CREDS" ]; then
    log "generating NATS passwords in $CREDS"
    ( umask 077
      for svc in IDENTITY CASES FILES NOTIFICATIONS SCHEDULER ADMIN; do
          echo "export OPEKA_NATS__${svc}__PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
      done > "$CREDS" )
fi
chmod 600 "$CREDS"
# shellcheck disable=SC1090
. "$CREDS"

export OPEKA_GATEWAY__ASSETS_DIR="${OPEKA_GATEWAY__ASSETS_DIR:-$PWD/services/gateway/web/node_modules}"
cargo build -q -p opeka
BIN="${CARGO_TARGET_DIR:-target}/debug/opeka"
NATS_CONF="$OPEKA_STATE_DIR/nats-$NATS_PORT.auth.conf"
( umask 077; "$BIN" nats-config > "$NATS_CONF" )
NATS_CONFIG="$NATS_CONF" bash scripts/nats.sh

cleanup() {
    trap - INT TERM EXIT
    [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    if [ "$started_nats" = 1 ] && [ -f "$OPEKA_STATE_DIR/nats-$NATS_PORT/pid" ]; then
        log "stopping the NATS server this run started"
        kill "$(cat "$OPEKA_STATE_DIR/nats-$NATS_PORT/pid")" 2>/dev/null || true
    fi
    if [ "$started_pg" = 1 ] && [ -f "$OPEKA_STATE_DIR/pgdata/PG_VERSION" ]; then
        log "stopping the local PostgreSQL this run started"
        BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
        if [ "$(id -u)" = 0 ]; then runuser -u opeka-pg -- "$BIN/pg_ctl" -D "$OPEKA_STATE_DIR/pgdata" stop -m fast >/dev/null || true
        else "$BIN/pg_ctl" -D "$OPEKA_STATE_DIR/pgdata" stop -m fast >/dev/null || true; fi
    fi
}
trap cleanup INT TERM EXIT

export OPEKA_NATS_URL="${OPEKA_NATS_URL:-nats://127.0.0.1:$NATS_PORT}"
"$BIN" migrate
echo
"$BIN" demo
echo
echo "Open the gateway below and sign in with the demo admin. Ctrl-C stops everything."
"$BIN" serve --services all &
server=$!
wait "$server"
