"""`wangge serve --workers N` (issue 18): several worker processes on one port, and rate limits
that count once across all of them (buckets in PostgreSQL, api/storage/rate_buckets.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
WANGGE = Path(sys.executable).with_name("wangge")
BURST = 6


def _serve(db_url: str, state: Path, workers: int, **env_extra: str):
    port = _os_port()  # not a scan from a fixed start: tests on other xdist workers scan too
    env = {
        **os.environ,
        "WANGGE_DATABASE_URL": db_url,
        "WANGGE_STATE_DIR": str(state),
        "WANGGE_NOTIFY_JOB": "false",
        "WANGGE_RATE_LIMIT": "true",
        # a burst of BURST, then one token every 100 s: nothing refills during the test
        "WANGGE_RATE_LIMIT_PUBLIC_BURST": str(BURST),
        "WANGGE_RATE_LIMIT_PUBLIC_PER_MINUTE": "0.6",
        **env_extra,
    }
    cmd = [str(WANGGE), "serve", "--port", str(port), "--workers", str(workers)]
    log = (state / f"serve-{workers}.log").open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(f"{base}/api/health", timeout=5).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail(f"wangge serve did not start: {(state / f'serve-{workers}.log').read_text()}")


def _os_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found |= {int(child) for child in text}
    return found


def _workers_answering(base: str, *, want: int, tries: int = 200) -> set[int]:
    """The pids that answer /api/health, each request on a connection of its own."""
    seen: set[int] = set()
    for _ in range(tries):
        seen.add(httpx.get(f"{base}/api/health", timeout=10).json()["worker"])
        if len(seen) >= want:
            break
    return seen


def _burst(base: str, count: int) -> list[int]:
    return [httpx.get(f"{base}/api/categories", timeout=10).status_code for _ in range(count)]


def test_two_workers_answer_and_stop_cleanly(db_url, tmp_path):
    proc, base = _serve(db_url, tmp_path, 2)
    try:
        answering = _workers_answering(base, want=2)
        assert len(answering) == 2
        assert answering <= _children(proc.pid)  # worker processes of this `wangge serve`
        assert proc.pid not in answering
    finally:
        _stop(proc)
    for pid in answering:
        assert not Path(f"/proc/{pid}").exists()


@pytest.mark.parametrize("workers", [1, 2])
def test_the_anonymous_burst_is_one_total_whatever_the_workers(db_url, tmp_path, workers):
    proc, base = _serve(db_url, tmp_path, workers)
    try:
        assert len(_workers_answering(base, want=workers)) == workers
        statuses = _burst(base, 4 * BURST)
        refused = httpx.get(f"{base}/api/categories", timeout=10)
    finally:
        _stop(proc)
    assert statuses.count(200) == BURST, statuses
    assert statuses[BURST:] == [429] * (3 * BURST)
    assert refused.status_code == 429 and "请求过于频繁" in refused.json()["detail"]


def test_the_sign_in_lockout_holds_in_every_worker(db_url, tmp_path):
    """Failures counted by either worker add up in one row; a lock refuses every worker."""
    from sqlalchemy import text

    from api import accounts
    from api.db import transaction

    with transaction(db_url) as session:
        accounts.create_user(session, "zhangsan", "planner", "Right-pass-2026")
    proc, base = _serve(db_url, tmp_path, 2)

    def sign_in(password: str) -> httpx.Response:
        form = {"username": "zhangsan", "password": password}
        return httpx.post(f"{base}/api/auth/token", data=form, timeout=30)

    try:
        assert len(_workers_answering(base, want=2)) == 2
        assert [sign_in("wrong").status_code for _ in range(5)] == [401] * 5
        with transaction(db_url) as session:
            failures = session.execute(text("SELECT failures FROM sign_in_failures")).scalar()
            session.execute(text("UPDATE sign_in_failures SET locked_until = now() + '1 hour'"))
        refused = [sign_in("Right-pass-2026") for _ in range(8)]
    finally:
        _stop(proc)
    assert failures == 5
    assert {r.status_code for r in refused} == {429}
    assert refused[0].json()["detail"].startswith("登录失败次数过多")
