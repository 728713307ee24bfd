"""On the worker's phone, visits to two buildings without name or address read apart: the road
beside them and each one's number in the grid, shown as text even when the road's name is
hostile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from api.db import transaction
from tests.browser.conftest import screenshot, token
from tests.browser.worker_world import PASSWORD, WORKER, make_worker, sign_in

ROAD = "<img src=x onerror=window.hit=1>巷"


def _unnamed_pair(live, grid: dict) -> list[tuple[str, float, float]]:
    """Two of the grid's buildings, their name and address removed, a hostile road between."""
    members = [m[0] for m in grid["properties"]["members"]]
    with transaction(live.database_url) as s:
        rows = s.execute(
            text(
                "SELECT building_id, ST_X(location), ST_Y(location) FROM buildings"
                " WHERE building_id = ANY(:ids) ORDER BY building_id LIMIT 2"
            ),
            {"ids": members},
        ).all()
        s.execute(
            text(
                "UPDATE buildings SET name = NULL, address = NULL, households = 12"
                " WHERE building_id = ANY(:ids)"
            ),
            {"ids": [r[0] for r in rows]},
        )
        (_, x1, y1), (_, x2, y2) = rows
        s.execute(
            text(
                "INSERT INTO roads (road_id, name, class, geom) VALUES ('u19-road', :n,"
                " 'residential', ST_Multi(ST_MakeLine(ST_SetSRID(ST_MakePoint(:x1, :y1), 4326),"
                " ST_SetSRID(ST_MakePoint(:x2, :y2), 4326))))"
            ),
            {"n": ROAD, "x1": x1, "y1": y1, "x2": x2, "y2": y2},
        )
    return [tuple(r) for r in rows]


def test_unnamed_buildings_read_apart_in_the_phone_visit_list(live_server, phone):
    grid, _ = make_worker(live_server)
    pair = _unnamed_pair(live_server, grid)
    headers = token(live_server, WORKER, PASSWORD)
    for minutes_ago, (building, lon, lat) in zip((40, 20), pair, strict=True):
        at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
        body = {"building_id": building, "lon": lon, "lat": lat, "visited_at": at}
        r = httpx.post(f"{live_server.url}/api/visits", json=body, headers=headers)
        assert r.status_code == 201, r.text
    p = phone.page
    sign_in(p, live_server)
    p.wait_for_function("() => document.querySelectorAll('#visit-list li').length === 2")
    lines = p.locator("#visit-list li strong").all_inner_texts()
    assert len(set(lines)) == 2, lines
    for line in lines:
        assert line.startswith(f"未命名楼栋（住宅），{ROAD}旁，网格内第 "), line
    assert p.locator("#visit-list img").count() == 0
    assert p.evaluate("window.hit") is None
    p.locator("#visits").scroll_into_view_if_needed()
    screenshot(p, "worker-visits-unnamed")
