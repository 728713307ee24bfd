"""PostGIS stopped under load: uvicorn on loopback against a cluster of this test's own.

Concurrent clients save grid layers and report cases (with Idempotency-Key, retried on 503)
while the database is stopped in immediate mode and started again. Requests fail cleanly (503,
never 500, none hangs past the timeout), succeed again after the restart, every write that got
a 2xx is stored exactly once, and every stored layer version is whole.
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from api.db import transaction
from api.grids.generation import generate_communities
from api.storage import grids as store
from api.storage import migrate
from api.storage.launcher import Cluster
from bench import load as bench_load
from tests.api.test_grids_db import COMMUNITY, load_city, rows
from tests.conftest import make_state_dir

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 30.0  # no request may take longer
WRITERS = 4  # grid savers; as many case reporters
OUTAGE_S = 4.0
SECRET = uuid.uuid4().hex * 2


def planner_token(url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A planner's bearer token, signed with the secret the server is given."""
    from api import accounts as auth
    from api.settings import get_settings

    monkeypatch.setenv("WANGGE_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    with transaction(url) as session:
        principal = auth.create_user(
            session, f"planner_{uuid.uuid4().hex[:8]}", "planner", "pw-123456"
        )
    token = auth.issue_token(principal)
    monkeypatch.delenv("WANGGE_SECRET_KEY")
    get_settings.cache_clear()
    return token


@pytest.fixture(scope="module")
def own_cluster():
    """A durable cluster (fsync on: committed means committed) that only this module stops."""
    cluster = Cluster(make_state_dir("wangge-fault-") / "cluster", database="fault")
    cluster.start()
    url = cluster.url()
    migrate.upgrade(url)
    load_city(url)
    with transaction(url) as session:
        generate_communities(session, store.select_communities(session, every=True))
    yield cluster
    from api.db import get_engine

    get_engine(url).dispose()
    cluster.destroy()
    cluster.state_dir.parent.rmdir()


def serve(url: str, state: Path) -> tuple[subprocess.Popen, str]:
    """uvicorn on loopback against `url`, signing tokens with the test's secret."""
    return bench_load.serve(url, workers=1, state=state, env_extra={"WANGGE_SECRET_KEY": SECRET})


class Log:
    """Every response seen, by kind, shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.failures: list[str] = []  # 500s, hangs, broken connections
        self.saved_versions: list[int] = []
        self.cases: dict[str, int] = {}  # Idempotency-Key → case id, for 2xx answers
        self.slowest = 0.0

    def record(self, kind: str, response: httpx.Response | None, seconds: float, note: str = ""):
        with self.lock:
            self.slowest = max(self.slowest, seconds)
            if response is None:
                self.failures.append(f"{kind}: {note}")
                return
            self.statuses[(kind, response.status_code)] += 1
            if response.status_code >= 500 and response.status_code != 503:
                self.failures.append(f"{kind}: {response.status_code} {response.text[:300]}")
            if response.status_code == 503 and "database is unavailable" not in response.text:
                self.failures.append(f"{kind}: 503 without a clear detail: {response.text[:300]}")


def call(log: Log, client: httpx.Client, kind: str, method: str, path: str, **kwargs):
    start = time.monotonic()
    try:
        response = client.request(method, path, timeout=TIMEOUT_S, **kwargs)
    except httpx.TimeoutException:
        log.record(kind, None, time.monotonic() - start, f"no answer within {TIMEOUT_S} s")
        return None
    except httpx.TransportError as exc:
        log.record(kind, None, time.monotonic() - start, f"connection broken: {exc!r}")
        return None
    log.record(kind, response, time.monotonic() - start)
    return response


def grid_saver(base: str, layer: dict, token: str, log: Log, stop: threading.Event) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        while not stop.is_set():
            body = {"community": COMMUNITY, "features": layer}
            response = call(log, client, "save", "POST", "/api/grids/save", json=body)
            if response is not None and response.status_code == 200:
                with log.lock:
                    log.saved_versions.append(response.json()["version"])
            elif response is not None and response.status_code not in (409, 503):
                log.failures.append(
                    f"save: unexpected {response.status_code} {response.text[:300]}"
                )
            if response is None or response.status_code == 503:
                time.sleep(0.2)


def reporter(base: str, point: tuple[float, float], category: str, log: Log, stop) -> None:
    """Reports cases one after another; a 503 is retried with the same key until it lands."""
    with httpx.Client(base_url=base) as client:
        while not stop.is_set():
            key = uuid.uuid4().hex
            body = {"lon": point[0], "lat": point[1], "crs": "wgs84", "category": category,
                    "description": f"fault-test {key}"}  # fmt: skip
            while True:
                response = call(log, client, "case", "POST", "/api/cases", json=body,
                                headers={"Idempotency-Key": key})  # fmt: skip
                if response is not None and response.status_code in (200, 201):
                    with log.lock:
                        log.cases[key] = response.json()["id"]
                    break
                if response is not None and response.status_code != 503:
                    log.failures.append(f"case: {response.status_code} {response.text[:300]}")
                    break
                time.sleep(0.3)  # retried even after stop: a 503 answer means "not yet"


def reader(base: str, log: Log, stop: threading.Event) -> None:
    with httpx.Client(base_url=base) as client:
        while not stop.is_set():
            call(log, client, "health", "GET", "/api/health")
            call(log, client, "grids", "GET", "/api/grids", params={"level": "grid"})


@pytest.mark.parametrize("mode", ["immediate", "fast"])
def test_postgis_restart_under_load_loses_nothing(own_cluster, tmp_path, monkeypatch, mode):
    url = own_cluster.url()
    token = planner_token(url, monkeypatch)
    proc, base = serve(url, tmp_path)
    try:
        layer = httpx.get(f"{base}/api/grids", params={"community": COMMUNITY}, timeout=30).json()
        v1_rows = len(layer["features"])
        spec = httpx.get(f"{base}/openapi.json", timeout=30).json()
        has_cases = "post" in spec["paths"].get("/api/cases", {})
        point = category = None
        if has_cases:
            point = rows(url, "SELECT ST_X(location), ST_Y(location) FROM buildings LIMIT 1")[0]
            category = httpx.get(f"{base}/api/categories", timeout=30).json()[0]["code"]

        log, stop = Log(), threading.Event()
        threads = [threading.Thread(target=grid_saver, args=(base, layer, token, log, stop))
                   for _ in range(WRITERS)]  # fmt: skip
        threads += [threading.Thread(target=reader, args=(base, log, stop)) for _ in range(2)]
        if has_cases:
            threads += [
                threading.Thread(target=reporter, args=(base, point, category, log, stop))
                for _ in range(WRITERS)
            ]
        for t in threads:
            t.start()
        # at least 3 s of traffic, and some of it answered (a loaded machine is slow to start)
        time.sleep(3.0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(s < 300 for _, s in list(log.statuses)):
            time.sleep(0.5)
        before_outage = sum(n for (_, s), n in log.statuses.items() if s < 300)
        own_cluster.stop(mode=mode)
        time.sleep(OUTAGE_S)
        during = dict(log.statuses)
        own_cluster.start()
        # the service answers again without a restart of its own
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if httpx.get(f"{base}/api/health", timeout=TIMEOUT_S).status_code == 200:
                break
            time.sleep(0.5)
        recovered_at = sum(n for (_, s), n in log.statuses.items() if s < 300)
        time.sleep(4.0)
        stop.set()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "a client thread hung"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()

    print(f"\n{mode} stop: {dict(log.statuses)}; slowest {log.slowest:.2f} s")
    server_log = (tmp_path / "uvicorn.log").read_text()
    assert not log.failures, (log.failures[:10], server_log[-3000:])
    assert log.slowest < TIMEOUT_S
    assert before_outage > 0, "nothing succeeded before the outage"
    assert any(s == 503 for (_, s) in during), f"the outage was not seen: {during}"
    after = sum(n for (_, s), n in log.statuses.items() if s < 300)
    assert after > recovered_at, "nothing succeeded after PostGIS came back"
    assert log.saved_versions, "no grid save succeeded"

    # every 2xx grid save is one whole layer version in the database
    versions = rows(
        url,
        "SELECT valid_from, count(*), count(*) FILTER (WHERE valid_to IS NULL) "
        "FROM grids GROUP BY valid_from ORDER BY valid_from",
    )
    assert len(set(log.saved_versions)) == len(log.saved_versions)
    assert max(log.saved_versions) <= len(versions)
    # at most the saves whose commit raced the shutdown (answered 503) can be there in addition
    assert len(versions) >= 1 + len(log.saved_versions)
    assert all(count == v1_rows for _, count, _ in versions), versions
    assert [current for *_, current in versions] == [0] * (len(versions) - 1) + [v1_rows]
    assert rows(url, "SELECT count(*) FROM grids WHERE valid_to IS NULL")[0][0] == v1_rows

    if has_cases:
        assert log.cases, "no case report succeeded"
        stored = rows(
            url,
            "SELECT description, count(*), min(id) FROM cases "
            "WHERE description LIKE 'fault-test %' GROUP BY description",
        )
        by_key = {d.removeprefix("fault-test "): (n, i) for d, n, i in stored}
        for key, case_id in log.cases.items():
            assert by_key.get(key) == (1, case_id), (key, by_key.get(key))
        assert all(n == 1 for n, _ in by_key.values())
