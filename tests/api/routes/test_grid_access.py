"""Who may redraw grids (401 / 403 per role, street and community admins in their area only),
the audit rows grid changes leave, and the public grid layer without personal data."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from api import accounts as auth
from api.db import transaction
from api.grids.generation import generate_communities
from api.storage import grids as store
from tests.api.auth_helpers import PASSWORD, bearer
from tests.api.test_grids_db import COMMUNITY, load_city, rows

STREET = COMMUNITY[:9]
OTHER_STREET = "990101002"
OTHER_COMMUNITY = OTHER_STREET + "001"


@pytest.fixture
def city(db_url, client):
    """The synthetic community with grids (version 1), a second street office and community
    without grids, and one account per role (admins of both areas)."""
    load_city(db_url)
    with transaction(db_url) as session:
        generate_communities(session, store.select_communities(session, every=True))
        session.execute(
            text("INSERT INTO streets (code, name) VALUES (:s, '别的街道')"), {"s": OTHER_STREET}
        )
        session.execute(
            text(
                "INSERT INTO communities (code, name, street_id) "
                "SELECT :c, '别的社区', id FROM streets WHERE code = :s"
            ),
            {"c": OTHER_COMMUNITY, "s": OTHER_STREET},
        )
        grid = session.scalar(text("SELECT min(code) FROM grids WHERE level = 'grid'"))
        specs = {
            "anyone": ("public", {}),
            "resident1": ("resident", {}),
            "worker1": ("grid_worker", {"grid_codes": [grid]}),
            "leader1": ("grid_leader", {"grid_codes": [grid]}),
            "dept1": ("department", {"department": "城管"}),
            "community1": ("community_admin", {"community_code": COMMUNITY}),
            "community2": ("community_admin", {"community_code": OTHER_COMMUNITY}),
            "street1": ("street_admin", {"street_code": STREET}),
            "street2": ("street_admin", {"street_code": OTHER_STREET}),
            "planner1": ("planner", {}),
            "admin1": ("admin", {}),
        }
        users = {
            name: auth.create_user(session, name, role, PASSWORD, **kw)
            for name, (role, kw) in specs.items()
        }
    return users


def edits(client) -> list[tuple[str, str, dict]]:
    """(method, path, body or params) of every grid-editing endpoint, on the real layer."""
    layer = client.get("/api/grids", params={"community": COMMUNITY}).json()
    codes = sorted(
        f["properties"]["code"] for f in layer["features"] if f["properties"]["level"] == "grid"
    )
    with_layer = {"community": COMMUNITY, "features": layer}
    return [
        ("POST", "/api/grids/validate", with_layer),
        ("POST", "/api/grids/save", with_layer),
        (
            "POST",
            "/api/grids/move",
            {"community": COMMUNITY, "building_ids": ["x"], "to_code": codes[0]},
        ),
        ("POST", "/api/grids/lock", {"codes": codes[:1]}),
        ("POST", "/api/grids/unlock", {"codes": codes[:1]}),
        ("POST", "/api/grids/regenerate", {"community": COMMUNITY}),
        ("POST", "/api/grids/split", {"community": COMMUNITY, "code": codes[0]}),
        ("POST", "/api/grids/merge", {"community": COMMUNITY, "codes": codes[:2]}),
        ("POST", "/api/grids/undo", {"community": COMMUNITY}),
        ("GET", "/api/grids/history", {"community": COMMUNITY}),
    ]


def call(client, method, path, body, headers=None):
    if method == "GET":
        return client.get(path, params=body, headers=headers)
    return client.post(path, json=body, headers=headers)


def test_anonymous_and_other_roles_may_not_edit(client, city):
    for method, path, body in edits(client):
        response = call(client, method, path, body)
        assert response.status_code == 401, (path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        for name in ("anyone", "resident1", "worker1", "leader1", "dept1"):
            response = call(client, method, path, body, bearer(city[name]))
            assert response.status_code == 403, (path, name, response.status_code)
    assert rows(
        client.app.state.database_url, "SELECT count(*) FROM audit_log WHERE object_type = 'grids'"
    ) == [(0,)]


@pytest.mark.parametrize("name", ["planner1", "admin1", "community1", "street1"])
def test_editors_in_their_area(client, city, name):
    headers = bearer(city[name])
    layer = client.get("/api/grids", params={"community": COMMUNITY}).json()
    response = client.post(
        "/api/grids/validate", json={"community": COMMUNITY, "features": layer}, headers=headers
    )
    assert response.status_code == 200, response.text
    history = client.get("/api/grids/history", params={"community": COMMUNITY}, headers=headers)
    assert history.status_code == 200


@pytest.mark.parametrize("name", ["community2", "street2"])
def test_admins_outside_their_area_are_403(client, city, name):
    headers = bearer(city[name])
    for method, path, body in edits(client):
        response = call(client, method, path, body, headers)
        assert response.status_code == 403, (path, response.text)
        assert f"community {COMMUNITY}" in response.json()["detail"]


def test_grid_changes_are_audited(client, city):
    url = client.app.state.database_url
    headers = bearer(city["community1"])
    layer = client.get("/api/grids", params={"community": COMMUNITY}).json()
    grid = next(
        f["properties"]["code"] for f in layer["features"] if f["properties"]["level"] == "grid"
    )
    saved = client.post(
        "/api/grids/save",
        json={"community": COMMUNITY, "features": layer, "base_version": 1},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    assert (
        client.post("/api/grids/lock", json={"codes": [grid]}, headers=headers).json()["changed"]
        == 1
    )
    # a preview (save false) changes nothing and is not audited
    preview = client.post(
        "/api/grids/split", json={"community": COMMUNITY, "code": grid}, headers=headers
    )
    assert preview.status_code in (200, 409)
    undone = client.post(
        "/api/grids/undo", json={"community": COMMUNITY, "base_version": 2}, headers=headers
    )
    assert undone.status_code == 200, undone.text
    admin = bearer(city["admin1"])
    log = client.get("/api/audit", params={"object_type": "grids"}, headers=admin).json()
    assert [(e["action"], e["actor"], e["object_id"]) for e in log] == [
        ("grids.undo", "community1", COMMUNITY),
        ("grids.lock", "community1", COMMUNITY),
        ("grids.save", "community1", COMMUNITY),
    ]
    save = log[-1]["detail"]
    assert save["before"] == {"version": 1} and save["after"]["version"] == 2
    assert save["after"]["grids"] > 0 and save["after"]["households"] > 0
    assert log[1]["detail"]["codes"] == [grid] and log[1]["detail"]["after"] == {"locked": True}
    assert log[0]["detail"]["after"]["version"] == 3
    # filters: actor, object, time range
    assert client.get("/api/audit", params={"actor": "planner1"}, headers=admin).json() == []
    since = log[1]["at"]
    newer = client.get("/api/audit", params={"object_type": "grids", "since": since}, headers=admin)
    assert [e["action"] for e in newer.json()] == ["grids.undo", "grids.lock"]
    older = client.get("/api/audit", params={"object_type": "grids", "until": since}, headers=admin)
    assert [e["action"] for e in older.json()] == ["grids.save"]
    bad = client.get("/api/audit", params={"since": since, "until": since}, headers=admin)
    assert bad.status_code == 422
    users = client.get(
        "/api/audit", params={"object_type": "user", "object_id": "street1"}, headers=admin
    )
    assert [e["action"] for e in users.json()] == ["user.create"]
    assert users.json()[0]["detail"]["after"]["street_code"] == STREET
    # the log is append-only in PostgreSQL itself
    raw = url.replace("+psycopg", "")
    with psycopg.connect(raw, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("UPDATE audit_log SET actor = 'someone else'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("DELETE FROM audit_log")
    assert rows(url, "SELECT count(DISTINCT actor) FROM audit_log WHERE object_type = 'grids'") == [
        (1,)
    ]


def test_public_grid_layer_needs_no_token_and_has_no_personal_data(client, city, db_url):
    with transaction(db_url) as session:
        session.execute(text("UPDATE workers SET phone = '13912345678', name = '王小明'"))
    response = client.get("/api/grids", params={"level": "grid"})
    assert response.status_code == 200
    assert response.json()["features"]
    assert "13912345678" not in response.text and "王小明" not in response.text
    one = response.json()["features"][0]["properties"]["code"]
    detail = client.get(f"/api/grids/{one}")
    assert detail.status_code == 200
    assert "13912345678" not in detail.text and "王小明" not in detail.text


def test_cli_generation_is_audited(use_database):
    from typer.testing import CliRunner

    from api.cli import app

    load_city(use_database)
    result = CliRunner().invoke(app, ["grids", "generate", "--community", COMMUNITY])
    assert result.exit_code == 0, result.output
    found = rows(
        use_database,
        "SELECT actor, action, object_id, detail->'after'->>'version' FROM audit_log",
    )
    assert found == [("cli", "grids.generate", COMMUNITY, "1")]
