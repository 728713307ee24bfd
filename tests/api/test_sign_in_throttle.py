"""The per-account sign-in lockout: stored in PostgreSQL (so a second app process sees it),
answered 429 before any password hash is computed, cleared by a right password."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api import accounts
from api.accounts import throttle
from api.db import transaction
from api.main import create_app

PASSWORD = "Right-pass-2026"


@pytest.fixture
def user(db_url, monkeypatch):
    monkeypatch.setattr(throttle, "FIRST_LOCK_S", 600)  # long enough that no test races it
    with transaction(db_url) as session:
        accounts.create_user(session, "zhangsan", "planner", PASSWORD)
        accounts.create_user(session, "lisi", "planner", PASSWORD)
    return "zhangsan"


def _try(client, username, password):
    return client.post("/api/auth/token", data={"username": username, "password": password})


def test_an_account_is_locked_after_five_failures_in_every_process(
    db_url, client, user, monkeypatch
):
    for _ in range(throttle.FREE_FAILURES):
        assert _try(client, user, "wrong").status_code == 401
    checked, real = [], accounts.authenticate
    monkeypatch.setattr(accounts, "authenticate", lambda *a: checked.append(a[1]) or real(*a))
    locked = _try(client, " ZhangSan", PASSWORD)  # the right password, another spelling
    assert locked.status_code == 429, locked.text
    assert 0 < int(locked.headers["Retry-After"]) <= 600
    assert locked.json()["detail"].startswith("登录失败次数过多")
    assert checked == []  # refused before any password hash
    with TestClient(create_app(db_url)) as other:  # another process, the same database
        assert _try(other, user, PASSWORD).status_code == 429
    assert _try(client, "lisi", PASSWORD).status_code == 200  # other accounts unaffected
    assert checked == ["lisi"]
    with transaction(db_url) as s:  # the lock runs out
        s.execute(text("UPDATE sign_in_failures SET locked_until = now()"))
    assert _try(client, user, PASSWORD).status_code == 200
    with transaction(db_url) as s:
        assert s.execute(text("SELECT count(*) FROM sign_in_failures")).scalar() == 0


def test_failures_below_the_limit_do_not_lock_and_a_success_resets_them(client, user):
    for _ in range(throttle.FREE_FAILURES - 1):
        assert _try(client, user, "wrong").status_code == 401
    assert _try(client, user, PASSWORD).status_code == 200
    for _ in range(throttle.FREE_FAILURES - 1):
        assert _try(client, user, "wrong").status_code == 401
    assert _try(client, user, PASSWORD).status_code == 200


def test_unknown_names_are_locked_too(client, user):
    for _ in range(throttle.FREE_FAILURES):
        assert _try(client, "nobody", "x").status_code == 401
    assert _try(client, "nobody", "x").status_code == 429
