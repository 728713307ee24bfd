"""Schemathesis over /openapi.json, in process (ASGI): no operation answers 500.

One database with the synthetic city, its grids and an admin account serves the whole module;
requests carry the admin's token so that generated inputs get past sign-in (a 401/403 would be
fine too). Examples per operation are bounded (WANGGE_FUZZ_EXAMPLES, default 20) to keep the
run short.
"""

from __future__ import annotations

import os
import time
from collections import Counter

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
                response = case.call(headers=headers)
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
