"""Leaks and rough edges (issue 18, item 11): what a 503 says, who an Idempotency-Key replay
answers, tokens of unknown users, credentials after a password change, attachments."""

from __future__ import annotations

import io
import logging
import socket
import struct
import zlib

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text

from api import accounts as auth
from api.db import transaction
from tests.api import cases_world as w
from tests.api import images
from tests.api.auth_helpers import PASSWORD, add_accounts, add_area, bearer

REPORT = {"lon": 118.805, "lat": 32.005, "category": "dispute", "description": "楼道堆物"}


@pytest.fixture
def world(db_url):
    with w.served(db_url) as client:
        yield client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_503_names_neither_database_host_nor_port(caplog):
    from api.main import create_app

    port = _free_port()  # nothing listens there: every connection is refused
    url = f"postgresql+psycopg://wangge:pw@127.0.0.1:{port}/wangge"
    with caplog.at_level(logging.WARNING, "wangge.errors"), TestClient(create_app(url)) as c:
        answer = c.get("/api/stations")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    detail = answer.json()["detail"]
    assert detail.startswith("数据库暂时不可用") and "database is unavailable" in detail
    assert str(port) not in answer.text and "127.0.0.1" not in answer.text
    assert str(port) in caplog.text  # the detail goes to the log


def test_tokens_of_an_unknown_user_are_404(client, db_url):
    add_area(db_url)
    admin = bearer(add_accounts(db_url)["admin1"])
    answer = client.get("/api/users/nobody-here/tokens", headers=admin)
    assert answer.status_code == 404 and "没有名为" in answer.json()["detail"]
    assert client.get("/api/users/dept1/tokens", headers=admin).json() == []


def test_a_password_change_ends_api_tokens_and_sessions(client, db_url):
    add_area(db_url)
    admin = bearer(add_accounts(db_url)["admin1"])
    made = client.post("/api/users/dept1/tokens", json={"label": "12345"}, headers=admin).json()
    api_token = {"Authorization": f"Bearer {made['token']}"}
    signed = client.post("/api/auth/token", data={"username": "dept1", "password": PASSWORD})
    session = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    assert client.get("/api/auth/me", headers=api_token).status_code == 200
    assert client.get("/api/auth/me", headers=session).status_code == 200
    with transaction(db_url) as s:
        auth.set_password(s, "dept1", "New-secret-2026", actor="admin1")
    assert client.get("/api/auth/me", headers=api_token).status_code == 401
    assert client.get("/api/auth/me", headers=session).status_code == 401
    listed = client.get("/api/users/dept1/tokens", headers=admin).json()
    assert listed[0]["revoked_at"] is not None
    # a token made after the change works
    fresh = client.post("/api/users/dept1/tokens", json={}, headers=admin).json()["token"]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {fresh}"})
    assert me.status_code == 200 and me.json()["username"] == "dept1"


def _names_nothing(answer) -> None:
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert set(body) == {"detail"} and "Idempotency-Key" in body["detail"]
    assert not any(ch.isdigit() for ch in body["detail"])  # no case id


def test_an_idempotent_replay_answers_only_its_own_client(world):
    key = {"Idempotency-Key": "7d9f4c3e-anon"}
    first = world.post("/api/cases", json=REPORT, headers=key)
    assert first.status_code == 201, first.text
    # the reporter's own retry (same key, same body, anonymous) gets the receipt again
    again = world.post("/api/cases", json=REPORT, headers=key)
    assert again.status_code == 200 and again.json()["receipt"] == first.json()["receipt"]
    # a signed-in account replaying the anonymous key, or a different body: 409, nothing named
    _names_nothing(world.post("/api/cases", json=REPORT, headers=key | world.headers_by["admin1"]))
    _names_nothing(world.post("/api/cases", json=REPORT | {"description": "别的"}, headers=key))
    # an account's key is not answered to anyone else, signed in or not
    mine = {"Idempotency-Key": "leader-key-1"} | world.headers_by["leader_a"]
    assert world.post("/api/cases", json=REPORT, headers=mine).status_code == 201
    assert world.post("/api/cases", json=REPORT, headers=mine).status_code == 200
    anonymous = {"Idempotency-Key": "leader-key-1"}
    _names_nothing(world.post("/api/cases", json=REPORT, headers=anonymous))
    other = world.headers_by["community1"] | {"Idempotency-Key": "leader-key-1"}
    _names_nothing(world.post("/api/cases", json=REPORT, headers=other))
    with transaction(world.app.state.database_url) as s:
        assert s.execute(text("SELECT count(*) FROM cases")).scalar() == 2


def _polyglot() -> bytes:
    """A JPEG that is also an HTML page: a script in a comment segment and after the image."""
    jpeg = images.photo(16, 16)
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    comment = b"\xff\xfe" + struct.pack(">H", len(html) + 2) + html
    return jpeg[:2] + comment + jpeg[2:] + html


def _png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims width×height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1_000_000, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _truncated() -> bytes:
    """Two thirds of a noisy JPEG: the header is whole, the image data is not."""
    out = io.BytesIO()
    Image.effect_noise((64, 64), 80).convert("RGB").save(out, "JPEG")
    return out.getvalue()[: out.tell() * 2 // 3]


def _upload(world, case, name: str, content: bytes, kind="image/jpeg"):
    url = f"/api/cases/{case['id']}/attachments"
    return world.post(url, files={"file": (name, content, kind)}, data={"receipt": case["receipt"]})


def test_a_jpeg_html_polyglot_is_stored_as_a_plain_image(world):
    case = world.post("/api/cases", json=REPORT).json()
    stored = _upload(world, case, "楼道照片.jpg", _polyglot(), "text/html")
    assert stored.status_code == 201, stored.text
    url = f"/api/cases/{case['id']}/attachments/{stored.json()['id']}"
    served = world.get(url, params={"receipt": case["receipt"]})
    assert served.status_code == 200
    assert b"<script" not in served.content and b"<html" not in served.content
    assert served.content.endswith(b"\xff\xd9")  # nothing after the image data
    assert images.opened(served.content).size == (16, 16)
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    name = f"case-{case['id']}-photo-{stored.json()['id']}.jpg"
    assert served.headers["content-disposition"] == (
        f"inline; filename=\"{name}\"; filename*=UTF-8''%E6%A5%BC%E9%81%93%E7%85%A7%E7%89%87.jpg"
    )


def test_a_photo_keeps_no_exif_and_webp_comes_back_as_jpeg(world):
    case = world.post("/api/cases", json=REPORT).json()
    exif = Image.Exif()
    exif[0x010F] = "hostile camera"  # Make
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (10, 200, 10)).save(out, "JPEG", exif=exif)
    stored = _upload(world, case, "a.jpg", out.getvalue())
    assert stored.status_code == 201, stored.text
    url = f"/api/cases/{case['id']}/attachments/{stored.json()['id']}"
    served = world.get(url, params={"receipt": case["receipt"]}).content
    assert b"hostile camera" not in served and not images.opened(served).getexif()
    webp = _upload(world, case, "b.webp", images.photo(12, 12, "WEBP"), "image/webp")
    assert webp.status_code == 201 and webp.json()["content_type"] == "image/jpeg"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (_png_claiming(50_000, 50_000), "照片太大"),
        (_truncated(), "照片数据不完整"),
        (b"\xff\xd8\xff" + b"<html>" * 50, "照片无法识别"),
    ],
    ids=["bomb", "truncated", "not-an-image"],
)
def test_bad_photos_are_refused_before_anything_is_stored(world, content, reason):
    case = world.post("/api/cases", json=REPORT).json()
    answer = _upload(world, case, "x.png", content, "image/png")
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(reason)
    with transaction(world.app.state.database_url) as s:
        assert s.execute(text("SELECT count(*) FROM case_attachments")).scalar() == 0
