"""`wangge users add|list|disable|token|tokens|revoke` against a real database."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from api.db import transaction
from tests.api.auth_helpers import COMMUNITY, GRID, OTHER_GRID, PASSWORD, add_area

runner = CliRunner()


def users(*args: str):
    return runner.invoke(app, ["users", *args])


@pytest.fixture
def area(use_database):
    add_area(use_database)
    return use_database


def rows(url: str, sql: str, **params) -> list[tuple]:
    with transaction(url) as session:
        return [tuple(r) for r in session.execute(text(sql), params)]


def test_add_grid_worker_per_contract(area, client):
    result = users("add", "wang", "--role", "grid_worker", "--password", PASSWORD, "--grid", GRID)
    assert result.exit_code == 0, result.output
    assert f"created grid_worker wang ({GRID})" in result.output
    linked = rows(
        area,
        "SELECT w.worker_id, w.role, g.grid_code, c.code FROM users u "
        "JOIN workers w ON w.id = u.worker_id JOIN worker_grids g ON g.worker_id = w.id "
        "JOIN communities c ON c.id = w.community_id WHERE u.username = 'wang'",
    )
    assert linked == [("wang", "full_time", GRID, COMMUNITY)]
    token = client.post("/api/auth/token", data={"username": "wang", "password": PASSWORD})
    assert token.status_code == 200


def test_add_other_roles_and_list(area):
    assert users("add", "lead", "--role", "grid_leader", "--password", PASSWORD,
                 "--grid", GRID, "--grid", OTHER_GRID).exit_code == 0  # fmt: skip
    assert users("add", "ca", "--role", "community_admin", "--password", PASSWORD,
                 "--community", COMMUNITY).exit_code == 0  # fmt: skip
    assert users("add", "d1", "--role", "department", "--password", PASSWORD,
                 "--department", "市场监管").exit_code == 0  # fmt: skip
    listed = users("list")
    assert listed.exit_code == 0, listed.output
    assert "3 accounts" in listed.output
    for word in ("lead", "grid_leader", "ca", "community_admin", "市场监管", "active"):
        assert word in listed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "emperor", "--password", PASSWORD], "unknown role"),
        (["--role", "planner", "--password", ""], "the password is empty"),
        (["--role", "planner", "--password", "abc12"], "too short"),
        (["--role", "planner", "--password", "abcdefghij"], "too weak"),
        (
            ["--role", "grid_worker", "--password", PASSWORD, "--grid", "990101001001777"],
            "unknown grid code",
        ),  # fmt: skip
        (["--role", "street_admin", "--password", PASSWORD], "needs --street"),
    ],
)
def test_add_refuses_bad_input(area, args, message):
    result = users("add", "someone", *args)
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert rows(area, "SELECT count(*) FROM users") == [(0,)]
    assert rows(area, "SELECT count(*) FROM workers") == [(0,)]


def test_duplicate_name_refused(area):
    assert users("add", "p1", "--role", "planner", "--password", PASSWORD).exit_code == 0
    again = users("add", "p1", "--role", "admin", "--password", PASSWORD)
    assert again.exit_code == 1 and "already exists" in again.output
    assert rows(area, "SELECT role FROM users") == [("planner",)]


def test_disable_and_api_tokens(area, client):
    assert users("add", "sys", "--role", "department", "--password", PASSWORD,
                 "--department", "12345热线").exit_code == 0  # fmt: skip
    made = users("token", "sys", "--label", "hotline", "--days", "30")
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("wg_")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/auth/me", headers=headers).json()["username"] == "sys"
    listed = users("tokens", "sys")
    assert "hotline" in listed.output and token not in listed.output
    assert users("disable", "sys").exit_code == 0
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    assert "already disabled" in users("disable", "sys").output
    assert "disabled" in users("list").output
    assert users("enable", "sys").exit_code == 0
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    token_id = rows(area, "SELECT id FROM api_tokens")[0][0]
    assert users("revoke", str(token_id)).exit_code == 0
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    missing = users("disable", "ghost")
    assert missing.exit_code == 1 and "no user named 'ghost'" in missing.output
    actions = rows(area, "SELECT action FROM audit_log WHERE object_id = 'sys' ORDER BY id")
    assert [a for (a,) in actions] == [
        "user.create",
        "api_token.create",
        "user.disable",
        "user.enable",
        "api_token.revoke",
    ]
    assert rows(area, "SELECT DISTINCT actor LIKE 'cli%' FROM audit_log") == [(True,)]


def test_passwd_and_existing_worker_rows(area, client):
    with transaction(area) as session:
        session.execute(
            text(
                "INSERT INTO workers (worker_id, name, role) VALUES ('W0001', '张三', 'part_time')"
            )
        )
        session.execute(
            text(
                "INSERT INTO worker_grids (worker_id, grid_code) "
                "SELECT id, :g FROM workers WHERE worker_id = 'W0001'"
            ),
            {"g": OTHER_GRID},
        )
    added = users("add", "W0001", "--role", "grid_worker", "--password", PASSWORD)
    assert added.exit_code == 0, added.output
    assert rows(area, "SELECT count(*) FROM workers") == [(1,)]  # linked, not duplicated
    token = client.post("/api/auth/token", data={"username": "W0001", "password": PASSWORD})
    me = client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert me.json()["grid_codes"] == [OTHER_GRID] and me.json()["worker_id"] == "W0001"
    weak = users("passwd", "W0001", "--password", "short")
    assert weak.exit_code == 1 and "too short" in weak.output
    issued = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.get("/api/auth/me", headers=issued).status_code == 200  # weak: not changed
    assert users("passwd", "W0001", "--password", "Brand-new-pass-9").exit_code == 0
    old = client.post("/api/auth/token", data={"username": "W0001", "password": PASSWORD})
    new = client.post("/api/auth/token", data={"username": "W0001", "password": "Brand-new-pass-9"})
    assert (old.status_code, new.status_code) == (401, 200)
    # a token issued before the change no longer works; one issued after it does
    revoked = client.get("/api/auth/me", headers=issued)
    assert revoked.status_code == 401 and "password has changed" in revoked.json()["detail"]
    fresh = {"Authorization": f"Bearer {new.json()['access_token']}"}
    assert client.get("/api/auth/me", headers=fresh).status_code == 200
    assert users("passwd", "nobody", "--password", "Brand-new-pass-9").exit_code == 1
    audit = "SELECT action FROM audit_log WHERE object_id = 'W0001' AND action {} ORDER BY id"
    assert rows(area, audit.format("LIKE 'user.%'")) == [("user.create",), ("user.password",)]
    # both good sign-ins are logged (the assessment counts them as attendance); the bad one not
    assert rows(area, audit.format("= 'auth.sign_in'")) == [("auth.sign_in",)] * 2


def test_token_lifetime_setting(area, client, monkeypatch):
    import jwt

    from api.settings import get_settings

    assert users("add", "p1", "--role", "planner", "--password", PASSWORD).exit_code == 0
    monkeypatch.setenv("WANGGE_TOKEN_MINUTES", "5")
    get_settings.cache_clear()
    token = client.post("/api/auth/token", data={"username": "p1", "password": PASSWORD}).json()
    assert token["expires_in"] == 300
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300


def test_link_to_an_existing_worker_by_id(area):
    with transaction(area) as session:
        session.execute(
            text("INSERT INTO workers (worker_id, name, role) VALUES ('L7', '赵六', 'grid_leader')")
        )
    args = ("add", "zhao", "--password", PASSWORD)
    unknown = users(*args, "--role", "grid_leader", "--worker", "L8")
    assert unknown.exit_code == 1 and "unknown worker id 'L8'" in unknown.output
    planner = users(*args, "--role", "planner", "--worker", "L7")
    assert planner.exit_code == 1 and "--worker is for" in planner.output
    added = users(*args, "--role", "grid_leader", "--worker", "L7", "--grid", GRID)
    assert added.exit_code == 0, added.output
    linked = rows(
        area,
        "SELECT w.worker_id, g.grid_code FROM users u JOIN workers w ON w.id = u.worker_id "
        "JOIN worker_grids g ON g.worker_id = w.id WHERE u.username = 'zhao'",
    )
    assert linked == [("L7", GRID)]
    assert rows(area, "SELECT count(*) FROM workers") == [(1,)]


def test_add_finds_the_demo_database_or_says_what_to_do(pg_cluster, monkeypatch):
    from api.settings import get_settings
    from tests.conftest import TEMPLATE

    monkeypatch.delenv("WANGGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("WANGGE_STATE_DIR", str(pg_cluster.state_dir))
    get_settings.cache_clear()
    try:
        assert "alembic_version" not in str(
            rows(pg_cluster.url(), "SELECT tablename FROM pg_tables")
        )
        missing = users("add", "li", "--role", "planner", "--password", PASSWORD)
        assert missing.exit_code == 1 and "数据库还没有表" in missing.output
        assert "Traceback" not in missing.output and missing.exception.__class__ is SystemExit
        pg_cluster.ensure_database("wangge_demo", template=TEMPLATE)
        added = users("add", "li", "--role", "planner", "--password", PASSWORD)
        assert added.exit_code == 0, added.output
        assert "wangge_demo" in added.output
        assert rows(
            pg_cluster.url("wangge_demo"), "SELECT role FROM users WHERE username = 'li'"
        ) == [("planner",)]
    finally:
        get_settings.cache_clear()
        from api.db import get_engine

        get_engine(pg_cluster.url("wangge_demo")).dispose()
        pg_cluster.drop_database("wangge_demo")
