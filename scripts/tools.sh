#!/usr/bin/env bash
# Installs the real servers and tools the tests use into .venv-tools/ (git-ignored):
# moto's S3 server (the MinIO/S3 stand-in for OpenDAL's s3 service), aiosmtpd (an SMTP
# server for mail tests), and the API contract check's schemathesis and
# openapi-python-client (pinned: a new release may add checks or change the generator).
#
# Idempotent and quiet when everything is already installed. Usage: scripts/tools.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=.venv-tools
py="$venv/bin/python"
packages=("moto[s3,server]" aiosmtpd "schemathesis==4.32.5" "openapi-python-client==0.29.1")

if [ ! -x "$py" ]; then
    echo "==> creating $venv"
    python3 -m venv "$venv"
fi

# One interpreter start answers for every package; pip runs only for what is missing.
mapfile -t need < <("$py" -c 'import sys, re
from importlib.metadata import PackageNotFoundError, version
for spec in sys.argv[1:]:
    name, _, pinned = re.sub(r"\[.*\]", "", spec).partition("==")
    try:
        installed = version(name)
    except PackageNotFoundError:
        print(spec)
        continue
    if pinned and installed != pinned:
        print(spec)' "${packages[@]}")
if [ "${#need[@]}" -gt 0 ]; then
    echo "==> pip install ${need[*]}"
    "$py" -m pip install -q --disable-pip-version-check "${need[@]}"
fi
[ -x "$venv/bin/moto_server" ] || { echo "error: moto_server missing from $venv" >&2; exit 1; }
