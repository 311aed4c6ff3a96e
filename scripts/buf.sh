#!/usr/bin/env bash
# Runs a pinned buf (from npm's @bufbuild/buf, kept in the tools cache) on proto/:
# `scripts/buf.sh lint`, `scripts/buf.sh breaking` (against the merge base with main).
set -euo pipefail
. "$(dirname "$0")/tools.sh"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="$OPEKA_TOOLS_DIR/buf-$BUF_VERSION"
BUF="$DIR/node_modules/.bin/buf"
if ! [ -x "$BUF" ]; then
    log "npm install @bufbuild/buf@$BUF_VERSION"
    npm install --prefix "$DIR" --no-save --no-audit --no-fund --silent "@bufbuild/buf@$BUF_VERSION"
fi
cd "$ROOT"
case "${1:-lint}" in
    lint) exec "$BUF" lint proto ;;
    breaking)
        # What main released is the contract: compare with where this branch left it
        # (on main itself, with the previous commit). BUF_AGAINST overrides.
        if [ -z "${BUF_AGAINST:-}" ]; then
            base=""
            for ref in "${BUF_MAIN:-main}" origin/main; do
                base="$(git merge-base HEAD "$ref" 2>/dev/null)" && break
            done
            [ -n "$base" ] || { log "no merge base with main: fetch it, or set BUF_AGAINST"; exit 1; }
            [ "$base" = "$(git rev-parse HEAD)" ] && base="$(git rev-parse HEAD~1)"
            # A worktree's .git is a file; the common dir holds every ref.
            BUF_AGAINST="$(git rev-parse --path-format=absolute --git-common-dir)#format=git,ref=$base,subdir=proto"
        fi
        exec "$BUF" breaking proto --against "$BUF_AGAINST" ;;
    *) exec "$BUF" "$@" ;;
esac
