#!/usr/bin/env bash
# Ensures headless Chromium and ChromeDriver (Debian packages) for browser tests.
set -euo pipefail
. "$(dirname "$0")/tools.sh"
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    exit 0
fi
log "installing chromium and chromium-driver from the OS packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
