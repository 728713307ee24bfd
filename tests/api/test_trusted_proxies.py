"""X-Forwarded-For counts only from trusted proxies: `wangge serve`'s uvicorn options, under a
real uvicorn with the sign-in rate limit on."""

from __future__ import annotations

import socket

import httpx
import pytest

from api.cli.common import uvicorn_options
from api.settings import get_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve(db_url, monkeypatch):
    """Start the app under uvicorn with `wangge serve`'s options; yields a function(trusted)."""
    import threading

    import uvicorn

    from api.main import create_app

    servers = []

    def start(trusted: str) -> str:
        monkeypatch.setenv("WANGGE_RATE_LIMIT", "true")
        monkeypatch.setenv("WANGGE_RATE_LIMIT_AUTH_BURST", "2")
        monkeypatch.setenv("WANGGE_TRUSTED_PROXIES", trusted)
        get_settings.cache_clear()
        port = free_port()
        config = uvicorn.Config(create_app(db_url), host="127.0.0.1", port=port,
                                log_level="warning", **uvicorn_options())  # fmt: skip
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        while not server.started and thread.is_alive():
            thread.join(0.02)
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)
    get_settings.cache_clear()


def _statuses(url: str) -> list[int]:
    return [
        httpx.post(
            f"{url}/api/auth/token", data={}, headers={"X-Forwarded-For": f"10.0.0.{i}"}
        ).status_code
        for i in range(4)
    ]


def test_forwarded_for_is_ignored_by_default(serve):
    assert uvicorn_options()["proxy_headers"] is False
    statuses = _statuses(serve(""))
    assert statuses[:2] != [429, 429] and statuses[2:] == [429, 429]


def test_forwarded_for_is_honoured_from_a_trusted_proxy(serve):
    statuses = _statuses(serve("127.0.0.1"))
    assert 429 not in statuses
