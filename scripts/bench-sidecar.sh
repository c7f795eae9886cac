#!/usr/bin/env bash
# Benchmarks llm-sidecar against llama.cpp (PyPI xllamacpp) on this machine, with the
# same GGUF (SmolLM2-135M-Instruct Q4_1) and the same number of threads: prefill and
# decode tokens/s for 1, 4 and 8 concurrent streams, time to first token and peak RSS,
# and the ratio sidecar / llama.cpp for each.
#
# Usage: scripts/bench-sidecar.sh
#   BENCH_THREADS     compute threads for both servers (default: every core)
#   BENCH_GEN_TOKENS  tokens generated per stream in the decode runs (default 128)
#   BENCH_PROMPT_REPS prefill prompt size in sentences of ~12 tokens (default 40)
#   BENCH_REPEAT      runs per measurement, the median is reported (default 1)
# Both servers run side by side; each measurement runs on one while the other idles,
# and the two are measured back to back so other load on the machine hits both alike.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

threads="${BENCH_THREADS:-$(nproc)}"
gen_tokens="${BENCH_GEN_TOKENS:-128}"
prompt_reps="${BENCH_PROMPT_REPS:-40}"
repeat="${BENCH_REPEAT:-1}"

scripts/models.sh
echo "==> cargo build --release -p llm-sidecar"
cargo build --release -p llm-sidecar
bin="${CARGO_TARGET_DIR:-target}/release/llm-sidecar"

exec .venv-tools/bin/python - "$bin" "$threads" "$gen_tokens" "$prompt_reps" "$repeat" <<'PY'
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

bin_path, threads, gen, reps, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
MODEL = "smollm2-135m-instruct"
GGUF = os.path.abspath("models/SmolLM2-135M-Instruct.Q4_1.gguf")
CONCURRENCY = [1, 4, 8]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, path, proc, name):
    t0 = time.time()
    while time.time() - t0 < 180:
        if proc.poll() is not None:
            sys.exit(f"{name} exited while starting")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"{name} did not become ready")


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def request(port, prompt, max_tokens, extra, out, i):
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": prompt}],
        "temperature": 0,
        "max_tokens": max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
        **extra,
    }
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    t0 = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        sys.exit(f"request failed: {resp.status} {resp.read()[:300]!r}")
    first, usage = None, None
    for line in resp:
        line = line.strip()
        if not line.startswith(b"data: "):
            continue
        data = line[6:]
        if data == b"[DONE]":
            break
        ev = json.loads(data)
        if ev.get("usage"):
            usage = ev["usage"]
        ch = ev.get("choices") or []
        if first is None and ch and (ch[0].get("delta") or {}).get("content"):
            first = time.perf_counter()
    end = time.perf_counter()
    if usage is None:
        sys.exit("no usage in the stream")
    out[i] = {"start": t0, "first": first or end, "end": end, "prompt": usage["prompt_tokens"], "completion": usage["completion_tokens"]}


def burst(port, prompts, max_tokens, extra):
    out = [None] * len(prompts)
    ts = [threading.Thread(target=request, args=(port, p, max_tokens, extra, out, i)) for i, p in enumerate(prompts)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


run_id = [0]


def unique(text):
    # A fresh number per request: no server may reuse another request's prompt.
    run_id[0] += 1
    return f"Request {run_id[0]}. {text}"


def long_prompt():
    body = " ".join(f"Item {i}: the quick brown fox jumps over the lazy dog near the river." for i in range(reps))
    return unique(f"Read this list and say OK.\n{body}")


def measure(port, extra, c):
    # Prefill: long prompts, one token out; throughput = prompt tokens / wall time.
    pre = burst(port, [long_prompt() for _ in range(c)], 1, extra)
    wall = max(r["end"] for r in pre) - min(r["start"] for r in pre)
    prefill = sum(r["prompt"] for r in pre) / wall
    # Decode: short prompts, `gen` tokens out; tokens after the first per second.
    dec = burst(port, [unique("Write a long, detailed story about a lighthouse keeper.") for _ in range(c)], gen, extra)
    span = max(r["end"] for r in dec) - min(r["first"] for r in dec)
    decode = sum(max(r["completion"] - 1, 0) for r in dec) / span
    per_stream = statistics.mean(
        (r["completion"] - 1) / (r["end"] - r["first"]) for r in dec if r["completion"] > 1 and r["end"] > r["first"]
    )
    ttft = statistics.mean(r["first"] - r["start"] for r in dec) * 1000
    return {
        "prefill": prefill,
        "decode": decode,
        "per_stream": per_stream,
        "ttft": ttft,
        "ttft_long": statistics.mean(r["first"] - r["start"] for r in pre) * 1000,
        "tokens": sum(r["completion"] for r in dec) / c,
        "prompt_tokens": pre[0]["prompt"],
    }


def median_of(port, extra, c):
    runs = [measure(port, extra, c) for _ in range(repeat)]
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


env = dict(os.environ)
env.update({
    "HOST": "127.0.0.1",
    "LLM_MODELS_DIR": os.path.abspath("models"),
    "LLM_LOAD_MODELS": MODEL,
    "LLM_THREADS": str(threads),
    "LLM_MAX_BATCH": "8",
    "LLM_QUEUE_CAPACITY": "64",
    "SKIP_SERVICE_AUTH": "true",
    "RUST_LOG": "warn",
})
sc_port, lc_port = free_port(), free_port()
env["PORT"] = str(sc_port)
procs = []
try:
    sc = subprocess.Popen([bin_path], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(sc)
    lc = subprocess.Popen(
        [sys.executable, "llm-sidecar/tests/support/xllamacpp_server.py", "--model", GGUF, "--port", str(lc_port),
         "--alias", MODEL, "--threads", str(threads), "--parallel", "8", "--ctx", str(8 * (reps * 16 + gen + 128))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(lc)
    wait_ready(sc_port, "/readyz", sc, "llm-sidecar")
    wait_ready(lc_port, "/health", lc, "xllamacpp")
    # llama.cpp would otherwise reuse cached prompt prefixes; the sidecar has no cache.
    lc_extra = {"cache_prompt": False}
    for port, extra in ((sc_port, {}), (lc_port, lc_extra)):
        burst(port, [unique("Warm up.")], 8, extra)

    print(f"\nSmolLM2-135M-Instruct Q4_1, {threads} threads, {gen} tokens per decode stream, "
          f"median of {repeat} run(s); ratio = sidecar / llama.cpp")
    rows = []
    for c in CONCURRENCY:
        s = median_of(sc_port, {}, c)
        l = median_of(lc_port, lc_extra, c)
        rows.append((c, s, l))
        print(f"  measured {c} stream(s): prompt {s['prompt_tokens']:.0f} tokens, "
              f"{s['tokens']:.0f} / {l['tokens']:.0f} tokens generated per stream (sidecar / llama.cpp)", flush=True)

    def line(label, s, l, unit, better):
        ratio = s / l if l else float("nan")
        print(f"  {label:<34} {s:>10.1f} {l:>11.1f} {ratio:>7.2f}x  {unit} ({better} is better)")

    print(f"\n  {'':<34} {'sidecar':>10} {'llama.cpp':>11} {'ratio':>8}")
    for c, s, l in rows:
        line(f"prefill, {c} stream(s)", s["prefill"], l["prefill"], "tok/s", "higher")
        line(f"decode, {c} stream(s), total", s["decode"], l["decode"], "tok/s", "higher")
        line(f"decode, {c} stream(s), per stream", s["per_stream"], l["per_stream"], "tok/s", "higher")
        line(f"TTFT short prompt, {c} stream(s)", s["ttft"], l["ttft"], "ms", "lower")
        line(f"TTFT long prompt, {c} stream(s)", s["ttft_long"], l["ttft_long"], "ms", "lower")
    line("peak RSS", peak_rss_mib(sc.pid), peak_rss_mib(lc.pid), "MiB", "lower")
    print("  (llama.cpp's RSS includes its Python host process)")
finally:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
PY
