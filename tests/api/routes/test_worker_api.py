"""What the worker's phone app needs of the case API: a step or photo sent twice under one
Idempotency-Key is taken once, and the navigation links carry the case's GCJ-02 / BD-09 point."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from api.settings import get_settings
from geo.coords import convert
from tests.api import cases_world as w
from tests.api import images
from tests.api.cases_world import report

JPEG = images.photo(8, 8)


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


def _case(world) -> tuple[dict, dict]:
    case = report(world, 118.805, 32.0025).json()
    return case, world.headers_by["worker_a"]


def test_a_transition_replayed_under_its_key_is_taken_once(world):
    case, me = _case(world)
    url = f"/api/cases/{case['id']}/transitions"
    accept = {"action": "accept", "version": case["version"]}
    first = world.post(url, json=accept, headers=me | {"Idempotency-Key": "k-accept"})
    assert first.status_code == 200, first.text
    note = {"action": "note", "version": first.json()["version"], "note": "已到现场"}
    noted = world.post(url, json=note, headers=me | {"Idempotency-Key": "k-note"})
    again = world.post(url, json=note, headers=me | {"Idempotency-Key": "k-note"})
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert (again.json()["status"], again.json()["version"]) == (
        noted.json()["status"],
        noted.json()["version"],
    )
    events = world.get(f"/api/cases/{case['id']}", headers=me).json()["events"]
    assert [e["action"] for e in events].count("note") == 1
    assert [e["action"] for e in events].count("accept") == 1
    # the same key with another body, or from another account: refused, nothing written
    other = world.post(
        url, json=note | {"note": "别的"}, headers=me | {"Idempotency-Key": "k-note"}
    )
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["detail"]
    leader = world.headers_by["leader_a"] | {"Idempotency-Key": "k-note"}
    assert world.post(url, json=note, headers=leader).status_code == 409
    after = world.get(f"/api/cases/{case['id']}", headers=me).json()
    assert len(after["events"]) == len(events) and after["version"] == noted.json()["version"]


def test_without_a_key_each_note_counts(world):
    case, me = _case(world)
    url = f"/api/cases/{case['id']}/transitions"
    v = world.post(url, json={"action": "accept", "version": case["version"]}, headers=me)
    v = v.json()["version"]
    for _ in range(2):
        r = world.post(url, json={"action": "note", "version": v, "note": "再看看"}, headers=me)
        assert r.status_code == 200
        v = r.json()["version"]
    events = world.get(f"/api/cases/{case['id']}", headers=me).json()["events"]
    assert [e["action"] for e in events].count("note") == 2


def test_a_photo_replayed_under_its_key_is_stored_once(world):
    case, me = _case(world)
    url = f"/api/cases/{case['id']}/attachments"
    files = {"file": ("after.jpg", JPEG, "image/jpeg")}
    first = world.post(url, files=files, headers=me | {"Idempotency-Key": "photo-1"})
    assert first.status_code == 201, first.text
    again = world.post(url, files=files, headers=me | {"Idempotency-Key": "photo-1"})
    assert again.status_code == 200 and again.json() == first.json()
    other = world.post(
        url,
        files={"file": ("x.jpg", JPEG + b"\x01", "image/jpeg")},
        headers=me | {"Idempotency-Key": "photo-1"},
    )
    assert other.status_code == 409
    stored = world.get(f"/api/cases/{case['id']}", headers=me).json()
    assert [a["id"] for a in stored["attachments"]] == [first.json()["id"]]
    assert [e["action"] for e in stored["events"]].count("attach") == 1


def test_navigation_links_in_each_datum(world):
    case, me = _case(world)
    r = world.get(f"/api/cases/{case['id']}/navigation", headers=me)
    assert r.status_code == 200, r.text
    nav = r.json()
    g_lon, g_lat = convert(118.805, 32.0025, src="wgs84", dst="gcj02")
    b_lon, b_lat = convert(118.805, 32.0025, src="wgs84", dst="bd09")
    assert nav["gcj02"] == pytest.approx([g_lon, g_lat], abs=1e-6)
    assert nav["bd09"] == pytest.approx([b_lon, b_lat], abs=1e-6)
    # GCJ-02 is shifted by some hundreds of metres in Nanjing, BD-09 more
    assert abs(g_lon - 118.805) > 0.003 and abs(b_lat - 32.0025) > abs(g_lat - 32.0025)
    amap = parse_qs(urlsplit(nav["amap"]).query)
    assert nav["amap"].startswith("https://uri.amap.com/marker?")
    assert amap["position"] == [f"{g_lon:.6f},{g_lat:.6f}"]
    baidu = parse_qs(urlsplit(nav["baidu"]).query)
    assert baidu["location"] == [f"{b_lat:.6f},{b_lon:.6f}"]  # Baidu: lat first
    assert baidu["coord_type"] == ["bd09ll"] and baidu["title"][0].startswith(f"#{case['id']} ")
    assert nav["baidu_app"].startswith("baidumap://map/marker?location=")
    outsider = world.headers_by["gasco"]
    assert world.get(f"/api/cases/{case['id']}/navigation", headers=outsider).status_code == 404
    assert world.get(f"/api/cases/{case['id']}/navigation").status_code == 401
