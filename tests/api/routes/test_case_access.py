"""Row-level rules for cases through the API, role by role: who sees which cases, who sees the
reporter's name and phone, and 401/403 for callers that may not act (cases made via the API)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text as sql

from api import accounts as auth
from api.db import transaction
from api.main import create_app
from tests.api import cases_world as w

PHONE, NAME = "13912345678", "李四"
# where each case is reported: (lon, lat, category)
PLACES = {
    "in_a": (118.805, 32.005, "dispute.neighbour"),  # grid A (community 1)
    "in_b": (118.815, 32.005, "dispute.neighbour"),  # grid B (community 1)
    "in_c2": (118.825, 32.005, "dispute.neighbour"),  # community 2, no grids
    "vending": (118.806, 32.006, "city_appearance.street_vending"),  # to 城市管理局
    "gas": (118.816, 32.006, "work_safety.gas"),  # to 燃气公司
}
# username → the cases it must see in GET /api/cases
SEES = {
    "worker_a": {"in_a", "vending"},
    "leader_a": {"in_a", "vending"},
    "community1": {"in_a", "in_b", "vending", "gas"},
    "community2": {"in_c2"},
    "street1": set(PLACES),
    "dept1": {"vending"},
    "gasco": {"gas"},
    "planner1": set(PLACES),
    "admin1": set(PLACES),
    "public1": set(),
    "resident1": {"in_a"},  # the one case they reported while signed in
    "resident2": set(),
}


@pytest.fixture
def world(db_url):
    w.build(db_url)
    headers = w.accounts(db_url)
    extra = {
        "community2": ("community_admin", {"community_code": w.C2}),
        "planner1": ("planner", {}),
        "public1": ("public", {}),
        "resident2": ("resident", {}),
    }
    with transaction(db_url) as session:
        for name, (role, kw) in extra.items():
            principal = auth.create_user(session, name, role, w.PASSWORD, **kw)
            headers[name] = {"Authorization": f"Bearer {auth.issue_token(principal)}"}
    with TestClient(create_app(db_url)) as client:
        ids = {}
        for key, (lon, lat, category) in PLACES.items():
            body = {"lon": lon, "lat": lat, "category": category, "description": "问题",
                    "reporter_name": NAME, "reporter_phone": PHONE}  # fmt: skip
            who = headers["resident1"] if key == "in_a" else None
            response = client.post("/api/cases", json=body, headers=who)
            assert response.status_code == 201, response.text
            ids[key] = response.json()["id"]
        yield client, headers, ids


def test_each_role_sees_its_cases(world):
    client, headers, ids = world
    assert client.get("/api/cases").status_code == 401
    names = {v: k for k, v in ids.items()}
    for user, expected in SEES.items():
        response = client.get("/api/cases", headers=headers[user], params={"page_size": 100})
        assert response.status_code == 200, (user, response.text)
        seen = {names[item["id"]] for item in response.json()["items"]}
        assert seen == expected, user
        for key in PLACES:
            one = client.get(f"/api/cases/{ids[key]}", headers=headers[user])
            assert one.status_code == (200 if key in expected else 404), (user, key)


def test_personal_data_only_for_roles_that_need_it(world):
    client, headers, ids = world
    for user, expected in SEES.items():
        principal = client.get("/api/auth/me", headers=headers[user]).json()
        shown = auth.sees_personal_data(auth.Principal(**principal))
        listed = client.get("/api/cases", headers=headers[user], params={"page_size": 100})
        detail = [client.get(f"/api/cases/{ids[k]}", headers=headers[user]) for k in expected]
        for text in [listed.text, *(d.text for d in detail)]:
            assert (PHONE in text) == (shown and bool(expected)), user
            assert (NAME in text) == (shown and bool(expected)), user


def test_public_endpoints_never_show_personal_data(world):
    client, _, ids = world
    for path in ("/api/grids", "/open311/v2/requests.json", f"/api/cases/{ids['in_a']}"):
        response = client.get(path)
        assert PHONE not in response.text and NAME not in response.text, path


def test_roles_that_may_not_act_get_403_or_404(world):
    client, headers, ids = world
    case = client.get(f"/api/cases/{ids['in_a']}", headers=headers["admin1"]).json()
    body = {"action": "accept", "version": case["version"]}
    url = f"/api/cases/{ids['in_a']}/transitions"
    assert client.post(url, json=body).status_code in (401, 404)
    # sees the case but may not take the worker's step
    for user in ("planner1", "community1", "street1"):
        assert client.post(url, json=body, headers=headers[user]).status_code == 403, user
    # does not see the case at all
    for user in ("dept1", "community2", "resident2", "public1"):
        assert client.post(url, json=body, headers=headers[user]).status_code == 404, user
    assert client.post(url, json=body, headers=headers["worker_a"]).status_code == 200
    admin_only = client.get("/api/audit", headers=headers["worker_a"])
    assert admin_only.status_code == 403
    params = {"object_type": "case", "object_id": str(ids["in_a"])}
    log = client.get("/api/audit", params=params, headers=headers["admin1"]).json()
    assert [(e["action"], e["actor"]) for e in log] == [
        ("case.transition", "worker_a"),
        ("case.create", "resident1"),
    ]
    assert log[0]["detail"]["before"]["status"] == case["status"]
    assert log[0]["detail"]["after"]["version"] == case["version"] + 1
    detail = client.get(f"/api/cases/{ids['in_a']}", headers=headers["admin1"]).json()
    accept = detail["events"][-1]
    assert (accept["from_status"], accept["to_status"]) == (case["status"], "accepted")
    assert detail["version"] == case["version"] + 1
    anonymous = client.get(
        "/api/audit", params={"object_id": str(ids["in_b"])}, headers=headers["admin1"]
    )
    assert [(e["action"], e["actor"]) for e in anonymous.json()] == [("case.create", "anonymous")]


def test_phone_numbers_in_descriptions_are_masked_for_those_who_may_not_see_them(world):
    client, headers, ids = world
    lon, lat, category = PLACES["in_a"]
    typed = "井盖松动，请联系13687654321或0571-87654321，身份证330106199001011234"
    body = {"lon": lon, "lat": lat, "category": category, "description": typed}
    case_id = client.post("/api/cases", json=body).json()["id"]
    masked = "井盖松动，请联系136******21或057********21，身份证330*************34"
    staff = client.get(f"/api/cases/{case_id}", headers=headers["admin1"]).json()
    assert staff["description"] == typed
    planner = client.get(f"/api/cases/{case_id}", headers=headers["planner1"]).json()
    assert planner["description"] == masked
    listed = client.get("/api/cases", headers=headers["planner1"], params={"page_size": 100})
    assert {i["description"] for i in listed.json()["items"] if i["id"] == case_id} == {masked}
    open311 = client.get("/open311/v2/requests.json", headers=headers["planner1"]).json()
    assert [r["description"] for r in open311 if r["service_request_id"] == str(case_id)] == [
        masked
    ]
    export = client.get("/api/cases/export", headers=headers["admin1"])
    assert masked in export.text and "13687654321" not in export.text


@pytest.mark.parametrize(
    ("typed", "masked"),
    [
        ("电话 139 0000 2222 谢谢", "电话 139********22 谢谢"),
        ("请打１３９００００２２２２", "请打１３９******２２"),
        ("联系人王某，电话：139-0000-2222", "联系人王*，电话：139********22"),
        ("姓名：张小明，手机+86 13900002222", "姓名：张**，手机+86**********22"),
        ("2024-01-01 10:30 共3户，5号楼", "2024-01-01 10:30 共3户，5号楼"),
    ],
)
def test_evasive_contacts_are_masked(typed, masked):
    from api.cases.queries import mask_contacts

    assert mask_contacts(typed) == masked


def test_open311_reads_follow_the_area_rules(world):
    client, headers, ids = world
    secret = "独居老人需上门探访，联系人王某 139 0000 2222"
    category = PLACES["in_a"][2]
    body = {"lon": 118.80537, "lat": 32.00561, "category": category, "description": secret}
    made = client.post("/api/cases", json=body)
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]
    everything = {"start_date": "2000-01-01T00:00:00Z"}
    anonymous = client.get("/open311/v2/requests.json", params=everything).json()
    assert len(anonymous) == len(PLACES) + 1
    mine = next(r for r in anonymous if r["service_request_id"] == str(case_id))
    assert (mine["lat"], mine["long"]) == (32.01, 118.81)
    assert mine["service_code"] == category and mine["status"] == "open"
    assert {(r["description"], r["address"], r["address_id"]) for r in anonymous} == {
        (None, None, None)
    }
    one = client.get(f"/open311/v2/requests/{case_id}.json").json()[0]
    assert one["description"] is None and "独居" not in str(one)
    for user, expected in SEES.items():
        listed = client.get("/open311/v2/requests.json", params=everything, headers=headers[user])
        seen = {int(r["service_request_id"]) for r in listed.json()}
        rule = client.get("/api/cases", params={"page_size": 100}, headers=headers[user])
        assert seen == {i["id"] for i in rule.json()["items"]} >= {ids[k] for k in expected}
        for key in PLACES:
            got = client.get(f"/open311/v2/requests/{ids[key]}.json", headers=headers[user])
            assert got.status_code == (200 if key in expected else 404), (user, key)
    admin = client.get(f"/open311/v2/requests/{case_id}.json", headers=headers["community1"])
    assert admin.json()[0]["description"] == secret
    planner = client.get(f"/open311/v2/requests/{case_id}.json", headers=headers["planner1"])
    assert planner.json()[0]["description"] == "独居老人需上门探访，联系人王* 139********22"


def _grid_in_community_2(db_url):
    """A grid with a micro-grid and a worker (LC) in community 2."""
    grid, square = w.C2 + "001", w.box(118.82, 32.00, 118.83, 32.01)
    with transaction(db_url) as s:
        for code, level, parent in ((grid, "grid", None), (grid + "001", "micro", grid)):
            s.execute(
                sql(
                    "INSERT INTO grids (code, level, parent_code, households, community_id, geom)"
                    " SELECT :code, :level, :parent, 400, id, :geom FROM communities"
                    " WHERE code = :c"
                ),
                {"code": code, "level": level, "parent": parent, "c": w.C2, "geom": square},
            )
        s.execute(
            sql(
                "INSERT INTO workers (worker_id, name, role, community_id) "
                "SELECT 'LC', 'LC', 'grid_leader', id FROM communities WHERE code = :c"
            ),
            {"c": w.C2},
        )
        s.execute(
            sql(
                "INSERT INTO worker_grids (worker_id, grid_code) "
                "SELECT id, :g FROM workers WHERE worker_id = 'LC'"
            ),
            {"g": grid},
        )
    return grid


def test_reassign_stays_inside_the_callers_area(world, db_url):
    client, headers, ids = world
    grid_c = _grid_in_community_2(db_url)
    url = f"/api/cases/{ids['in_a']}/transitions"

    def step(user, **kw):
        case = client.get(f"/api/cases/{ids['in_a']}", headers=headers["admin1"]).json()
        body = {"action": "reassign", "version": case["version"]} | kw
        return client.post(url, json=body, headers=headers[user])

    for user, kw in [
        ("community1", {"assignee": "LC"}),
        ("community1", {"grid_code": grid_c}),
        ("leader_a", {"assignee": "LC"}),
        ("leader_a", {"assignee": "LB"}),  # grid B: same community, not the leader's grid
    ]:
        refused = step(user, **kw)
        assert refused.status_code == 403, (user, kw, refused.text)
        assert "辖区" in refused.json()["detail"], refused.text
    still = client.get(f"/api/cases/{ids['in_a']}", headers=headers["admin1"]).json()
    assert (still["grid_code"], still["community_code"]) == (w.A, w.C1)
    assert step("community1", assignee="LB").status_code == 200
    moved = step("street1", assignee="LC")
    assert moved.status_code == 200, moved.text
    case = moved.json()
    assert case["assignee"] == "LC"
    assert (case["grid_code"], case["micro_grid_code"]) == (grid_c, None)
    assert (case["community_code"], case["street_code"]) == (w.C2, w.STREET)
    assert client.get(f"/api/cases/{ids['in_a']}", headers=headers["community2"]).status_code == 200
    assert client.get(f"/api/cases/{ids['in_a']}", headers=headers["community1"]).status_code == 404
