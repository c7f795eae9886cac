#!/usr/bin/env python3
"""Side-by-side benchmarks: AfterResume against the stacks it replaces, in one run.

Called by scripts/bench.sh (which installs the tools and builds the binary); see
docs/benchmarks.md for what each figure means. Standard library only.

Every reference is started here, measured under the same load as AfterResume, and
stopped again by PID. AfterResume runs on its defaults (embedded SurrealDB on disk,
sled queue, fs artifacts) with only the rate limits and quotas lifted.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
REF = os.environ.get("BENCH_REF", os.path.join(os.path.dirname(REPO), "shared", "bench"))
STATE = os.environ.get("BENCH_STATE", os.path.join(tempfile.gettempdir(), "afterresume-bench"))
BIN = os.environ.get("AFTERRESUME_BIN", os.path.join(REPO, "target", "release", "afterresume"))
PROFILE = os.environ.get("BENCH_PROFILE", "release")
DURATION = os.environ.get("DURATION", "15s")
CONNS = int(os.environ.get("CONNS", "32"))
THREADS = int(os.environ.get("THREADS", "2"))
QUICK = "--quick" in sys.argv
PASSWORD = "correct horse battery staple"
REPORT_LUA = os.path.join(REF, "load", "report.lua")
LUA = os.path.join(HERE, "bench")

WORDS = (
    "deployed billing service reviewed caching latency database migration onboarding "
    "incident postmortem dashboard pipeline search index refactor customer interview "
    "roadmap kubernetes terraform metrics alerting frontend accessibility payments "
    "invoice report security audit release rollback queue worker throughput mentoring"
).split()

RESULTS = []  # (section, name, ours, reference, ratio text, target text)


def log(msg):
    print(msg, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method, url, body=None, token=None, ctype="application/json", timeout=120):
    data = None
    headers = {"Accept": "application/json"}
    if body is not None:
        data = body if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
        headers["Content-Type"] = ctype
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def must(status_body, ok=(200, 201, 202, 204)):
    status, body = status_body
    if status not in ok:
        raise SystemExit(f"unexpected answer {status}: {body}")
    return body


def wrk(url, script, token, conns=CONNS, threads=THREADS, duration=DURATION, extra_env=None):
    """Runs wrk with one of the Lua scripts; returns the parsed RESULT line."""
    env = dict(os.environ, TOKEN=token, REPORT_LUA=REPORT_LUA, **(extra_env or {}))
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}", "--timeout", "10s", "--latency",
         "-s", script, url],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    line = next((l for l in out.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no RESULT line:\n{out}")
    r = {k: float(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
    if r["non2xx"] or r["socket_errors"]:
        log(f"    warning: {int(r['non2xx'])} non-2xx answers, "
            f"{int(r['socket_errors'])} socket errors")
    return r


def fmt_load(r):
    return f"{r['req_per_s']:,.0f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms"


def proc_status(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0  # kB -> MiB
    except OSError:
        pass
    return float("nan")


def result(section, name, ours, ref="", ratio="", target=""):
    RESULTS.append((section, name, ours, ref, ratio, target))
    log(f"  {name}: {ours}" + (f"  | reference {ref}" if ref else "") + (f"  | {ratio}" if ratio else ""))


# ---------------------------------------------------------------- AfterResume


class AfterResume:
    """One `afterresume serve` on a fresh data directory, with a staff user."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix=f"bench-{name}-", dir=STATE)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            SECRET_KEY="bench-secret-key-0123456789abcdef0123456789abcdef",
            ENVIRONMENT="development",
            RUST_LOG="warn",
            DATA_DIR=self.dir,
            UI_DIR=os.path.join(self.dir, "no-ui"),
            LLM_PROVIDER="local",
            HOST="127.0.0.1",
            PORT=str(self.port),
            # Lifted for the load generator; everything else is the shipped default.
            API_RATE_LIMIT_PER_MINUTE="1000000000",
            AUTH_RATE_LIMIT_PER_MINUTE="1000000",
            WORKLOG_ENTRIES_PER_HOUR="0",
            LLM_TOKENS_PER_MONTH="0",
            JOB_TENANT_MAX_QUEUED="100000000",
            IMPORT_ROWS_PER_DAY="0",
        )
        self.cli("admin", "create-staff", "--email", "staff@bench.test", "--password", PASSWORD,
                 "--name", "Staff")
        self.proc = None
        self.startup_s = None

    def cli(self, *args):
        out = subprocess.run([BIN, *args], env=self.env, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"afterresume {' '.join(args)} failed:\n{out.stderr}")
        return out.stdout

    def start(self):
        started = time.monotonic()
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen([BIN, "serve"], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        while True:
            try:
                if request("GET", self.base + "/api/healthz", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit(f"afterresume serve exited; see {self.log.name}")
            if time.monotonic() - started > 30:
                raise SystemExit("afterresume serve did not answer within 30 s")
            time.sleep(0.005)
        self.startup_s = time.monotonic() - started

    def halt(self):
        """Stops the server gracefully (SIGTERM), keeping its data."""
        if self.proc and self.proc.poll() is None:
            self.peak = max(getattr(self, "peak", 0.0), self.peak_rss())
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self, **env):
        """The same data under a new process with `env` changed."""
        self.halt()
        self.env.update(env)
        self.start()

    def stop(self):
        self.halt()
        shutil.rmtree(self.dir, ignore_errors=True)

    def rss(self):
        return proc_status(self.proc.pid, "VmRSS")

    def peak_rss(self):
        return proc_status(self.proc.pid, "VmHWM")

    def login(self, email):
        body = must(request("POST", self.base + "/api/auth/token",
                            {"email": email, "password": PASSWORD}))
        return body["access_token"]

    def owner(self, email):
        """A new workspace owned by `email` (invited by the CLI); returns a token."""
        # The CLI can't open the database while the server holds it: ask staff.
        staff = self.login("staff@bench.test")
        passkey = must(request("POST", self.base + "/api/admin/invitations", {}, token=staff))["passkey"]
        body = must(request("POST", self.base + "/api/auth/signup",
                            {"passkey": passkey, "email": email, "password": PASSWORD,
                             "display_name": email.split("@")[0]}))
        return body["access_token"]

    def import_entries(self, token, rows, chunk=5000):
        for i in range(0, len(rows), chunk):
            must(request("POST", self.base + "/api/worklogs/import?format=json",
                         json.dumps(rows[i:i + chunk]).encode(), token=token))

    def drain(self, token, limit_s=3600):
        """Waits until the token's workspace has no queued or running jobs."""
        started = time.monotonic()
        while time.monotonic() - started < limit_s:
            bar = must(request("GET", self.base + "/api/status/bar", token=token))
            if bar["jobs_queued"] == 0 and bar["jobs_running"] == 0:
                return time.monotonic() - started
            time.sleep(0.05)
        raise SystemExit("jobs did not drain")


def seed_rows(n, offset=0):
    """Rows like the Django reference's seed: a year of days, 7 rotating tags."""
    rows = []
    for j in range(offset, offset + n):
        day = 1 + (j * 7919) % 365
        month, dom = divmod(day - 1, 28)
        rows.append({
            "date": f"2026-{1 + month % 11:02d}-{1 + dom:02d}",
            "title": f"seed log {j}",
            "content": "lorem ipsum " * 20,
            "tags": ["seed", f"t{j % 7}"],
            "outcome": "done",
        })
    return rows


def sentence(seed, n):
    x = (seed * 2654435761 + 1) & 0xFFFFFFFFFFFFFFFF
    out = []
    for _ in range(n):
        x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 7
        x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
        out.append(WORDS[x % len(WORDS)])
    return " ".join(out)


# ---------------------------------------------------------------- references


def sh(*args, env=None, check=True):
    return subprocess.run(list(args), env=dict(os.environ, REF_STATE=env) if env else None,
                          capture_output=True, text=True, check=check)


def django_run():
    """The Django reference: setup, start, the same wrk load, stop."""
    state = os.path.join(STATE, "django-ref")
    port = free_port()
    ref = os.path.join(REF, "django-ref")
    log("==> Django + DRF + PostgreSQL reference (2 x 1,000 seeded entries)")
    out = sh(os.path.join(ref, "setup.sh"), "20", "1000", env=state, check=False)
    if out.returncode != 0:
        raise SystemExit(f"django-ref/setup.sh failed:\n{out.stdout}\n{out.stderr}")
    sh(os.path.join(ref, "start.sh"), str(port), env=state)
    try:
        base = f"http://127.0.0.1:{port}"
        token = sh(os.path.join(REF, "load", "token.sh"), base, env=state).stdout.strip()
        get = wrk(base + "/api/worklogs/", os.path.join(REF, "load", "get.lua"), token)
        post = wrk(base + "/api/worklogs/", os.path.join(REF, "load", "post.lua"), token)
    finally:
        sh(os.path.join(ref, "stop.sh"), env=state, check=False)
    log(f"  GET  {fmt_load(get)}")
    log(f"  POST {fmt_load(post)}")
    return get, post


def huey_run(n):
    state = os.path.join(STATE, "huey-ref")
    ref = os.path.join(REF, "huey-ref")
    log(f"==> Huey + Redis reference ({n:,} no-op jobs, appendfsync everysec and always)")
    out = sh(os.path.join(ref, "setup.sh"), env=state, check=False)
    if out.returncode != 0:
        raise SystemExit(f"huey-ref/setup.sh failed:\n{out.stdout}\n{out.stderr}")
    out = sh(os.path.join(ref, "run.sh"), str(n), "everysec always", env=state)
    figures = {}
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            kv = dict(x.split("=", 1) for x in line.split()[1:])
            figures[kv["label"]] = float(kv["e2e_jobs_per_s"])
            log(f"  {kv['label']}: {kv['e2e_jobs_per_s']} jobs/s end to end")
    return figures


# ---------------------------------------------------------------- benchmarks


def ratio(ours, ref):
    return f"{ours / ref:.2f}x" if ref else ""


def bench_api():
    django_get, django_post = django_run()
    log("==> AfterResume (2 x 1,000 seeded entries)")
    app = AfterResume("api")
    get_lua = os.path.join(REF, "load", "get.lua")
    try:
        app.start()
        result("api", "start-up to ready", f"{app.startup_s * 1000:.0f} ms", target="< 500 ms")
        owners = [app.owner("owner-a@bench.test"), app.owner("owner-b@bench.test")]
        for i, t in enumerate(owners):
            app.import_entries(t, seed_rows(1000, i * 1000))
        time.sleep(3)
        result("api", "idle RSS with 2,000 entries", f"{app.rss():.0f} MiB", target="<= 60 MiB")
        token = app.login("owner-a@bench.test")
        list_url = app.base + "/api/worklogs"
        versus = lambda r, ref: ratio(r["req_per_s"], ref["req_per_s"]) + (
            " p99 below" if r["p99_ms"] < ref["p99_ms"] else " p99 above")
        get = wrk(list_url, get_lua, token)
        result("api", "GET /api/worklogs (first page, 50 rows)", fmt_load(get), fmt_load(django_get),
               versus(get, django_get), ">= 10x, p99 below")
        # The same without the first-page cache: what the database path itself does.
        app.restart(WORKLOG_PAGE_CACHE_BYTES="0")
        token = app.login("owner-a@bench.test")
        engine = wrk(list_url, get_lua, token)
        result("api", "same, page cache off (WORKLOG_PAGE_CACHE_BYTES=0)", fmt_load(engine),
               fmt_load(django_get), versus(engine, django_get))
        app.restart(WORKLOG_PAGE_CACHE_BYTES=str(8 * 1024 * 1024))
        token = app.login("owner-a@bench.test")
        post = wrk(list_url, os.path.join(REF, "load", "post.lua"), token)
        drain = app.drain(token)
        result("api", "POST /api/worklogs", fmt_load(post), fmt_load(django_post),
               versus(post, django_post), ">= 10x, p99 below")
        created = int(post["requests"] - post["non2xx"])
        result("api", f"reward evaluations of the {created:,} creates: drain after the phase",
               f"{drain:.1f} s", target="<= 5 s")

        # At 2 x 10,000 entries: deep keyset pages and filtered lists vs the first page,
        # all read from the database (the cache off).
        per = 1000 if QUICK else 10000
        log(f"==> AfterResume at 2 x {per:,} entries (page cache off)")
        for i, t in enumerate(owners):
            app.import_entries(app.login(f"owner-{'ab'[i]}@bench.test"),
                               seed_rows(per - 1000, 100_000 + i * per))
        app.restart(WORKLOG_PAGE_CACHE_BYTES="0")
        token = app.login("owner-a@bench.test")
        first = wrk(list_url, get_lua, token)
        result("pages", f"first page at {per:,} + the creates", fmt_load(first))
        cursor = None
        for _ in range(10):
            url = list_url + "?limit=200" + (f"&cursor={cursor}" if cursor else "")
            cursor = must(request("GET", url, token=token))["next_cursor"]
        deep = wrk(f"{list_url}?cursor={cursor}", get_lua, token)
        result("pages", "deep keyset page (after 2,000 rows)", fmt_load(deep),
               ratio=f"{deep['p50_ms'] / first['p50_ms']:.2f}x first page p50",
               target="<= 1.5x")
        filt = wrk(f"{list_url}?tag=t3&from=2026-03-01&to=2026-09-30", get_lua, token)
        result("pages", "tag + date range page", fmt_load(filt),
               ratio=f"{filt['p50_ms'] / first['p50_ms']:.2f}x first page p50", target="<= 1.5x")
        app.halt()
        result("api", "peak RSS under these loads", f"{app.peak:.0f} MiB", target="<= 150 MiB")
    finally:
        app.stop()


def bench_queue():
    n = 20000 if not QUICK else 5000
    huey = huey_run(n)
    best_huey = max(huey.values()) if huey else 0
    log("==> AfterResume queue core (in-process, on disk, durable)")
    out = subprocess.run(
        ["cargo", "bench", "-q", "-p", "afterresume", "--bench", "queue", "--", str(n * 10)],
        capture_output=True, text=True, cwd=REPO,
    )
    if out.returncode != 0:
        raise SystemExit(f"cargo bench --bench queue failed:\n{out.stdout}\n{out.stderr}")
    for line in out.stdout.splitlines():
        log("  " + line)
        if line.startswith("RESULT "):
            kv = dict(x.split("=", 1) for x in line.split()[1:])
            jps = float(kv["jobs_per_s"])
            batch = "" if kv.get("batch", "1") == "1" else f" (enqueue_many of {kv['batch']})"
            result("queue", f"queue core, {kv['producers']} producers{batch}, {int(kv['jobs']):,} jobs",
                   f"{jps:,.0f} jobs/s", f"{best_huey:,.0f} jobs/s (Huey + Redis)",
                   ratio(jps, best_huey), ">= 25,000 jobs/s")

    log("==> AfterResume: no-op workflow jobs over HTTP, 16 clients")
    app = AfterResume("jobs")
    try:
        app.start()
        token = app.owner("owner-q@bench.test")
        started = time.monotonic()
        enq = wrk(app.base + "/api/jobs", os.path.join(LUA, "job.lua"), token, conns=16,
                  duration="10s" if not QUICK else "5s")
        accepted = int(enq["requests"] - enq["non2xx"])
        app.drain(token)
        took = time.monotonic() - started
        result("queue", f"no-op workflow jobs over HTTP ({accepted:,}), end to end",
               f"{accepted / took:,.0f} jobs/s (enqueue {enq['req_per_s']:,.0f}/s)",
               f"{best_huey:,.0f} jobs/s (Huey + Redis, in-process enqueue)",
               ratio(accepted / took, best_huey), ">= 2,000 jobs/s")
    finally:
        app.stop()


def bench_search():
    n = 50000 if not QUICK else 5000
    log(f"==> AfterResume full-text search over {n:,} entries")
    app = AfterResume("search")
    try:
        app.start()
        token = app.owner("owner-s@bench.test")
        rows = [{"date": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}", "title": sentence(i + 7, 5),
                 "content": sentence(i, 40), "outcome": sentence(i + 3, 8)} for i in range(n)]
        started = time.monotonic()
        app.import_entries(token, rows)
        log(f"  import: {n / (time.monotonic() - started):,.0f} entries/s")
        # The first search starts the in-memory index's build; until it is ready the
        # database's full-text index answers. Both are reported, then the steady state.
        url = app.base + "/api/worklogs?limit=20&q=" + WORDS[0]
        began = time.monotonic()
        must(request("GET", url, token=token))
        first = time.monotonic() - began
        while True:
            t = time.monotonic()
            must(request("GET", url, token=token))
            if time.monotonic() - t < 0.05 or time.monotonic() - began > 300:
                break
            time.sleep(0.05)
        result("search", f"first search after start, {n:,} entries (database index)",
               f"{first * 1000:,.0f} ms")
        result("search", "in-memory index ready after the first search",
               f"{time.monotonic() - began:,.1f} s")
        script = os.path.join(LUA, "search.lua")
        env = {"WORDS": " ".join(WORDS)}
        one = wrk(app.base + "/api/worklogs", script, token, conns=1, threads=1,
                  duration="10s", extra_env=env)
        result("search", f"search over {n:,} entries, 1 client", fmt_load(one),
               target="p50 <= 10 ms")
        many = wrk(app.base + "/api/worklogs", script, token, conns=16, threads=2,
                   extra_env=env)
        result("search", f"search over {n:,} entries, 16 clients", fmt_load(many),
               target=">= 500 req/s")
    finally:
        app.stop()


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({cpu}), profile {PROFILE}, wrk {CONNS} conns {DURATION}"


def main():
    what = next((a for a in sys.argv[1:] if not a.startswith("-")), "all")
    os.makedirs(STATE, exist_ok=True)
    if what in ("api", "all"):
        bench_api()
    if what in ("queue", "all"):
        bench_queue()
    if what in ("search", "all"):
        bench_search()
    log("")
    log(f"## Results ({machine()}{', quick' if QUICK else ''})")
    log("")
    log("| figure | AfterResume | reference | ratio | target |")
    log("|---|---|---|---|---|")
    for _, name, ours, ref, rat, target in RESULTS:
        log(f"| {name} | {ours} | {ref} | {rat} | {target} |")


if __name__ == "__main__":
    main()
