"""Service orders end to end on a real PostGIS: placing, posting to the grid's volunteers by
skill, taking exactly once under concurrency, done, confirm and rate (the station's rating and
the volunteer's points), timeouts and re-posting, and who sees the resident's phone number.

One world per module (tests/api/cases_world.py: grids A and B in community 1), with two
stations and five volunteers."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from api import accounts as auth
from api.db import session_factory, transaction
from api.errors import ConflictError
from api.service_orders import flow, timeouts, volunteers
from tests.api.cases_world import C1, PASSWORD, A, B, served
from tests.conftest import own_database

IN_A, IN_B = (118.805, 32.005), (118.815, 32.005)
PHONE = "13812345678"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
VOLUNTEERS = {  # name → grid, kind, skills
    "v_repair": (A, "building_lead", ["维修"]),
    "v_elder": (A, "party_member", ["助老"]),
    "v_elder2": (A, "volunteer", ["助老", "陪诊"]),
    "v_b": (B, "volunteer", ["助老"]),
}


@pytest.fixture(scope="module")
def world(pg_cluster):
    with own_database(pg_cluster, "service_orders") as url, served(url) as client:
        with transaction(url) as s:
            stations = [
                ("NC", "邻里中心", "{childcare,elderly_care,health,food,leisure,services}", 5,
                 IN_A),
                ("EL", "养老服务站", "{elderly_care}", 3, IN_B),
            ]  # fmt: skip
            for code, kind, functions, stars, (x, y) in stations:
                s.execute(
                    text(
                        "INSERT INTO stations (station_id, name, type, functions, stars, geom) "
                        "VALUES (:c, :n, :k, :f, :s, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
                    ),
                    {
                        "c": code,
                        "n": f"测试{kind}",
                        "k": kind,
                        "f": functions,
                        "s": stars,
                        "x": x + 0.001,
                        "y": y,
                    },  # fmt: skip
                )
            for name, (grid, kind, skills) in VOLUNTEERS.items():
                principal = volunteers.create_volunteer(
                    s, name, PASSWORD, grid_codes=[grid], kind=kind, skills=skills, actor="test"
                )
                client.headers_by[name] = {"Authorization": f"Bearer {auth.issue_token(principal)}"}
            ids = dict(s.execute(text("SELECT station_id, id FROM stations")).all())
        client.url, client.stations = url, ids
        yield client


def place(client, service="home_repair", at=IN_A, station="NC", headers=None, **extra):
    body = {"service": service, "station_id": client.stations[station], "lon": at[0],
            "lat": at[1], "phone": PHONE, "note": "厨房水龙头漏水"} | extra  # fmt: skip
    return client.post("/api/service-orders", json=body, headers=headers)


def count(url: str, sql: str, **params):
    with transaction(url) as s:
        return s.execute(text(sql), params).scalar_one()


def open_ids(client, name: str) -> list[int]:
    r = client.get("/api/service-orders/open", headers=client.headers_by[name])
    assert r.status_code == 200, r.text
    return [o["id"] for o in r.json()]


def test_catalog_near_a_point_from_the_station_functions(world):
    r = world.get("/api/service-orders/catalog", params={"lon": IN_B[0], "lat": IN_B[1]})
    assert r.status_code == 200, r.text
    near, far = r.json()[:2]
    assert near["name"] == "测试养老服务站" and far["name"] == "测试邻里中心"
    assert near["distance_m"] < far["distance_m"]
    assert {s["code"] for s in near["services"]} == {
        "elderly_company", "meal_delivery", "clinic_escort"}  # fmt: skip
    assert {s["skill"] for s in far["services"]} == {"助老", "托育", "代办", "维修", "陪诊"}
    assert near["stars"] == 3


def test_bad_orders_are_refused_in_chinese_and_store_nothing(world):
    before = count(world.url, "SELECT count(*) FROM service_orders")
    bad = [
        place(world, service="massage"),  # not in the catalog
        place(world, service="child_minding", station="EL"),  # the station does not offer it
        place(world, phone=None),  # anonymous without a phone number
        place(world, at=(118.90, 32.10)),  # in no grid
        place(world, lon=None, lat=None),  # no place at all
        place(world, phone="call me"),
        world.post("/api/service-orders", json={"service": "errand"}),
    ]
    for r in bad:
        assert r.status_code == 422, r.text
    assert all(CHINESE.search(str(r.json()["detail"])) for r in bad[:6])
    assert count(world.url, "SELECT count(*) FROM service_orders") == before


def test_an_order_is_posted_to_its_grids_volunteers_with_the_skill(world):
    r = place(world)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "open" and order["volunteers"] == 1 and order["receipt"]
    assert order["id"] in open_ids(world, "v_repair")
    assert order["id"] not in open_ids(world, "v_elder")  # same grid, no 维修
    elder = place(world, service="elderly_company").json()
    assert elder["volunteers"] == 2
    assert elder["id"] in open_ids(world, "v_elder") and elder["id"] in open_ids(world, "v_elder2")
    assert elder["id"] not in open_ids(world, "v_b")  # 助老, but grid B
    listed = world.get("/api/service-orders/open", headers=world.headers_by["v_elder"]).json()
    assert all(o["resident_phone"] is None for o in listed)  # nobody's number before taking
    assert listed[0]["service_name"] and listed[0]["distance_m"] is not None
    # a volunteer may not take what is not posted to them
    r = world.post(f"/api/service-orders/{order['id']}/take", headers=world.headers_by["v_elder"])
    assert r.status_code == 403 and CHINESE.search(r.json()["detail"])


def test_two_volunteers_taking_at_once_one_wins(world):
    order_id = place(world, service="elderly_company").json()["id"]
    first = session_factory(world.url)()
    first.begin()
    flow.take(first, order_id, "v_elder")  # holds the row until it commits
    outcome = {}

    def second():
        with transaction(world.url) as s:
            try:
                outcome["won"] = flow.take(s, order_id, "v_elder2")
            except ConflictError as exc:
                outcome["lost"] = str(exc)

    racer = threading.Thread(target=second)
    racer.start()
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    while count(world.url, waiting) == 0 and racer.is_alive():
        racer.join(0.05)  # until the second UPDATE waits on the first one's row lock
    first.commit()
    first.close()
    racer.join()
    assert "won" not in outcome and "手慢了" in outcome["lost"]
    sql = "SELECT taken_by FROM service_orders WHERE id = :i"
    assert count(world.url, sql, i=order_id) == "v_elder"
    takes = "SELECT count(*) FROM service_order_events WHERE order_id = :i AND action = 'take'"
    assert count(world.url, takes, i=order_id) == 1
    r = world.post(f"/api/service-orders/{order_id}/take", headers=world.headers_by["v_elder2"])
    assert r.status_code == 409


def test_done_confirm_rate_reaches_the_station_rating_and_points(world):
    order = place(world, service="meal_delivery", at=IN_B, station="EL").json()
    receipt, oid, h = order["receipt"], order["id"], world.headers_by["v_b"]
    early = world.post("/api/service-orders/confirm", json={"receipt": receipt, "stars": 5})
    assert early.status_code == 409 and CHINESE.search(early.json()["detail"])
    assert world.post(f"/api/service-orders/{oid}/take", headers=h).status_code == 200
    mine = world.get("/api/service-orders/taken", headers=h).json()
    assert [o["resident_phone"] for o in mine if o["id"] == oid] == [PHONE]  # to call at the door
    wrong = world.post(f"/api/service-orders/{oid}/done", headers=world.headers_by["v_elder"])
    assert wrong.status_code == 403
    assert world.post(f"/api/service-orders/{oid}/done", headers=h).status_code == 200
    mine = world.get("/api/service-orders/taken", headers=h).json()
    assert [o["resident_phone"] for o in mine if o["id"] == oid] == ["138******78"]
    body = {"receipt": receipt, "stars": 4, "comment": "准时送到，谢谢"}
    r = world.post("/api/service-orders/confirm", json=body)
    assert r.status_code == 200, r.text
    rated = r.json()
    assert rated["status"] == "rated" and rated["stars"] == 4
    assert [s["action"] for s in rated["steps"]] == ["place", "take", "done", "confirm", "rate"]
    assert "v_b" not in r.text and PHONE not in r.text  # the timeline names nobody
    again = world.post("/api/service-orders/confirm", json=body | {"stars": 1})
    assert again.status_code == 409
    six = world.post("/api/service-orders/confirm", json=body | {"stars": 6})
    assert six.status_code == 422 and CHINESE.search(six.json()["detail"])
    station = world.get(f"/api/service-orders/catalog/{world.stations['EL']}").json()
    assert (station["stars"], station["resident_rating"], station["ratings"]) == (3, 4.0, 1)
    # the public map shows it too, beside the official stars: in the station's popup lines and
    # as the line of the nearest list (the page's script holds it JSON-escaped)
    shown = json.dumps("居民评分 4.0（1 次评价）")[1:-1]
    assert world.get("/map/public").text.count(shown) == 2  # one rated station, two places
    sql = "SELECT sum(points) FROM points_entries WHERE account = 'v_b' AND source = :s"
    assert count(world.url, sql, s=f"order:{oid}") > 0


def test_nobody_takes_it_reposted_to_the_community_then_expired(world):
    order = place(world, service="errand", at=IN_B).json()  # 代办: nobody in grid B has it
    assert order["volunteers"] == 0 and order["id"] not in open_ids(world, "v_b")
    sql = "SELECT created_at FROM service_orders WHERE id = :i"
    created = count(world.url, sql, i=order["id"])
    with transaction(world.url) as s:
        due = timeouts.sweep(s, now=created + timedelta(minutes=61))
    assert order["id"] in due["reposted"]
    assert order["id"] in open_ids(world, "v_b") and order["id"] in open_ids(world, "v_elder")
    told = "SELECT data->'told' FROM service_order_events WHERE order_id = :i AND action = 'repost'"
    assert count(world.url, told, i=order["id"]) == ["community1"]
    admin = world.get("/api/service-orders/community", headers=world.headers_by["community1"])
    listed = {o["id"]: o for o in admin.json()}
    assert listed[order["id"]]["posted_to"] == "community"
    assert listed[order["id"]]["resident_phone"] == PHONE  # the admin calls the resident
    with transaction(world.url) as s:
        due = timeouts.sweep(s, now=created + timedelta(minutes=1441))
    assert order["id"] in due["expired"]
    follow = world.post("/api/service-orders/follow", json={"receipt": order["receipt"]}).json()
    assert follow["status"] == "expired" and follow["status_text"] == "无人接单，已过期"


def test_role_rules_and_cancel_by_receipt(world):
    order = place(world, service="clinic_escort").json()
    assert world.get("/api/service-orders/open").status_code == 401
    resident = world.headers_by["resident1"]
    assert world.get("/api/service-orders/open", headers=resident).status_code == 403
    worker = world.headers_by["worker_a"]
    assert world.get("/api/service-orders/community", headers=worker).status_code == 403
    bad = world.post("/api/service-orders/follow", json={"receipt": "not-a-real-receipt"})
    assert bad.status_code == 404 and CHINESE.search(bad.json()["detail"])
    r = world.post("/api/service-orders/cancel", json={"receipt": order["receipt"]})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert order["id"] not in open_ids(world, "v_elder2")
    signed_in = place(world, headers=resident, phone=None)
    assert signed_in.status_code == 201  # an account needs no phone number
    mine = world.get("/api/service-orders/mine", headers=resident).json()
    assert [o["id"] for o in mine] == [signed_in.json()["id"]]


def test_openapi_documents_the_routes_chinese_first(world):
    paths = world.get("/openapi.json").json()["paths"]
    take = paths["/api/service-orders/{order_id}/take"]["post"]
    assert take["summary"].startswith("接单") and "exactly once" in take["summary"]
    assert {"/api/service-orders", "/api/service-orders/open", "/api/service-orders/confirm",
            "/api/service-orders/catalog", "/api/service-orders/follow"} <= set(paths)  # fmt: skip


def test_cli_adds_a_volunteer_with_grid_kind_and_skills(world, monkeypatch):
    from typer.testing import CliRunner

    from api.cli import app
    from api.settings import get_settings

    monkeypatch.setenv("WANGGE_DATABASE_URL", world.url)
    get_settings.cache_clear()
    args = ["users", "add", "v_cli", "--role", "volunteer", "--password", PASSWORD,
            "--grid", A, "--kind", "party_member", "--skills", "助老,维修"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    row = "SELECT grid_code || kind || array_to_string(skills, ',') FROM volunteers WHERE "
    assert count(world.url, row + "username = 'v_cli'") == f"{A}party_member助老,维修"
    assert count(world.url, "SELECT community_code FROM users WHERE username = 'v_cli'") == C1
    bad = CliRunner().invoke(app, [*args[:2], "v_cli2", *args[3:-2], "--skills", "算命"])
    assert bad.exit_code != 0 and "未知的技能" in bad.output
    get_settings.cache_clear()
