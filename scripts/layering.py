#!/usr/bin/env python3
"""The platform's layering, checked: prints each rule, what it scanned, and every
violation; exits 1 on any.

Rules (platform/src; comments are ignored):
  1. Only `api/` and the composition roots (lib.rs, main.rs, server.rs, cli.rs) import
     `crate::api`: the domain, `identity`, the store, jobs and workflows never import
     the HTTP layer.
  2. The pure domain modules (`worklog`, `gamification/rules`, `documents`, `agents`,
     `identity/accounts`, `identity/tenancy`) import none of `store`, `jobs`, `state`,
     `workflows`, `llm`, `api`, nor the parts of `identity` that use the store.
  3. `store/` imports none of `api`, `error` (the application's error: the store's own
     errors are turned into it above the store), `services`, `state`, `workflows`,
     `jobs`, `principals`, `llm`, nor the parts of `identity` that use the store (its
     pure types it may use).
  4. `api/` reaches the store only through `services`: no `api/` file imports
     `crate::store` (the list below is empty; never grow it), and no `api/` file is
     longer than 600 lines except those listed, each at most its listed length (shrink
     the list as files get there).
  5. `services/` (the use cases) knows nothing of HTTP: it imports no `crate::api` and
     no `poem`/`poem_openapi`.
  6. `observability/` (Events, metrics, correlation ids) is used by every layer and
     uses none of them: it imports none of `api`, `services`, `state`, `workflows`,
     `jobs`.
  7. The use cases and the workflows take their dependencies as `deps::Deps`, not the
     HTTP edge's `state::AppState`: `services/`, `workflows/`, `jobs/` and `deps.rs`
     import no `crate::state` (so `state` -> `workflows` is the only direction).

Usage: scripts/layering.py   (run by scripts/test.sh)
"""

import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "platform" / "src"
ROOTS = {"lib.rs", "main.rs", "server.rs", "cli.rs"}
DOMAIN = ["worklog", "gamification/rules", "documents", "agents", "identity/accounts", "identity/tenancy"]
IDENTITY_WITH_STORE = ["identity::sessions", "identity::auditing", "identity::credentials"]
DOMAIN_MAY_NOT = ["store", "services", "jobs", "state", "workflows", "llm", "api"] + IDENTITY_WITH_STORE
STORE_MAY_NOT = ["api", "error", "services", "state", "workflows", "jobs", "principals", "llm"] + IDENTITY_WITH_STORE
OBSERVABILITY_MAY_NOT = ["api", "services", "state", "workflows", "jobs"]
API_MAX_LINES = 600

# api/ files allowed to import the store (rule 4): none.
API_STORE_IMPORTS: set = set()
# api/ files over API_MAX_LINES, with the most lines each may have (rule 4).
API_LONG_FILES: dict = {}


def code_of(path):
    """The file without its comments (line comments and doc comments)."""
    text = path.read_text()
    return re.sub(r"//[^\n]*", "", text)


def imports(code, module):
    """Whether `code` names `crate::<module>` (a use, or a path in an expression)."""
    return re.search(r"\bcrate::" + re.escape(module) + r"\b", code) is not None


def rel(path):
    return path.relative_to(SRC).as_posix()


def main():
    files = sorted(SRC.rglob("*.rs"))
    problems = []

    # 1.
    outside = [f for f in files if not rel(f).startswith("api/") and rel(f) not in ROOTS]
    for f in outside:
        if imports(code_of(f), "api"):
            problems.append(f"rule 1: {rel(f)} imports crate::api")
    print(f"rule 1: {len(outside)} files outside api/ and the roots import no crate::api")

    # 2.
    domain = [f for f in files if any(rel(f).startswith(d + "/") or rel(f) == d + ".rs" for d in DOMAIN)]
    for f in domain:
        code = code_of(f)
        for m in DOMAIN_MAY_NOT:
            if imports(code, m):
                problems.append(f"rule 2: {rel(f)} (domain) imports crate::{m}")
    print(f"rule 2: {len(domain)} domain files import none of {', '.join(DOMAIN_MAY_NOT)}")

    # 3.
    store = [f for f in files if rel(f).startswith("store/")]
    for f in store:
        code = code_of(f)
        for m in STORE_MAY_NOT:
            if imports(code, m):
                problems.append(f"rule 3: {rel(f)} (store) imports crate::{m}")
    print(f"rule 3: {len(store)} store files import none of {', '.join(STORE_MAY_NOT)}")

    # 4.
    api = [f for f in files if rel(f).startswith("api/")]
    with_store = set()
    for f in api:
        name = rel(f)[len("api/"):]
        if imports(code_of(f), "store"):
            with_store.add(name)
            if name not in API_STORE_IMPORTS:
                problems.append(f"rule 4: {rel(f)} imports crate::store (call a service)")
        lines = len(f.read_text().splitlines())
        cap = API_LONG_FILES.get(name, API_MAX_LINES)
        if lines > cap:
            problems.append(f"rule 4: {rel(f)} has {lines} lines (at most {cap})")
    for done in sorted(API_STORE_IMPORTS - with_store):
        print(f"rule 4: api/{done} no longer imports crate::store: remove it from the list")
    print(
        f"rule 4: {len(api)} api files; {len(with_store)} still import crate::store "
        f"(allowed: {len(API_STORE_IMPORTS)}); at most {API_MAX_LINES} lines"
        + "".join(f", {k} <= {v}" for k, v in sorted(API_LONG_FILES.items()))
    )

    # 5.
    services = [f for f in files if rel(f).startswith("services/")]
    for f in services:
        code = code_of(f)
        if re.search(r"\bpoem(_openapi)?::", code):
            problems.append(f"rule 5: {rel(f)} (services) uses poem")
    print(f"rule 5: {len(services)} services files use no poem (rule 1 keeps crate::api out)")

    # 6.
    obs = [f for f in files if rel(f).startswith("observability/")]
    for f in obs:
        code = code_of(f)
        for m in OBSERVABILITY_MAY_NOT:
            if imports(code, m):
                problems.append(f"rule 6: {rel(f)} (observability) imports crate::{m}")
    print(f"rule 6: {len(obs)} observability files import none of {', '.join(OBSERVABILITY_MAY_NOT)}")

    # 7.
    below_state = [
        f for f in files
        if rel(f).split("/")[0] in ("services", "workflows", "jobs") or rel(f) == "deps.rs"
    ]
    for f in below_state:
        if imports(code_of(f), "state"):
            problems.append(f"rule 7: {rel(f)} imports crate::state (take deps::Deps)")
    print(f"rule 7: {len(below_state)} services, workflows, jobs files and deps.rs import no crate::state")

    for p in problems:
        print("  " + p)
    if problems:
        print(f"layering: {len(problems)} violation(s)")
        sys.exit(1)
    print("layering: all rules hold")


if __name__ == "__main__":
    main()
