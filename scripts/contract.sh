#!/usr/bin/env bash
# The API contract check against the debug build: schemathesis (owner and staff tokens,
# every response check and the request-side checks), then a Python client generated
# from openapi/openapi.json running the main journey. See tests/contract/run.py.
# Usage: scripts/contract.sh   (after `cargo build --workspace --bins`; honours CARGO_TARGET_DIR)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/tools.sh
exec .venv-tools/bin/python tests/contract/run.py "${CARGO_TARGET_DIR:-target}/debug/afterresume"
