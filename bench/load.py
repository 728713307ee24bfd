"""Load test: `wangge serve --workers 1` and `--workers 2` in one run, the same mix of reads and
case intake from many concurrent clients on loopback; acknowledged writes counted in the database.

    .venv/bin/python -m bench.load [--clients 200] [--seconds 60] [--workers 1,2] [--size street]
    .venv/bin/python -m bench.load --smoke            # 20 clients for 5 s (what CI runs)
    .venv/bin/python -m bench.load --database-url URL # an already loaded database (its owner)

Without ``--database-url`` a throwaway PostGIS cluster is made in /tmp (fsync off) and a
synthetic city of ``--size`` is loaded with its grids (as in ``wangge demo``). For each worker
count the service runs as ``wangge serve --workers N`` in a subprocess, with the rate limits on:
every client signs its requests with an API token of its own whose quota the bench sets
(WANGGE_RATE_LIMIT_TOKEN_PER_MINUTE) far above what it can send, so a 429 never hides a slow
answer and the shared buckets cost what they cost in production.

Clients are asyncio tasks over httpx, each sending one request after another, the endpoint drawn
by weight from the probe's mix: stations, geocoding, case intake, vector tiles (plus grids,
reverse geocoding, the case list). Each intake carries a unique marker in its description;
after a run the cases holding the run's markers are counted: every acknowledged (201) write must
be stored exactly once. Measured per run: requests per second, p50/p99 latency, 5xx, other
errors (no answer within the timeout counts), writes acknowledged, lost and duplicated; and the
CPU time per answered request of the service (all its processes), of PostgreSQL (a local server)
and of the clients, which is what to compare on a busy machine where wall times are noise. With
the three on the same cores, cores × 1000 / (their CPU ms a request) bounds the throughput.
`--root DIR` (repeatable) serves from another checkout, e.g. `git archive` of an earlier commit,
to compare commits on one database in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import re
import secrets
import shutil
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from bench.processes import wait_healthy

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 30.0
TILE_ZOOM = 16
QUOTA_PER_MINUTE = 10_000_000  # per client token: never reached, the limiter still runs
CORES = os.cpu_count() or 1  # shared by the clients, the service and PostgreSQL


@dataclass
class Targets:
    """What the requests ask for, read from the database once."""

    communities: list[str]
    grids: list[str]
    points: list[tuple[float, float]]
    addresses: list[str]
    category: str | None = None
    tokens: list[str] = field(default_factory=list)


@dataclass
class Run:
    name: str
    clients: int
    seconds: float = 0.0
    tag: str = field(default_factory=lambda: "".join(random.choices(string.ascii_lowercase, k=10)))
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    acked: list[str] = field(default_factory=list)  # markers of writes answered 201
    stored: Counter = field(default_factory=Counter)  # marker → rows holding it
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds: server, workers, postgres
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)  # load averages as the run ended

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def lost(self) -> int:
        return sum(1 for m in set(self.acked) if not self.stored[m])

    @property
    def duplicated(self) -> int:
        return sum(n - 1 for n in self.stored.values() if n > 1)

    def cpu_ms(self, part: str) -> float:
        """CPU milliseconds per answered request of `part` (server, postgres, client)."""
        return 1000 * self.cpu[part] / self.requests if part in self.cpu and self.requests else 0.0

    def percentile(self, q: float, endpoint: str | None = None) -> float:
        values = self.latencies[endpoint] if endpoint else sum(self.latencies.values(), [])
        return float(np.percentile(values, q)) * 1000 if values else float("nan")


Request = tuple[str, str, str, dict, dict | None]  # label, method, path, query, JSON body


def tile_of(lon: float, lat: float, z: int = TILE_ZOOM) -> tuple[int, int, int]:
    """The web-mercator tile (z, x, y) holding the point."""
    n = 2**z
    rad = math.radians(lat)
    y = (1 - math.asinh(math.tan(rad)) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def mix(t: Targets, paths: set[str]) -> list[tuple[int, Callable[[random.Random], Request]]]:
    """(weight, request maker) for each endpoint of the mix the app serves."""

    def get(label: str, path: str, query: Callable[[random.Random], dict] = lambda r: {}):
        return lambda r: (label, "GET", path if "{" not in path else path.format(**query(r)),
                          {} if "{" in path else query(r), None)  # fmt: skip

    def point(r: random.Random) -> dict:
        return dict(zip(("lon", "lat"), r.choice(t.points), strict=True))

    out = [
        (1, get("health", "/api/health")),
        (1, get("grids", "/api/grids", lambda r: {"community": r.choice(t.communities),
                                                  "level": "grid"})),
        (1, lambda r: ("grid", "GET", f"/api/grids/{r.choice(t.grids)}", {}, None)),
        (3, get("geocode", "/api/geocode", lambda r: {"q": r.choice(t.addresses)})),
        (1, get("reverse", "/api/reverse", point)),
    ]  # fmt: skip
    if "/api/stations/nearest" in paths:
        out += [
            (2, get("nearest", "/api/stations/nearest", point)),
            (1, get("stations", "/api/stations")),
        ]
    if "/tiles/{layer}/{z}/{x}/{y}.pbf" in paths:

        def tile(r: random.Random) -> Request:
            z, x, y = tile_of(*r.choice(t.points))
            layer = r.choice(["grids", "buildings", "stations"])
            return "tiles", "GET", f"/tiles/{layer}/{z}/{x}/{y}.pbf", {}, None

        out.append((3, tile))
    if "/api/cases" in paths:
        out.append((1, get("cases", "/api/cases", lambda r: {"limit": 20})))
        if t.category:

            def intake(r: random.Random) -> Request:
                lon, lat = r.choice(t.points)
                body = {"lon": lon, "lat": lat, "crs": "wgs84", "category": t.category}
                return "intake", "POST", "/api/cases", {}, body

            out.append((2, intake))
    return out


MARKER = re.compile(r"load-([a-z]+)-c\d+n\d+")


async def drive(base: str, run: Run, seconds: float, makers, tokens: list[str]) -> None:
    """`run.clients` clients, each with its own token, for `seconds`; results into `run`."""
    weights = [w for w, _ in makers]
    limits = httpx.Limits(max_connections=run.clients, max_keepalive_connections=run.clients)
    async with httpx.AsyncClient(base_url=base, limits=limits) as client:
        stop = time.monotonic() + seconds

        async def one(k: int) -> None:
            rng = random.Random(k)
            headers = {"Authorization": f"Bearer {tokens[k % len(tokens)]}"} if tokens else {}
            n = 0
            while time.monotonic() < stop:
                _, make = rng.choices(makers, weights)[0]
                label, method, path, params, body = make(rng)
                marker = None
                if body is not None:
                    n += 1
                    marker = f"load-{run.tag}-c{k}n{n}"
                    body = {**body, "description": f"压测上报 {marker}"}
                start = time.perf_counter()
                try:
                    response = await client.request(
                        method, path, params=params, json=body, headers=headers, timeout=TIMEOUT_S
                    )
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                run.latencies[label].append(time.perf_counter() - start)
                run.statuses[status] += 1
                if not 200 <= status < 300:
                    run.errors[label] += 1
                elif marker and status == 201:
                    run.acked.append(marker)

        start = time.monotonic()
        await asyncio.gather(*(one(k) for k in range(run.clients)))
        run.seconds = time.monotonic() - start


def count_writes(url: str, run: Run) -> None:
    """Rows holding each of the run's markers, into `run.stored`."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT description FROM cases WHERE description LIKE :p"),
                {"p": f"%load-{run.tag}-%"},
            ).scalars()
            run.stored = Counter(m.group(0) for d in found if (m := MARKER.search(d)))
    finally:
        engine.dispose()


class CpuMeter:
    """CPU seconds (user + system) spent by the service's process tree and by PostgreSQL.

    The service: the `wangge serve` process and every worker it started. PostgreSQL: the
    postmaster of the database's server (found from a backend's parent; a server on another
    host is not measured), its live children and the children it has reaped."""

    def __init__(self, server_pid: int, url: str) -> None:
        import psutil

        self.server = psutil.Process(server_pid)
        self.postmaster = self._postmaster(url)

    @staticmethod
    def _postmaster(url: str):
        import psutil
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            return psutil.Process(backend).parent()
        except Exception:  # noqa: BLE001 - a remote server: its CPU is not measured
            return None
        finally:
            engine.dispose()

    @staticmethod
    def _own(proc) -> float:
        import psutil

        try:
            times = proc.cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system

    def sample(self) -> dict[str, float]:
        """Cumulative CPU seconds: server (whole tree), each worker, postgres, this client."""
        workers = self.server.children(recursive=True)
        out = {f"worker {p.pid}": self._own(p) for p in workers}
        out["server"] = self._own(self.server) + sum(out.values())
        if self.postmaster is not None:
            reaped = self.postmaster.cpu_times()
            out["postgres"] = (
                self._own(self.postmaster)
                + reaped.children_user
                + reaped.children_system
                + sum(self._own(p) for p in self.postmaster.children())
            )
        out["client"] = time.process_time()
        return out

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {k: v - before.get(k, 0.0) for k, v in after.items()}


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


def _wait_up(proc: subprocess.Popen, base: str, log: Path) -> str:
    if wait_healthy(base, seconds=120, proc=proc):
        return base
    stop(proc)
    msg = f"the service did not start: {log.read_text()[-2000:]}"
    raise RuntimeError(msg)


def serve(url: str, *, workers: int, state: Path, env_extra: dict | None = None):
    """uvicorn on a free loopback port, rate limits off; returns (process, base URL)."""
    from api.storage.launcher import find_free_port

    port = find_free_port(18100)
    env = {**os.environ, "WANGGE_DATABASE_URL": url, "WANGGE_RATE_LIMIT": "false",
           "WANGGE_STATE_DIR": str(state), **(env_extra or {})}  # fmt: skip
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "api.main:create_app", "--host",
           "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
           "--no-access-log", "--backlog", "4096",
           "--timeout-worker-healthcheck", "60"]  # fmt: skip
    log = state / "uvicorn.log"
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    return proc, _wait_up(proc, f"http://127.0.0.1:{port}", log)


def serve_cli(
    url: str, *, workers: int, state: Path, env_extra: dict | None = None, root: Path = ROOT
):
    """`wangge serve --workers N` from the checkout `root` on a free loopback port; returns
    (process, base URL)."""
    from api.storage.launcher import find_free_port

    port = find_free_port(18100)
    env = {**os.environ, "WANGGE_DATABASE_URL": url, "WANGGE_STATE_DIR": str(state),
           **(env_extra or {})}  # fmt: skip
    cmd = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers)]  # fmt: skip
    log = state / f"serve-{workers}.log"
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    return proc, _wait_up(proc, f"http://127.0.0.1:{port}", log)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def load_city(url: str, size: str) -> None:
    from api.db import transaction
    from api.demo import datasets as demo
    from api.storage import migrate

    migrate.upgrade(url)
    with transaction(url) as session:
        demo.load_synthetic(session, size=size, log=lambda _: None)
        demo.build_grids(session, log=lambda _: None)


def client_tokens(url: str, clients: int) -> tuple[list[str], dict[str, int]]:
    """An admin account with one API token per client; (tokens, {token id: quota a minute})."""
    from api.accounts import create_user
    from api.accounts.tokens import create_api_token
    from api.db import transaction

    name = f"load_{secrets.token_hex(4)}"
    with transaction(url) as session:
        create_user(session, name, "admin", secrets.token_urlsafe(16) + "-Aa1")
        made = [create_api_token(session, name, label=f"load {k}") for k in range(clients)]
    return [token for _, token in made], {str(i): QUOTA_PER_MINUTE for i, _ in made}


def run_workers(url: str, t: Targets, quotas: dict, *, workers: int, clients: int,
                seconds: float, state: Path, root: Path = ROOT) -> Run:  # fmt: skip
    """Serve with `workers` processes, warm up, load; the run with its writes counted."""
    import json

    env = {
        "WANGGE_RATE_LIMIT": "true",
        "WANGGE_RATE_LIMIT_SHARED": "true",
        "WANGGE_RATE_LIMIT_TOKEN_PER_MINUTE": json.dumps(quotas),
    }
    proc, base = serve_cli(url, workers=workers, state=state, env_extra=env, root=root)
    try:
        paths = set(httpx.get(f"{base}/openapi.json", timeout=30).json()["paths"])
        t.category = t.category or httpx.get(f"{base}/api/categories", timeout=30).json()[0]["code"]
        makers = mix(t, paths)
        # caches (geocoder index, walking network, quotas) are built on first use in each worker
        asyncio.run(drive(base, Run("warm-up", 8), min(5.0, seconds), makers, t.tokens))
        run = Run(f"{workers} worker(s)", clients)
        meter = CpuMeter(proc.pid, url)
        before = meter.sample()
        asyncio.run(drive(base, run, seconds, makers, t.tokens))
        run.cpu = CpuMeter.spent(before, meter.sample())
        run.load = os.getloadavg()
    finally:
        stop(proc)
    count_writes(url, run)
    return run


def compare(
    url: str,
    *,
    clients: int,
    seconds: float,
    workers: tuple[int, ...] = (1, 2),
    roots: tuple[Path, ...] = (ROOT,),
):
    """The same mix against each worker count in turn, served from each checkout in `roots`;
    (runs, state dir with the logs)."""
    state = Path(tempfile.mkdtemp(prefix="wangge-load-"))
    t = targets(url)
    t.tokens, quotas = client_tokens(url, clients)
    runs = []
    for root in roots:
        for n in workers:
            run = run_workers(
                url, t, quotas, workers=n, clients=clients, seconds=seconds, state=state, root=root
            )
            if root != ROOT:
                run.name += f" ({root})"
            runs.append(run)
    return runs, state


def report(runs: list[Run]) -> str:
    lines = [
        "| run | requests | req/s | p50 ms | p99 ms | p99/p50 | 5xx | other errors "
        "| writes acked | lost | duplicated |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        p50, p99 = run.percentile(50), run.percentile(99)
        lines.append(
            f"| {run.name} | {run.requests:,} | {run.throughput:,.1f} | {p50:.0f} | {p99:.0f} | "
            f"{p99 / p50:.1f} | {run.server_errors} | {run.error_count - run.server_errors} | "
            f"{len(run.acked):,} | {run.lost} | {run.duplicated} |"
        )
    lines += [
        "",
        "| run | server CPU ms / request | PostgreSQL CPU ms / request | client CPU ms / request "
        f"| req/s the {CORES} cores could give at most | server CPU s by worker "
        "| load average at the end (1, 5, 15 min) |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for run in runs:
        by_worker = ", ".join(
            f"{v:.1f}" for k, v in sorted(run.cpu.items()) if k.startswith("worker ")
        )
        spent = sum(run.cpu_ms(part) for part in ("server", "postgres", "client"))
        ceiling = f"{CORES * 1000 / spent:.0f}" if spent else "-"
        lines.append(
            f"| {run.name} | {run.cpu_ms('server'):.1f} | {run.cpu_ms('postgres'):.1f} | "
            f"{run.cpu_ms('client'):.1f} | {ceiling} | {by_worker or '-'} | "
            f"{' '.join(f'{x:.2f}' for x in run.load)} |"
        )
    first = runs[0]
    for run in runs[1:]:
        lines.append(
            f"\nthroughput {run.name} / {first.name}: ×{run.throughput / first.throughput:.2f}"
        )
    labels = sorted({label for run in runs for label in run.latencies})
    head = " | ".join(f"{r.name} n, p50, p99 ms" for r in runs)
    lines += ["", f"| endpoint | {head} |", "|---|" + "---:|" * len(runs)]
    for label in labels:
        cells = " | ".join(
            f"{len(r.latencies[label]):,}, {r.percentile(50, label):.0f}, "
            f"{r.percentile(99, label):.0f}"
            for r in runs
        )
        lines.append(f"| {label} | {cells} |")
    for run in runs:
        statuses = ", ".join(f"{s or 'no answer'}: {n:,}" for s, n in sorted(run.statuses.items()))
        lines.append(f"\nstatuses, {run.name}: {statuses}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0, help="per worker count")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare, in order")
    parser.add_argument(
        "--size", default="street", help="synthetic city: community|street|district"
    )
    parser.add_argument("--database-url", help="a loaded database (else a throwaway cluster)")
    parser.add_argument("--smoke", action="store_true", help="20 clients for 5 s, community size")
    parser.add_argument(
        "--root",
        action="append",
        type=Path,
        help="serve from this checkout (repeat to compare commits, e.g. a `git archive` of one); "
        "default: this one",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.clients, args.seconds, args.size = 20, 5.0, "community"
    workers = tuple(int(n) for n in args.workers.split(","))
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
        roots = tuple(r.resolve() for r in args.root or [ROOT])
        runs, logs = compare(
            url, clients=args.clients, seconds=args.seconds, workers=workers, roots=roots
        )
        print(f"\n{args.clients} clients for {args.seconds:g} s against each of "
              f"`wangge serve --workers {args.workers}`")  # fmt: skip
        print(report(runs))
        shutil.rmtree(logs, ignore_errors=True)
    finally:
        if cluster is not None:
            cluster.destroy()
            cluster.state_dir.parent.rmdir()


if __name__ == "__main__":
    main()
