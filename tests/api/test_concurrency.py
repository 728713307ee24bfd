"""Grid saves under concurrency and failure: a stale save overwrites nothing, and a save or
regeneration that fails while writing its last row leaves the previous version current and whole."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.storage import grids as store
from tests.api.routes.test_grid_edits import city, current_layer, neighbours  # noqa: F401
from tests.api.test_grids_db import COMMUNITY, rows


def snapshot(url: str) -> list[tuple]:
    """Every grid row as stored: id, code, version, validity, households, polygon."""
    return rows(
        url,
        "SELECT id, code, version, valid_from, valid_to, households, ST_AsBinary(geom) "
        "FROM grids ORDER BY id",
    )


def current_codes(url: str) -> list[str]:
    return [r[0] for r in rows(url, "SELECT code FROM grids WHERE valid_to IS NULL ORDER BY code")]


def test_stale_save_of_a_changed_layer_overwrites_nothing(client, city):  # noqa: F811
    layer = current_layer(client)
    saved = client.post(
        "/api/grids/save", json={"community": COMMUNITY, "features": layer, "base_version": 1}
    )
    assert saved.status_code == 200 and saved.json()["version"] == 2
    before = snapshot(city)
    # a planner still on version 1 merges two grids and saves: refused, nothing changes
    a, b = neighbours(layer)
    preview = client.post("/api/grids/merge", json={"community": COMMUNITY, "codes": [a, b]})
    assert preview.status_code == 200
    stale = client.post(
        "/api/grids/save",
        json={"community": COMMUNITY, "features": preview.json()["layer"], "base_version": 1},
    )
    assert stale.status_code == 409, stale.text
    assert snapshot(city) == before
    merged = client.post(
        "/api/grids/merge",
        json={"community": COMMUNITY, "codes": [a, b], "save": True, "base_version": 1},
    )
    assert merged.status_code == 409 and snapshot(city) == before


@pytest.fixture
def failing_last_row(monkeypatch):
    """write_version with the last row's households set to -1: the CHECK constraint fails on
    the insert, after the previous rows were closed in the same transaction."""
    original = store.write_version
    calls = []

    def broken(session, area, grids, *, at):
        grids = grids.copy()
        grids.loc[grids.index[-1], "households"] = -1
        calls.append(len(grids))
        return original(session, area, grids, at=at)

    monkeypatch.setattr(store, "write_version", broken)
    return calls


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/api/grids/save", "layer"),
        ("/api/grids/regenerate", {"save": True, "base_version": 1}),
        ("/api/grids/split", "split"),
    ],
)
def test_failure_in_the_last_row_leaves_the_previous_version_current(
    city,  # noqa: F811
    planner_headers,
    failing_last_row,
    monkeypatch,
    path,
    extra,
):
    with TestClient(create_app(city), raise_server_exceptions=False) as client:
        client.headers.update(planner_headers)
        layer = current_layer(client)
        body = {"community": COMMUNITY}
        if extra == "layer":
            body |= {"features": layer, "base_version": 1}
        elif extra == "split":
            code = next(f["id"] for f in layer["features"] if f["properties"]["level"] == "grid")
            body |= {"code": code, "parts": 2, "save": True, "base_version": 1}
        else:
            body |= extra
        before, codes = snapshot(city), current_codes(city)
        response = client.post(path, json=body)
        assert failing_last_row, "the save did not reach write_version"
        assert response.status_code == 500, response.text
        assert snapshot(city) == before
        assert current_codes(city) == codes
        history = client.get("/api/grids/history", params={"community": COMMUNITY}).json()
        assert history["current_version"] == 1
    monkeypatch.undo()  # the fault gone, the same save goes through as version 2
    with TestClient(create_app(city), headers=planner_headers) as client:
        again = client.post(path, json=body)
        assert again.status_code == 200, again.text
        assert again.json()["saved"] is True and again.json()["version"] == 2


def test_db_mode_regeneration_failing_midway_writes_nothing(city, failing_last_row):  # noqa: F811
    from api.db import transaction
    from api.grids.generation import generate_communities

    before = snapshot(city)
    with pytest.raises(Exception, match="households_nonnegative"), transaction(city) as session:
        generate_communities(session, store.select_communities(session, every=True))
    assert failing_last_row and snapshot(city) == before
