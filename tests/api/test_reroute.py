"""Re-routing open cases after grid redraws, and worker assignments of retired grid codes."""

from __future__ import annotations

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely import box
from sqlalchemy import text

from api import cases
from api.db import transaction
from api.settings import get_settings
from api.storage import grids as grid_store
from tests.api import cases_world as w
from tests.conftest import load_gridded_city


def _report(session, lon, lat, category="dispute.neighbour"):
    new = cases.NewCase(category=category, description="x", lon=lon, lat=lat)
    return cases.create_case(session, new)[0]


def _case(session, case_id):
    return session.execute(
        text(
            "SELECT c.grid_code, c.micro_grid_code, c.status, w.worker_id FROM cases c "
            "LEFT JOIN workers w ON w.id = c.assignee_id WHERE c.id = :i"
        ),
        {"i": case_id},
    ).one()


def _redraw(session, new: str) -> None:
    """A shrinks to x < 118.808 (its micro-grids dropped), the rest of the area is grid `new`."""
    (area,) = grid_store.select_communities(session, community=[w.C1])
    at = grid_store.lock_communities(session, [area.id])
    layer = gpd.GeoDataFrame(
        {
            "code": [w.A, new],
            "level": ["grid", "grid"],
            "parent_code": [None, None],
            "households": [300, 500],
            "members": [[], []],
        },
        geometry=[box(118.80, 32.00, 118.808, 32.01), box(118.808, 32.00, 118.82, 32.01)],
        crs=4326,
    )
    grid_store.write_version(session, area, layer, at=at)


def test_redraw_reroutes_open_cases_and_moves_assignments(db_url):
    w.build(db_url)
    with transaction(db_url) as s:
        in_a = _report(s, 118.809, 32.0075)  # in A, near the edge with B
        deep = _report(s, 118.801, 32.0075)  # deep in A
        closed = _report(s, 118.8095, 32.002)
        s.execute(text("UPDATE cases SET status = 'closed' WHERE id = :i"), {"i": closed})
        s.execute(text("UPDATE cases SET status = 'accepted' WHERE id = :i"), {"i": in_a})
    # the redraw: A shrinks to x < 118.808 (its micro-grids dropped), B grows west; grid A's
    # code stays, B is renumbered 003 (B retired: its workers should follow to 003)
    new = w.C1 + "003"
    with transaction(db_url) as s:
        _redraw(s, new)
        moved = cases.reroute_open_cases(s, actor="test")
    assert moved == 2  # in_a changes grid; deep loses its micro-grid
    with transaction(db_url) as s:
        grid, micro, status, worker = _case(s, in_a)
        assert (grid, micro, status, worker) == (new, None, "dispatched", "LB")
        assert _case(s, deep)[:2] == (w.A, None)
        assert _case(s, closed)[0] == w.A  # closed cases keep their history
        events = s.execute(
            text(
                "SELECT kind, actor, data, from_status, to_status FROM case_events "
                "WHERE case_id = :i ORDER BY id"
            ),
            {"i": in_a},
        ).all()
        assert events[-1].kind == "reroute" and events[-1].actor == "test"
        # the new grid's worker has not accepted it yet
        assert (events[-1].from_status, events[-1].to_status) == ("accepted", "dispatched")
        assert events[-1].data["from_grid"] == w.A and events[-1].data["to_grid"] == new
        lb = s.execute(
            text(
                "SELECT grid_code FROM worker_grids wg JOIN workers w ON w.id = wg.worker_id "
                "WHERE w.worker_id = 'LB'"
            )
        ).scalars()
        assert list(lb) == [new]
        # nothing changed since: a second run re-routes nothing
        assert cases.reroute_open_cases(s, actor="test") == 0


def test_assignee_serving_the_new_grid_keeps_the_accepted_case(db_url):
    w.build(db_url)
    new = w.C1 + "003"
    with transaction(db_url) as s:
        in_a = _report(s, 118.809, 32.0075)
        s.execute(text("UPDATE cases SET status = 'accepted' WHERE id = :i"), {"i": in_a})
        worker = _case(s, in_a).worker_id
        s.execute(
            text(
                "INSERT INTO worker_grids (worker_id, grid_code) "
                "SELECT id, :g FROM workers WHERE worker_id = :w"
            ),
            {"g": new, "w": worker},
        )
    with transaction(db_url) as s:
        _redraw(s, new)
        assert cases.reroute_open_cases(s, actor="test") >= 1
    with transaction(db_url) as s:
        assert tuple(_case(s, in_a)) == (new, None, "accepted", worker)
        last = s.execute(
            text(
                "SELECT from_status, to_status, data FROM case_events "
                "WHERE case_id = :i ORDER BY id DESC LIMIT 1"
            ),
            {"i": in_a},
        ).one()
        assert (last.from_status, last.to_status) == ("accepted", "accepted")
        assert last.data["to_grid"] == new


@pytest.fixture
def synthetic(db_url, monkeypatch):
    monkeypatch.setenv("WANGGE_RATE_LIMIT", "false")
    get_settings.cache_clear()
    load_gridded_city(db_url)
    from api.main import create_app

    with TestClient(create_app(db_url)) as c:
        yield c
    get_settings.cache_clear()


def test_split_over_http_reroutes(synthetic, db_url):
    from api import accounts as auth

    with transaction(db_url) as s:
        routed = cases.route_unrouted(s)
        token = auth.issue_token(auth.create_user(s, "admin1", "admin", w.PASSWORD))
        community, code, count = s.execute(
            text(
                "SELECT community_code, grid_code, count(*) FROM cases WHERE grid_code IS NOT NULL "
                "GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1"
            )
        ).one()
    assert routed > 0 and count >= 2
    r = synthetic.post(
        "/api/grids/split",
        json={"community": community, "code": code, "save": True},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    with transaction(db_url) as s:
        left = s.execute(
            text("SELECT count(*) FROM cases WHERE grid_code = :g AND status <> 'closed'"),
            {"g": code},
        ).scalar()
        current = s.execute(
            text("SELECT count(*) FROM grids WHERE code = :g AND valid_to IS NULL"), {"g": code}
        ).scalar()
        rerouted = s.execute(
            text("SELECT count(*) FROM case_events WHERE kind = 'reroute'")
        ).scalar()
        stale = s.execute(
            text(
                "SELECT count(*) FROM cases c "
                "WHERE c.grid_code IS NOT NULL AND c.status <> 'closed' "
                "AND NOT EXISTS (SELECT 1 FROM grids g WHERE g.code = c.grid_code "
                "AND g.valid_to IS NULL)"
            )
        ).scalar()
    assert rerouted >= 1 and stale == 0
    assert current == 1 or left == 0
