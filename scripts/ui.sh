#!/usr/bin/env bash
# Builds the web UI (ui/dist) when it is missing or older than its sources, installing
# its npm packages first when ui/node_modules is missing or older than the lock file.
# Idempotent and silent when everything is current. Needs Node 20+ with npm.
#
#   scripts/ui.sh          # install + build when stale
#   scripts/ui.sh --force  # rebuild regardless
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ui=ui

if ! command -v npm >/dev/null 2>&1; then
    echo "error: npm (Node 20+) is needed to build the web UI" >&2
    exit 1
fi

if [[ ! -d $ui/node_modules || $ui/package-lock.json -nt $ui/node_modules ]]; then
    echo "==> npm ci (ui/)" >&2
    (cd $ui && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    touch $ui/node_modules
fi

stale_dist() {
    [[ ${1:-} == --force ]] && return 0
    [[ ! -f $ui/dist/index.html ]] && return 0
    [[ -n $(find $ui/src $ui/index.html $ui/vite.config.ts $ui/tsconfig.json $ui/package.json \
        $ui/package-lock.json $ui/public -newer $ui/dist/index.html -print -quit 2>/dev/null) ]]
}
if stale_dist "${1:-}"; then
    echo "==> building the web UI (ui/dist)" >&2
    (cd $ui && npm run --silent build >/dev/null)
fi
