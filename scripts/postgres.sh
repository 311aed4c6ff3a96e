#!/usr/bin/env bash
# Ensures PostgreSQL answers on 127.0.0.1:5432: the machine's own cluster if
# it is there (starting it if stopped), otherwise installs the OS package and
# runs a project-local cluster under $OPEKA_STATE_DIR.
set -euo pipefail
. "$(dirname "$0")/tools.sh"

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if command -v pg_isready >/dev/null && ready; then
    exit 0
fi
if ls /etc/postgresql/*/main >/dev/null 2>&1; then
    ver="$(ls /etc/postgresql | head -n1)"
    log "starting the machine's PostgreSQL $ver"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    for _ in $(seq 1 50); do ready && exit 0; sleep 0.2; done
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    log "installing PostgreSQL from the OS packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
fi
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
DATA="$OPEKA_STATE_DIR/pgdata"
RUNAS=()
if [ "$(id -u)" = 0 ]; then
    id opeka-pg >/dev/null 2>&1 || useradd --system --no-create-home opeka-pg
    mkdir -p "$DATA" && chown -R opeka-pg "$DATA"
    RUNAS=(runuser -u opeka-pg --)
fi
if ! [ -f "$DATA/PG_VERSION" ]; then
    log "initialising a local PostgreSQL cluster in $DATA"
    "${RUNAS[@]}" "$BIN/initdb" -D "$DATA" -U postgres --auth=trust >/dev/null
fi
log "starting local PostgreSQL on 127.0.0.1:5432"
"${RUNAS[@]}" "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -o "-h 127.0.0.1 -p 5432 -k /tmp" -w start >/dev/null
ready
