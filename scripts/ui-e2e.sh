#!/usr/bin/env bash
# Browser end-to-end test of the SPA against a real server (ui/e2e/run.mjs).
#
#   scripts/ui-e2e.sh                  # the debug build: ${CARGO_TARGET_DIR:-target}/debug/afterresume
#   AFTERRESUME_BIN=path/to/afterresume scripts/ui-e2e.sh
#
# Idempotent and quiet when everything is present: installs Debian's Chromium when missing
# (never `playwright install`), installs and builds the UI when stale (scripts/ui.sh), then
# runs the test.
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

scripts/ui.sh

target="${CARGO_TARGET_DIR:-target}"
[[ $target == /* ]] || target="$PWD/$target"
export AFTERRESUME_BIN="${AFTERRESUME_BIN:-$target/debug/afterresume}"
cd $ui
exec node e2e/run.mjs "$@"
