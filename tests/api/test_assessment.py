"""Household visits and the monthly assessment, on a hand-built small October 2026: every column
of the table against numbers worked out by hand, the visit checks, the formula read from
data/assessment.toml, CSV and Excel content, and who sees which rows."""

from __future__ import annotations

import csv
import io
import tomllib
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import text

from api.assessment.formula import FORMULA_FILE, formula, parse_formula
from api.assessment.monthly import monthly_table, parse_month, working_days
from api.assessment.scope import Scope
from api.db import session_factory, transaction
from api.demo.visits import seed_visits
from tests.api.cases_world import C1, C2, STREET, A, B, served
from tests.conftest import own_database

MONTH = "2026-10"
CST = "+08:00"
# (building id, lon, lat): a 0.0004° square footprint around each point
BUILDINGS = [("b1", 118.805, 32.005), ("b2", 118.803, 32.003), ("b3", 118.815, 32.005)]


def _square(lon, lat, r=0.0002):
    ring = f"{lon - r} {lat - r},{lon + r} {lat - r},{lon + r} {lat + r},{lon - r} {lat + r}"
    return f"SRID=4326;MULTIPOLYGON((({ring},{lon - r} {lat - r})))"


def _month_data(url: str) -> None:
    """worker_a's October: visits, cases, sign-ins and case steps (times in China time)."""
    with transaction(url) as s:
        for bid, lon, lat in BUILDINGS:
            s.execute(
                text(
                    "INSERT INTO buildings (building_id, name, households, community_id, "
                    "footprint, location) SELECT :b, :name, 40, id, :f, "
                    "ST_SetSRID(ST_MakePoint(:x, :y), 4326) FROM communities WHERE code = :c"
                ),
                {
                    "b": bid,
                    "name": bid + "号楼",
                    "f": _square(lon, lat),
                    "x": lon,
                    "y": lat,
                    "c": C1,
                },
            )
        worker = s.scalar(text("SELECT id FROM workers WHERE worker_id = 'worker_a'"))
        visits = [  # (building, local time, status, households)
            ("b1", "2026-10-05 10:00", "accepted", 5),
            ("b1", "2026-10-12 10:00", "accepted", 3),
            ("b2", "2026-10-12 11:00", "accepted", 4),
            ("b2", "2026-10-31 23:30", "accepted", 2),  # still October in China time
            ("b1", "2026-10-13 09:00", "flagged", 9),  # too far: not counted, but present
            ("b2", "2026-09-30 23:30", "accepted", 7),  # September
        ]
        for bid, at, status, seen in visits:
            s.execute(
                text(
                    "INSERT INTO household_visits (worker_id, username, building_id, grid_code,"
                    " community_code, visited_at, lon, lat, distance_m, status, flag_reason,"
                    " households_seen) VALUES (:w, 'worker_a', :b, :g, :c, :at, 118.8, 32.0,"
                    " :d, :st, :why, :n)"
                ),
                {"w": worker, "b": bid, "g": A, "c": C1, "at": at + CST, "st": status,
                 "d": 0 if status == "accepted" else 300,
                 "why": None if status == "accepted" else "too_far", "n": seen},
            )  # fmt: skip
        cases = [  # reported_by, assignee, reported, resolved, due, rating
            ("worker_a", None, "2026-10-03 09:00", None, None, None),
            ("worker_a", None, "2026-10-20 09:00", None, None, None),
            ("worker_a", None, "2026-09-20 09:00", None, None, None),  # September
            (None, worker, "2026-10-01 08:00", "2026-10-01 18:00", "2026-10-02 08:00", 4),
            (None, worker, "2026-10-02 00:00", "2026-10-04 00:00", "2026-10-03 00:00", 2),
            (None, worker, "2026-10-10 00:00", "2026-10-10 20:00", "2026-10-12 00:00", None),
            (None, worker, "2026-10-15 00:00", None, "2026-10-20 00:00", None),  # open, late
        ]
        for by, assignee, reported, resolved, due, rating in cases:
            s.execute(
                text(
                    "INSERT INTO cases (category, status, grid_code, community_code, reported_by,"
                    " assignee_id, reported_at, resolved_at, due_at, rating) VALUES"
                    " ('dispute.neighbour', :st, :g, :c, :by, :a, :r, :res, :due, :rating)"
                ),
                {"st": "resolved" if resolved else "dispatched", "g": A, "c": C1, "by": by,
                 "a": assignee, "r": reported + CST, "res": resolved and resolved + CST,
                 "due": due and due + CST, "rating": rating},
            )  # fmt: skip
        # Oct 5 and 6 fall in the National Day holiday, Saturday Oct 10 is a make-up working day
        for day in ("2026-10-05 08:00", "2026-10-06 08:00", "2026-10-10 08:00", "2026-11-01 08:00"):
            s.execute(
                text(
                    "INSERT INTO audit_log (at, actor, action, object_type, object_id)"
                    " VALUES (:at, 'worker_a', 'auth.sign_in', 'sign_in', 'worker_a')"
                ),
                {"at": day + CST},
            )
        s.execute(
            text(
                "INSERT INTO case_events (case_id, at, actor, to_status)"
                " SELECT min(id), :at, 'worker_a', 'accepted' FROM cases"
            ),
            {"at": "2026-10-07 15:00" + CST},
        )


@pytest.fixture(scope="module")
def client(pg_cluster):
    with own_database(pg_cluster, "assessment") as url, served(url) as client:
        _month_data(url)
        client.db_url = url
        yield client


def _get(client, user, path="/api/assessment", **params):
    return client.get(path, params={"month": MONTH, **params}, headers=client.headers_by[user])


def _rows(client, user, **params):
    answer = _get(client, user, **params)
    assert answer.status_code == 200, answer.text
    return {r["key"]: r for r in answer.json()["rows"]}


def test_every_column_of_a_workers_month(client):
    row = _rows(client, "street1")["worker_a"]
    assert (row["visits"], row["buildings"], row["households_seen"]) == (4, 2, 14)
    assert row["reported"] == 2
    assert row["handled"] == 3 and row["median_hours"] == 20.0  # 10 h, 48 h, 20 h
    assert row["rating"] == 3.0 and row["rated"] == 2
    assert (row["due"], row["overdue"], row["overdue_share"]) == (4, 2, 0.5)
    # present on Oct 10 (a sign-in on the make-up Saturday), 12, 13 (visits, flagged too); Oct
    # 5, 6 (sign-ins) and 7 (a case step) are National Day holidays (10.1–10.7 off), the visit
    # on Saturday Oct 31 is no working day. Working days: 22 weekdays − 5 holiday weekdays + 1
    assert row["days_present"] == 3 and row["workdays"] == 18
    assert row["attendance"] == round(3 / 18, 3)
    with FORMULA_FILE.open("rb") as f:
        score = tomllib.load(f)["score"]

    def part(key, value):
        p = score[key]
        return p["weight"] * min(value / p["target"], p.get("cap", 1))

    expected = (
        part("visits", 4) + part("reported", 2) + part("handled", 3) + part("on_time", 0.5)
        + part("rating", 3.0) + part("attendance", 3 / 18)
    )  # fmt: skip
    assert row["score"] == round(expected, 1)
    idle = _rows(client, "street1")["worker_a2"]
    assert (idle["visits"], idle["handled"], idle["due"], idle["days_present"]) == (0, 0, 0, 0)
    assert idle["median_hours"] is None and idle["rating"] is None
    nothing_due = score["on_time"]["weight"] * score["on_time"]["when_none"]
    no_rating = score["rating"]["weight"] * score["rating"]["when_none"]
    assert idle["score"] == round(nothing_due + no_rating, 1)


def test_the_grid_table(client):
    rows = _rows(client, "street1", level="grid")
    assert set(rows) == {A, B}
    a = rows[A]
    assert (a["visits"], a["buildings"], a["reported"], a["handled"]) == (4, 2, 2, 3)
    assert (a["median_hours"], a["rating"], a["overdue_share"]) == (20.0, 3.0, 0.5)
    # grid A's six workers: worker_a present 3 working days, the others none
    assert a["workers"] == 6 and a["days_present"] == round(3 / 6, 1)
    assert rows[B]["visits"] == 0 and rows[B]["workers"] == 1
    # names from the server (社区 + 第N网格), the code kept as the key
    assert (a["community"], a["grid_name"], a["name"]) == ("测试社区", *["测试社区第1网格"] * 2)
    assert rows[B]["grid_name"] == "测试社区第2网格" and a["grid_codes"] == [A]
    workers = _rows(client, "street1")
    lb = workers["LB"]
    assert (lb["grid_name"], lb["community"]) == ("测试社区第2网格", "测试社区")


def test_who_sees_which_rows(client):
    assert set(_rows(client, "worker_a")) == {"worker_a"}
    assert set(_rows(client, "leader_a")) == {"LA", "FA", "PA", "worker_a", "worker_a2", "leader_a"}
    everyone = {"LA", "FA", "PA", "LB", "worker_a", "worker_a2", "leader_a"}
    for user in ("community1", "street1", "admin1"):
        assert set(_rows(client, user)) == everyone, user
    assert set(_rows(client, "worker_a", level="grid")) == {A}
    assert set(_rows(client, "admin1", level="grid", area=B)) == {B}
    assert _rows(client, "street1", area=C2) == {}
    for user in ("dept1", "resident1"):
        answer = _get(client, user)
        assert answer.status_code == 403 and "考核" in answer.json()["detail"], user
    outside = _get(client, "community1", area=STREET)
    assert outside.status_code == 403 and "管辖" in outside.json()["detail"]
    assert _get(client, "street1", month="2026-13").status_code == 422
    assert _get(client, "street1", month="0000-03").status_code == 422  # year 0: was a 500
    # no personal data of residents anywhere in the table
    body = _get(client, "admin1").text
    assert "reporter" not in body and "phone" not in body


def test_csv_and_excel(client):
    answer = _get(client, "street1", "/api/assessment/export", format="csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "2026-10" in answer.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    # names first (worker, community, grids), the worker id last
    assert lines[0][:3] == ["网格员 / worker", "社区 / community", "网格 / grids"]
    assert lines[0][-1] == "网格员编号 / worker id" and "走访次数 / visits" in lines[0]
    row = next(r for r in lines[1:] if r[-1] == "worker_a")
    by = dict(zip(lines[0], row, strict=True))
    assert by["走访次数 / visits"] == "4" and by["超期率 / overdue share"] == "0.5"
    assert by["办理时长中位数（小时） / median handling hours"] == "20.0"
    assert len(lines) == 1 + 7
    xlsx = _get(client, "street1", "/api/assessment/export", format="xlsx", level="grid")
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    table = book.worksheets[0]
    header = [c.value for c in table[1]]
    cells = {r[-1]: dict(zip(header, r, strict=True)) for r in table.iter_rows(2, values_only=True)}
    assert header[-1] == "网格编码 / grid code"
    assert cells[A]["走访次数 / visits"] == 4 and cells[A]["居民评价均分 / residents' rating"] == 3
    named = (cells[A]["网格 / grid"], cells[A]["社区 / community"])
    assert named == ("测试社区第1网格", "测试社区")
    words = [r[0] for r in book.worksheets[1].iter_rows(values_only=True)]
    assert words == [*formula().words(), *formula().calendar.words(2026, 10)]
    assert _get(client, "resident1", "/api/assessment/export").status_code == 403


def test_the_formula_comes_from_the_file(client):
    with FORMULA_FILE.open("rb") as f:
        data = tomllib.load(f)
    shown = client.get("/api/assessment/formula", headers=client.headers_by["street1"]).json()
    visits = dict(data["score"]["visits"])
    assert any(visits["label"] in w and f"{visits['weight']:g} 分" in w for w in shown["words"])
    assert shown["max_distance_m"] == data["visit"]["max_distance_m"]
    data["score"]["visits"]["weight"] = 0
    changed = parse_formula(data)
    values = {"visits": 40, "reported": 0, "handled": 0, "on_time": 1, "rating": 5}
    assert changed.score(values) == formula().score(values) - visits["weight"]
    data["score"]["rating"]["target"] = 0
    with pytest.raises(ValueError, match="score.rating"):
        parse_formula(data)


def test_recording_a_visit(client):
    worker = client.headers_by["worker_a"]
    inside = {"building_id": "b1", "lon": 118.8051, "lat": 32.0051, "accuracy_m": 12,
              "households_seen": 6, "note": "独居老人 <b>x</b>"}  # fmt: skip
    done = client.post("/api/visits", json=inside, headers=worker)
    assert done.status_code == 201, done.text
    body = done.json()
    assert body["accepted"] and body["distance_m"] == 0 and body["grid_code"] == A
    assert "已记录" in body["message"] and body["note"] == inside["note"]
    # one language per field: the page shows the one it speaks
    assert "/" not in body["message"] and body["message_en"].startswith("visit recorded")
    assert body["building_name"] == "b1号楼"
    again = client.post("/api/visits", json=inside, headers=worker)
    assert again.status_code == 409 and "分钟内" in again.json()["detail"]
    # b2's footprint ends at 118.8032; 0.0021° further east is about 198 m at this latitude
    far = {"building_id": "b2", "lon": 118.8053, "lat": 32.003, "households_seen": 1}
    flagged = client.post("/api/visits", json=far, headers=worker).json()
    assert flagged["status"] == "flagged" and flagged["flag_reason"] == "too_far"
    assert 190 < flagged["distance_m"] < 205 and "米" in flagged["message"]
    fuzzy = {"building_id": "b2", "lon": 118.803, "lat": 32.003, "accuracy_m": 500}
    low = client.post("/api/visits", json=fuzzy | {"visited_at": _ago(30)}, headers=worker)
    assert low.json()["flag_reason"] == "low_accuracy"
    refused = [
        ({**inside, "building_id": "b3"}, "worker_a", 403),  # grid B is not theirs
        ({**inside, "building_id": "nope"}, "worker_a", 404),
        ({**inside, "visited_at": _ago(-60)}, "worker_a", 422),  # in the future
        ({**inside, "visited_at": _ago(60 * 24 * 5)}, "worker_a", 422),  # five days ago
        ({**inside, "households_seen": 100000}, "worker_a", 422),
        (inside, "resident1", 403),
        (inside, "street1", 403),
    ]
    for body, user, status in refused:
        answer = client.post("/api/visits", json=body, headers=client.headers_by[user])
        assert answer.status_code == status, (body, user, answer.text)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in answer.text), answer.text
    with transaction(client.db_url) as s:  # an OSM building with neither name nor address
        s.execute(text("UPDATE buildings SET name = NULL WHERE building_id = 'b2'"))
    mine = client.get("/api/visits/mine", headers=worker).json()
    with transaction(client.db_url) as s:
        s.execute(text("UPDATE buildings SET name = 'b2号楼' WHERE building_id = 'b2'"))
    # a person reads a name or 未命名楼栋（住宅）, never the id
    assert [v["building_name"] for v in mine] == [
        "未命名楼栋（住宅）",
        "b1号楼",
        "未命名楼栋（住宅）",
    ]
    # newest first: the far one, the first, the fuzzy one half an hour ago
    assert [(v["building_id"], v["status"]) for v in mine] == [
        ("b2", "flagged"), ("b1", "accepted"), ("b2", "flagged"),
    ]  # fmt: skip
    this_month = _rows(client, "worker_a", month=datetime.now(UTC).strftime("%Y-%m"))
    assert this_month["worker_a"]["visits"] >= 1


def _ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def test_demo_visits_make_the_table(client):
    """api/demo/visits.py on this world, rolled back afterwards: every worker with grids gets
    visits at buildings of their own grids, none in the future, and the table counts them."""
    now = datetime.now(UTC)
    previous = parse_month((now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m"), now=now)
    everything = Scope(everything=True)
    with session_factory(client.db_url)() as session, session.begin():
        made = seed_visits(session, log=lambda _: None)
        staffed, visitors, outside, future, flagged = session.execute(
            text("""
            SELECT (SELECT count(DISTINCT worker_id) FROM worker_grids),
                   count(DISTINCT v.worker_id),
                   count(*) FILTER (WHERE NOT EXISTS (
                       SELECT 1 FROM worker_grids wg
                       WHERE wg.worker_id = v.worker_id AND wg.grid_code = v.grid_code)),
                   count(*) FILTER (WHERE v.visited_at > now()),
                   count(*) FILTER (WHERE v.status = 'flagged')
            FROM household_visits v WHERE v.visited_at >= :since""")
            , {"since": previous.start}
        ).one()  # fmt: skip
        workers = monthly_table(session, month=previous, level="worker", scope=everything, now=now)
        grids = monthly_table(session, month=previous, level="grid", scope=everything, now=now)
        session.rollback()
    assert made > 0 and visitors == staffed == 7
    assert outside == 0 and future == 0 and flagged < made / 3
    counted = sum(r["visits"] for r in workers)
    assert counted > 0 and counted == sum(g["visits"] for g in grids)


def test_holidays_and_make_up_days_change_the_working_days(client):
    """Working days = the weekday rule − official holidays + make-up days (调休上班)."""
    rules = formula()
    after = datetime(2030, 1, 1, tzinfo=UTC)

    def workdays(month):
        return working_days(parse_month(month, now=after), now=after, rules=rules)

    assert workdays("2026-03") == 22  # no holiday: every weekday
    assert workdays("2026-10") == 22 - 5 + 1  # 10.1–10.7 off (5 weekdays), Sat 10.10 worked
    assert workdays("2026-02") == 20 - 6 + 2  # 春节 2.15–2.23 off, Sat 2.14 and 2.28 worked
    assert workdays("2025-01") == 23 - 1 - 4 + 1  # 元旦 1.1, 春节 1.28–1.31; Sun 1.26 worked
    assert workdays("2027-10") == 21  # not listed yet: the weekday rule alone
    assert rules.calendar.is_workday(date(2026, 1, 4))  # a Sunday, worked for 元旦
    assert not rules.calendar.is_workday(date(2026, 1, 2))  # a Friday off
    # the page shows the rule and the month's holidays next to the formula
    words = _get(client, "street1").json()["formula"]["words"]
    assert any("法定节假日" in w and "调休" in w for w in words)
    assert "国庆节：10月1日至10月7日 放假 (holiday)" in words
    assert "国庆节调休：10月10日（周六）上班" in words
    later = _get(client, "street1", month="2027-10").json()["formula"]["words"]
    assert any("尚未录入" in w for w in later)
