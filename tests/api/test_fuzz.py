"""Schemathesis over /openapi.json, in process (ASGI): no operation answers 500.

One database with the synthetic city, its grids and an admin account serves the whole module;
requests carry the admin's token so that generated inputs get past sign-in (a 401/403 would be
fine too). Examples per operation are bounded (WANGGE_FUZZ_EXAMPLES, default 20) to keep the
run short.
"""

from __future__ import annotations

import json
import os
import re
import time
import zlib
from collections import Counter
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from api.db import get_engine, transaction
from api.grids.generation import generate_communities
from api.storage import grids as store
from tests.api.test_grids_db import load_city
from tests.conftest import TEMPLATE

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("WANGGE_FUZZ_EXAMPLES", "20"))


@pytest.fixture(scope="module")
def fuzz_world(pg_cluster):
    name = f"fuzz_{os.getpid()}"
    pg_cluster.drop_database(name)
    pg_cluster.ensure_database(name, template=TEMPLATE)
    url = pg_cluster.url(name)
    load_city(url)
    with transaction(url) as session:
        generate_communities(session, store.select_communities(session, every=True))
    from api import accounts as auth
    from api.main import create_app

    with transaction(url) as session:
        admin = auth.create_user(session, "fuzz_admin", "admin", "Fuzz-admin-2026")
    headers = {"Authorization": f"Bearer {auth.issue_token(admin)}"}
    yield create_app(url), headers
    get_engine(url).dispose()
    pg_cluster.drop_database(name)


def test_no_operation_answers_500(fuzz_world):
    """Every operation of the schema, EXAMPLES generated requests each; all 500s listed."""
    app, headers = fuzz_world
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: dict[str, str] = {}
    statuses: Counter[int] = Counter()
    operations, start = 0, time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy())
        def run(case):
            label = case.operation.label
            try:
                # a loaded 2-core CI machine may take more than the 10 s default on a city
                response = case.call(headers=headers, timeout=120)
            except Exception as exc:  # noqa: BLE001 - an unhandled error is a 500
                failures.setdefault(label, f"raised {exc!r}"[:500])
                return
            statuses[response.status_code] += 1
            if response.status_code >= 500 and label not in failures:
                failures[label] = (
                    f"{response.status_code}: {response.text[:300]}\n"
                    f"    reproduce: {case.as_curl_command()}"
                )

        run()
    print(
        f"\nfuzz: {operations} operations, {sum(statuses.values())} requests in "
        f"{time.monotonic() - start:.0f} s; statuses {dict(sorted(statuses.items()))}"
    )
    assert operations > 20
    listed = "\n".join(f"{label} → {text}" for label, text in sorted(failures.items()))
    assert not failures, f"{len(failures)} of {operations} operations answered 5xx:\n{listed}"


# values the generated requests rarely hold: non-finite numbers (raw JSON tokens), nesting far
# beyond any schema, control and bidi characters, and text far over every length cap
HOSTILE_JSON = ["NaN", "-Infinity", "1e999", "[" * 900 + "]" * 900, '{"a":' * 300 + "1}" * 300]
# (query strings stay under httpx's 64 KB URL limit)
HOSTILE_TEXT = ["a\x00b", "a\x1b[31m", "\u202eexe.jpg", "a\u2028b\ufeff", "1" * 20_000,
                "A" * 30_000]  # fmt: skip
SAMPLE = int(os.environ.get("WANGGE_FUZZ_HOSTILE", "2"))  # hostile values per field and kind


def _some(values: list[str], key: str) -> list[str]:
    """SAMPLE of `values`, a different run of them for each field (all of them over the run)."""
    start = zlib.crc32(key.encode()) % len(values)
    return [values[(start + k) % len(values)] for k in range(min(SAMPLE, len(values)))]


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _hostile_requests(spec: dict):
    """(method, url, raw JSON body or None) for every operation: each body field and query
    parameter in turn set to a hostile value, the others left out."""
    for path, methods in spec["paths"].items():
        url = re.sub(r"\{[^}]+\}", "1", path)
        for method, op in methods.items():
            for param in op.get("parameters", []):
                if param["in"] == "query":
                    for value in _some(HOSTILE_TEXT, path + param["name"]):
                        yield method, f"{url}?{urlencode({param['name']: value})}", None
            content = (op.get("requestBody") or {}).get("content", {})
            if "application/json" not in content:
                continue
            body = _resolve(spec, content["application/json"]["schema"])
            for name in body.get("properties", {}):
                for raw in _some(HOSTILE_JSON, path + name):
                    yield method, url, "{" + json.dumps(name) + ": " + raw + "}"
                for text in _some(HOSTILE_TEXT, path + name):
                    yield method, url, json.dumps({name: text})


def test_hostile_values_answer_4xx_not_500(fuzz_world, monkeypatch):
    """Every operation's query parameters and body fields with hostile values: no 5xx (rate
    limits off, so that a 429 hides nothing)."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import get_settings

    app, headers = fuzz_world
    with TestClient(app):
        url = app.state.database_url
    monkeypatch.setenv("WANGGE_RATE_LIMIT", "false")
    get_settings.cache_clear()
    failures: dict[str, str] = {}
    statuses: Counter[int] = Counter()
    try:
        with TestClient(create_app(url), raise_server_exceptions=False) as client:
            spec = client.get("/openapi.json").json()
            for method, path, body in _hostile_requests(spec):
                kind = {"Content-Type": "application/json"} if body else {}
                answer = client.request(method, path, content=body, headers=headers | kind)
                statuses[answer.status_code] += 1
                if answer.status_code >= 500:
                    where = f"{method.upper()} {path[:80]}"
                    failures.setdefault(where, f"{(body or '')[:80]!r}: {answer.text[:200]}")
    finally:
        get_settings.cache_clear()
    print(f"\nhostile fuzz: {statuses.total()} requests; {dict(sorted(statuses.items()))}")
    assert statuses.total() > 200
    listed = "\n".join(f"{op} ← {body}" for op, body in sorted(failures.items()))
    assert not failures, f"{len(failures)} operations answered 5xx:\n{listed}"
