#!/usr/bin/env bash
# One-command start: builds the release binaries, starts the LLM sidecar in the
# background and the AfterResume server in the foreground. Ctrl-C stops both.
# On first run (no .env and no SECRET_KEY in the environment) it writes a .env
# with a random SECRET_KEY and ENVIRONMENT=development.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

random_hex() {
    if [ -r /dev/urandom ] && command -v od >/dev/null 2>&1; then
        od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
    else
        python3 -c 'import secrets; print(secrets.token_hex(32), end="")'
    fi
}

if [ ! -f .env ] && [ -z "${SECRET_KEY:-}" ]; then
    echo "==> creating .env with a random SECRET_KEY (ENVIRONMENT=development)"
    (
        umask 077
        {
            echo "# Written by scripts/run.sh; see .env.example for every variable."
            echo "SECRET_KEY=$(random_hex)"
            echo "ENVIRONMENT=development"
        } > .env
    )
fi

# Value of a variable: the environment wins, then .env, then the default.
setting() {
    local name="$1" default="$2" value=""
    value="$(printenv "$name" || true)"
    if [ -z "$value" ] && [ -f .env ]; then
        value="$(grep -E "^[[:space:]]*${name}=" .env | tail -n 1 | cut -d= -f2- | tr -d "\"'" || true)"
    fi
    printf '%s' "${value:-$default}"
}

# The web UI: built into ui/dist when missing or stale; the server serves it at /.
echo "==> web UI (scripts/ui.sh)"
if ! scripts/ui.sh; then
    echo "warning: the web UI could not be built (Node 20+ with npm is needed); the API still runs" >&2
fi

echo "==> cargo build --release --bins"
cargo build --release --bins

bin_dir="${CARGO_TARGET_DIR:-target}/release"

# Real weights when they can be installed; otherwise the sidecar serves its
# deterministic fake backend and the platform its offline `local` provider.
echo "==> model weights (scripts/models.sh)"
if scripts/models.sh; then
    provider_default=sidecar
else
    echo "warning: model weights unavailable: LLM features use the offline local provider" >&2
    export LLM_SIDECAR_BACKEND="${LLM_SIDECAR_BACKEND:-fake}"
    provider_default=local
fi
LLM_PROVIDER="$(setting LLM_PROVIDER "$provider_default")"
export LLM_PROVIDER

sidecar_port=8081
echo "==> starting llm-sidecar on 127.0.0.1:${sidecar_port}"
"$bin_dir/llm-sidecar" --host 127.0.0.1 --port "$sidecar_port" &
sidecar_pid=$!
trap 'kill "$sidecar_pid" 2>/dev/null || true; wait "$sidecar_pid" 2>/dev/null || true' EXIT

host="$(setting HOST 127.0.0.1)"
port="$(setting PORT 8000)"
case "$host" in
    0.0.0.0 | "::" | "[::]") url_host=127.0.0.1 ;;
    *:*) url_host="[$host]" ;;
    *) url_host="$host" ;;
esac
echo "==> starting afterresume serve (LLM_PROVIDER=${LLM_PROVIDER})"
echo "    AfterResume API:  http://${url_host}:${port}/api/"
echo "    API docs:         http://${url_host}:${port}/api/docs"
echo "    Press Ctrl-C to stop."
"$bin_dir/afterresume" serve
