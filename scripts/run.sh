#!/usr/bin/env bash
# make run: migrate, seed the demo tenant, serve every service in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPEKA_NATS_URL="${OPEKA_NATS_URL:-nats://127.0.0.1:4233}"
export OPEKA_GATEWAY__ASSETS_DIR="${OPEKA_GATEWAY__ASSETS_DIR:-$PWD/services/gateway/web/node_modules}"
cargo build -q -p opeka
BIN="${CARGO_TARGET_DIR:-target}/debug/opeka"
"$BIN" migrate
echo
"$BIN" demo
echo
echo "Open the gateway below and sign in with the demo admin. Ctrl-C stops everything."
exec "$BIN" serve --services all
