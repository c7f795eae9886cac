"""Runs llama.cpp's OpenAI-compatible server (PyPI `xllamacpp`) in the foreground.

It stands in for vLLM in the sidecar's fallback tests and is the speed reference of
scripts/bench-sidecar.sh. xllamacpp ships no CLI, so this sets CommonParams and keeps
`xllamacpp.Server` alive until SIGTERM/SIGINT.

Usage: python xllamacpp_server.py --model FILE.gguf --port 8090 [--alias NAME]
       [--threads 2] [--ctx 4096] [--parallel 8] [--embedding]
"""

import argparse
import signal
import threading

import xllamacpp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--alias", action="append", default=[])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--embedding", action="store_true")
    args = ap.parse_args()

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.hostnames = [args.host]
    params.port = args.port
    # n_ctx is shared by all slots: each of the n_parallel slots gets n_ctx / n_parallel.
    params.n_ctx = args.ctx
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    if args.alias:
        params.model_alias = set(args.alias)
    if args.embedding:
        params.embedding = True

    server = xllamacpp.Server(params)  # noqa: F841  (kept alive until exit)
    print(f"xllamacpp listening on {args.host}:{args.port}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()


if __name__ == "__main__":
    main()
