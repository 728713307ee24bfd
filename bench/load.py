"""Load test: uvicorn on loopback, many concurrent clients on a mix of read endpoints.

    .venv/bin/python -m bench.load [--clients 200] [--seconds 60] [--workers 1] [--size street]
    .venv/bin/python -m bench.load --smoke            # 20 clients for 5 s (what CI runs)
    .venv/bin/python -m bench.load --database-url URL # an already loaded database

Without ``--database-url`` a throwaway PostGIS cluster is made in /tmp (fsync off) and a
synthetic city of ``--size`` is loaded with its grids (as in ``wangge demo``). The service runs
as ``uvicorn --factory api.main:create_app`` in a subprocess with ``--workers`` processes and
rate limits off (every client comes from 127.0.0.1, one bucket would throttle them all).

Clients are asyncio tasks over httpx, each sending one request after another, the endpoint
drawn by weight from MIX. Measured: requests per second, error rate (a status other than 2xx,
or no answer within the timeout), p50/p99 latency overall and per endpoint. Baseline, in the
same process: the same mix from one client (serial), so the ratios say what concurrency buys
and costs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 30.0


@dataclass
class Targets:
    """What the requests ask for, read from the database once."""

    communities: list[str]
    grids: list[str]
    points: list[tuple[float, float]]
    addresses: list[str]
    token: str | None = None


@dataclass
class Run:
    name: str
    clients: int
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float, endpoint: str | None = None) -> float:
        values = self.latencies[endpoint] if endpoint else sum(self.latencies.values(), [])
        return float(np.percentile(values, q)) * 1000 if values else float("nan")


Request = tuple[str, str, dict]  # endpoint label, path, query params


def mix(t: Targets, paths: set[str]) -> list[tuple[int, Callable[[random.Random], Request]]]:
    """(weight, request maker) for each read endpoint the app serves."""
    out = [
        (1, lambda r: ("health", "/api/health", {})),
        (2, lambda r: ("grids", "/api/grids", {"community": r.choice(t.communities),
                                               "level": "grid"})),
        (2, lambda r: ("grid", f"/api/grids/{r.choice(t.grids)}", {})),
        (3, lambda r: ("geocode", "/api/geocode", {"q": r.choice(t.addresses)})),
        (2, lambda r: ("reverse", "/api/reverse", dict(zip(("lon", "lat"), r.choice(t.points),
                                                          strict=True)))),
    ]  # fmt: skip
    if "/api/stations/nearest" in paths:
        out.append(
            (2, lambda r: ("nearest", "/api/stations/nearest",
                           dict(zip(("lon", "lat"), r.choice(t.points), strict=True))))
        )  # fmt: skip
    if "/api/categories" in paths:
        out.append((1, lambda r: ("categories", "/api/categories", {})))
    if "/api/cases" in paths and t.token:
        out.append((1, lambda r: ("cases", "/api/cases", {"limit": 20})))
    return out


async def drive(base: str, run: Run, seconds: float, makers, token: str | None) -> None:
    weights = [w for w, _ in makers]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=run.clients, max_keepalive_connections=run.clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers) as client:
        stop = time.monotonic() + seconds

        async def one(k: int) -> None:
            rng = random.Random(k)
            while time.monotonic() < stop:
                _, make = rng.choices(makers, weights)[0]
                label, path, params = make(rng)
                start = time.perf_counter()
                try:
                    response = await client.get(path, params=params, timeout=TIMEOUT_S)
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                run.latencies[label].append(time.perf_counter() - start)
                run.statuses[status] += 1
                if not 200 <= status < 300:
                    run.errors[label] += 1

        start = time.monotonic()
        await asyncio.gather(*(one(k) for k in range(run.clients)))
        run.seconds = time.monotonic() - start


def targets(url: str) -> Targets:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        communities = list(
            conn.execute(
                text(
                    "SELECT c.code FROM communities c JOIN grids g ON g.community_id = c.id "
                    "WHERE g.valid_to IS NULL GROUP BY c.code ORDER BY c.code"
                )
            ).scalars()
        )
        grids = list(
            conn.execute(
                text(
                    "SELECT code FROM grids WHERE valid_to IS NULL AND level = 'grid' ORDER BY code"
                )
            ).scalars()
        )
        found = conn.execute(
            text(
                "SELECT ST_X(location), ST_Y(location), address FROM buildings "
                "WHERE address IS NOT NULL ORDER BY id"
            )
        ).all()
    engine.dispose()  # fmt: skip
    rng = random.Random(0)
    sample = rng.sample(found, min(500, len(found)))
    return Targets(communities, grids, [(x, y) for x, y, _ in sample], [a for _, _, a in sample])


def serve(url: str, *, workers: int, state: Path, env_extra: dict | None = None):
    """uvicorn on a free loopback port; returns (process, base URL)."""
    from api.storage.launcher import find_free_port

    port = find_free_port(18100)
    env = {**os.environ, "WANGGE_DATABASE_URL": url, "WANGGE_RATE_LIMIT": "false",
           "WANGGE_STATE_DIR": str(state), **(env_extra or {})}  # fmt: skip
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "api.main:create_app", "--host",
           "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
           "--no-access-log", "--backlog", "4096",
           "--timeout-worker-healthcheck", "60"]  # fmt: skip
    log = (state / "uvicorn.log").open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    proc.kill()
    msg = f"uvicorn did not start: {(state / 'uvicorn.log').read_text()[-2000:]}"
    raise RuntimeError(msg)


def load_city(url: str, size: str) -> None:
    from api.db import transaction
    from api.demo import datasets as demo
    from api.storage import migrate

    migrate.upgrade(url)
    with transaction(url) as session:
        demo.load_synthetic(session, size=size, log=lambda _: None)
        demo.build_grids(session, log=lambda _: None)


def staff_token(url: str, secret: str) -> str | None:
    """A street admin's token (sees cases), signed with `secret`; None without accounts."""
    try:
        from api import accounts as auth
    except ImportError:
        return None
    from api.db import transaction
    from api.settings import get_settings

    os.environ["WANGGE_SECRET_KEY"] = secret
    get_settings.cache_clear()
    with transaction(url) as session:
        user = auth.create_user(session, f"load_{os.getpid()}", "admin", "Load-test-2026")
    return auth.issue_token(user)


def bench(url: str, *, clients: int, seconds: float, baseline_s: float, workers: int) -> dict:
    """Run the baseline (1 client) and the load (`clients`) against one uvicorn; the runs."""
    state = Path(tempfile.mkdtemp(prefix="wangge-load-"))
    secret = os.urandom(24).hex()
    t = targets(url)
    t.token = staff_token(url, secret)
    proc, base = serve(url, workers=workers, state=state, env_extra={"WANGGE_SECRET_KEY": secret})
    try:
        paths = set(httpx.get(f"{base}/openapi.json", timeout=30).json()["paths"])
        makers = mix(t, paths)
        # warm up: caches (geocoder index, walking network) are built on first use
        warm = Run("warm-up", 4)
        asyncio.run(drive(base, warm, min(5.0, seconds), makers, t.token))
        baseline = Run("1 client (baseline)", 1)
        asyncio.run(drive(base, baseline, baseline_s, makers, t.token))
        load = Run(f"{clients} clients", clients)
        asyncio.run(drive(base, load, seconds, makers, t.token))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {"baseline": baseline, "load": load, "warm": warm, "log": state / "uvicorn.log"}


def report(runs: dict) -> str:
    base, load = runs["baseline"], runs["load"]
    lines = [
        "| run | requests | req/s | errors | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for run in (base, load):
        rate = run.error_count / run.requests if run.requests else 0.0
        lines.append(
            f"| {run.name} | {run.requests:,} | {run.throughput:,.1f} | "
            f"{run.error_count} ({rate:.2%}) | {run.percentile(50):.1f} | "
            f"{run.percentile(99):.1f} |"
        )
    lines.append("")
    lines.append(
        f"throughput ×{load.throughput / base.throughput:.1f} vs 1 client; "
        f"p50 ×{load.percentile(50) / base.percentile(50):.1f}, "
        f"p99 ×{load.percentile(99) / base.percentile(99):.1f}"
    )
    lines += ["", "| endpoint | requests | errors | p50 ms | p99 ms | 1-client p50 ms |",
              "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for label in sorted(load.latencies):
        lines.append(
            f"| {label} | {len(load.latencies[label]):,} | {load.errors.get(label, 0)} | "
            f"{load.percentile(50, label):.1f} | {load.percentile(99, label):.1f} | "
            f"{base.percentile(50, label):.1f} |"
        )
    statuses = ", ".join(f"{s or 'no answer'}: {n:,}" for s, n in sorted(load.statuses.items()))
    lines += ["", f"statuses under load: {statuses}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--size", default="street", help="synthetic city: community|street|district"
    )
    parser.add_argument("--database-url", help="a loaded database (else a throwaway cluster)")
    parser.add_argument("--smoke", action="store_true", help="20 clients for 5 s, community size")
    args = parser.parse_args(argv)
    if args.smoke:
        args.clients, args.seconds, args.baseline_seconds, args.size = 20, 5.0, 3.0, "community"
    cluster = None
    url = args.database_url
    try:
        if url is None:
            from api.storage.launcher import Cluster

            state = Path(tempfile.mkdtemp(prefix="wangge-loaddb-", dir="/tmp"))
            state.chmod(0o755)
            cluster = Cluster(state / "cluster", fast=True, database="load")
            cluster.start()
            url = cluster.url()
            t0 = time.perf_counter()
            load_city(url, args.size)
            print(f"loaded a synthetic {args.size} in {time.perf_counter() - t0:.0f} s")
        runs = bench(
            url,
            clients=args.clients,
            seconds=args.seconds,
            baseline_s=args.baseline_seconds,
            workers=args.workers,
        )
        print(f"\n{args.clients} clients for {args.seconds:g} s, {args.workers} uvicorn worker(s)")
        print(report(runs))
        shutil.rmtree(runs["log"].parent, ignore_errors=True)
    finally:
        if cluster is not None:
            cluster.destroy()
            cluster.state_dir.parent.rmdir()


if __name__ == "__main__":
    main()
