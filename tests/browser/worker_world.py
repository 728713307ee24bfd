"""What the worker app's browser tests share: a grid worker of the synthetic city's first grid,
cases reported in that grid, signing in on the phone page, reading the server's record."""

from __future__ import annotations

import io

import httpx
from shapely.geometry import shape

from tests.browser.conftest import token, wait_drawn

COMMUNITY = "990101001001"
WORKER, PASSWORD = "wangwu", "Field-worker-2026"
ADMIN = "admin9"


def make_worker(live, *, username: str = WORKER) -> tuple[dict, str]:
    """An account (and an admin) for the worker new cases of the community's first grid are
    dispatched to; returns the grid and the worker_id."""
    from sqlalchemy import select

    from api.accounts import create_user
    from api.cases import dispatch
    from api.db import transaction
    from api.storage import models

    grids = httpx.get(
        f"{live.url}/api/grids", params={"community": COMMUNITY, "level": "grid"}
    ).json()["features"]
    grid = grids[0]
    with transaction(live.database_url) as session:
        code = grid["properties"]["code"]
        pk = dispatch.pick_assignee(session, code)
        worker = session.execute(
            select(models.Worker.worker_id).where(models.Worker.id == pk)
        ).scalar_one()
        create_user(session, username, "grid_worker", PASSWORD, grid_codes=[code], worker=worker)
        create_user(session, ADMIN, "admin", PASSWORD)
    return grid, worker


def report(live, grid: dict, description: str, **extra) -> dict:
    """A resident's report inside `grid` (dispatched at once)."""
    point = shape(grid["geometry"]).representative_point()
    category = httpx.get(f"{live.url}/api/categories").json()[0]["code"]
    body = {"lon": point.x, "lat": point.y, "crs": "wgs84", "category": category,
            "description": description} | extra  # fmt: skip
    r = httpx.post(f"{live.url}/api/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def jpeg(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, "JPEG", quality=90)
    return out.getvalue()


def sign_in(page, live, username: str = WORKER, *, lang: str = "zh") -> None:
    page.goto(f"{live.url}/map/worker" + ("?lang=en" if lang == "en" else ""))
    wait_drawn(page)
    page.fill("#signin [name=username]", username)
    page.fill("#signin [name=password]", PASSWORD)
    page.click("#signin button")
    page.wait_for_function("document.body.dataset.casesDrawn !== undefined", timeout=20_000)


def stored(live, case_id: int, username: str = ADMIN) -> dict:
    """The case as the server has it, with its events and attachments."""
    headers = token(live, username, PASSWORD)
    r = httpx.get(f"{live.url}/api/cases/{case_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def actions(case: dict) -> list[str]:
    return [e["action"] for e in case["events"]]


def wait_status(page, text: str) -> None:
    """Until the status line says `text` (a part of it)."""
    page.wait_for_function(
        "t => document.getElementById('status').textContent.includes(t)", arg=text, timeout=20_000
    )
