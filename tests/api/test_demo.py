"""The demo: datasets load into PostGIS, and `wangge demo` serves them until Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.demo import datasets as demo
from api.main import create_app
from api.storage.launcher import Cluster, find_free_port
from tests.api.storage.test_launcher import WANGGE
from tests.conftest import make_state_dir


def scalar(url: str, sql: str):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def test_synthetic_demo_loads_every_layer(use_database):
    demo.prepare(dataset="synthetic", size="community", log=lambda _: None).close()
    url = use_database
    assert scalar(url, "SELECT count(*) FROM communities") == 1
    assert scalar(url, "SELECT count(*) FROM buildings") > 20
    households = scalar(url, "SELECT sum(households) FROM buildings")
    assert 2000 <= households <= 3500
    # every building is linked to its community and compound where it has one
    assert scalar(url, "SELECT count(*) FROM buildings WHERE community_id IS NULL") == 0
    assert scalar(url, "SELECT count(*) FROM stations WHERE functions IS NULL") == 0
    circles = "SELECT count(*) FROM isochrones WHERE minutes IN (5, 10, 15)"
    assert scalar(url, circles) == 3 * scalar(url, "SELECT count(*) FROM stations")
    assert scalar(url, "SELECT count(*) FROM workers") > 0
    cases = scalar(url, "SELECT count(*) FROM cases")
    assert cases > 0 and scalar(url, "SELECT count(*) FROM case_events") > cases
    # sample cases (api.demo.cases): all routed, carried into several statuses
    assert scalar(url, "SELECT count(*) FROM cases WHERE routing IS NULL") == 0
    assert scalar(url, "SELECT count(DISTINCT status) FROM cases") >= 3
    # dated from the day the demo runs: reported in the last days, none overdue by more than a day
    old = "SELECT count(*) FROM cases WHERE reported_at < now() - interval '5 days' "
    assert scalar(url, old + "OR due_at < now() - interval '1 day'") == 0
    inside = scalar(
        url,
        "SELECT bool_and(ST_Within(b.location, c.geom)) FROM buildings b "
        "JOIN communities c ON c.id = b.community_id",
    )
    assert inside


def test_external_database_with_data_is_not_wiped_without_reload(use_database):
    demo.prepare(dataset="synthetic", size="community", log=lambda _: None).close()
    before = scalar(use_database, "SELECT count(*) FROM buildings")
    with pytest.raises(demo.DemoError, match="--reload"):
        demo.prepare(dataset="nanjing-xuanwu", log=lambda _: None)
    assert scalar(use_database, "SELECT count(*) FROM buildings") == before
    demo.prepare(dataset="nanjing-xuanwu", reload=True, log=lambda _: None).close()
    assert scalar(use_database, "SELECT count(*) FROM districts WHERE code = '990101'") == 0


def test_landing_page_and_health(use_database):
    demo.prepare(dataset="synthetic", size="community", log=lambda _: None).close()
    with TestClient(create_app(use_database)) as client:
        health = client.get("/api/health")
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "ok" and body["postgis"].startswith("3.")
        page = client.get("/")
        assert page.status_code == 200
        buildings = scalar(use_database, "SELECT count(*) FROM buildings")
        assert f"{buildings:,}" in page.text
        assert "楼栋" in page.text and 'href="/map/planner"' in page.text
        english = client.get("/?lang=en")
        assert "Buildings" in english.text


def get(url: str, timeout: float = 2.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def test_wangge_demo_serves_and_stops_cleanly_on_ctrl_c():
    state = make_state_dir() / "demo"
    port = find_free_port(18000)
    env = {k: v for k, v in os.environ.items() if k != "WANGGE_DATABASE_URL"}
    env["WANGGE_STATE_DIR"] = str(state)
    proc = subprocess.Popen(
        [str(WANGGE), "demo", "--size", "community", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                status, body = get(f"http://127.0.0.1:{port}/api/health")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"demo did not come up:\n{proc.stdout.read()}")
                time.sleep(0.5)
        assert status == 200 and json.loads(body)["postgis"].startswith("3.")
        status, page = get(f"http://127.0.0.1:{port}/")
        assert status == 200 and "楼栋" in page
        assert Cluster(state).status().running
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, output
        assert "stopped." in output
        assert not Cluster(state).status().running
    finally:
        if proc.poll() is None:
            proc.kill()
        Cluster(state).destroy()
        shutil.rmtree(state.parent, ignore_errors=True)
