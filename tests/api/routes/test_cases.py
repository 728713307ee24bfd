"""Cases over HTTP on PostGIS: intake, dispatch rules, the loop, conflicts, lists, export."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.db import transaction
from api.settings import get_settings
from tests.api import cases_world as w
from tests.api import images
from tests.api.cases_world import A1, A2, B1, C1, C2, STREET, A, B, report


@pytest.fixture
def world(db_url, monkeypatch):
    monkeypatch.setenv("WANGGE_RATE_LIMIT", "false")
    get_settings.cache_clear()
    w.build(db_url)
    from api.main import create_app

    with TestClient(create_app(db_url)) as c:
        c.headers_by = w.accounts(db_url)
        yield c
    get_settings.cache_clear()


def test_categories(world):
    r = world.get("/api/categories")
    assert r.status_code == 200
    codes = {c["code"]: c for c in r.json()}
    assert codes["dispute"]["name"] == "矛盾纠纷" and "dispute.neighbour" in codes
    assert codes["work_safety.gas"]["to_department"] is True


def test_report_is_dispatched_to_the_least_loaded_worker(world):
    r = report(world, 118.805, 32.0025)
    assert r.status_code == 201, r.text
    case = r.json()
    assert (case["grid_code"], case["micro_grid_code"]) == (A, A1)
    assert (case["community_code"], case["street_code"]) == (C1, STREET)
    assert case["status"] == "dispatched" and case["routing"] == "contained"
    assert case["assignee"] == "FA" and case["due_at"] and case["receipt"]
    second = report(world, 118.806, 32.0075, category="dispute.labour").json()
    assert second["status"] == "transferred" and second["department"] == "人力资源和社会保障局"
    third = report(world, 118.805, 32.0075).json()
    assert third["assignee"] != "FA"  # FA has one open case now
    assert third["micro_grid_code"] == A2


def test_grid_without_workers_falls_back_to_the_leader(world):
    case = report(world, 118.815, 32.005).json()
    assert case["grid_code"] == B and case["assignee"] == "LB" and case["status"] == "dispatched"


@pytest.mark.parametrize(
    ("lon", "lat", "grid", "micro"),
    [
        (118.81, 32.0025, A, A1),  # on the edge A|B: the lower code
        (118.81, 32.005, A, A1),  # the corner of four micro-grids
        (118.81, 32.00, A, A1),  # a vertex of the outline
        (118.815, 32.005, B, B1),  # the edge B1|B2 inside B
    ],
)
def test_boundary_ties_go_to_the_lowest_code(world, lon, lat, grid, micro):
    case = report(world, lon, lat).json()
    assert (case["grid_code"], case["micro_grid_code"]) == (grid, micro)


def test_outside_every_grid(world):
    # 30 m south of grid A (inside community 1's margin): the nearest grid within 50 m
    near = report(world, 118.805, 32.0 - 30 / 111_000).json()
    assert near["grid_code"] == A and near["routing"] == "nearest"
    assert 29 < near["route_distance_m"] < 31 and near["micro_grid_code"] is None
    # 150 m south: community 1's triage queue
    far = report(world, 118.805, 32.0 - 150 / 111_000).json()
    assert far["grid_code"] is None and far["status"] == "reported"
    assert (far["queue"], far["community_code"]) == ("community", C1)
    # in community 2 (no grids), 100 m east of grid B
    c2 = report(world, 118.821 + 100 / 94_000, 32.005).json()
    assert c2["community_code"] == C2 and c2["queue"] == "community"
    # in the street office only
    st = report(world, 118.835, 32.015).json()
    assert (st["queue"], st["street_code"], st["community_code"]) == ("street", STREET, None)
    # outside everything
    r = report(world, 100.0, 30.0)
    assert r.status_code == 422 and "outside every grid" in r.json()["detail"]


def test_gcj02_and_bd09_input(world):
    from geo.coords import from_wgs84

    for crs in ("gcj02", "bd09"):
        lon, lat = from_wgs84(118.805, 32.0025, crs=crs)
        case = report(world, float(lon), float(lat), crs=crs).json()
        assert case["micro_grid_code"] == A1 and case["source_crs"] == crs
        assert abs(case["lon"] - 118.805) < 1e-6


def test_from_a_building(world, db_url):
    with transaction(db_url) as s:
        s.execute(
            text("INSERT INTO buildings (building_id, households, location) "
                 "VALUES ('B1', 10, 'SRID=4326;POINT(118.815 32.0075)')")
        )  # fmt: skip
    body = {"building_id": "B1", "category": "environment.garbage", "description": "垃圾"}
    case = world.post("/api/cases", json=body).json()
    assert case["grid_code"] == B and case["building_id"] == "B1"
    body["building_id"] = "nope"
    r = world.post("/api/cases", json=body)
    assert r.status_code == 422 and "unknown building_id" in r.json()["detail"]


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"category": "no_such"}, "unknown category"),
        ({"lon": 181}, "lon"),
        ({"lat": -91}, "lat"),
        ({"lon": 32.005, "lat": 118.805}, "swap them to [longitude, latitude]"),
        ({"lon": 13_226_000.0, "lat": 3_773_000.0}, "projected metres"),
        ({"crs": "utm"}, "crs"),
        ({"description": "   "}, "description is empty"),
        ({"description": "x" * 2001}, "at most 2000"),
        ({"description": "bad\x00text"}, "control characters"),
        ({"lng": 118.8}, "lng"),
        ({"address": "玄武区某路1号"}, "exactly one location"),
    ],
)
def test_bad_input_is_422_naming_the_problem(world, patch, needle):
    body = {"lon": 118.805, "lat": 32.005, "category": "dispute", "description": "x"} | patch
    r = world.post("/api/cases", json=body)
    assert r.status_code == 422, r.text
    assert needle in r.text
    with transaction(world.app.state.database_url) as s:
        assert s.execute(text("SELECT count(*) FROM cases")).scalar() == 0


def test_idempotency_key(world):
    headers = {"Idempotency-Key": "abc-1"}
    body = {"lon": 118.805, "lat": 32.005, "category": "dispute", "description": "同一事件"}
    first = world.post("/api/cases", json=body, headers=headers)
    again = world.post("/api/cases", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other = world.post("/api/cases", json=body | {"description": "另一件"}, headers=headers)
    assert other.status_code == 409
    with transaction(world.app.state.database_url) as s:
        assert s.execute(text("SELECT count(*) FROM cases")).scalar() == 1


def test_duplicates_are_linked(world):
    first = report(world, 118.805, 32.005).json()
    near = report(world, 118.8052, 32.0051).json()  # ~20 m away, same category
    other = report(world, 118.8052, 32.0051, category="environment.garbage").json()
    far = report(world, 118.809, 32.009).json()
    assert near["duplicate_of"] == first["id"]
    assert other["duplicate_of"] is None and far["duplicate_of"] is None


def _step(client, case, action, who, **kw):
    body = {"action": action, "version": case["version"]} | kw
    return client.post(
        f"/api/cases/{case['id']}/transitions", json=body, headers=client.headers_by[who]
    )


def test_the_loop_at_the_grid_and_the_rating(world):
    case = report(world, 118.805, 32.005).json()
    for action in ("accept", "start", "resolve"):
        r = _step(world, case, action, "worker_a")
        assert r.status_code == 200, r.text
        case = r.json()
    assert case["status"] == "resolved" and case["assignee"] == "worker_a"
    receipt = report(world, 118.809, 32.009).json()["receipt"]  # another case's receipt
    body = {"action": "rate", "version": case["version"], "rating": 5, "receipt": receipt}
    bad = world.post(f"/api/cases/{case['id']}/transitions", json=body)
    assert bad.status_code == 403
    detail = world.get(f"/api/cases/{case['id']}", headers=world.headers_by["admin1"]).json()
    rated = world.post(
        f"/api/cases/{case['id']}/transitions",
        json={"action": "rate", "version": detail["version"], "rating": 4,
              "receipt": _receipt(world, case["id"])},
    )  # fmt: skip
    assert rated.status_code == 200, rated.text
    assert rated.json()["status"] == "rated" and rated.json()["rating"] == 4
    closed = _step(world, rated.json(), "close", "community1")
    assert closed.json()["status"] == "closed"
    events = world.get(f"/api/cases/{case['id']}", headers=world.headers_by["admin1"]).json()[
        "events"
    ]
    assert [e["to_status"] for e in events] == [
        "reported", "dispatched", "accepted", "in_progress", "resolved", "rated", "closed",
    ]  # fmt: skip
    assert events[2]["actor"] == "worker_a" and events[5]["actor"] == "anonymous"


def test_progress_note_keeps_the_status_and_needs_text(world):
    case = report(world, 118.805, 32.005).json()
    case = _step(world, case, "accept", "worker_a").json()
    empty = _step(world, case, "note", "worker_a", note="  ")
    assert empty.status_code == 422 and "needs the note text" in empty.text
    with transaction(world.app.state.database_url) as s:
        s.execute(text("UPDATE users SET display_name = '王芳' WHERE username = 'worker_a'"))
    noted = _step(world, case, "note", "worker_a", note="已到现场，等待物业配合")
    assert noted.status_code == 200, noted.text
    after = noted.json()
    assert after["status"] == "accepted" and after["version"] == case["version"] + 1
    last = after["events"][-1]
    assert (last["action"], last["from_status"], last["to_status"]) == (
        "note", "accepted", "accepted",
    )  # fmt: skip
    assert last["note"] == "已到现场，等待物业配合" and last["actor"] == "worker_a"
    assert last["actor_name"] == "王芳"  # the timeline names people, not accounts
    assert after["events"][0]["actor_name"] is None  # the reporter: no account name shown
    assert _step(world, case, "note", "resident1", note="x").status_code == 404  # not theirs
    assert _step(world, case, "note", "dept1", note="x").status_code in (403, 404)


def _receipt(client, case_id):
    with transaction(client.app.state.database_url) as s:
        return s.execute(text("SELECT receipt FROM cases WHERE id = :i"), {"i": case_id}).scalar()


def test_escalation_to_a_department_and_back(world):
    case = report(world, 118.805, 32.005, category="city_appearance.illegal_ads").json()
    steps = [("accept", "worker_a", {}), ("escalate", "worker_a", {}),
             ("escalate", "community1", {}), ("transfer", "street1", {"department": "城市管理局"}),
             ("send_back", "dept1", {}), ("transfer", "street1", {"department": "城市管理局"}),
             ("claim", "dept1", {}), ("resolve", "dept1", {})]  # fmt: skip
    for action, who, kw in steps:
        r = _step(world, case, action, who, **kw)
        assert r.status_code == 200, (action, r.text)
        case = r.json()
    assert case["status"] == "resolved" and case["department"] == "城市管理局"


def test_straight_to_department_is_claimed_by_it(world):
    case = report(world, 118.805, 32.005, category="work_safety.gas").json()
    assert case["status"] == "transferred" and case["department"] == "燃气公司"
    assert _step(world, case, "claim", "dept1").status_code == 404  # not its department
    assert _step(world, case, "claim", "gasco").json()["status"] == "claimed"


def test_illegal_transition_is_409_with_the_allowed_list(world):
    case = report(world, 118.805, 32.005).json()
    r = _step(world, case, "resolve", "worker_a")
    assert r.status_code == 409
    assert r.json()["allowed"] == ["accept", "send_back"] and "resolve" in r.json()["detail"]
    r = _step(world, case, "fly", "worker_a")
    assert r.status_code == 409 and "unknown action" in r.json()["detail"]


def test_role_and_area_checks(world):
    case = report(world, 118.805, 32.005).json()
    assert _step(world, case, "accept", "community1").status_code == 403  # legal, wrong role
    b_case = report(world, 118.815, 32.005).json()
    assert _step(world, b_case, "accept", "worker_a").status_code == 404  # not their grid
    anon = world.post(
        f"/api/cases/{case['id']}/transitions", json={"action": "accept", "version": 2}
    )
    assert anon.status_code == 404


def test_stale_version_changes_nothing(world):
    case = report(world, 118.805, 32.005).json()
    assert _step(world, case, "accept", "worker_a").status_code == 200
    r = _step(world, case, "supervise", "community1")  # the old version
    assert r.status_code == 409 and r.json()["version"] == case["version"] + 1
    now = world.get(f"/api/cases/{case['id']}", headers=world.headers_by["admin1"]).json()
    assert now["supervised"] is False and len(now["events"]) == 3


def test_concurrent_accept_exactly_one_wins(world):
    case = report(world, 118.805, 32.005).json()
    barrier = threading.Barrier(2)
    codes = {}

    def accept(who):
        barrier.wait()
        codes[who] = _step(world, case, "accept", who).status_code

    threads = [threading.Thread(target=accept, args=(who,)) for who in ("worker_a", "worker_a2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes.values()) == [200, 409]
    events = world.get(f"/api/cases/{case['id']}", headers=world.headers_by["admin1"]).json()[
        "events"
    ]
    assert [e["action"] for e in events].count("accept") == 1


def test_reassign_send_back_and_dispatch_from_triage(world):
    case = report(world, 118.805, 32.005).json()
    r = _step(world, case, "reassign", "leader_a", assignee="PA")
    assert r.json()["assignee"] == "PA" and r.json()["status"] == "dispatched"
    back = _step(world, r.json(), "send_back", "admin1", note="不属于本网格")
    assert back.json()["status"] == "reported" and back.json()["assignee"] is None
    again = _step(world, back.json(), "dispatch", "community1", grid_code=B)
    assert again.json()["grid_code"] == B and again.json()["assignee"] == "LB"


def test_get_visibility_and_receipt_view(world):
    created = report(world, 118.805, 32.005, reporter_phone="13800000000").json()
    cid = created["id"]
    assert world.get(f"/api/cases/{cid}").status_code == 404
    assert world.get(f"/api/cases/{cid}", headers=world.headers_by["dept1"]).status_code == 404
    staff = world.get(f"/api/cases/{cid}", headers=world.headers_by["worker_a"]).json()
    assert staff["reporter_phone"] == "13800000000" and staff["events"]
    public = world.get(f"/api/cases/{cid}", params={"receipt": created["receipt"]}).json()
    assert public["reporter_phone"] is None and public["description"] is None
    assert [e["to_status"] for e in public["events"]] == ["reported", "dispatched"]
    assert world.get("/api/cases/999999", headers=world.headers_by["admin1"]).status_code == 404


def test_list_filters_stats_export(world):
    reports = [
        (118.805, 32.002, "dispute"),
        (118.815, 32.005, "environment.garbage"),
        (118.806, 32.008, "environment.fumes_noise"),
        (118.835, 32.015, "dispute"),
    ]
    for lon, lat, cat in reports:
        assert report(world, lon, lat, category=cat).status_code == 201
    admin = world.headers_by["admin1"]
    assert world.get("/api/cases").status_code == 401
    every = world.get("/api/cases", headers=admin).json()
    assert every["total"] == 4
    env = world.get("/api/cases", params={"category": "environment"}, headers=admin).json()
    assert env["total"] == 2
    in_a = world.get("/api/cases", params={"grid": A}, headers=admin).json()
    assert in_a["total"] == 2
    mine = world.get("/api/cases", headers=world.headers_by["worker_a"]).json()
    assert {c["grid_code"] for c in mine["items"]} == {A}
    queued = world.get("/api/cases", params={"status": "reported"}, headers=admin).json()
    assert queued["total"] == 1
    assert world.get("/api/cases", params={"status": "lost"}, headers=admin).status_code == 422
    stats = world.get("/api/cases/stats", params={"by": "grid"}, headers=admin).json()
    by = {s["code"]: s for s in stats}
    assert by[A]["total"] == 2 and by[A]["closure_rate"] == 0 and by[None]["total"] == 1
    csv = world.get("/api/cases/export", params={"format": "csv"}, headers=admin)
    assert csv.status_code == 200 and len(csv.text.strip().splitlines()) == 5
    assert "reporter_phone" not in csv.text
    gj = world.get("/api/cases/export", params={"format": "geojson"}, headers=admin).json()
    assert len(gj["features"]) == 4 and gj["features"][0]["geometry"]["type"] == "Point"


PNG = images.photo(8, 8, "PNG")


def test_photo_attachments(world, monkeypatch):
    case = report(world, 118.805, 32.005).json()
    url = f"/api/cases/{case['id']}/attachments"
    ok = world.post(
        url, files={"file": ("a.png", PNG, "image/png")}, data={"receipt": case["receipt"]}
    )
    assert ok.status_code == 201 and ok.json()["content_type"] == "image/png"
    fake = world.post(url, files={"file": ("a.jpg", b"GIF89a....", "image/jpeg")},
                      data={"receipt": case["receipt"]})  # fmt: skip
    assert fake.status_code == 422 and "not a JPEG" in fake.json()["detail"]
    monkeypatch.setattr(get_settings(), "case_photo_max_bytes", len(PNG) - 1)
    big = world.post(
        url, files={"file": ("b.png", PNG, "image/png")}, data={"receipt": case["receipt"]}
    )
    assert big.status_code == 422 and "larger than" in big.json()["detail"]
    nobody = world.post(url, files={"file": ("a.png", PNG, "image/png")})
    assert nobody.status_code == 404
    got = world.get(f"{url}/{ok.json()['id']}", headers=world.headers_by["admin1"])
    assert got.headers["content-type"] == "image/png"
    assert images.opened(got.content).size == (8, 8)


def test_open311(world):
    services = world.get("/open311/v2/services.json").json()
    assert any(s["service_code"] == "dispute.neighbour" for s in services)
    made = world.post("/open311/v2/requests.json",
                      data={"service_code": "dispute", "lat": "32.005", "long": "118.805",
                            "description": "噪音", "phone": "13900000000"})  # fmt: skip
    assert made.status_code == 201, made.text
    rid = made.json()[0]["service_request_id"]
    one = world.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert one["status"] == "open" and one["service_code"] == "dispute" and "phone" not in one
    listed = world.get("/open311/v2/requests.json", params={"status": "open"}).json()
    assert [r["service_request_id"] for r in listed] == [rid]
    bad = world.post(
        "/open311/v2/requests.json",
        data={"service_code": "nope", "lat": "32", "long": "118.8", "description": "x"},
    )
    assert bad.status_code == 400 and bad.json()[0]["code"] == 400
    assert world.get("/open311/v2/requests/12345.json").status_code == 404


def test_concurrent_retries_with_one_key_store_one_case(world):
    body = {"lon": 118.805, "lat": 32.005, "category": "dispute", "description": "并发重试"}
    barrier = threading.Barrier(4)
    answers = []

    def send():
        barrier.wait()
        answers.append(world.post("/api/cases", json=body, headers={"Idempotency-Key": "race-1"}))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in answers}) == 1
    with transaction(world.app.state.database_url) as s:
        assert s.execute(text("SELECT count(*) FROM cases")).scalar() == 1


def test_stats_after_closing(world):
    admin = world.headers_by["admin1"]
    first = report(world, 118.805, 32.002).json()
    report(world, 118.806, 32.008)
    for action in ("accept", "resolve"):
        first = _step(world, first, action, "admin1").json()
    by = {
        s["code"]: s
        for s in world.get("/api/cases/stats", params={"by": "community"}, headers=admin).json()
    }
    row = by[C1]
    assert (row["total"], row["open"], row["closed"], row["closure_rate"]) == (2, 1, 1, 0.5)
    assert row["median_hours_to_close"] is not None and row["median_hours_to_close"] < 1
    assert row["overdue_share"] == 0
    later = world.get("/api/cases", params={"since": "2999-01-01T00:00:00Z"}, headers=admin).json()
    assert later["total"] == 0
    by_ids = world.get("/open311/v2/requests.json", params={"service_request_id": str(first["id"])})
    assert by_ids.json()[0]["status"] == "closed"
