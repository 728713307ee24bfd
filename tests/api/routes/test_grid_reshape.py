"""Topological boundary editing over HTTP: /api/grids/handles and /api/grids/reshape against the
synthetic community in a throwaway PostGIS database."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sqlalchemy import text

from api import accounts as auth
from api.db import transaction
from api.grids.generation import generate_communities
from api.storage import grids as store
from tests.api.auth_helpers import PASSWORD, bearer
from tests.api.test_grids_db import COMMUNITY, load_city, rows

OTHER_COMMUNITY = COMMUNITY[:9] + "002"
DIRECTIONS = [(np.cos(a), np.sin(a)) for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)]


@pytest.fixture
def city(db_url, client, planner_headers):
    """The synthetic community with grids as layer version 1; the client signed in as a planner."""
    client.headers.update(planner_headers)
    load_city(db_url)
    with transaction(db_url) as session:
        generate_communities(session, store.select_communities(session, every=True))
    return db_url


def handles(client, **body) -> list[dict]:
    response = client.post("/api/grids/handles", json={"community": COMMUNITY, **body})
    assert response.status_code == 200, response.text
    return response.json()["handles"]


def offset(lon: float, lat: float, metres: float, direction) -> list[float]:
    dx, dy = direction
    return [lon + metres * dx / (111_320 * np.cos(np.radians(lat))), lat + metres * dy / 111_320]


def working_drag(client) -> tuple[dict, list[float], dict]:
    """A preview drag of a corner shared by two grids that hands buildings over."""
    for handle in handles(client):
        if handle["kind"] != "corner":
            continue
        for metres in (15, 30):
            for direction in DIRECTIONS:
                to = offset(handle["lon"], handle["lat"], metres, direction)
                body = {"community": COMMUNITY, "from": [handle["lon"], handle["lat"]], "to": to}
                response = client.post("/api/grids/reshape", json=body)
                if response.status_code == 422:
                    continue
                assert response.status_code == 200, response.text
                if response.json()["report"] and changed_households(client, response.json()):
                    return handle, to, response.json()
    raise AssertionError("no drag moved a building")


def changed_households(client, body: dict) -> dict[str, tuple[int, int]]:
    stored = client.get("/api/grids", params={"community": COMMUNITY}).json()
    before = {f["properties"]["code"]: f["properties"]["households"] for f in stored["features"]}
    after = {f["id"]: f["properties"]["households"] for f in body["layer"]["features"]}
    return {c: (before[c], after[c]) for c in after if before.get(c) != after[c]}


def test_handles_are_few_per_grid(client, city):
    found = handles(client)
    per_grid = Counter(code for h in found for code in h["codes"])
    assert len(per_grid) > 1 and max(per_grid.values()) <= 40
    assert {h["kind"] for h in found} <= {"junction", "corner", "boundary"}
    one = sorted(per_grid)[0]
    mine = handles(client, codes=[one])
    assert len(mine) == per_grid[one] and all(one in h["codes"] for h in mine)
    micro = handles(client, level="micro")
    assert micro and all(len(h["codes"][0]) == 18 for h in micro)
    # a draft is read instead of the stored layer
    layer = client.get("/api/grids", params={"community": COMMUNITY}).json()
    assert handles(client, features=layer) == found


def test_reshape_preview_then_save_and_stale_version(client, city):
    before = rows(city, "SELECT count(*) FROM grids")
    handle, to, preview = working_drag(client)
    errors = [
        p["properties"]
        for p in preview["problems"]["features"]
        if p["properties"]["severity"] == "error"
    ]
    assert preview["ok"] is True, errors
    assert preview["saved"] is False and preview["version"] == 1
    moved = changed_households(client, preview)
    grids = {c: v for c, v in moved.items() if len(c) == 15}
    assert set(grids) <= set(handle["codes"]) and grids
    assert sum(a for _, a in grids.values()) == sum(b for b, _ in grids.values())
    assert rows(city, "SELECT count(*) FROM grids") == before  # a preview writes nothing
    body = {"community": COMMUNITY, "from": [handle["lon"], handle["lat"]], "to": to}
    stale = client.post("/api/grids/reshape", json=body | {"save": True, "base_version": 7})
    assert stale.status_code == 409, stale.text
    assert rows(city, "SELECT count(*) FROM grids") == before
    saved = client.post("/api/grids/reshape", json=body | {"save": True, "base_version": 1})
    assert saved.status_code == 200, saved.text
    assert saved.json()["saved"] is True and saved.json()["version"] == 2
    assert changed_households(client, preview) == {}  # the stored layer is now the preview's
    # the moved corner is a handle of the saved layer, shared by the same grids
    now = {(round(h["lon"], 9), round(h["lat"], 9)): h for h in handles(client)}
    assert now[(round(to[0], 9), round(to[1], 9))]["codes"] == handle["codes"]
    audit = rows(city, "SELECT action FROM audit_log WHERE object_type = 'grids'")
    assert audit == [("grids.reshape",)]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"from": [0.0, 0.0]}, "不是可拖动的角点"),
        ({"to": "far"}, None),
        ({"to": [500.0, 32.0]}, None),
        ({"level": "street"}, None),
        ({"from": None}, None),
    ],
)
def test_bad_drags_are_422_and_write_nothing(client, city, change, words):
    handle = next(h for h in handles(client) if h["kind"] == "junction")
    body = {"community": COMMUNITY, "from": [handle["lon"], handle["lat"]], "save": True}
    body |= {"to": offset(handle["lon"], handle["lat"], 5, (1, 0))} | change
    response = client.post("/api/grids/reshape", json=body)
    assert response.status_code == 422, response.text
    if words:
        assert words in response.json()["detail"]
    assert rows(city, "SELECT max(version) FROM grids") == [(1,)]


def test_drags_across_or_off_the_boundary_are_refused(client, city):
    found = handles(client)
    junction = next(h for h in found if h["kind"] == "junction")
    start = [junction["lon"], junction["lat"]]
    across = {"community": COMMUNITY, "from": start, "to": offset(*start, 250, (1, 0))}
    response = client.post("/api/grids/reshape", json=across)
    assert response.status_code == 422 and response.json()["detail"][0] > "\u4e00"
    outside = {"community": COMMUNITY, "from": start, "to": [start[0] + 0.05, start[1]]}
    response = client.post("/api/grids/reshape", json=outside)
    assert response.status_code == 422 and "边界" in response.json()["detail"]


def test_locked_grid_is_refused(client, city):
    handle = next(h for h in handles(client) if h["kind"] == "corner")
    locked = client.post("/api/grids/lock", json={"codes": handle["codes"][:1]})
    assert locked.status_code == 200
    body = {
        "community": COMMUNITY,
        "from": [handle["lon"], handle["lat"]],
        "to": offset(handle["lon"], handle["lat"], 5, (0, 1)),
    }
    response = client.post("/api/grids/reshape", json=body)
    assert response.status_code == 422 and "已锁定" in response.json()["detail"]


def test_area_rules_like_the_other_edits(client, city):
    client.headers.pop("Authorization")
    with transaction(city) as session:
        session.execute(
            text(
                "INSERT INTO communities (code, name, street_id) "
                "SELECT :c, '别的社区', street_id FROM communities WHERE code = :own"
            ),
            {"c": OTHER_COMMUNITY, "own": COMMUNITY},
        )
        outsider = auth.create_user(
            session, "community2", "community_admin", PASSWORD, community_code=OTHER_COMMUNITY
        )
        insider = auth.create_user(
            session, "community1", "community_admin", PASSWORD, community_code=COMMUNITY
        )
        worker = auth.create_user(session, "worker9", "resident", PASSWORD)
    body = {"community": COMMUNITY}
    assert client.post("/api/grids/handles", json=body).status_code == 401
    assert client.post("/api/grids/handles", json=body, headers=bearer(worker)).status_code == 403
    refused = client.post("/api/grids/handles", json=body, headers=bearer(outsider))
    assert refused.status_code == 403
    drag = body | {"from": [0.0, 0.0], "to": [0.0, 0.0]}
    refused = client.post("/api/grids/reshape", json=drag, headers=bearer(outsider))
    assert refused.status_code == 403
    assert client.post("/api/grids/handles", json=body, headers=bearer(insider)).status_code == 200
