"""District notices on the gridded synthetic community (real PostGIS): the area resolved to
grids, the fan-out to every responsible person exactly once with one outbox message each,
acknowledgements bounded by the households a person answers for, progress per grid, and who
may send and see what."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api import accounts as auth
from api.db import session_factory, transaction
from api.main import create_app
from api.notices.fanout import fan_out
from api.notifications import job, senders
from api.service_orders.volunteers import create_volunteer
from api.settings import get_settings
from tests.conftest import gridded_city_database

PASSWORD = "Notice-pass-2026"
OTHER_STREET = "990101999"


@pytest.fixture(scope="module")
def world(pg_cluster):
    with gridded_city_database(pg_cluster, "test_notices") as url:
        with transaction(url) as s:
            street = s.execute(text("SELECT min(code) FROM streets")).scalar()
            community = s.execute(text("SELECT min(code) FROM communities")).scalar()
            grids = list(
                s.execute(
                    text(
                        "SELECT code FROM grids WHERE level = 'grid' AND valid_to IS NULL "
                        "ORDER BY code"
                    )
                ).scalars()
            )
            worker = s.execute(
                text(
                    "SELECT w.worker_id FROM workers w JOIN worker_grids wg ON wg.worker_id = w.id "
                    "WHERE wg.grid_code = :g AND w.role = 'full_time' ORDER BY w.worker_id LIMIT 1"
                ),
                {"g": grids[0]},
            ).scalar()
            s.execute(
                text("INSERT INTO streets (code, name) VALUES (:c, '别的街道')"),
                {"c": OTHER_STREET},
            )
            specs = {
                "admin1": ("admin", {}),
                "street1": ("street_admin", {"street_code": street, "display_name": "刘主任"}),
                "street2": ("street_admin", {"street_code": OTHER_STREET}),
                "community1": ("community_admin", {"community_code": community}),
                "worker1": ("grid_worker", {"worker": worker}),
                "resident1": ("resident", {}),
            }
            tokens = {}
            for name, (role, kw) in specs.items():
                user = auth.create_user(s, name, role, PASSWORD, actor="test", **kw)
                tokens[name] = {"Authorization": f"Bearer {auth.issue_token(user)}"}
            volunteer = create_volunteer(
                s, "lead1", PASSWORD, grid_codes=[grids[1]], kind="building_lead",
                skills=["助老"], actor="test",
            )  # fmt: skip
            tokens["lead1"] = {"Authorization": f"Bearer {auth.issue_token(volunteer)}"}
        with TestClient(create_app(url)) as client:
            client.url, client.h = url, tokens
            client.street, client.community, client.grids = street, community, grids
            yield client


def rows(url, sql, **params):
    with transaction(url) as s:
        return s.execute(text(sql), params).all()


def post(client, who, body):
    return client.post("/api/notices", json=body, headers=client.h[who])


def notice(level="routine", confirm=False, **area):
    return {"title": "防汛通知", "body": "今晚有暴雨，请通知到户", "level": level,
            "area": area, "confirm": confirm}  # fmt: skip


def test_area_resolves_to_grids(world):
    everything = post(world, "admin1", notice(district=world.street[:6]))
    assert everything.status_code == 201, everything.text
    assert everything.json()["grids"] == len(world.grids)
    by_street = post(world, "street1", notice(streets=[world.street])).json()
    by_community = post(world, "street1", notice(communities=[world.community])).json()
    assert by_street["grids"] == by_community["grids"] == len(world.grids)
    two = post(world, "street1", notice(grids=world.grids[:2])).json()
    assert two["grids"] == 2
    # a polygon drawn inside one grid takes that grid only, not its neighbours
    (inside,) = rows(
        world.url,
        "SELECT ST_AsGeoJSON(ST_Buffer(ST_PointOnSurface(geom), 0.0002)) FROM grids "
        "WHERE code = :g AND valid_to IS NULL",
        g=world.grids[1],
    )[0]
    import json

    drawn = post(world, "street1", notice(polygon=json.loads(inside)))
    assert drawn.status_code == 201, drawn.text
    (codes, has_geom) = rows(
        world.url, "SELECT grid_codes, geom IS NOT NULL FROM notices WHERE id = :n",
        n=drawn.json()["id"],
    )[0]  # fmt: skip
    assert codes == [world.grids[1]] and has_geom
    # unknown codes, an empty area, a polygon with no grid: 422 with a Chinese reason
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    r = post(world, "admin1", notice(polygon=bowtie))
    assert r.status_code == 422 and "画出的范围无效" in r.json()["detail"][0]["msg"]
    nowhere = {"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [0, 0]]]}
    for area in ({"grids": ["990101001001999"]}, {}, {"polygon": nowhere}):
        r = post(world, "admin1", notice(**area))
        assert r.status_code == 422, r.text
        assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["detail"])


def test_emergency_fans_out_to_everyone_exactly_once(world, caplog):
    before = rows(world.url, "SELECT count(*) FROM notices")[0][0]
    unconfirmed = post(world, "street1", notice("emergency", streets=[world.street]))
    assert unconfirmed.status_code == 422 and "确认" in unconfirmed.json()["detail"]
    assert rows(world.url, "SELECT count(*) FROM notices")[0][0] == before  # nothing written

    r = post(world, "street1", notice("emergency", confirm=True, streets=[world.street]))
    assert r.status_code == 201, r.text
    n = r.json()["id"]
    # expected, computed another way: every on-duty worker of each grid and micro-grid, and
    # the community admin for the community
    expected = set(
        rows(
            world.url,
            "SELECT 'w:' || wg.worker_id, wg.grid_code FROM worker_grids wg "
            "JOIN workers w ON w.id = wg.worker_id AND w.on_duty "
            "JOIN grids g ON g.code = wg.grid_code AND g.valid_to IS NULL",
        )
    ) | {("u:community1", world.community), ("u:lead1", world.grids[1])}
    got = rows(
        world.url, "SELECT person, area_code FROM notice_recipients WHERE notice_id = :n", n=n
    )
    assert len(got) == len(set(got)) and set(got) == expected
    people = {p for p, _ in expected}
    assert r.json()["people"] == len(people)
    outbox = rows(
        world.url,
        "SELECT n.channel, n.address, w.phone, n.body FROM notifications n "
        "LEFT JOIN workers w ON 'w:' || w.id = split_part(n.dedupe_key, ':', 3) || ':' "
        "|| split_part(n.dedupe_key, ':', 4) WHERE n.notice_id = :n",
        n=n,
    )
    assert len(outbox) == len(people)
    assert all(ch == ("sms" if phone else "app") and addr == phone for ch, addr, phone, _ in outbox)
    assert all(body.startswith("【网格·紧急通知】防汛通知") for *_, body in outbox)
    # fanning out again adds nobody
    with transaction(world.url) as s:
        codes = s.execute(text("SELECT grid_codes FROM notices WHERE id = :n"), {"n": n}).scalar()
        assert fan_out(s, n, codes, level="emergency", body="x") == 0
    assert len(rows(world.url, "SELECT 1 FROM notice_recipients WHERE notice_id = :n", n=n)) == len(
        got
    )
    (role,) = rows(world.url, "SELECT role FROM notice_recipients WHERE person = 'u:lead1'")[0]
    assert role == "building_lead"
    lead = world.get("/api/notices/mine", headers=world.h["lead1"]).json()
    assert [x["id"] for x in lead if x["level"] == "emergency"] == [n]
    (audited,) = rows(
        world.url, "SELECT detail FROM audit_log WHERE action = 'notice.send' AND object_id = :n",
        n=str(n),
    )  # fmt: skip
    assert audited[0]["level"] == "emergency" and audited[0]["people"] == len(people)
    # the sender job sends them like case messages
    sent, failed = job.send_due(session_factory(world.url), senders.senders_from(get_settings()),
                                batch=10_000)  # fmt: skip
    assert failed == 0 and sent >= len(people)


def test_acknowledge_bounded_and_progress_per_grid(world):
    r = post(world, "street1", notice(grids=[world.grids[0]]))
    n = r.json()["id"]
    mine = world.get("/api/notices/mine", headers=world.h["worker1"]).json()
    # unacknowledged first, emergencies first among them (the previous test's one)
    assert [m["level"] for m in mine][:2] == ["emergency", "routine"]
    first = mine[1]
    assert first["id"] == n and not first["acknowledged"]
    # the phone shows who sent it by name, the account name only when there is none
    assert (first["sender"], first["sender_name"]) == ("street1", "刘主任")
    assert [a["area_code"] for a in first["areas"]] == [world.grids[0]]
    households = first["households"]
    (delivered,) = rows(
        world.url,
        "SELECT delivered_at IS NOT NULL FROM notice_recipients r JOIN users u "
        "ON r.person = 'w:' || u.worker_id WHERE u.username = 'worker1' AND r.notice_id = :n",
        n=n,
    )[0]
    assert delivered
    too_many = world.post(f"/api/notices/{n}/ack", json={"households_reached": households + 1},
                          headers=world.h["worker1"])  # fmt: skip
    assert too_many.status_code == 422 and f"0 到 {households}" in too_many.json()["detail"]
    reached = households // 2
    ok = world.post(f"/api/notices/{n}/ack", json={"households_reached": reached},
                    headers=world.h["worker1"])  # fmt: skip
    assert ok.status_code == 200 and ok.json()["households_reached"] == reached
    mine = world.get("/api/notices/mine", headers=world.h["worker1"]).json()
    assert next(m for m in mine if m["id"] == n)["acknowledged"]
    # not sent to a resident: 404
    r = world.post(f"/api/notices/{n}/ack", json={"households_reached": 0},
                   headers=world.h["resident1"])  # fmt: skip
    assert r.status_code == 404

    p = world.get(f"/api/notices/{n}/progress", headers=world.h["street1"])
    assert p.status_code == 200 and p.headers["content-type"] == "application/geo+json"
    (grid,) = p.json()["features"]
    props = grid["properties"]
    assert props["code"] == world.grids[0] and props["reached"] == reached
    assert props["share"] == round(reached / props["households"], 4)
    assert grid["geometry"]["type"] == "Polygon"
    pending = p.json()["pending"]
    assert "worker1" not in {x["name"] for x in pending}
    assert len(pending) == p.json()["notice"]["people"] - p.json()["notice"]["acknowledged"]


def test_role_rules(world):
    body = notice(streets=[world.street])
    assert post(world, "resident1", body).status_code == 403
    assert post(world, "worker1", body).status_code == 403
    assert post(world, "community1", body).status_code == 403
    assert world.post("/api/notices", json=body).status_code == 401
    other = post(world, "street2", body)
    assert other.status_code == 403 and "本街道" in other.json()["detail"]
    assert post(world, "street1", notice(district=world.street[:6])).status_code == 403
    n = post(world, "admin1", body).json()["id"]
    assert world.get(f"/api/notices/{n}/progress", headers=world.h["street1"]).status_code == 200
    assert world.get(f"/api/notices/{n}/progress", headers=world.h["street2"]).status_code == 403
    assert world.get(f"/api/notices/{n}/progress", headers=world.h["worker1"]).status_code == 403
    assert world.get("/api/notices/999999/progress", headers=world.h["admin1"]).status_code == 404


def test_notices_page_carries_names_as_text_only(world):
    with transaction(world.url) as s:
        s.execute(
            text(
                "UPDATE communities SET name = '<img src=x onerror=alert(1)>社区' WHERE code = :c"
            ),
            {"c": world.community},
        )
    page = world.get("/map/notices")
    assert page.status_code == 200 and "<title>区域通知</title>" in page.text
    assert "发布通知" in page.text and "通知范围" in page.text
    assert "<img src=x" not in page.text  # the name reaches the page as escaped JSON text
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page.text


def test_building_leads_answer_for_their_buildings(world, monkeypatch):
    """A building lead (楼栋长) answers for their buildings' households, not the grid's: a
    volunteer registered with `wangge users add … --building`, a part-time worker with
    buildings; a lead with no building known is listed with 0 households and a note."""
    from typer.testing import CliRunner

    from api.cli import app

    grid, other = world.grids[2], world.grids[3]
    # buildings wholly in the grid (their share there is all their households), unique address
    whole = """
        SELECT b.building_id, b.address, b.households
        FROM grids g CROSS JOIN LATERAL jsonb_array_elements(g.members) m
        JOIN buildings b ON b.building_id = m->>0
        WHERE g.code = :g AND g.valid_to IS NULL AND (m->>1)::int = b.households
          AND b.households > 0 AND b.address IS NOT NULL
          AND (SELECT count(*) FROM buildings x WHERE x.address = b.address) = 1
        ORDER BY b.building_id LIMIT 3"""
    (b1, _, h1), (_, address2, h2), (b3, _, h3) = rows(world.url, whole, g=grid)
    (elsewhere, _, _) = rows(world.url, whole, g=other)[0]
    (grid_households,) = rows(
        world.url, "SELECT households FROM grids WHERE code = :g AND valid_to IS NULL", g=grid
    )[0]
    assert h1 + h2 < grid_households

    # a part-time worker of one of the grid's micro-grids (as `wangge ingest` loads them)
    with transaction(world.url) as s:
        micro = s.execute(
            text("SELECT min(code) FROM grids WHERE parent_code = :g AND valid_to IS NULL"),
            {"g": grid},
        ).scalar()
        wid = s.execute(
            text(
                "INSERT INTO workers (worker_id, name, role) "
                "VALUES ('pt-lead', '楼栋长甲', 'part_time') RETURNING id"
            )
        ).scalar()
        s.execute(text("INSERT INTO worker_grids VALUES (:w, :m)"), {"w": wid, "m": micro})

    monkeypatch.setenv("WANGGE_DATABASE_URL", world.url)
    get_settings.cache_clear()
    runner = CliRunner()

    def add(name, *extra):
        args = ["users", "add", name, "--role", "volunteer", "--password", PASSWORD, *extra]
        return runner.invoke(app, args)

    try:
        lead = ("--kind", "building_lead", "--grid", grid)
        ok = add("lead2", *lead, "--building", b1, "--building", address2)
        assert ok.exit_code == 0, ok.output
        # refused, nothing written: unknown, outside the grid, not a lead, not a volunteer
        for name, extra, reason in (
            ("bad1", (*lead, "--building", "没有这栋楼"), "找不到楼栋"),
            ("bad2", (*lead, "--building", elsewhere), "不在网格"),
            ("bad3", ("--kind", "volunteer", "--grid", grid, "--building", b1), "只有楼栋长"),
        ):
            refused = add(name, *extra)
            assert refused.exit_code == 1 and reason in refused.output, refused.output
        worker = ["users", "add", "--role", "grid_worker", "--password", PASSWORD]
        # a part-time worker's account registers their building; a full-time worker has none
        ok = runner.invoke(app, [*worker, "ptlead", "--worker", "pt-lead", "--building", b3])
        assert ok.exit_code == 0, ok.output
        refused = runner.invoke(app, [*worker, "bad4", "--grid", grid, "--building", b1])
        assert refused.exit_code == 1 and "只有兼职网格员" in refused.output, refused.output
        refused = runner.invoke(app, ["users", "add", "bad5", "--role", "resident",
                                      "--password", PASSWORD, "--building", b1])  # fmt: skip
        assert refused.exit_code == 1 and "--building" in refused.output
    finally:
        get_settings.cache_clear()
    assert rows(world.url, "SELECT count(*) FROM users WHERE username LIKE 'bad%'") == [(0,)]
    assert rows(world.url, "SELECT count(*) FROM workers WHERE worker_id LIKE 'bad%'") == [(0,)]
    assert rows(world.url, "SELECT building_ids FROM workers WHERE id = :w", w=wid) == [([b3],)]
    assert rows(world.url, "SELECT building_ids FROM volunteers WHERE username = 'lead2'") == [
        ([b1, rows(world.url, "SELECT building_id FROM buildings WHERE address = :a",
                   a=address2)[0][0]],)
    ]  # fmt: skip

    with transaction(world.url) as s:
        lead2 = auth.principal_for(s, "lead2")
    world.h["lead2"] = {"Authorization": f"Bearer {auth.issue_token(lead2)}"}

    n = post(world, "street1", notice(grids=[world.grids[1], grid])).json()["id"]
    leads = rows(
        world.url,
        "SELECT person, area_code, households, note FROM notice_recipients "
        "WHERE notice_id = :n AND role = 'building_lead' ORDER BY person",
        n=n,
    )
    by_person = {p: (area, h, note) for p, area, h, note in leads}
    assert by_person["u:lead2"] == (grid, h1 + h2, None)
    assert by_person[f"w:{wid}"] == (grid, h3, None)
    assert by_person["u:lead1"][:2] == (world.grids[1], 0)
    assert "未登记楼栋" in by_person["u:lead1"][2]
    assert len(leads) == len(by_person)  # one row each: no micro-grid row for the worker lead

    # the acknowledge bound is the buildings' households; the lead with none shows the note
    too_many = world.post(f"/api/notices/{n}/ack", json={"households_reached": h1 + h2 + 1},
                          headers=world.h["lead2"])  # fmt: skip
    assert too_many.status_code == 422 and f"0 到 {h1 + h2}" in too_many.json()["detail"]
    ack = world.post(f"/api/notices/{n}/ack", json={"households_reached": h1 + h2},
                     headers=world.h["lead2"])  # fmt: skip
    assert ack.status_code == 200, ack.text
    mine = world.get("/api/notices/mine", headers=world.h["lead1"]).json()
    (area,) = next(m for m in mine if m["id"] == n)["areas"]
    assert area["households"] == 0 and "未登记楼栋" in area["note"]

    # progress: the lead's buildings are a part of the grid, never more than it holds
    p = world.get(f"/api/notices/{n}/progress", headers=world.h["street1"]).json()
    props = next(f["properties"] for f in p["features"] if f["properties"]["code"] == grid)
    assert props["reached"] == h1 + h2 <= props["households"] == grid_households
    pending = {x["name"]: x for x in p["pending"]}
    assert pending["楼栋长甲"]["households"] == h3
    assert "未登记楼栋" in pending["lead1"]["note"]
    # a second lead's buildings add to the first's: parts of one grid are summed
    with transaction(world.url) as s:
        pt = {"Authorization": f"Bearer {auth.issue_token(auth.principal_for(s, 'ptlead'))}"}
    ack = world.post(f"/api/notices/{n}/ack", json={"households_reached": h3}, headers=pt)
    assert ack.status_code == 200, ack.text
    p = world.get(f"/api/notices/{n}/progress", headers=world.h["street1"]).json()
    props = next(f["properties"] for f in p["features"] if f["properties"]["code"] == grid)
    assert props["reached"] == h1 + h2 + h3 <= grid_households

    # the demo's building leads get their grid's two largest buildings, accepted by the check
    from api.demo.volunteers import LEAD_BUILDINGS

    with transaction(world.url) as s:
        owned = list(s.execute(LEAD_BUILDINGS, {"g": other}).scalars())
        create_volunteer(s, "lead3", PASSWORD, grid_codes=[other], kind="building_lead",
                         skills=["助老"], actor="test", buildings=owned)  # fmt: skip
    stored = rows(world.url, "SELECT building_ids FROM volunteers WHERE username = 'lead3'")
    assert len(owned) == 2 and stored == [(owned,)]
