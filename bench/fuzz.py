"""Fuzzing at scale (issue 18): schemathesis over every operation of /openapi.json with many
examples each (as an admin, then each operation an admin may not call as the other roles in
turn until one gets past the role check), its stateful run (links between operations, inferred
by schemathesis), and the hostile-value sweep (non-finite numbers, deep nesting, control and
bidi characters, huge strings in every query parameter and body field, each operation as the
role that reached it), all in process over the ASGI app against a throwaway PostGIS cluster
holding the synthetic city and its grids. Rate limits are off, so a 429 hides nothing. Prints
operations, requests, statuses and every 5xx with a curl to reproduce it (against a server at
--base, with $TOKEN an admin's bearer token).

    .venv/bin/python -m bench.fuzz --examples 60 --hostile 6 --stateful 300
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

# values the generated requests rarely hold: non-finite numbers (raw JSON tokens), nesting far
# beyond any schema, control and bidi characters, and text far over every length cap
HOSTILE_JSON = ["NaN", "-Infinity", "1e999", "[" * 900 + "]" * 900, '{"a":' * 300 + "1}" * 300]
# (query strings stay under httpx's 64 KB URL limit)
HOSTILE_TEXT = ["a\x00b", "a\x1b[31m", "\u202eexe.jpg", "a\u2028b\ufeff", "1" * 20_000,
                "A" * 30_000]  # fmt: skip
BASE = "http://localhost:8000"


@dataclass
class Tally:
    """Requests and statuses of one fuzzer, and the first 5xx of each operation."""

    name: str
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)
    by_operation: dict[str, Counter[int]] = field(default_factory=dict)
    seconds: float = 0.0
    stopped: str = ""
    reached_by: dict[str, SignedIn] = field(default_factory=dict)  # the role that got past

    @property
    def operations(self) -> set[str]:
        return set(self.by_operation)

    def record(self, label: str, status: int, reproduce: str, text: str = "") -> None:
        self.by_operation.setdefault(label, Counter())[status] += 1
        self.statuses[status] += 1
        if status >= 500 and label not in self.failures:
            self.failures[label] = f"{status}: {text[:300]}\n    reproduce: {reproduce}"

    def refused(self) -> set[str]:
        """Operations every request of which stopped at sign-in or the role check (401/403)."""
        return {op for op, seen in self.by_operation.items() if set(seen) <= {401, 403}}

    def report(self) -> str:
        lines = [
            f"{self.name}: {len(self.operations)} operations, {self.statuses.total()} requests "
            f"in {self.seconds:.0f} s; statuses {dict(sorted(self.statuses.items()))}; "
            f"5xx: {sum(n for s, n in self.statuses.items() if s >= 500)}"
            + (f"; {self.stopped}" if self.stopped else "")
        ]
        roles: dict[str, list[str]] = {}
        for label, account in sorted(self.reached_by.items()):
            roles.setdefault(str(account.principal.role), []).append(label)
        lines += [f"  reached as {role}: {', '.join(ops)}" for role, ops in roles.items()]
        lines += [f"  {label} → {text}" for label, text in sorted(self.failures.items())]
        return "\n".join(lines)


@dataclass
class SignedIn:
    """The fuzzers' admin account. A generated request may disable it (the stateful run follows
    GET /api/users into POST /api/users/{username}/disable); `again` enables it and signs in
    anew, so that the requests after it still get past sign-in."""

    url: str
    principal: object
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(
        cls, url: str, username: str = "fuzz_admin", role: str = "admin", **scope
    ) -> SignedIn:
        """A new account of `role` (scope: grid_codes, community_code, street_code, department;
        a volunteer is registered in its one grid), signed in."""
        from api import accounts as auth
        from api.db import transaction

        with transaction(url) as session:
            if role == "volunteer":
                from api.service_orders import volunteers

                principal = volunteers.create_volunteer(
                    session, username, "Fuzz-admin-2026", grid_codes=scope["grid_codes"][:1],
                    kind="volunteer", skills=["助老"], actor="fuzz",
                )  # fmt: skip
            else:
                principal = auth.create_user(session, username, role, "Fuzz-admin-2026", **scope)
        signed = cls(url, principal)
        signed.headers["Authorization"] = f"Bearer {auth.issue_token(principal)}"
        return signed

    def again(self) -> None:
        from api import accounts as auth
        from api.db import transaction

        with transaction(self.url) as session:
            auth.set_disabled(session, self.principal.username, disabled=False, actor="fuzz")
        self.headers["Authorization"] = f"Bearer {auth.issue_token(self.principal)}"

    def seen(self, status: int) -> None:
        if status == 401:
            self.again()


def _settings(examples: int, **extra):
    from hypothesis import HealthCheck, Phase, settings

    return settings(
        max_examples=examples,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        **extra,
    )


def _body(response) -> str:
    """The answer as text for the report; binary answers (Excel, photos) decoded leniently."""
    return response.content.decode("utf-8", "replace")


def _curl(case) -> str:
    return case.as_curl_command(headers={"Authorization": "Bearer $TOKEN"}).replace(
        "http://localhost", BASE, 1
    )


def fuzz_operations(
    app, admin: SignedIn, *, examples: int, only: set[str] | None = None, name: str = ""
) -> Tally:
    """Every operation of the schema (or those labelled in `only`), `examples` generated
    requests each, as `admin` (any signed-in account)."""
    import schemathesis
    from hypothesis import given

    tally, start = Tally(name or "schemathesis"), time.monotonic()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for result in schema.get_all_operations():
        operation = result.ok()
        if only is not None and operation.label not in only:
            continue

        @_settings(examples)
        @given(case=operation.as_strategy())
        def run(case):
            label = case.operation.label
            try:  # a loaded 2-core machine may take more than the 10 s default on a city
                response = case.call(headers=admin.headers, timeout=120)
            except Exception as exc:  # noqa: BLE001 - an unhandled error is a 500
                tally.record(label, 500, _curl(case), f"raised {exc!r}")
                return
            tally.record(label, response.status_code, _curl(case), _body(response))
            admin.seen(response.status_code)

        run()
    tally.seconds = time.monotonic() - start
    return tally


def fuzz_stateful(app, admin: SignedIn, *, scenarios: int, steps: int = 8) -> Tally:
    """Schemathesis' state machine: sequences of calls that feed one answer's ids into the
    next request (links inferred from the schema)."""
    import schemathesis
    from hypothesis.errors import Flaky

    tally, start = Tally("stateful"), time.monotonic()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    base = schema.as_state_machine()

    class Machine(base):
        def get_call_kwargs(self, case):
            return {"headers": dict(admin.headers), "timeout": 120}

        def after_call(self, response, case):
            tally.record(case.operation.label, response.status_code, _curl(case), _body(response))
            admin.seen(response.status_code)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            """Only 5xx count here (recorded above); schema conformance is not this run's job."""

    try:
        Machine.run(settings=_settings(scenarios, stateful_step_count=steps))
    except Flaky as exc:  # replaying a scenario against a database it changed: not a 5xx
        tally.stopped = f"stopped early: hypothesis {type(exc).__name__} on replay"
    tally.seconds = time.monotonic() - start
    return tally


def _some(values: list[str], key: str, sample: int) -> list[str]:
    """`sample` of `values`, a different run of them for each field (all over the run)."""
    start = zlib.crc32(key.encode()) % len(values)
    return [values[(start + k) % len(values)] for k in range(min(sample, len(values)))]


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def hostile_requests(spec: dict, sample: int) -> Iterator[tuple[str, str, str, str | None]]:
    """(operation label, method, url, raw JSON body or None) for every operation: each body
    field and query parameter in turn set to a hostile value, the others left out."""
    for path, methods in spec["paths"].items():
        url = re.sub(r"\{[^}]+\}", "1", path)
        for method, op in methods.items():
            label = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                if param["in"] == "query":
                    for value in _some(HOSTILE_TEXT, path + param["name"], sample):
                        yield label, method, f"{url}?{urlencode({param['name']: value})}", None
            content = (op.get("requestBody") or {}).get("content", {})
            if "application/json" not in content:
                continue
            body = _resolve(spec, content["application/json"]["schema"])
            for name in body.get("properties", {}):
                for raw in _some(HOSTILE_JSON, path + name, sample):
                    yield label, method, url, "{" + json.dumps(name) + ": " + raw + "}"
                for text in _some(HOSTILE_TEXT, path + name, sample):
                    yield label, method, url, json.dumps({name: text})


def _hostile_curl(method: str, path: str, body: str | None) -> str:
    parts = ["curl", "-X", method.upper(), shlex.quote(BASE + path)]
    parts += ["-H", shlex.quote("Authorization: Bearer $TOKEN")]
    if body is not None:
        parts += ["-H", "'Content-Type: application/json'", "--data-raw", shlex.quote(body)]
    return " ".join(parts)


def sweep(
    client,
    admin: SignedIn,
    *,
    sample: int,
    rounds: int = 1,
    reached_by: dict[str, SignedIn] | None = None,
) -> Tally:
    """The hostile values through a TestClient (made with raise_server_exceptions=False), as
    `admin`, or for an operation in `reached_by` as the role that may call it."""
    tally, start = Tally("hostile values"), time.monotonic()
    spec = client.get("/openapi.json").json()
    for _ in range(rounds):
        for label, method, path, body in hostile_requests(spec, sample):
            who = (reached_by or {}).get(label, admin)
            kind = {"Content-Type": "application/json"} if body else {}
            answer = client.request(method, path, content=body, headers=who.headers | kind)
            tally.record(label, answer.status_code, _hostile_curl(method, path, body), answer.text)
            who.seen(answer.status_code)
    tally.seconds = time.monotonic() - start
    return tally


def prepare(url: str) -> SignedIn:
    """Load the synthetic city and its grids into `url`; the fuzzers' admin, signed in."""
    from api.db import transaction
    from api.demo.datasets import load_synthetic
    from api.grids.generation import generate_communities
    from api.storage import grids as store

    with transaction(url) as session:
        load_synthetic(session, size="community", log=lambda _: None)
    with transaction(url) as session:
        generate_communities(session, store.select_communities(session, every=True))
    return SignedIn.create(url)


def role_accounts(url: str) -> list[SignedIn]:
    """One signed-in account of every role but admin, scoped to the city's first grid, its
    community and street: the operations an admin may not call are fuzzed as them."""
    from sqlalchemy import text

    from api.db import transaction

    with transaction(url) as session:
        grid, community, street = session.execute(
            text(
                "SELECT g.code, c.code, s.code FROM grids g JOIN communities c "
                "ON c.id = g.community_id JOIN streets s ON s.id = c.street_id "
                "WHERE g.valid_to IS NULL AND g.level = 'grid' ORDER BY g.code LIMIT 1"
            )
        ).one()
    scopes = {
        "grid_worker": {"grid_codes": [grid]},
        "grid_leader": {"grid_codes": [grid]},
        "volunteer": {"grid_codes": [grid]},
        "community_admin": {"community_code": community},
        "street_admin": {"street_code": street},
        "planner": {},
        "department": {"department": "城管"},
        "resident": {},
    }
    return [SignedIn.create(url, f"fuzz_{role}", role, **scope) for role, scope in scopes.items()]


def fuzz_refused(app, refused: set[str], accounts: list[SignedIn], *, examples: int) -> Tally:
    """The operations in `refused` (401/403 to everyone so far) fuzzed as each role in turn
    until one gets past the role check; what none reaches stays in the tally's `stopped`."""
    tally, start = Tally("schemathesis, other roles"), time.monotonic()
    for account in accounts:
        if not refused:
            break
        role = account.principal.role
        part = fuzz_operations(app, account, examples=examples, only=refused, name=str(role))
        for label, seen in part.by_operation.items():
            tally.by_operation.setdefault(label, Counter()).update(seen)
        tally.statuses.update(part.statuses)
        tally.failures.update(part.failures)
        reached = part.operations - part.refused()
        tally.reached_by.update(dict.fromkeys(reached, account))
        refused = refused - reached
    if refused:
        tally.stopped = f"refused to every role: {', '.join(sorted(refused))}"
    tally.seconds = time.monotonic() - start
    return tally


# one client asking in turn: a slow coverage analysis (seconds on a loaded machine) is waited
# for, not shed with a 503 as under load (api/stations/budget.py); 5xx here are faults
PATIENT = {"WANGGE_ANALYSIS_BUDGET_S": "600", "WANGGE_ANALYSIS_WAIT_S": "600"}


def run(url: str, *, examples: int, hostile: int, rounds: int, scenarios: int) -> list[Tally]:
    """All three fuzzers against the loaded database `url`, rate limits off."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import get_settings

    os.environ["WANGGE_RATE_LIMIT"] = "false"
    os.environ.update(PATIENT)
    get_settings.cache_clear()
    admin = prepare(url)
    app = create_app(url)
    with TestClient(app, raise_server_exceptions=False) as client:
        tallies = [fuzz_operations(app, admin, examples=examples)]
        print(tallies[-1].report(), flush=True)
        reached_by: dict[str, SignedIn] = {}
        if refused := tallies[-1].refused():
            tallies.append(fuzz_refused(app, refused, role_accounts(url), examples=examples))
            reached_by = tallies[-1].reached_by
            print(tallies[-1].report(), flush=True)
        if scenarios:
            tallies.append(fuzz_stateful(app, admin, scenarios=scenarios))
            print(tallies[-1].report(), flush=True)
        tallies.append(sweep(client, admin, sample=hostile, rounds=rounds, reached_by=reached_by))
        print(tallies[-1].report(), flush=True)
    return tallies


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=60, help="schemathesis examples each")
    parser.add_argument("--hostile", type=int, default=6, help="hostile values per field/kind")
    parser.add_argument("--rounds", type=int, default=1, help="times through the hostile sweep")
    parser.add_argument("--stateful", type=int, default=300, help="state machine scenarios")
    args = parser.parse_args(argv)
    from api.storage import migrate
    from api.storage.launcher import Cluster

    state = Path(tempfile.mkdtemp(prefix="wangge-bench-fuzz-", dir="/tmp"))
    state.chmod(0o755)
    cluster = Cluster(state / "cluster", fast=True)
    cluster.start()
    start = time.monotonic()
    try:
        cluster.ensure_database("fuzz")
        url = cluster.url("fuzz")
        migrate.upgrade(url)
        tallies = run(
            url,
            examples=args.examples,
            hostile=args.hostile,
            rounds=args.rounds,
            scenarios=args.stateful,
        )
    finally:
        cluster.destroy()
        state.rmdir()
    total = sum(t.statuses.total() for t in tallies)
    statuses = sum((t.statuses for t in tallies), Counter())
    fivexx = sum(n for s, n in statuses.items() if s >= 500)
    print(
        f"\ntotal: {total} requests in {time.monotonic() - start:.0f} s (with set-up); "
        f"statuses {dict(sorted(statuses.items()))}; 5xx: {fivexx}"
    )
    raise SystemExit(1 if fivexx else 0)


if __name__ == "__main__":
    main()
