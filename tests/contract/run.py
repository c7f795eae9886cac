"""The API contract check: schemathesis against the real binary (an owner's token and a
staff token), then a Python client generated from openapi/openapi.json running the main
journey (journey.py) against the same server.

Usage: run.py BIN   (run by scripts/contract.sh with the tools of .venv-tools)
Environment: CONTRACT_EXAMPLES (examples per operation, default 10), CONTRACT_SEED
(default 1, so that CI runs the same cases every time; `random` for a fresh draw).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(sys.executable).parent
BIN = sys.argv[1]
EXAMPLES = os.environ.get("CONTRACT_EXAMPLES", "10")
SEED = os.environ.get("CONTRACT_SEED", "1")
PASSWORD = "correct horse battery staple"
# The checks and their per-phase and per-operation settings are in schemathesis.toml.


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    work = Path(tempfile.mkdtemp(prefix="afterresume-contract-"))
    env = dict(
        os.environ,
        SECRET_KEY="contract-" + "x" * 56,
        ENVIRONMENT="development",
        SURREAL_URL=f"surrealkv://{work}/db",
        QUEUE_PATH=f"{work}/queue",
        ARTIFACTS_ROOT=f"{work}/artifacts",
        UI_DIR=str(work / "no-ui"),
        LLM_PROVIDER="fake",
        RUST_LOG="warn",
        # The fuzzer sends thousands of requests from one address and one account.
        AUTH_RATE_LIMIT_PER_MINUTE="100000",
        API_RATE_LIMIT_PER_MINUTE="1000000",
        WORKLOG_ENTRIES_PER_HOUR="0",
    )

    def cli(*args):
        return subprocess.run(
            [BIN, *args], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()

    # The CLI opens the database itself, so everything it makes comes before `serve`.
    cli("admin", "create-staff", "--email", "staff@contract.test", "--password", PASSWORD)
    fuzz_passkey = cli("admin", "invite")
    journey_passkey = cli("admin", "invite")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(work / "server.log", "w")
    server = subprocess.Popen(
        [BIN, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    failed = []
    try:
        wait_ready(base, server)
        tokens = seed(base, fuzz_passkey)
        started = time.monotonic()
        for name, token in tokens.items():
            if not fuzz(base, name, token, work):
                failed.append(f"schemathesis ({name})")
        print(f"schemathesis: {time.monotonic() - started:.0f} s for both runs")
        if not python_client(base, journey_passkey, work):
            failed.append("python client")
    finally:
        server.terminate()
        server.wait(timeout=30)
    if failed:
        print(f"contract: FAILED: {', '.join(failed)} (server log: {work / 'server.log'})")
        sys.exit(1)
    shutil.rmtree(work, ignore_errors=True)
    print("contract: all checks passed")


def wait_ready(base, server):
    for _ in range(300):
        if server.poll() is not None:
            sys.exit(f"the server exited with {server.returncode}")
        try:
            urllib.request.urlopen(base + "/api/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("the server did not become healthy in 30 s")


def call(base, method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, method=method, data=data, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def seed(base, passkey):
    """An owner with a few entries (some without tags) and the staff user; their tokens."""
    call(
        base,
        "POST",
        "/api/auth/signup",
        {
            "passkey": passkey,
            "email": "owner@contract.test",
            "password": PASSWORD,
            "display_name": "Owner",
            "tenant_name": "Contract",
        },
    )
    login = lambda email: call(
        base, "POST", "/api/auth/token", {"email": email, "password": PASSWORD}
    )["access_token"]
    owner, staff = login("owner@contract.test"), login("staff@contract.test")
    for i in range(5):
        call(
            base,
            "POST",
            "/api/worklogs",
            {
                "date": f"2026-11-0{i + 1}",
                "content": f"Seed entry {i}",
                "tags": ["seed"] if i % 2 else [],
            },
            owner,
        )
    return {"owner": owner, "staff": staff}


def fuzz(base, name, token, work):
    cmd = [
        str(TOOLS / "st"),
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        base + "/api/openapi.json",
        "--url",
        base + "/api",
        "-H",
        "Authorization: Bearer " + token,
        "--max-examples",
        EXAMPLES,
        "--request-timeout",
        "20",
        "--no-color",
    ]
    if SEED != "random":
        cmd += ["--seed", SEED, "--generation-deterministic"]
    # In the scratch folder: schemathesis keeps a cache of found failures in its cwd.
    r = subprocess.run(
        cmd, capture_output=True, text=True, cwd=work, env=dict(os.environ, NO_COLOR="1")
    )
    out = r.stdout + r.stderr
    (work / f"schemathesis-{name}.log").write_text(out)
    summary = [l for l in out.splitlines() if re.search(r"generated|passed|failures?,|❌", l)]
    print(f"== schemathesis as {name}: exit {r.returncode}")
    print("\n".join(summary[-8:]))
    if r.returncode != 0:
        print(out[-6000:])
    return r.returncode == 0


def python_client(base, passkey, work):
    out_dir = work / "python-client"
    config = work / "opc.yaml"
    config.write_text(
        "post_hooks: []\n"
        "project_name_override: afterresume-client\n"
        "package_name_override: afterresume_client\n"
    )
    r = subprocess.run(
        [
            str(TOOLS / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "openapi" / "openapi.json"),
            "--output-path",
            str(out_dir),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
    )
    generated = r.stdout + r.stderr
    warnings = [l for l in generated.splitlines() if re.search(r"warning", l, re.I)]
    print(f"== openapi-python-client: exit {r.returncode}, {len(warnings)} warnings")
    if r.returncode != 0 or warnings:
        print(generated[-4000:])
        return False
    j = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("journey.py")), base + "/api", passkey],
        env=dict(os.environ, PYTHONPATH=str(out_dir)),
        capture_output=True,
        text=True,
    )
    print("== Python journey")
    print((j.stdout + j.stderr).rstrip())
    return j.returncode == 0


if __name__ == "__main__":
    main()
