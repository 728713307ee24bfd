"""Residents without an account over HTTP: open reports nearby (public-safe, bounded), 我也遇到
(+1 as an event, no new case), the status page by receipt, rating, reopening within the set
window, and receipts kept out of the access log and Referer."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select, text

from api.db import transaction
from api.routes.reports import RedactReceipts
from api.settings import get_settings
from api.storage import models
from tests.api.cases_world import report
from tests.api.resident_client import resident_client


@pytest.fixture
def world(db_url, monkeypatch):
    with resident_client(db_url, monkeypatch) as client:
        yield client


def nearby(client, lon, lat, category="environment.garbage", **kw):
    return client.get(
        "/api/cases/nearby", params={"lon": lon, "lat": lat, "category": category, **kw}
    )


def count_cases(url) -> int:
    with transaction(url) as s:
        return s.execute(select(func.count()).select_from(models.Case)).scalar_one()


def test_nearby_lists_open_reports_of_the_category_within_50_m_without_personal_data(world):
    garbage = "environment.garbage"
    near = report(world, 118.8050, 32.0025, category=garbage, description="垃圾没人收 13812345678",
                  reporter_name="张三", reporter_phone="13812345678").json()  # fmt: skip
    report(world, 118.8050, 32.0025, category="dispute.neighbour")  # other category
    report(world, 118.8060, 32.0025, category=garbage)  # ~94 m east: too far
    r = nearby(world, 118.8053, 32.0025)
    assert r.status_code == 200, r.text
    (found,) = r.json()
    assert found["id"] == near["id"] and 20 < found["distance_m"] < 35
    assert found["status_text"] == "已派给网格员" and found["category_name"] == "垃圾堆放与清运"
    assert set(found) == {"id", "category", "category_name", "status", "status_text",
                          "status_text_en", "reported_at", "distance_m", "supporters"}  # fmt: skip
    assert "13812345678" not in r.text and "张三" not in r.text and "垃圾没人收" not in r.text
    # a resolved case is no longer offered
    admin = world.headers_by["admin1"]
    for action in ("accept", "resolve"):
        version = world.get(f"/api/cases/{near['id']}", headers=admin).json()["version"]
        world.post(f"/api/cases/{near['id']}/transitions", headers=admin,
                   json={"action": action, "version": version})  # fmt: skip
    assert nearby(world, 118.8053, 32.0025).json() == []


def test_nearby_is_bounded_and_refuses_bad_input_in_chinese(world, monkeypatch):
    monkeypatch.setenv("WANGGE_CASE_DUPLICATE_HOURS", "0")  # intake marks none as a duplicate
    get_settings.cache_clear()
    for i in range(7):
        report(world, 118.8050 + i * 0.00001, 32.0025, category="environment.garbage")
    assert len(nearby(world, 118.8050, 32.0025).json()) == get_settings().report_nearby_max == 5
    r = nearby(world, 118.8050, 32.0025, category="no_such")
    assert r.status_code == 422 and "no_such" in r.text
    assert nearby(world, 500, 32.0).status_code == 422
    # GCJ-02 from a phone map: the same place, ~500 m away in raw numbers
    gcj = nearby(world, 118.8050 + 0.00485, 32.0025 - 0.0021, crs="gcj02").json()
    assert len(gcj) == 5


def test_me_too_records_an_event_and_no_new_case(world):
    case = report(world, 118.8050, 32.0025, category="environment.garbage").json()
    before = count_cases(world.db_url)
    first = world.post(f"/api/cases/{case['id']}/support")
    second = world.post(f"/api/cases/{case['id']}/support")
    assert first.status_code == second.status_code == 200, first.text
    assert (first.json()["supporters"], second.json()["supporters"]) == (1, 2)
    assert count_cases(world.db_url) == before
    staff = world.get(f"/api/cases/{case['id']}", headers=world.headers_by["admin1"]).json()
    assert [e["kind"] for e in staff["events"]].count("support") == 2
    assert staff["version"] == case["version"] and staff["status"] == case["status"]
    assert nearby(world, 118.8050, 32.0025).json()[0]["supporters"] == 2
    assert world.post("/api/cases/999999/support").status_code == 404


def test_me_too_on_a_closed_case_is_refused_with_a_chinese_reason(world):
    case = report(world, 118.8050, 32.0025, category="environment.garbage").json()
    admin = world.headers_by["admin1"]
    world.post(f"/api/cases/{case['id']}/transitions", headers=admin,
               json={"action": "dismiss", "version": case["version"]})  # fmt: skip
    r = world.post(f"/api/cases/{case['id']}/support")
    assert r.status_code == 409 and "不能再附议" in r.json()["detail"]


def _step(client, case_id, action, **kw):
    admin = client.headers_by["admin1"]
    version = client.get(f"/api/cases/{case_id}", headers=admin).json()["version"]
    r = client.post(f"/api/cases/{case_id}/transitions", headers=admin,
                    json={"action": action, "version": version, **kw})  # fmt: skip
    assert r.status_code == 200, r.text


def test_status_page_by_receipt_then_rate(world):
    case = report(world, 118.8050, 32.0025, reporter_phone="13812345678").json()
    receipt = case["receipt"]
    _step(world, case["id"], "accept")
    _step(world, case["id"], "note", note="联系了业主 13900001111")
    page = world.post("/api/reports/status", json={"receipt": receipt})
    assert page.status_code == 200, page.text
    body = page.json()
    assert [s["text"] for s in body["steps"]] == ["已受理", "已派给网格员", "网格员已接单"]
    assert body["status_text"] == "网格员已接单" and body["allowed"] == []
    assert "13900001111" not in page.text and "13812345678" not in page.text
    _step(world, case["id"], "resolve")
    body = world.post("/api/reports/status", json={"receipt": receipt}).json()
    assert body["allowed"] == ["reopen", "rate"] and body["reopen_until"]
    rate = {"action": "rate", "version": body["version"], "rating": 4, "receipt": receipt}
    assert world.post(f"/api/cases/{case['id']}/transitions", json=rate).status_code == 200
    body = world.post("/api/reports/status", json={"receipt": receipt}).json()
    assert body["rating"] == 4 and body["status"] == "rated" and body["allowed"] == []
    assert world.post("/api/reports/status", json={"receipt": "x" * 22}).status_code == 404
    bad = world.post("/api/reports/status", json={"receipt": "<script>"})
    assert bad.status_code == 422


def test_reopen_only_within_the_set_days(world, monkeypatch):
    case = report(world, 118.8050, 32.0025).json()
    for action in ("accept", "resolve"):
        _step(world, case["id"], action)
    receipt = case["receipt"]
    with transaction(world.db_url) as s:  # resolved ten days ago
        s.execute(text("UPDATE cases SET resolved_at = now() - interval '10 days' WHERE id = :i"),
                  {"i": case["id"]})  # fmt: skip
    body = world.post("/api/reports/status", json={"receipt": receipt}).json()
    assert body["allowed"] == ["rate"]
    reopen = {"action": "reopen", "version": body["version"], "receipt": receipt}
    r = world.post(f"/api/cases/{case['id']}/transitions", json=reopen)
    assert r.status_code == 409 and "不能再申请重新办理" in r.json()["detail"]
    monkeypatch.setenv("WANGGE_REPORT_REOPEN_DAYS", "30")
    get_settings.cache_clear()
    assert world.post("/api/reports/status", json={"receipt": receipt}).json()["allowed"] == [
        "reopen", "rate"
    ]  # fmt: skip
    r = world.post(f"/api/cases/{case['id']}/transitions", json=reopen)
    assert r.status_code == 200 and r.json()["status"] == "dispatched"


def test_residents_find_the_report_page_from_the_landing_page_and_the_public_map(world):
    assert 'href="/map/report"' in world.get("/").text
    assert "我要反映问题" in world.get("/").text
    assert 'id="report-link" href="/map/report"' in world.get("/map/public").text


def test_receipt_pages_send_no_referer_and_the_access_log_hides_receipts(world):
    for url in ("/map/report", "/map/report/AbCdEf123456"):
        r = world.get(url)
        assert r.status_code == 200 and r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cache-control"] == "no-store"
    assert "AbCdEf123456" not in world.get("/map/report/AbCdEf123456").text
    assert world.get("/map/report/<b>").status_code in (404, 422)
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("1.2.3.4", "GET", "/map/report/AbCdEf123456?lang=en", "1.1", 200),
                               None)  # fmt: skip
    RedactReceipts().filter(record)
    assert "AbCdEf123456" not in record.getMessage()
    assert "/map/report/***?lang=en" in record.getMessage()
    assert any(isinstance(f, RedactReceipts) for f in logging.getLogger("uvicorn.access").filters)


def test_nearby_and_me_too_are_rate_limited_like_other_anonymous_calls(db_url, monkeypatch):
    from fastapi.testclient import TestClient

    from api.main import create_app

    limits = {
        "WANGGE_RATE_LIMIT": "true",
        "WANGGE_NOTIFY_JOB": "false",
        "WANGGE_RATE_LIMIT_PUBLIC_BURST": "2",
        "WANGGE_RATE_LIMIT_PUBLIC_PER_MINUTE": "1",  # no refill while the test runs
        "WANGGE_RATE_LIMIT_INTAKE_BURST": "1",
        "WANGGE_RATE_LIMIT_INTAKE_PER_MINUTE": "1",
    }
    for name, value in limits.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        with TestClient(create_app(db_url)) as client:
            statuses = [nearby(client, 118.805, 32.0025).status_code for _ in range(3)]
            assert statuses == [200, 200, 429]
            support = [client.post("/api/cases/1/support").status_code for _ in range(2)]
            assert support == [404, 429]
            # an empty database still serves the report page (no area to fit the map to)
            assert client.get("/map/report").status_code == 200
    finally:
        get_settings.cache_clear()
