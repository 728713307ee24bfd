"""The coverage analyses are bounded (issue 18): hostile minutes are refused or rounded, one
analysis runs at a time per process, an answer that takes too long is a 503 with a Chinese
reason while the analysis finishes into the cache, and a change of the data is a new analysis."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import get_settings
from api.stations import budget
from tests.api.test_grids_db import rows
from tests.conftest import gridded_city_database


@pytest.fixture(scope="module")
def city_url(pg_cluster) -> Iterator[str]:
    with gridded_city_database(pg_cluster, "test_cov_bounds") as url:
        yield url


@pytest.fixture
def analyses(monkeypatch) -> Iterator[budget.Analyses]:
    """A fresh set of slots and cache for the test, with the settings it sets."""
    fresh = budget.Analyses(1)
    monkeypatch.setattr(budget, "_analyses", fresh)
    yield fresh
    get_settings.cache_clear()


@pytest.fixture
def api(city_url, analyses) -> Iterator[TestClient]:
    with TestClient(create_app(city_url)) as c:
        yield c


def _settings(monkeypatch, **values) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"WANGGE_ANALYSIS_{name.upper()}", str(value))
    get_settings.cache_clear()


def _community(url: str) -> str:
    return rows(url, "SELECT code FROM communities ORDER BY code LIMIT 1")[0][0]


@pytest.mark.parametrize(
    "minutes", ["60", "30.5", "0", "-1", "1e999", "nan", "inf", "-inf", "9" * 400, "十五"]
)
def test_hostile_minutes_are_refused_before_any_work(api, analyses, minutes):
    answer = api.get("/api/coverage", params={"minutes": minutes})
    assert answer.status_code == 422, answer.text[:300]
    body = {"k": 1, "minutes": minutes}
    assert api.post("/api/coverage/suggestions", json=body).status_code == 422
    assert not analyses.cache and not analyses.running


def test_minutes_that_round_alike_share_one_analysis(api, analyses, city_url):
    code = _community(city_url)
    first = api.get("/api/coverage", params={"community": code, "minutes": 9.8})
    assert first.status_code == 200, first.text
    assert first.json()["minutes"] == 10.0
    again = api.get("/api/coverage", params={"community": code, "minutes": "10.2"})
    assert again.json() == first.json()
    assert len(analyses.cache) == 1
    tiny = api.get("/api/coverage", params={"community": code, "minutes": 0.01})
    assert tiny.status_code == 200 and tiny.json()["minutes"] == 0.5


def test_a_slow_analysis_is_a_503_then_cached(api, analyses, city_url, monkeypatch):
    """Budget far below what the analysis takes: 503 with Retry-After and a Chinese reason;
    the analysis finishes in the background and the same request is then answered."""
    _settings(monkeypatch, budget_s="0.000001")
    params = {"community": _community(city_url), "function": "health", "minutes": 15}
    slow = api.get("/api/coverage", params=params)
    assert slow.status_code == 503, slow.text
    assert slow.json()["detail"].startswith("分析超过") and slow.headers["Retry-After"]
    running = list(analyses.running.values())
    for future in running:  # the background analysis, not a timing
        future.exception(timeout=120)
    assert len(analyses.cache) == 1
    done = api.get("/api/coverage", params=params)
    assert done.status_code == 200, done.text
    assert done.json()["households"] > 0


def test_no_free_slot_is_a_503_at_once_and_the_slot_comes_back(api, analyses, monkeypatch):
    _settings(monkeypatch, wait_s="0.01")
    release = threading.Event()
    holder = threading.Thread(
        target=analyses.run, args=("held", release.wait), kwargs={"wait_s": 1, "budget_s": 60}
    )
    holder.start()
    try:
        while "held" not in analyses.running:  # the holder has the only slot
            threading.Event().wait(0.01)
        busy = api.post("/api/coverage/suggestions", json={"k": 1, "minutes": 5})
        assert busy.status_code == 503, busy.text
        assert busy.json()["detail"].startswith("分析任务繁忙")
        assert "Retry-After" in busy.headers
    finally:
        release.set()
        holder.join()
    answered = api.post("/api/coverage/suggestions", json={"k": 1, "minutes": 5})
    assert answered.status_code == 200, answered.text


def test_a_change_of_the_data_is_a_new_analysis(api, analyses, city_url):
    from sqlalchemy import text

    from api.db import transaction

    code = _community(city_url)
    params = {"community": code, "minutes": 10}
    before = api.get("/api/coverage", params=params).json()
    with transaction(city_url) as session:  # one more household, undone below
        session.execute(
            text("UPDATE buildings SET households = households + 1 WHERE id = "
                 "(SELECT min(b.id) FROM buildings b JOIN communities c "
                 "ON c.id = b.community_id WHERE c.code = :code)"),
            {"code": code},
        )  # fmt: skip
    try:
        after = api.get("/api/coverage", params=params).json()
        assert after["households"] == before["households"] + 1
        assert len(analyses.cache) == 2
    finally:
        with transaction(city_url) as session:
            session.execute(
                text("UPDATE buildings SET households = households - 1 WHERE id = "
                     "(SELECT min(b.id) FROM buildings b JOIN communities c "
                     "ON c.id = b.community_id WHERE c.code = :code)"),
                {"code": code},
            )  # fmt: skip


def test_the_command_line_is_not_held_to_the_budget(city_url, analyses, monkeypatch):
    """`wangge stations coverage` answers nobody waiting: a budget the HTTP answer could not
    meet does not stop it."""
    from typer.testing import CliRunner

    from api.cli import app

    _settings(monkeypatch, budget_s="0.000001")
    monkeypatch.setenv("WANGGE_DATABASE_URL", city_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["stations", "coverage", "--minutes", "10"])
    assert result.exit_code == 0, result.output
    assert "buildings have no station within 10 min" in result.output
    assert not analyses.cache and not analyses.running
