"""The managed PostGIS cluster: start, stop, restart, recovery, ports, the CLI around it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from api.settings import get_settings
from api.storage import migrate
from api.storage.launcher import Cluster, LauncherError, database_url
from tests.conftest import make_state_dir

WANGGE = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "wangge"


@pytest.fixture
def cluster():
    c = Cluster(make_state_dir() / "c", fast=True)
    yield c
    c.destroy()
    shutil.rmtree(c.state_dir.parent, ignore_errors=True)


def count_rows(c: Cluster) -> int:
    with c.connect(c.database) as conn:
        return conn.execute("SELECT count(*) FROM marks").fetchone()[0]


def test_first_start_initialises_with_postgis(cluster):
    assert not cluster.status().initialized
    url = cluster.start()
    status = cluster.status()
    assert status.running and status.initialized and status.pid
    assert url.startswith("postgresql+psycopg://wangge:") and f":{status.port}/wangge" in url
    assert status.port != 5432
    with cluster.connect(cluster.database) as conn:
        assert conn.execute("SELECT postgis_lib_version()").fetchone()[0].startswith("3.")
        listen = conn.execute("SHOW listen_addresses").fetchone()[0]
    assert listen == "127.0.0.1"
    if os.geteuid() == 0:  # the server runs as postgres, never as root
        owner = Path(f"/proc/{status.pid}").stat().st_uid
        assert owner != 0
    assert (cluster.config_file.stat().st_mode & 0o777) == 0o600


def test_stop_and_restart_keep_data(cluster):
    cluster.start()
    with cluster.connect(cluster.database) as conn:
        conn.execute("CREATE TABLE marks (n int)")
        conn.execute("INSERT INTO marks VALUES (1), (2)")
    assert cluster.stop() is True
    assert not cluster.status().running
    assert cluster.stop() is False  # stopping twice is harmless
    cluster.start()
    assert count_rows(cluster) == 2
    cluster.start()  # starting a running cluster is a no-op
    assert cluster.status().running


def test_recovers_from_stale_pid_file(cluster):
    cluster.start()
    cluster.stop()
    # a pid file naming a live process that is not our server (this test process)
    pidfile = cluster.data_dir / "postmaster.pid"
    pidfile.write_text(f"{os.getpid()}\n{cluster.data_dir}\n")
    assert not cluster.status().running
    cluster.start()
    assert cluster.status().running
    assert cluster.status().pid != os.getpid()


def test_recovers_from_killed_server():
    # durable settings, as users get them: the fast test mode may lose the last commits
    cluster = Cluster(make_state_dir() / "c", fast=False)
    try:
        _kill_and_recover(cluster)
    finally:
        cluster.destroy()
        shutil.rmtree(cluster.state_dir.parent, ignore_errors=True)


def _kill_and_recover(cluster: Cluster) -> None:
    cluster.start()
    with cluster.connect(cluster.database) as conn:
        conn.execute("CREATE TABLE marks (n int)")
        conn.execute("INSERT INTO marks VALUES (1)")
    pid = cluster.status().pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not cluster.status().running
    cluster.start()
    assert cluster.status().running
    assert count_rows(cluster) == 1


def test_moves_to_another_port_when_taken(cluster):
    cluster.start()
    cluster.stop()
    # hold a port of our own and make it the cluster's remembered one: binding the cluster's
    # old port could fail when a parallel test's server took it right after the stop
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        cluster._save_config(cluster._config() | {"port": port})
        url = cluster.start()
    new_port = cluster.status().port
    assert new_port != port
    assert f":{new_port}/" in url


@pytest.mark.skipif(os.geteuid() != 0, reason="the /root rule applies to root only")
def test_refuses_state_dir_under_root():
    with pytest.raises(LauncherError, match="/root"):
        Cluster(Path("/root/wangge-state")).init()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as postgres")
def test_refuses_parent_postgres_cannot_enter():
    closed = Path(make_state_dir())
    closed.chmod(0o700)
    try:
        with pytest.raises(LauncherError, match="cannot enter"):
            Cluster(closed / "c").init()
    finally:
        shutil.rmtree(closed)


def test_missing_binaries_named(tmp_path):
    c = Cluster(make_state_dir() / "c", pg_bin=tmp_path)
    try:
        with pytest.raises(LauncherError, match="initdb not found"):
            c.start()
    finally:
        shutil.rmtree(c.state_dir.parent)


def test_external_url_bypasses_cluster(monkeypatch):
    monkeypatch.setenv("WANGGE_DATABASE_URL", "postgresql+psycopg://u:p@db.invalid:5/x")
    monkeypatch.setenv("WANGGE_STATE_DIR", "/nonexistent/never-created")
    get_settings.cache_clear()
    try:
        assert database_url(start=True) == "postgresql+psycopg://u:p@db.invalid:5/x"
        assert not Path("/nonexistent/never-created").exists()
    finally:
        get_settings.cache_clear()


def run_cli(*args: str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "WANGGE_DATABASE_URL"}
    env["WANGGE_STATE_DIR"] = str(state_dir)
    return subprocess.run(
        [str(WANGGE), *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_cli_db_lifecycle():
    state = make_state_dir() / "cli"
    try:
        status = run_cli("db", "status", state_dir=state)
        assert status.returncode == 3 and "not initialised" in status.stdout
        started = run_cli("db", "start", state_dir=state)
        assert started.returncode == 0, started.stderr
        assert "PostGIS running" in started.stdout
        assert run_cli("db", "status", state_dir=state).returncode == 0
        url = run_cli("db", "url", state_dir=state).stdout.strip()
        assert url.startswith("postgresql+psycopg://") and url.endswith("/wangge")
        upgraded = run_cli("db", "upgrade", state_dir=state)
        assert upgraded.returncode == 0 and f"revision {migrate.head_revision()}" in upgraded.stdout
        down = run_cli("db", "downgrade", "base", state_dir=state)
        assert down.returncode == 0 and "revision base" in down.stdout
        stopped = run_cli("db", "stop", state_dir=state)
        assert stopped.returncode == 0 and "stopped" in stopped.stdout
        assert run_cli("db", "status", state_dir=state).returncode == 3
    finally:
        Cluster(state).destroy()
        shutil.rmtree(state.parent, ignore_errors=True)
