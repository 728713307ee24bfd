"""Shared fixtures: one throwaway PostGIS cluster per test session, a fresh database per test."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from api.settings import get_settings
from api.storage import migrate
from api.storage.launcher import Cluster

TEMPLATE = "wangge_template"
os.environ.setdefault("WANGGE_RATE_LIMIT", "false")  # tests that want rate limits turn them on
_numbers = itertools.count()


def make_state_dir(prefix: str = "wangge-test-") -> Path:
    """A temporary directory the postgres user can enter (pytest's tmp_path is 0700 root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


def load_gridded_city(url: str, *, size: str = "community") -> None:
    """Load the synthetic city into a migrated database and build its grids and micro-grids."""
    from api.db import transaction
    from api.demo.datasets import build_grids, load_synthetic

    with transaction(url) as session:
        load_synthetic(session, size=size, log=lambda _: None)
        build_grids(session, log=lambda _: None)


@contextmanager
def own_database(cluster: Cluster, prefix: str, *, template: str = TEMPLATE) -> Iterator[str]:
    """A database of its own copied from `template`, dropped afterwards with its connections."""
    from api.db import get_engine

    name = f"{prefix}_{os.getpid()}_{next(_numbers)}"
    cluster.ensure_database(name, template=template)
    url = cluster.url(name)
    try:
        yield url
    finally:
        get_engine(url).dispose()
        cluster.drop_database(name)


@contextmanager
def gridded_city_database(cluster: Cluster, prefix: str) -> Iterator[str]:
    """A database of its own holding the gridded synthetic community (for module fixtures),
    dropped afterwards with the service's caches of it."""
    from api.addresses import geocode as geocode_db
    from api.stations import network as network_db

    with own_database(cluster, prefix) as url:
        try:
            load_gridded_city(url)
            yield url
        finally:
            geocode_db.invalidate(url)
            network_db.invalidate(url)


# Modules whose tests start uvicorn on a port from bench.load.serve or find_free_port(18000),
# or their own clusters and servers: one xdist worker runs them one after another, so that
# two of them never pick the same free port at once.
OWN_SERVERS = {
    "tests/api/test_demo.py",
    "tests/api/test_faults.py",
    "tests/api/test_hostile.py",
    "tests/bench/test_load_bench.py",
}
SHARED_SCOPES = {"class", "module", "package"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (--dist loadgroup)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep tests that share a module or class fixture on one worker, so it is computed once."""
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        if module in OWN_SERVERS:
            item.add_marker(pytest.mark.xdist_group("own-servers"))
        elif _uses_shared_fixture(item):
            item.add_marker(pytest.mark.xdist_group(module))


def _uses_shared_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)  # pytest's own record of the item's fixtures
    if info is None:
        return False
    return any(d.scope in SHARED_SCOPES for defs in info.name2fixturedefs.values() for d in defs)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    cluster = Cluster(make_state_dir() / "cluster", fast=True)
    cluster.start()
    cluster.ensure_database(TEMPLATE)
    migrate.upgrade(cluster.url(TEMPLATE))
    yield cluster
    cluster.destroy()
    cluster.state_dir.parent.rmdir()


@pytest.fixture
def db_url(pg_cluster: Cluster) -> Iterator[str]:
    """A fresh, migrated database of this test's own, dropped afterwards."""
    with own_database(pg_cluster, "test") as url:
        yield url


@pytest.fixture
def session(db_url: str):
    from api.db import session_factory

    with session_factory(db_url)() as session, session.begin():
        yield session


@pytest.fixture
def use_database(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the settings (and so the CLI) at this test's database."""
    monkeypatch.setenv("WANGGE_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


@pytest.fixture
def client(db_url: str):
    from fastapi.testclient import TestClient

    from api.main import create_app

    with TestClient(create_app(db_url)) as c:
        yield c


@pytest.fixture
def planner_headers(db_url: str) -> dict[str, str]:
    """Authorization headers of a planner account ('planner') made in this test's database;
    `client.headers.update(planner_headers)` lets a test use the grid-editing endpoints."""
    from api import accounts as auth
    from api.db import transaction

    with transaction(db_url) as session:
        planner = auth.create_user(session, "planner", "planner", "Grid-edits-2026", actor="test")
    return {"Authorization": f"Bearer {auth.issue_token(planner)}"}
