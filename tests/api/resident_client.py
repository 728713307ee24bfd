"""The cases world (tests/api/cases_world.py) served for residents' tests: rate limits and the
sender job off (tests that need the job run it themselves)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from api.settings import get_settings
from tests.api import cases_world as w


@contextmanager
def resident_client(db_url: str, monkeypatch) -> Iterator[TestClient]:
    monkeypatch.setenv("WANGGE_RATE_LIMIT", "false")
    monkeypatch.setenv("WANGGE_NOTIFY_JOB", "false")
    get_settings.cache_clear()
    w.build(db_url)
    from api.main import create_app

    with TestClient(create_app(db_url)) as client:
        client.headers_by = w.accounts(db_url)
        client.db_url = db_url
        yield client
    get_settings.cache_clear()
