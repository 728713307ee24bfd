"""`wangge demo` makes one account per role; the grid worker serves a grid with sample cases."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.accounts import Role
from api.demo import datasets as demo
from api.demo.accounts import DEMO_PASSWORD
from api.main import create_app


def test_demo_accounts_sign_in_and_cover_the_sample_cases(use_database):
    demo.prepare(dataset="synthetic", size="community", log=lambda _: None).close()
    with TestClient(create_app(use_database)) as client:
        me = {}
        for role in Role:
            form = {"username": role.value, "password": DEMO_PASSWORD}
            token = client.post("/api/auth/token", data=form)
            assert token.status_code == 200, (role, token.text)
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            me[role] = client.get("/api/auth/me", headers=headers).json()
            assert me[role]["role"] == role.value
            if role is Role.grid_worker:
                assignee = {"assignee": me[role]["worker_id"]}
                mine = client.get("/api/cases", params=assignee, headers=headers)
                seen = client.get("/api/cases", headers=headers)
    worker = me[Role.grid_worker]
    leader = me[Role.grid_leader]
    assert worker["grid_codes"] and worker["worker_id"] not in (None, "grid_worker")
    assert set(worker["grid_codes"]) & set(leader["grid_codes"])  # the synthetic city's own
    community = me[Role.community_admin]["community_code"]
    assert all(code.startswith(community) for code in worker["grid_codes"])
    assert me[Role.street_admin]["street_code"] == community[:9]
    assert me[Role.department]["department"]
    engine = create_engine(use_database)
    with engine.connect() as conn:
        in_grid = conn.execute(
            text(
                "SELECT count(*) FROM cases c JOIN grids g ON ST_Contains(g.geom, c.geom) "
                "WHERE g.code = ANY(:g) AND g.valid_to IS NULL"
            ),
            {"g": worker["grid_codes"]},
        ).scalar()
        leaders = conn.execute(
            text(
                "SELECT count(*) FROM worker_grids wg JOIN workers w ON w.id = wg.worker_id "
                "WHERE w.role = 'grid_leader' GROUP BY wg.grid_code ORDER BY 1 DESC LIMIT 1"
            )
        ).scalar()
        worker_name = conn.execute(
            text("SELECT name FROM workers WHERE worker_id = :w"), {"w": worker["worker_id"]}
        ).scalar()
        audited = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE action = 'user.create' AND actor = 'demo'")
        ).scalar()
    engine.dispose()
    assert in_grid > 0
    assert mine.json()["total"] > 0  # dispatch gave the demo worker some of the sample cases
    assert seen.json()["total"] >= mine.json()["total"]  # the whole grid's cases
    assert {c["grid_code"] for c in seen.json()["items"]} <= set(worker["grid_codes"])
    assert leaders == 1  # linking to the city's own workers keeps one leader per grid
    assert audited == len(Role)
    # pages greet people by name ("已登录：…"), never by the role's account name
    assert worker["display_name"] == worker_name
    assert me[Role.planner]["display_name"] == "张敏"
    assert all(me[r]["display_name"] and me[r]["display_name"] != r.value for r in Role)
