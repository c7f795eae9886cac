#!/usr/bin/env bash
# Runs every check CI runs: the web UI's type-check, unit tests and API-client drift;
# formatting, the layering rules, clippy, build, all Rust tests, OpenAPI drift, the API
# contract check (schemathesis + a generated Python client); the browser end-to-end test.
# Usage: scripts/test.sh   (from anywhere; honours CARGO_TARGET_DIR)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR=never

step() {
    printf '\n==> %s\n' "$*"
    "$@"
}

step scripts/tools.sh
step scripts/models.sh
# The web UI first: its type-check, unit tests and generated API client need no Rust.
step scripts/ui.sh
step npm --prefix ui run --silent check:api
step npm --prefix ui run --silent test
step cargo fmt --all -- --check
# Which module may import which (the HTTP layer on top, the store at the bottom).
step python3 scripts/layering.py
# --no-deps: vendored path dependencies (vendor/) are linted by their upstream, not here.
step cargo clippy --workspace --all-targets --no-deps -- -D warnings
step cargo build --workspace --bins
step cargo test --workspace --no-fail-fast

bin="${CARGO_TARGET_DIR:-target}/debug/afterresume"
generated="$(mktemp "${TMPDIR:-/tmp}/openapi.generated.XXXXXX.json")"
trap 'rm -f "$generated"' EXIT
printf '\n==> %s\n' "OpenAPI drift check: $bin openapi vs openapi/openapi.json"
"$bin" openapi > "$generated"
if ! diff -u openapi/openapi.json "$generated"; then
    echo "error: openapi/openapi.json is stale: run scripts/openapi.sh" >&2
    exit 1
fi

# The document against the server: schemathesis, and a generated Python client's journey.
step scripts/contract.sh

# The SPA in Debian's Chromium against this build (screenshots of every page are listed
# at the end of its output).
step scripts/ui-e2e.sh

printf '\n==> all checks passed\n'
