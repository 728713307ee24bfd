"""Red points through the API on the small case world: a community records an activity, a
resident exchanges points with the community's confirmation, a true case report earns points,
and each role sees and does only what it may."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from api import accounts as auth
from api.db import session_factory, transaction
from api.demo.points import seed_points
from api.points import exchanges, ledger, people
from api.points.rules import rules
from api.service_orders import volunteers
from api.storage.models import AuditEntry, PointActivity, PointsEntry
from tests.api import cases_world as w
from tests.conftest import own_database

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def client(pg_cluster):
    with own_database(pg_cluster, "points_api") as url, w.served(url) as client:
        with transaction(url) as session:
            for name, display in (("resident2", "李四"), ("resident3", "王五")):
                principal = auth.create_user(
                    session, name, "resident", w.PASSWORD, display_name=display,
                    community_code=w.C1,
                )  # fmt: skip
                client.headers_by[name] = {"Authorization": f"Bearer {auth.issue_token(principal)}"}
        client.db_url = url
        yield client


def call(client, method, path, user, **kw):
    return client.request(method, path, headers=client.headers_by[user], **kw)


def me(client, user):
    r = call(client, "GET", "/api/points/me", user)
    assert r.status_code == 200, r.text
    return r.json()


def test_activity_then_exchange_confirmed_by_the_community(client):
    offer = {"community_code": w.C1, "name": "洗衣液", "cost": 8, "stock": 1}
    reward = call(client, "POST", "/api/points/rewards", "community1", json=offer)
    assert reward.status_code == 201, reward.text
    activity = {"community_code": w.C1, "name": "楼道清洁", "held_on": "2026-11-30",
                "participants": [{"username": "resident2", "points": 10},
                                 {"username": "resident3"}]}  # fmt: skip
    made = call(client, "POST", "/api/points/activities", "community1", json=activity)
    assert made.status_code == 201, made.text
    mine = me(client, "resident2")
    assert (mine["balance"], mine["available"]) == (10, 10)
    assert [(e["kind"], e["points"]) for e in mine["entries"]] == [("activity", 10)]
    assert me(client, "resident3")["balance"] == rules().activity_default

    rid = reward.json()["id"]
    asked = call(client, "POST", "/api/points/exchanges", "resident2", json={"reward_id": rid})
    assert asked.status_code == 201, asked.text
    assert me(client, "resident2")["available"] == 2  # held until the community decides
    again = call(client, "POST", "/api/points/exchanges", "resident2", json={"reward_id": rid})
    assert again.status_code == 409 and "积分不足" in again.json()["detail"]

    waiting = call(client, "GET", f"/api/points/community/exchanges?community={w.C1}"
                   "&status=requested", "community1").json()  # fmt: skip
    assert [(e["name"], e["reward"], e["cost"]) for e in waiting] == [("李四", "洗衣液", 8)]
    path = f"/api/points/exchanges/{asked.json()['id']}/decision"
    done = call(client, "POST", path, "community1", json={"confirm": True})
    assert done.status_code == 200 and done.json()["status"] == "confirmed"
    twice = call(client, "POST", path, "community1", json={"confirm": True})
    assert twice.status_code == 409
    mine = me(client, "resident2")
    assert (mine["balance"], mine["available"]) == (2, 2)
    assert mine["entries"][0]["kind"] == "exchange" and mine["entries"][0]["points"] == -8
    stock = call(client, "GET", f"/api/points/community/rewards?community={w.C1}", "community1")
    assert [r["stock"] for r in stock.json()] == [0]

    ranking = call(client, "GET", f"/api/points/ranking?community={w.C1}", "community1").json()
    assert ranking["residents"] == [  # by points earned: the exchange does not lower the rank
        {"rank": 1, "name": "李四", "points": 10},
        {"rank": 2, "name": "王五", "points": rules().activity_default},
    ]
    with transaction(client.db_url) as session:
        audited = session.scalar(select(func.count()).where(AuditEntry.action.like("points.%")))
        entries = session.scalar(select(func.count()).select_from(PointsEntry))
    # 3 entries, the reward, the activity, the request and the confirmation
    assert entries == 3 and audited == entries + 4


def test_a_true_report_earns_points_a_dismissed_one_does_not(client):
    def step(case_id, action):
        version = call(client, "GET", f"/api/cases/{case_id}", "admin1").json()["version"]
        body = {"action": action, "version": version}
        r = call(client, "POST", f"/api/cases/{case_id}/transitions", "admin1", json=body)
        assert r.status_code == 200, r.text

    before = me(client, "resident3")["balance"]
    body = {"lon": 118.805, "lat": 32.0025, "crs": "wgs84", "category": "dispute.neighbour",
            "description": "楼道堆物"}  # fmt: skip
    true_case = call(client, "POST", "/api/cases", "resident3", json=body).json()
    false_case = call(client, "POST", "/api/cases", "resident3", json=body).json()
    for action in ("accept", "resolve", "close"):
        step(true_case["id"], action)
    step(false_case["id"], "dismiss")
    mine = me(client, "resident3")
    assert mine["balance"] == before + rules().case_report
    assert [e["kind"] for e in mine["entries"]].count("case_report") == 1


def test_role_rules(client):
    activity = {"community_code": w.C1, "name": "议事会", "held_on": "2026-11-01",
                "participants": [{"username": "resident2"}]}  # fmt: skip
    assert (
        call(client, "POST", "/api/points/activities", "resident2", json=activity).status_code
        == 403
    )
    assert (
        call(client, "POST", "/api/points/activities", "worker_a", json=activity).status_code == 403
    )
    other = activity | {"community_code": w.C2}
    assert (
        call(client, "POST", "/api/points/activities", "community1", json=other).status_code == 403
    )
    assert call(client, "POST", "/api/points/activities", "street1", json=other).status_code == 201
    for user in ("resident2", "worker_a"):
        r = call(client, "GET", f"/api/points/ranking?community={w.C1}", user)
        assert r.status_code == 403
    r = call(client, "GET", f"/api/points/community/people?community={w.C2}", "community1")
    assert r.status_code == 403
    people = call(client, "GET", f"/api/points/community/people?community={w.C1}", "community1")
    assert {p["username"] for p in people.json()} == {"resident2", "resident3"}
    (reward, *_) = call(client, "GET", "/api/points/rewards", "worker_a").json()
    r = call(client, "POST", "/api/points/exchanges", "worker_a", json={"reward_id": reward["id"]})
    assert r.status_code == 403 and "居民" in r.json()["detail"]
    # one's own entries only: resident3 sees none of resident2's
    assert all(e["kind"] != "exchange" for e in me(client, "resident3")["entries"])


def test_bad_input_is_a_chinese_4xx_and_writes_nothing(client):
    with transaction(client.db_url) as session:
        before = session.scalar(select(func.count()).select_from(PointActivity))
    cases = [
        ({"held_on": "2999-01-01"}, 422, "日期"),
        ({"participants": [{"username": "resident2"}, {"username": "nobody"}]}, 404, "居民"),
        ({"participants": [{"username": "worker_a"}]}, 404, "居民"),
        ({"participants": [{"username": "resident2"}, {"username": "resident2"}]}, 422, "重复"),
        ({"name": "   "}, 422, None),
    ]
    for change, status, word in cases:
        body = {"community_code": w.C1, "name": "测试", "held_on": "2026-11-02",
                "participants": [{"username": "resident2"}]} | change  # fmt: skip
        r = call(client, "POST", "/api/points/activities", "community1", json=body)
        assert r.status_code == status, (change, r.text)
        if word:
            assert word in r.json()["detail"]
    with transaction(client.db_url) as session:
        assert session.scalar(select(func.count()).select_from(PointActivity)) == before
    r = call(client, "POST", "/api/points/rewards", "community1",
             json={"community_code": w.C1, "name": "x", "cost": 0, "stock": 1})  # fmt: skip
    assert r.status_code == 422
    r = call(client, "POST", "/api/points/exchanges", "resident2", json={"reward_id": 99999})
    assert r.status_code == 404 and CHINESE.search(r.json()["detail"])


def test_volunteers_rank_in_their_grid(client):
    with transaction(client.db_url) as session:
        for name, grid in (("vol_a", w.A), ("vol_b", w.B)):
            volunteers.create_volunteer(
                session, name, w.PASSWORD, grid_codes=[grid], kind="volunteer",
                skills=["助老"], display_name=f"志愿者{name[-1]}", actor="test",
            )  # fmt: skip
        assert ledger.award_for_order(session, order_id=901, username="vol_a", stars=5) == 10
        assert ledger.award_for_order(session, order_id=902, username="vol_b", stars=3) == 5
    ranking = call(client, "GET", f"/api/points/ranking?community={w.C1}", "street1").json()
    grids = {g["grid_code"]: g["people"] for g in ranking["grids"]}
    assert grids == {
        w.A: [{"rank": 1, "name": "志愿者a", "points": 10}],
        w.B: [{"rank": 1, "name": "志愿者b", "points": 5}],
    }
    assert all(p["name"] not in ("志愿者a", "志愿者b") for p in ranking["residents"])
    # grids by the name people use, never the raw code
    assert [g["grid_name"] for g in ranking["grids"]] == ["测试社区第1网格", "测试社区第2网格"]
    people = call(client, "GET", f"/api/points/community/people?community={w.C1}", "community1")
    named = {p["username"]: p["grid_name"] for p in people.json()}
    assert named["vol_a"] == "测试社区第1网格" and named["resident2"] is None
    with transaction(client.db_url) as session:
        assert volunteers.profile(session, "vol_b")["grid_name"] == "测试社区第2网格"


def test_a_refused_request_frees_its_points(client):
    offer = {"community_code": w.C2, "name": "雨伞", "cost": 2, "stock": 5}
    reward = call(client, "POST", "/api/points/rewards", "street1", json=offer).json()
    with transaction(client.db_url) as session:
        ledger.add_entry(session, account="resident3", points=2, kind="adjustment",
                         source="test:refuse", community_code=w.C1)  # fmt: skip
    before = me(client, "resident3")
    asked = call(client, "POST", "/api/points/exchanges", "resident3",
                 json={"reward_id": reward["id"]})  # fmt: skip
    assert asked.status_code == 201, asked.text
    assert me(client, "resident3")["available"] == before["available"] - 2
    path = f"/api/points/exchanges/{asked.json()['id']}/decision"
    # the reward is C2's: community1 (C1) may not decide, the street admin may
    assert call(client, "POST", path, "community1", json={"confirm": False}).status_code == 403
    refused = call(client, "POST", path, "street1", json={"confirm": False, "note": "暂缺货"})
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    after = me(client, "resident3")
    assert (after["balance"], after["available"]) == (before["balance"], before["available"])
    assert after["exchanges"][0]["status"] == "refused"
    # the phone lists the rewards of the account's own communities (resident3: C1 only)
    offered = call(client, "GET", "/api/points/rewards", "resident3").json()
    in_c1 = call(client, "GET", f"/api/points/rewards?community={w.C1}", "resident3").json()
    assert offered == in_c1 and "雨伞" not in {r["name"] for r in offered}
    # taken off offer: no longer listed nor requested, still on the community's own list
    off = call(client, "PATCH", f"/api/points/rewards/{reward['id']}", "street1",
               json={"active": False, "stock": 4})  # fmt: skip
    assert off.status_code == 200 and (off.json()["active"], off.json()["stock"]) == (False, 4)
    listed = call(client, "GET", f"/api/points/rewards?community={w.C2}", "resident3").json()
    assert reward["id"] not in {r["id"] for r in listed}
    again = call(client, "POST", "/api/points/exchanges", "resident3",
                 json={"reward_id": reward["id"]})  # fmt: skip
    assert again.status_code == 404
    own = call(client, "GET", f"/api/points/community/rewards?community={w.C2}", "street1")
    assert reward["id"] in {r["id"] for r in own.json()}


def test_hostile_ids_and_bodies_are_4xx(client):
    bad = [
        ("POST", "/api/points/exchanges", "resident2", {"reward_id": 2**40}),
        ("POST", "/api/points/exchanges", "resident2", {"reward_id": "一"}),
        ("POST", f"/api/points/exchanges/{2**40}/decision", "community1", {"confirm": True}),
        ("PATCH", "/api/points/rewards/0", "community1", {"stock": 1}),
        ("PATCH", "/api/points/rewards/1", "community1", {"stock": -1}),
        ("POST", "/api/points/activities", "community1",
         {"community_code": w.C1, "name": "x", "held_on": "2026-13-45",
          "participants": [{"username": "resident2"}]}),
        ("POST", "/api/points/activities", "community1",
         {"community_code": w.C1, "name": "x", "held_on": "2026-11-01",
          "participants": [{"username": "a b"}]}),
        ("POST", "/api/points/activities", "community1",
         {"community_code": "99999", "name": "x", "held_on": "2026-11-01",
          "participants": [{"username": "resident2"}]}),
        ("GET", "/api/points/ranking", "community1", None),
        ("GET", "/api/points/ranking?community=990101001999", "street1", None),
    ]  # fmt: skip
    for method, path, user, body in bad:
        r = call(client, method, path, user, json=body)
        assert 400 <= r.status_code < 500, (path, body, r.status_code, r.text)
    assert client.get("/api/points/me").status_code == 401


def test_the_demo_waiting_exchange_is_shown_by_name(client):
    """api/demo/points.py on this world, rolled back: the community page names the demo
    `resident` whose exchange waits, never by the account name."""
    with session_factory(client.db_url)() as session, session.begin():
        for name, role, area in (("community_admin", "community_admin", {"community_code": w.C1}),
                                 ("resident", "resident", {})):  # fmt: skip
            auth.create_user(session, name, role, w.PASSWORD, actor="test", **area)
        seed_points(session, log=lambda _: None)
        waiting = exchanges.list_exchanges(session, communities=[w.C1], status="requested")
        names = people.display_names(session, [e["account"] for e in waiting])
        session.rollback()
    assert [e["account"] for e in waiting] == ["resident"]
    assert names == {"resident": "李桂英"}
