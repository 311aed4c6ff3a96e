#!/usr/bin/env bash
# Installs the gateway's front-end packages (htmx, FullCalendar) from npm; not committed.
set -euo pipefail
. "$(dirname "$0")/tools.sh"
WEB="$(cd "$(dirname "$0")/.." && pwd)/services/gateway/web"
[ -f "$WEB/package.json" ] || exit 0
if ! [ -d "$WEB/node_modules" ] || [ "$WEB/package-lock.json" -nt "$WEB/node_modules" ]; then
    log "npm ci in services/gateway/web"
    (cd "$WEB" && npm ci --no-audit --no-fund --silent)
    touch "$WEB/node_modules"
fi
