#!/usr/bin/env bash
# Browser end-to-end test of the SPA against a real server (ui/e2e/run.mjs).
#
#   scripts/ui-e2e.sh                        # uses AFTERRESUME_BIN or /work/bin/afterresume
#   AFTERRESUME_BIN=$CARGO_TARGET_DIR/debug/afterresume scripts/ui-e2e.sh
#
# Idempotent and quiet when everything is present: installs Debian's Chromium when missing
# (never `playwright install`), runs `npm ci` when ui/node_modules is missing or older than
# package-lock.json, builds ui/dist when missing or older than the sources, then runs the test.
# The server serves ui/dist itself (run.mjs starts it with UI_DIR=<repo>/ui/dist); E2E_SERVE=proxy
# is only for a binary without UI_DIR support. Exits non-zero when a step fails.
# Other variables (E2E_SERVE, E2E_SCREENSHOTS, E2E_KEEP, E2E_PROFILE...) are documented in ui/e2e/run.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
ui=ui

if [[ -z "${CHROMIUM:-}" ]] && ! command -v chromium >/dev/null 2>&1; then
  echo "ui-e2e: installing chromium (apt)" >&2
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

if [[ ! -d $ui/node_modules || $ui/package-lock.json -nt $ui/node_modules ]]; then
  echo "ui-e2e: npm ci" >&2
  (cd $ui && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch $ui/node_modules
fi

stale_dist() {
  [[ ! -f $ui/dist/index.html ]] && return 0
  [[ -n $(find $ui/src $ui/index.html $ui/vite.config.ts $ui/tsconfig.json $ui/package.json $ui/public \
            -newer $ui/dist/index.html -print -quit 2>/dev/null) ]]
}
if stale_dist; then
  echo "ui-e2e: building ui/dist" >&2
  (cd $ui && npm run --silent build >/dev/null)
fi

export AFTERRESUME_BIN="${AFTERRESUME_BIN:-/work/bin/afterresume}"
cd $ui
exec node e2e/run.mjs "$@"
