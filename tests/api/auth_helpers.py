"""Small fixtures for the account tests: a community with two grids, and one account per role."""

from __future__ import annotations

from functools import cache
from unittest.mock import patch

from sqlalchemy import text

from api import accounts as auth
from api.db import transaction

STREET = "990101001"
COMMUNITY = "990101001001"
OTHER_COMMUNITY = "990101001002"
GRID = COMMUNITY + "001"
OTHER_GRID = OTHER_COMMUNITY + "001"
PASSWORD = "Secret-pass-1"
SQUARE = "SRID=4326;POLYGON((118.8 32,118.801 32,118.801 32.001,118.8 32.001,118.8 32))"

# username → (role, keyword arguments of create_user)
ACCOUNTS = {
    "anyone": ("public", {}),
    "resident1": ("resident", {}),
    "worker1": ("grid_worker", {"grid_codes": [GRID]}),
    "leader1": ("grid_leader", {"grid_codes": [GRID, OTHER_GRID]}),
    "community1": ("community_admin", {"community_code": COMMUNITY}),
    "street1": ("street_admin", {"street_code": STREET}),
    "dept1": ("department", {"department": "城管"}),
    "planner1": ("planner", {}),
    "admin1": ("admin", {}),
}


def add_area(url: str) -> None:
    """A street office, two communities and one current grid in each (plain squares), the
    first with one micro-grid."""
    with transaction(url) as session:
        session.execute(
            text("INSERT INTO streets (code, name) VALUES (:c, '测试街道')"), {"c": STREET}
        )
        for code in (COMMUNITY, OTHER_COMMUNITY):
            session.execute(
                text(
                    "INSERT INTO communities (code, name, street_id) "
                    "SELECT :c, '测试社区', id FROM streets WHERE code = :s"
                ),
                {"c": code, "s": STREET},
            )
        for grid, community in ((GRID, COMMUNITY), (OTHER_GRID, OTHER_COMMUNITY)):
            session.execute(
                text(
                    "INSERT INTO grids (code, level, households, community_id, geom) "
                    "SELECT :g, 'grid', 400, id, :geom FROM communities WHERE code = :c"
                ),
                {"g": grid, "c": community, "geom": SQUARE},
            )
        session.execute(  # one micro-grid: accounts serve grid-level codes only
            text(
                "INSERT INTO grids (code, level, parent_code, households, community_id, geom) "
                "SELECT :m, 'micro', code, 400, community_id, geom FROM grids WHERE code = :g"
            ),
            {"m": GRID + "001", "g": GRID},
        )


_hash_once = cache(auth.hash_password)


def add_accounts(url: str) -> dict[str, auth.Principal]:
    """One account per role, all with PASSWORD (hashed once: argon2 is slow on purpose)."""
    with transaction(url) as session, patch.object(auth, "hash_password", _hash_once):
        return {
            name: auth.create_user(session, name, role, PASSWORD, actor="test", **kwargs)
            for name, (role, kwargs) in ACCOUNTS.items()
        }


def bearer(principal: auth.Principal) -> dict[str, str]:
    return {"Authorization": f"Bearer {auth.issue_token(principal)}"}
