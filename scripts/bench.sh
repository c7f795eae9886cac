#!/usr/bin/env bash
# Side-by-side benchmarks against the reference stacks the product replaces
# (Django + DRF + PostgreSQL, Huey + Redis; see docs/benchmarks.md).
#
# Usage: scripts/bench.sh [api|queue|search|all] [--quick]
#   api     GET/POST /api/worklogs against Django under the same wrk load; reward drain;
#           deep and filtered pages at 2 x 10,000 entries; idle and peak RSS; start-up
#   queue   the in-process queue core and Huey + Redis; no-op workflow jobs over HTTP
#   search  full-text search over 50,000 entries, 1 and 16 clients
#   all     all three (the default)
#
# Installs what it needs when missing (wrk, PostgreSQL, Redis from Debian; the
# references' Python packages in their own venvs under $BENCH_STATE), builds the
# release binaries (BENCH_PROFILE picks another profile), and stops everything it
# started.
# Environment: BENCH_REF (default ../shared/bench), BENCH_STATE (default
# ${TMPDIR:-/tmp}/afterresume-bench), DURATION (wrk phase length, default 15s).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

what="${1:-all}"
case "$what" in
    api | queue | search | all) ;;
    *)
        echo "usage: scripts/bench.sh [api|queue|search|all] [--quick]" >&2
        exit 2
        ;;
esac

export BENCH_REF="${BENCH_REF:-$(cd .. && pwd)/shared/bench}"
export BENCH_STATE="${BENCH_STATE:-${TMPDIR:-/tmp}/afterresume-bench}"
if [ ! -d "$BENCH_REF/django-ref" ]; then
    echo "error: the reference stacks are not at $BENCH_REF (set BENCH_REF)" >&2
    exit 1
fi

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v pg_ctl >/dev/null || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
if [ "${#need[@]}" -gt 0 ]; then
    echo "==> apt-get install ${need[*]}"
    if [ "$(id -u)" != 0 ]; then
        echo "error: installing ${need[*]} needs root" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Debian keeps pg_ctl and initdb out of PATH.
if ! command -v pg_ctl >/dev/null; then
    pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    export PATH="$pg_bin:$PATH"
fi

profile="${BENCH_PROFILE:-release}"
echo "==> cargo build --profile $profile --bins"
cargo build --profile "$profile" --bins
export BENCH_PROFILE="$profile"
export AFTERRESUME_BIN="${CARGO_TARGET_DIR:-target}/$profile/afterresume"

exec python3 scripts/bench.py "$@"
