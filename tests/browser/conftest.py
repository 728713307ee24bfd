"""Browser tests: the app under uvicorn on a free port against a throwaway PostGIS database
holding the synthetic 'community' city (with grids, micro-grids and workers), and Debian's
chromium driven by Playwright. Any console error or uncaught exception fails the test.

The city is loaded once into a template database; each test gets its own copy. Tiles are
switched off (WANGGE_TILE_URL=none): the tests run offline.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from api.settings import get_settings

CHROMIUM = Path("/usr/bin/chromium")
VENDOR = Path(__file__).resolve().parents[2] / "maps/static/vendor/node_modules/leaflet"
CITY_TEMPLATE = "wangge_browser_city"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TMP_SHOTS = Path(tempfile.gettempdir()) / "wangge-screenshots"
PLANNER, PASSWORD = "planner", "Grid-redraw-2026"

if not CHROMIUM.exists() or not VENDOR.exists():  # pragma: no cover - set-up installs both
    why = "browser tests need /usr/bin/chromium and the npm packages (./dev.sh setup)"
    if os.environ.get("CI"):  # never skipped in CI: a missing browser is a set-up failure
        pytest.fail(why, pytrace=False)
    pytest.skip(why, allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def city_template(pg_cluster) -> str:
    """A database with the synthetic community city, its grids and workers (loaded once)."""
    from api.accounts import create_user
    from api.db import get_engine, transaction
    from api.demo.datasets import build_grids, load_synthetic
    from tests.conftest import TEMPLATE

    pg_cluster.drop_database(CITY_TEMPLATE)
    pg_cluster.ensure_database(CITY_TEMPLATE, template=TEMPLATE)
    url = pg_cluster.url(CITY_TEMPLATE)
    with transaction(url) as session:
        load_synthetic(session, size="community", log=lambda _: None)
        build_grids(session, log=lambda _: None)
        create_user(session, PLANNER, "planner", PASSWORD)
    get_engine(url).dispose()
    return CITY_TEMPLATE


@pytest.fixture
def city_url(pg_cluster, city_template) -> Iterator[str]:
    """This test's own copy of the city database."""
    from tests.conftest import own_database

    with own_database(pg_cluster, "browser", template=city_template) as url:
        yield url


@pytest.fixture
def offline_settings(monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("WANGGE_TILE_URL", "none")
    monkeypatch.setenv("WANGGE_RATE_LIMIT", "false")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@dataclass
class LiveServer:
    url: str
    database_url: str
    server: object
    thread: threading.Thread


def serve(database_url: str) -> LiveServer:
    """Start the app under uvicorn in a thread; returns once it accepts connections."""
    import uvicorn

    from api.main import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(database_url), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            msg = "uvicorn did not start"
            raise RuntimeError(msg)
        time.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{port}", database_url, server, thread)


def stop(live: LiveServer) -> None:
    live.server.should_exit = True
    live.thread.join(timeout=10)


@pytest.fixture
def live_server(city_url, offline_settings) -> Iterator[LiveServer]:
    live = serve(city_url)
    yield live
    stop(live)


# The pages' script CSP has no 'unsafe-eval'. Playwright evals a string predicate of
# wait_for_function on every poll (refused after the first), a function's source only once:
# a predicate that is an expression is handed over as a function returning it.
FUNCTION_SOURCE = re.compile(r"^\s*(async\s+)?(function\b|\(?[\w\s,]*\)?\s*=>)")


def _as_function(expression: str) -> str:
    return expression if FUNCTION_SOURCE.match(expression) else f"() => ({expression})"


def _patch_wait_for_function() -> None:
    from playwright.sync_api import Frame, Page

    for cls in (Page, Frame):
        original = cls.wait_for_function

        def wait(self, expression, *args, _original=original, **kwargs):
            return _original(self, _as_function(expression), *args, **kwargs)

        cls.wait_for_function = wait


_patch_wait_for_function()


def launch(playwright):
    args = ["--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@dataclass
class Watched:
    """A page and everything it complained about or asked for."""

    page: object
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)  # a test may expect a 4xx
    expected_errors: list[str] = field(default_factory=list)  # … or these console texts

    def unexpected(self) -> list[str]:
        return [
            e
            for e in self.errors
            if not any(f"status of {s} " in e or f"HTTP {s}:" in e for s in self.expected_statuses)
            and not any(text in e for text in self.expected_errors)
        ]


def watch(context) -> Watched:
    page = context.new_page()
    watched = Watched(page)
    page.on(
        "console",
        lambda msg: (
            watched.errors.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda exc: watched.errors.append(f"page error: {exc}"))
    page.on("request", lambda request: watched.requests.append(request.url))
    page.on(
        "response",
        lambda r: (
            watched.errors.append(f"HTTP {r.status}: {r.request.method} {r.url}")
            if r.status >= 400 and not getattr(watched, "expect_http_errors", False)
            else None
        ),
    )
    return watched


@pytest.fixture
def page(browser) -> Iterator[Watched]:
    """A desktop-sized page; the test fails on any console error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    watched = watch(context)
    yield watched
    context.close()
    assert watched.unexpected() == [], watched.errors


@pytest.fixture
def phone(browser) -> Iterator[Watched]:
    """A phone-sized page (390×844, touch); fails on any console error."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    watched = watch(context)
    yield watched
    context.close()
    assert watched.unexpected() == [], watched.errors


def wait_drawn(page, timeout: float = 15_000) -> None:
    """Until the page's script has started and its layers have drawn."""
    page.wait_for_function("document.body.dataset.drawn === '1'", timeout=timeout)


def screenshot(page, name: str) -> None:
    """Save the viewport as <name>.png: into docs/screenshots (the README's pictures) when
    WANGGE_SCREENSHOTS=1, else into a temporary directory, so test runs leave the tree clean."""
    folder = SCREENSHOTS if os.environ.get("WANGGE_SCREENSHOTS") == "1" else TMP_SHOTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    raw = page.screenshot(full_page=False)
    try:  # a 256-colour palette keeps the committed PNGs small
        from io import BytesIO

        from PIL import Image

        image = Image.open(BytesIO(raw)).convert("RGB").quantize(colors=256, dither=0)
        image.save(path, optimize=True)
    except ImportError:  # pragma: no cover - Pillow comes with the geo stack
        path.write_bytes(raw)


def token(live: LiveServer, username: str = PLANNER, password: str = PASSWORD) -> dict:
    """Authorization header of a signed-in user, for the tests' own API calls."""
    import httpx

    r = httpx.post(f"{live.url}/api/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
