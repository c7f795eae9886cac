#!/usr/bin/env bash
# Regenerates openapi/openapi.json from the server's `afterresume openapi`.
# Run it after changing any API endpoint, and commit the result (it also regenerates the
# web UI's typed client, ui/src/api/schema.d.ts).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "==> cargo build --bin afterresume"
cargo build --bin afterresume

bin="${CARGO_TARGET_DIR:-target}/debug/afterresume"
mkdir -p openapi
tmp="$(mktemp openapi/.openapi.json.XXXXXX)"
trap 'rm -f "$tmp"' EXIT
echo "==> $bin openapi > openapi/openapi.json"
"$bin" openapi > "$tmp"
chmod 644 "$tmp"
mv "$tmp" openapi/openapi.json
echo "wrote openapi/openapi.json"

# The SPA's typed client is generated from the same file.
if [ -d ui/node_modules ]; then
    echo "==> npm --prefix ui run gen:api"
    npm --prefix ui run --silent gen:api
else
    echo "note: run \`scripts/ui.sh && npm --prefix ui run gen:api\` to regenerate the UI's API types" >&2
fi
