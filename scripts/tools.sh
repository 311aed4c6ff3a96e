# Shared by the scripts: where tools and local state live.
# shellcheck shell=bash
OPEKA_TOOLS_DIR="${OPEKA_TOOLS_DIR:-$HOME/.cache/opeka-tools}"
OPEKA_STATE_DIR="${OPEKA_STATE_DIR:-$HOME/.cache/opeka-state}"
NATS_VERSION="2.15.1"
BUF_VERSION="1.75.0"
NATS_PORT="${OPEKA_NATS_PORT:-4233}"
mkdir -p "$OPEKA_TOOLS_DIR" "$OPEKA_STATE_DIR"
log() { printf '%s\n' "[$(basename "$0")] $*" >&2; }
