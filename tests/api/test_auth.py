"""Sign-in through the API: passwords, access tokens (expiry, disabled users), API tokens, and
the admin-only account endpoints for every role."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime

import jwt
import pytest
from sqlalchemy import select, update

from api import accounts as auth
from api.accounts import tokens
from api.db import transaction
from api.settings import Settings
from api.storage.models import ApiToken, User, Worker, WorkerGrid
from geo.errors import InputError
from tests.api.auth_helpers import (
    ACCOUNTS,
    COMMUNITY,
    GRID,
    OTHER_GRID,
    PASSWORD,
    add_accounts,
    add_area,
    bearer,
)


@pytest.fixture
def accounts(db_url, client):
    add_area(db_url)
    return add_accounts(db_url)


def sign_in(client, username: str, password: str = PASSWORD):
    return client.post("/api/auth/token", data={"username": username, "password": password})


def test_password_flow_and_me(client, accounts):
    response = sign_in(client, "worker1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 30 * 60
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == {
        "username": "worker1",
        "role": "grid_worker",
        "display_name": None,
        "worker_id": "worker1",
        "grid_codes": [GRID],
        "community_code": COMMUNITY,
        "street_code": None,
        "department": None,
    }


@pytest.mark.parametrize(
    ("username", "password"),
    [("worker1", "wrong-pass-1"), ("nobody", PASSWORD), ("worker1", "")],
)
def test_bad_credentials_are_401(client, accounts, username, password):
    response = sign_in(client, username, password)
    assert response.status_code in (401, 422)
    if response.status_code == 401:
        assert response.headers["www-authenticate"] == "Bearer"
        assert "wrong username or password" in response.json()["detail"]


def test_missing_garbage_and_expired_tokens(client, accounts):
    missing = client.get("/api/auth/me")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    garbage = client.get("/api/auth/me", headers={"Authorization": "Bearer not.a.token"})
    assert garbage.status_code == 401
    expired = auth.issue_token(accounts["admin1"], minutes=-1)
    response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    forged = jwt.encode({"sub": "admin1", "exp": 4102444800, "typ": "access"}, "guess" * 8, "HS256")
    response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_disabled_user_loses_sign_in_and_tokens(client, accounts, db_url):
    headers = bearer(accounts["planner1"])
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    admin = bearer(accounts["admin1"])
    assert client.post("/api/users/planner1/disable", headers=admin).status_code == 204
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    assert sign_in(client, "planner1").status_code == 401
    assert client.post("/api/users/planner1/enable", headers=admin).status_code == 204
    assert client.get("/api/auth/me", headers=headers).status_code == 200


def test_api_tokens_created_used_and_revoked(client, accounts):
    admin = bearer(accounts["admin1"])
    created = client.post("/api/users/dept1/tokens", json={"label": "hotline"}, headers=admin)
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert token.startswith("wg_") and len(token) > 40
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["department"] == "城管"
    listed = client.get("/api/users/dept1/tokens", headers=admin).json()
    assert [t["label"] for t in listed] == ["hotline"]
    assert token not in str(listed)  # never the secret
    # a non-admin may not make tokens
    as_dept = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/users/dept1/tokens", json={}, headers=as_dept).status_code == 403
    revoked = client.delete(f"/api/tokens/{created.json()['id']}", headers=admin)
    assert revoked.status_code == 204
    me = client.get("/api/auth/me", headers=as_dept)
    assert me.status_code == 401 and "revoked" in me.json()["detail"]
    unknown = client.get("/api/auth/me", headers={"Authorization": "Bearer wg_made-up"})
    assert unknown.status_code == 401


def test_expired_api_token(client, accounts, db_url):
    with transaction(db_url) as session:
        token_id, token = auth.create_api_token(session, "dept1", days=1)
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(expires_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401 and "expired" in me.json()["detail"]


@pytest.mark.parametrize("path", ["/api/users", "/api/audit"])
def test_admin_endpoints_for_every_role(client, accounts, path):
    assert client.get(path).status_code == 401
    for name, (role, _) in ACCOUNTS.items():
        status = client.get(path, headers=bearer(accounts[name])).status_code
        assert status == (200 if role == "admin" else 403), (role, status)


def test_create_user_through_the_api(client, accounts, db_url):
    admin = bearer(accounts["admin1"])
    body = {"username": "worker2", "role": "grid_worker", "password": "Another-pass-2"}
    created = client.post("/api/users", json={**body, "grid_codes": [OTHER_GRID]}, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["grid_codes"] == [OTHER_GRID]
    again = client.post("/api/users", json=body, headers=admin)
    assert again.status_code == 409 and "already exists" in again.json()["detail"]
    weak = client.post(
        "/api/users", json={**body, "username": "w3", "password": "abc"}, headers=admin
    )
    assert weak.status_code == 422 and "too short" in weak.json()["detail"]
    bad_role = client.post("/api/users", json={**body, "role": "king"}, headers=admin)
    assert bad_role.status_code == 422
    as_planner = bearer(accounts["planner1"])
    assert client.post("/api/users", json=body, headers=as_planner).status_code == 403
    names = [u["username"] for u in client.get("/api/users", headers=admin).json()]
    assert names == sorted([*ACCOUNTS, "worker2"])


def test_worker_accounts_are_linked_to_workers_and_grids(accounts, db_url):
    with transaction(db_url) as session:
        leader = session.scalar(select(Worker).where(Worker.worker_id == "leader1"))
        assert leader.role == "grid_leader"
        grids = session.scalars(
            select(WorkerGrid.grid_code).where(WorkerGrid.worker_id == leader.id)
        )
        assert sorted(grids) == [GRID, OTHER_GRID]
        user = session.scalar(select(User).where(User.username == "leader1"))
        assert user.worker_id == leader.id
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role": "king"}, "unknown role"),
        ({"password": ""}, "empty"),
        ({"password": "short1"}, "too short"),
        ({"password": "onlyletters"}, "too weak"),
        ({"password": "12345678901"}, "too weak"),
        ({"password": "new_user-123"}, "must not contain the username"),
        ({"grid_codes": ["990101001001999"]}, "unknown grid code"),
        ({"grid_codes": [GRID + "001"]}, "no current grid-level grid"),
        ({"role": "planner", "grid_codes": [GRID]}, "--grid is for"),
        ({"role": "community_admin"}, "needs --community"),
        ({"role": "community_admin", "community_code": "990101001077"}, "unknown community"),
        ({"role": "street_admin"}, "needs --street"),
        ({"role": "department"}, "needs --department"),
    ],
)
def test_create_user_rejects_bad_input(accounts, db_url, kwargs, message):
    args = {"role": "grid_worker", "password": PASSWORD, **kwargs}
    if args["role"] == "grid_worker":
        args.setdefault("grid_codes", [GRID])
    with pytest.raises(InputError, match=message), transaction(db_url) as session:
        auth.create_user(session, "new_user", args.pop("role"), args.pop("password"), **args)


def test_generated_secret_is_kept_0600(tmp_path):
    settings = Settings(state_dir=tmp_path / "state", secret_key=None)
    principal = auth.Principal(username="x", role="admin")
    token = auth.issue_token(principal, settings=settings)
    path = tmp_path / "state" / "secret_key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    tokens._generated.clear()  # a restart: the secret is read back from the file
    claims = jwt.decode(token, auth.signing_secret(settings), algorithms=["HS256"])
    assert claims["sub"] == "x"
    configured = Settings(state_dir=tmp_path / "other", secret_key="from-the-environment")
    assert auth.signing_secret(configured) == "from-the-environment"
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize("role", list(auth.Role))
def test_personal_data_only_for_roles_that_contact_reporters(role):
    sees = auth.sees_personal_data(auth.Principal(username="x", role=role))
    wanted = {"grid_worker", "grid_leader", "community_admin", "street_admin", "admin"}
    assert sees == (role in wanted)
    assert auth.sees_personal_data(None) is False
