"""Hostile clients (issue 18, part A): slow bodies, long address runs, inputs that used to be 500s.

Each test fails without its fix: the slow-body test against a real uvicorn on loopback, the
others in process.
"""

from __future__ import annotations

import socket

import httpx
import pytest

from bench import load as bench_load
from geo.address.parse import parse
from tests.api import images

SLOW_CLIENTS = 40


def _slow_post(base: str) -> socket.socket:
    """A connection that promises a 1000-byte body and sends one byte of it."""
    host, port = base.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=30)
    head = (
        "POST /api/grids/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n{"
    )
    conn.sendall(head.encode())
    return conn


def test_slow_bodies_do_not_take_the_slots_of_other_requests(db_url, tmp_path):
    """40 slow bodies against 8 in-flight slots: /api/health still answers 200; each slow one
    gets 408 when its read times out."""
    env = {
        "WANGGE_MAX_IN_FLIGHT": "8",
        "WANGGE_IN_FLIGHT_WAIT_S": "1",
        "WANGGE_BODY_READ_TIMEOUT_S": "6",
    }
    proc, base = bench_load.serve(db_url, workers=1, state=tmp_path, env_extra=env)
    conns: list[socket.socket] = []
    try:
        conns = [_slow_post(base) for _ in range(SLOW_CLIENTS)]
        for _ in range(3):
            health = httpx.get(f"{base}/api/health", timeout=30)
            assert health.status_code == 200, health.text
        answer = b""
        while chunk := conns[0].recv(4096):  # answered with Connection: close
            answer += chunk
        answer = answer.decode("utf-8", errors="replace")
        assert answer.startswith("HTTP/1.1 408"), answer
        assert "请求体未在" in answer
    finally:
        for conn in conns:
            conn.close()
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("text", ["1" * 20_000, "A" * 100_000, "a1" * 20_000, "号" * 20_000])
def test_the_parser_reads_long_runs(text):
    """Long runs of one digit or letter (12.7 s and 36.8 s before) give components covering
    the text: the number and name patterns start once per run, not at every position."""
    components = parse(text, model=False)
    assert components
    assert components[-1].end == len(text)


@pytest.fixture
def admin(db_url):
    """A TestClient signed in as an admin; server errors come back as 500 answers."""
    from fastapi.testclient import TestClient

    from api import accounts as auth
    from api.db import transaction
    from api.main import create_app

    with transaction(db_url) as session:
        user = auth.create_user(session, "hostile_admin", "admin", "Hostile-admin-2026")
    with TestClient(create_app(db_url), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {auth.issue_token(user)}"
        yield client


def test_an_address_over_the_cap_is_422_with_the_reason(admin):
    one = admin.get("/api/geocode", params={"q": "1" * 201})
    assert one.status_code == 422
    assert "超过 200 个字符的上限" in one.text
    batch = admin.post("/api/geocode/batch", json={"addresses": ["南京路1号", "A" * 30_000]})
    assert batch.status_code == 422
    assert "第 1 个地址" in batch.text and "超过 200 个字符的上限" in batch.text
    fine = admin.post("/api/geocode/batch", json={"addresses": ["南京路1号" + "1" * 190]})
    assert fine.status_code == 200


JSON = {"Content-Type": "application/json"}
DEEP = "[" * 900 + "]" * 900
CASE = '"category": "dispute.neighbour", "description": "噪音", "lat": 32.05'
# (method, path, raw body or None): each answered 500 before (issue 18, item 5)
HOSTILE = [
    ("POST", "/api/cases", "{" + CASE + ', "lon": NaN}'),
    ("POST", "/api/cases", "{" + CASE + ', "lon": Infinity}'),
    ("POST", "/api/cases", "{" + CASE + ', "lon": 1e999}'),
    ("POST", "/api/cases/1/transitions", '{"action": "dispatch", "version": NaN}'),
    ("POST", "/api/users", '{"username": NaN, "role": "admin", "password": "x"}'),
    ("POST", "/api/grids/lock", '{"codes": [-Infinity]}'),
    ("POST", "/api/grids/move", '{"community": NaN}'),
    ("POST", "/api/coverage/suggestions", '{"community": NaN}'),
    ("POST", "/api/geocode/batch", '{"addresses": [NaN, 1e999]}'),
    ("POST", "/api/geocode/batch", '{"addresses": ' + DEEP + "}"),
    ("POST", "/api/cases", "{" + CASE + ', "lon": ' + DEEP + "}"),
    ("GET", "/open311/v2/requests.json?end_date=0001-01-01T00:00:00", None),
    ("GET", "/open311/v2/requests/%C2%B2.json", None),
    ("POST", "/open311/v2/requests.json", "{"),
    (
        "POST",
        "/open311/v2/requests.json",
        '{"service_code": "dispute.neighbour", "description": 5}',
    ),
    ("POST", "/open311/v2/requests.json", '{"service_code": ["x"], "lat": {}}'),
    ("GET", "/api/cases/export?category=a%00b", None),
    ("GET", "/api/cases/export?format=geojson&category=a%00b", None),
    ("GET", "/api/cases?category=a%00b&assignee=%00", None),
]


@pytest.mark.parametrize(("method", "path", "body"), HOSTILE)
def test_hostile_inputs_are_4xx_with_a_reason(admin, method, path, body):
    answer = admin.request(method, path, content=body, headers=JSON if body else {})
    assert 400 <= answer.status_code < 500, answer.text[:500]
    assert answer.json()  # a reason, as JSON


def test_a_photo_name_with_a_control_character_is_422(admin, db_url):
    from tests.api.auth_helpers import add_area

    add_area(db_url)
    report = {
        "category": "dispute.neighbour",
        "description": "噪音",
        "lon": 118.8005,
        "lat": 32.0005,
    }
    case = admin.post("/api/cases", json=report)
    assert case.status_code == 201, case.text
    photo = images.photo(8, 8)
    files = {"file": ("a\x1bb.jpg", photo, "image/jpeg")}
    answer = admin.post(f"/api/cases/{case.json()['id']}/attachments", files=files)
    assert answer.status_code == 422, answer.text
    assert "U+001B" in answer.json()["detail"]
    files = {"file": ("a.jpg", photo, "text/html")}
    stored = admin.post(f"/api/cases/{case.json()['id']}/attachments", files=files)
    assert stored.status_code == 201, stored.text
    served = admin.get(f"/api/cases/{case.json()['id']}/attachments/{stored.json()['id']}")
    assert images.opened(served.content).format == "JPEG"
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-disposition"].startswith("inline;")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/health"), ("GET", "/"), ("GET", "/api/nowhere"), ("POST", "/api/cases")],
)
def test_every_answer_carries_the_security_headers(admin, method, path):
    """Pages, JSON, 404s and 422s alike (issue 18, item 12; the script CSP: tests/api/test_csp)."""
    answer = admin.request(method, path)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["content-security-policy"].endswith("frame-ancestors 'none'")
    assert answer.headers["referrer-policy"] == "same-origin"


# -- validation gaps that changed stored data (item 9) -----------------------------------------

GRID = "990101001001001"


def _grid_feature(**props) -> dict:
    ring = [[118.8, 32.0], [118.801, 32.0], [118.801, 32.001], [118.8, 32.0]]
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"code": GRID, "level": "grid", **props}}  # fmt: skip


@pytest.mark.parametrize(
    ("props", "needle"),
    [
        ({"parent_code": "' OR 1=1"}, "parent_code 须为本社区的 15 位网格编码"),
        ({"parent_code": "990101001002001"}, "parent_code 须为本社区"),  # another community
        ({"code": "99010100100100X"}, "grid 编码须为 15 位数字"),
        ({"code": GRID + "1", "level": "grid"}, "grid 编码须为 15 位数字"),
        ({"code": GRID + "00x", "level": "micro"}, "micro 编码须为 18 位数字"),
    ],
)
def test_grid_codes_must_be_digits_of_the_community(props, needle):
    from api.grids.edits import layer_from_features
    from geo.errors import InputError

    with pytest.raises(InputError, match=needle):
        layer_from_features([_grid_feature(**props)], "990101001001")
    micro = _grid_feature(code=GRID + "001", level="micro", parent_code=GRID)
    fine = layer_from_features([_grid_feature(), micro], "990101001001")
    assert fine["parent_code"].iloc[1] == GRID and fine["parent_code"].isna().iloc[0]


@pytest.mark.parametrize(
    ("coordinates", "needle"),
    [
        ([[[118.8, 32.0], [118.801, 32.0], [118.801, 32.001], [118.8, 32.001]]], "未闭合"),
        ([[["118.8", "32"], [118.801, 32.0], [118.801, 32.001], ["118.8", "32"]]], "坐标须为数字"),
        ([[[118.8, 32.0], [118.801, True], [118.801, 32.001], [118.8, 32.0]]], "坐标须为数字"),
    ],
)
def test_open_rings_and_text_coordinates_are_refused(coordinates, needle):
    from api.validation import check_geojson_geometry

    with pytest.raises(ValueError, match=needle):
        check_geojson_geometry({"type": "Polygon", "coordinates": coordinates})


@pytest.mark.parametrize("char", ["\u202e", "\u2028", "\ufeff", "\u2066", "\u200f"])
def test_bidi_controls_and_separators_are_refused_in_names_and_descriptions(admin, char):
    from api.validation import clean_text

    with pytest.raises(ValueError, match=f"U\\+{ord(char):04X}"):
        clean_text(f"和平{char}小区", multiline=True)
    report = {"category": "dispute.neighbour", "description": f"噪音{char}gpj.exe",
              "lon": 118.8005, "lat": 32.0005}  # fmt: skip
    answer = admin.post("/api/cases", json=report)
    assert answer.status_code == 422
    assert f"U+{ord(char):04X}" in answer.text


def test_boundary_codes_must_be_digits_of_their_level(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    from api.ingest.layers import read_layers

    path = tmp_path / "communities.geojson"
    frame = gpd.GeoDataFrame(
        {"code": ["990101001001", "99010100100X", "9901010010"], "name": ["甲", "乙", "丙"]},
        geometry=[box(118.8, 32.0, 118.81, 32.01)] * 3,
        crs=4326,
    )
    frame.to_file(path)
    [(_, good, problems, _)] = read_layers(path, kind="boundaries", level="community")[0]
    assert good["code"].tolist() == ["990101001001"]
    assert [(p.row, p.id) for p in problems] == [(2, "99010100100X"), (3, "9901010010")]
    assert all("community 编码须为 12 位数字" in p.reason for p in problems)


def test_a_wrong_crs_that_lands_outside_china_is_an_error_naming_it(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    from api.ingest.layers import read_layers
    from geo.errors import InputError

    path = tmp_path / "buildings.shp"
    frame = gpd.GeoDataFrame(
        {"building_id": ["b1"], "households": [10]},
        geometry=[box(118.8, 32.0, 118.8005, 32.0005)],
        crs=4326,
    )
    frame.to_file(path)
    path.with_suffix(".prj").unlink()  # degrees, with no .prj to say so
    with pytest.raises(InputError, match="--crs EPSG:32650"):
        read_layers(path, kind="buildings", crs="EPSG:32650")
    [(_, good, _, _)] = read_layers(path, kind="buildings", crs="EPSG:4326")[0]
    assert good["building_id"].tolist() == ["b1"]
