"""A small world for the case tests: one street office, two communities, grids sharing an edge.

    x: 118.80        118.81        118.82        118.83
       ┌─────────────┬─────────────┐─────────────┐ y 32.01
       │ grid A      │ grid B      │ community 2 │
       │ micro A1/A2 │ micro B1/B2 │ (no grids)  │
       └─────────────┴─────────────┘─────────────┘ y 32.00
    community 1 = 118.80–118.82 (plus a 0.002° margin without grids to the south);
    the street office covers everything plus a further margin.
Grid A has a leader, a full-time and a part-time worker; grid B only a leader.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import text

from api.db import transaction

STREET = "990101001"
C1, C2 = "990101001001", "990101001002"
A, B = C1 + "001", C1 + "002"
A1, A2, B1, B2 = A + "001", A + "002", B + "001", B + "002"
PASSWORD = "Secret-pass-1"


def box(x0, y0, x1, y1, kind="POLYGON"):
    ring = f"{x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}"
    return (
        f"SRID=4326;{kind}(({ring}))"
        if kind == "POLYGON"
        else f"SRID=4326;MULTIPOLYGON((({ring})))"
    )


def build(url: str) -> None:
    with transaction(url) as s:
        s.execute(
            text("INSERT INTO streets (code, name, geom) VALUES (:c, '测试街道', :g)"),
            {"c": STREET, "g": box(118.79, 31.99, 118.84, 32.02, "MULTI")},
        )
        for code, geom in (
            (C1, box(118.80, 31.998, 118.82, 32.01, "MULTI")),
            (C2, box(118.82, 32.00, 118.83, 32.01, "MULTI")),
        ):
            s.execute(
                text(
                    "INSERT INTO communities (code, name, street_id, geom) "
                    "SELECT :c, '测试社区', id, :g FROM streets WHERE code = :s"
                ),
                {"c": code, "g": geom, "s": STREET},
            )
        grids = [
            (A, "grid", None, box(118.80, 32.00, 118.81, 32.01)),
            (B, "grid", None, box(118.81, 32.00, 118.82, 32.01)),
            (A1, "micro", A, box(118.80, 32.00, 118.81, 32.005)),
            (A2, "micro", A, box(118.80, 32.005, 118.81, 32.01)),
            (B1, "micro", B, box(118.81, 32.00, 118.82, 32.005)),
            (B2, "micro", B, box(118.81, 32.005, 118.82, 32.01)),
        ]
        for code, level, parent, geom in grids:
            s.execute(
                text(
                    "INSERT INTO grids (code, level, parent_code, households, community_id, geom) "
                    "SELECT :code, :level, :parent, 400, id, :geom FROM communities WHERE code = :c"
                ),
                {"code": code, "level": level, "parent": parent, "geom": geom, "c": C1},
            )
        workers = [("LA", "grid_leader", A), ("FA", "full_time", A), ("PA", "part_time", A),
                   ("LB", "grid_leader", B)]  # fmt: skip
        for wid, role, grid in workers:
            s.execute(
                text(
                    "INSERT INTO workers (worker_id, name, role, community_id) "
                    "SELECT :w, :w, :r, id FROM communities WHERE code = :c"
                ),
                {"w": wid, "r": role, "c": C1},
            )
            s.execute(
                text(
                    "INSERT INTO worker_grids (worker_id, grid_code) "
                    "SELECT id, :g FROM workers WHERE worker_id = :w"
                ),
                {"w": wid, "g": grid},
            )


ACCOUNTS = {
    "worker_a": ("grid_worker", {"grid_codes": [A]}),
    "worker_a2": ("grid_worker", {"grid_codes": [A]}),
    "leader_a": ("grid_leader", {"grid_codes": [A]}),
    "community1": ("community_admin", {"community_code": C1}),
    "street1": ("street_admin", {"street_code": STREET}),
    "dept1": ("department", {"department": "城市管理局"}),
    "gasco": ("department", {"department": "燃气公司"}),
    "resident1": ("resident", {}),
    "admin1": ("admin", {}),
}


def accounts(url: str) -> dict[str, dict]:
    """Create the accounts; return username → Authorization headers."""
    from api import accounts as auth

    headers = {}
    with transaction(url) as session:
        for name, (role, kwargs) in ACCOUNTS.items():
            principal = auth.create_user(session, name, role, PASSWORD, **kwargs)
            headers[name] = {"Authorization": f"Bearer {auth.issue_token(principal)}"}
    return headers


def report(client: TestClient, lon: float, lat: float, category="dispute.neighbour", **kw):
    body = {"lon": lon, "lat": lat, "crs": "wgs84", "category": category,
            "description": kw.pop("description", "楼上漏水")} | kw  # fmt: skip
    return client.post("/api/cases", json=body)


@contextmanager
def served(url: str) -> Iterator[TestClient]:
    """The app on the built world, rate limits off; `headers_by` holds each account's headers."""
    from api.main import create_app
    from api.settings import get_settings

    saved = os.environ.get("WANGGE_RATE_LIMIT")
    os.environ["WANGGE_RATE_LIMIT"] = "false"
    get_settings.cache_clear()
    try:
        build(url)
        with TestClient(create_app(url)) as client:
            client.headers_by = accounts(url)
            yield client
    finally:
        if saved is None:
            os.environ.pop("WANGGE_RATE_LIMIT", None)
        else:
            os.environ["WANGGE_RATE_LIMIT"] = saved
        get_settings.cache_clear()
