"""Case dispatch benchmark: single-case latency through the API, bulk routing of a million
points, sustained concurrent intake with a count check.

    .venv/bin/python -m bench.cases                 # 5,000 grids, 1,000,000 points (≈3 min)
    .venv/bin/python -m bench.cases --quick         # the smoke run the tests use

The layer is synthetic so that its size can be chosen: Voronoi cells of a jittered lattice
(≈270 m across) over a 19 × 19 km square near Nanjing, 100 grids per community, 10
communities per street office, each grid cut into quarter micro-grids, one grid leader and one
full-time worker per grid. It is stored in a private PostGIS cluster (or `url`) with the real
schema and indexes.

1. Latency: POST /api/cases one at a time over loopback HTTP to uvicorn in a subprocess
   (rate limits off), random points over the area; baseline GET /api/health on the same
   connection. Also the dispatch queries alone (api.cases.dispatch.route_point) in this process.
2. Bulk: geo.dispatch.route_points over N random points (STRtree build included) against the
   strongest fair baseline, PostGIS set-based: the N points copied into a table with a GiST
   index, then one ``INSERT … SELECT … JOIN grids ON ST_Contains`` for all of them, run in
   the same process right after (both answers compared on every point a grid contains; the
   baseline finds the containing grid only, not micro-grid, community or nearest grid). The
   weaker per-row loop of ``SELECT code FROM grids WHERE ST_Contains(geom, point)`` still runs
   on a sample, scaled to N (said so in the output), and the full rule is compared on a
   sample. The load average is read before and after.
3. Sustained intake: T seconds of concurrent clients (one HTTP connection each), every
   request with its own Idempotency-Key and every 10th sent twice (a retry); afterwards the
   stored cases are counted: each answered id exactly once, no key twice, nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import insert, text

from bench.processes import wait_healthy

BBOX = (118.70, 31.95, 118.90, 32.12)
SEED = 0


# -- the synthetic layer ----------------------------------------------------------------------


def make_layer(n_grids: int, *, seed: int = SEED) -> dict:
    """Grids (Voronoi cells), quarter micro-grids, communities (100 grids), streets (10 comms)."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = BBOX
    side = int(np.ceil(np.sqrt(n_grids)))
    gx, gy = np.meshgrid(np.linspace(x0, x1, side + 2)[1:-1], np.linspace(y0, y1, side + 2)[1:-1])
    step = (x1 - x0) / (side + 1)
    pts = np.column_stack([gx.ravel(), gy.ravel()])[:n_grids]
    pts += rng.uniform(-0.3 * step, 0.3 * step, pts.shape)
    frame = shapely.box(x0, y0, x1, y1)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=frame))
    cells = shapely.intersection(cells, frame)
    # order cells north→south, west→east, so that codes follow the practice
    c = shapely.centroid(cells)
    order = np.lexsort((shapely.get_x(c), -np.round(shapely.get_y(c) / step)))
    cells = shapely.set_precision(cells[order], 1e-9)
    cells = shapely.make_valid(cells)
    per_comm, per_street = 100, 10
    comm_idx = np.arange(len(cells)) // per_comm
    comm_codes = [
        f"990101{(k // per_street) + 1:03d}{(k % per_street) + 1:03d}"
        for k in range(comm_idx.max() + 1)
    ]
    grid_codes = [f"{comm_codes[k]}{(i % per_comm) + 1:03d}" for i, k in enumerate(comm_idx)]
    communities = [shapely.union_all(cells[comm_idx == k]) for k in range(len(comm_codes))]
    street_codes = sorted({code[:9] for code in comm_codes})
    streets = [
        shapely.union_all(
            [g for g, code in zip(communities, comm_codes, strict=True) if code[:9] == s]
        )
        for s in street_codes
    ]
    micro_geoms, micro_codes, micro_parent = [], [], []
    bx0, by0, bx1, by1 = shapely.bounds(cells).T
    mx, my = (bx0 + bx1) / 2, (by0 + by1) / 2
    for q, (ax, ay, bx, by) in enumerate(
        [(bx0, by0, mx, my), (mx, by0, bx1, my), (bx0, my, mx, by1), (mx, my, bx1, by1)]
    ):
        parts = shapely.intersection(cells, shapely.box(ax, ay, bx, by))
        keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
        for i in np.flatnonzero(keep):
            micro_geoms.append(parts[i])
            micro_codes.append(f"{grid_codes[i]}{q + 1:03d}")
            micro_parent.append(grid_codes[i])
    return {
        "grids": (grid_codes, cells, [comm_codes[k] for k in comm_idx]),
        "micro": (micro_codes, np.array(micro_geoms, dtype=object), micro_parent),
        "communities": (comm_codes, communities),
        "streets": (street_codes, streets),
    }


def store_layer(url: str, layer: dict) -> None:
    from geoalchemy2.elements import WKBElement

    from api.db import transaction
    from api.storage import models

    def multi(g):
        return shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g

    with transaction(url) as s:
        for code, geom in zip(*layer["streets"], strict=True):
            s.execute(
                text(
                    "INSERT INTO streets (code, name, geom) "
                    "VALUES (:c, :c, ST_GeomFromWKB(:g, 4326))"
                ),
                {"c": code, "g": shapely.to_wkb(multi(geom))},
            )
        for code, geom in zip(*layer["communities"], strict=True):
            s.execute(
                text(
                    "INSERT INTO communities (code, name, street_id, geom) SELECT :c, :c, id, "
                    "ST_GeomFromWKB(:g, 4326) FROM streets WHERE code = :s"
                ),
                {"c": code, "g": shapely.to_wkb(multi(geom)), "s": code[:9]},
            )
        ids = dict(s.execute(text("SELECT code, id FROM communities")).all())
        rows = []
        codes, geoms, comms = layer["grids"]

        def grid(code, level, parent, comm, households, geom):
            wkb = WKBElement(shapely.to_wkb(geom), srid=4326)
            return {"code": code, "level": level, "parent_code": parent,
                    "community_id": ids[comm], "households": households, "geom": wkb}  # fmt: skip

        for code, geom, comm in zip(codes, geoms, comms, strict=True):
            rows.append(grid(code, "grid", None, comm, 400, geom))
        for code, geom, parent in zip(*layer["micro"], strict=True):
            rows.append(grid(code, "micro", parent, parent[:12], 100, geom))
        s.execute(insert(models.Grid), rows)
        workers = []
        for code, comm in zip(codes, comms, strict=True):
            for prefix, name, role in (
                ("L", "网格长", "grid_leader"),
                ("F", "网格员", "full_time"),
            ):
                workers.append({"worker_id": f"{prefix}{code}", "name": name, "role": role,
                                "community_id": ids[comm]})  # fmt: skip
        s.execute(insert(models.Worker), workers)
        s.execute(
            text(
                "INSERT INTO worker_grids (worker_id, grid_code) "
                "SELECT id, substr(worker_id, 2) FROM workers"
            )
        )
    with transaction(url) as s:
        s.execute(text("ANALYZE"))


# -- measurements ------------------------------------------------------------------------------


def percentiles(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {
        "n": len(a),
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p99_ms": round(float(np.percentile(a, 99)), 2),
        "max_ms": round(float(a.max()), 2),
    }


def random_points(n: int, rng: np.random.Generator, *, pad: float = 0.0) -> np.ndarray:
    x0, y0, x1, y1 = BBOX
    xs = rng.uniform(x0 - pad, x1 + pad, n)
    return np.column_stack([xs, rng.uniform(y0 - pad, y1 + pad, n)])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn serving create_app(url) in a subprocess on loopback."""

    def __init__(self, url: str) -> None:
        self.port = free_port()
        env = dict(os.environ, WANGGE_DATABASE_URL=url, WANGGE_RATE_LIMIT="false")
        code = (
            "import uvicorn, sys; from api.main import create_app; "
            f"uvicorn.run(create_app({url!r}), host='127.0.0.1', port={self.port}, "
            "log_level='warning', access_log=False)"
        )
        self.proc = subprocess.Popen([sys.executable, "-c", code], env=env)
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        if wait_healthy(self.base, seconds=60, proc=self.proc):
            return self
        self.proc.kill()
        raise RuntimeError("uvicorn did not come up")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def latency(server: Server, n: int, rng: np.random.Generator) -> dict:
    import httpx

    pts = random_points(n, rng)
    health, intake = [], []
    with httpx.Client(base_url=server.base, timeout=10) as client:
        for i, (x, y) in enumerate(pts):
            body = {"lon": float(x), "lat": float(y), "category": "dispute.neighbour",
                    "description": f"bench latency {i}"}  # fmt: skip
            t = time.perf_counter()
            r = client.post("/api/cases", json=body)
            intake.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 201, r.text
            t = time.perf_counter()
            client.get("/api/health")
            health.append((time.perf_counter() - t) * 1000)
    return {"intake": percentiles(intake[5:]), "health_baseline": percentiles(health[5:])}


def route_sql_latency(url: str, n: int, rng: np.random.Generator) -> dict:
    from api.cases import dispatch
    from api.db import transaction

    times = []
    with transaction(url) as s:
        for x, y in random_points(n, rng):
            t = time.perf_counter()
            dispatch.route_point(s, float(x), float(y), tolerance_m=50.0)
            times.append((time.perf_counter() - t) * 1000)
    return percentiles(times[5:])


def bulk(url: str, n: int, sample: int, agree: int, rng: np.random.Generator) -> dict:
    from api.cases import dispatch
    from api.db import transaction
    from geo.dispatch import route_points

    with transaction(url) as s:
        grids, communities, streets = dispatch.routing_layers(s)
    xy = random_points(n, rng, pad=0.005)
    vector_s = float("inf")
    for _ in range(2):  # best of two, like the join below
        t = time.perf_counter()
        frame = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=4326)
        routes = route_points(frame, grids, communities=communities, streets=streets)
        vector_s = min(vector_s, time.perf_counter() - t)
    pick = rng.choice(n, sample, replace=False)
    loop = text(
        "SELECT code FROM grids WHERE level = 'grid' AND valid_to IS NULL "
        "AND ST_Contains(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) ORDER BY code LIMIT 1"
    )
    with transaction(url) as s:
        t = time.perf_counter()
        looped = [
            s.execute(loop, {"x": float(xy[i, 0]), "y": float(xy[i, 1])}).scalar() for i in pick
        ]
        loop_s = time.perf_counter() - t
        contained = routes["routing"].to_numpy()[pick] == "contained"
        same_contained = sum(
            a == b
            for a, b, c in zip(looped, routes["grid_code"].to_numpy()[pick], contained, strict=True)
            if c
        )
        mismatches = 0
        for i in pick[:agree]:
            one = dispatch.route_point(s, float(xy[i, 0]), float(xy[i, 1]), tolerance_m=50.0)
            mismatches += one != dispatch.as_route(routes.iloc[i])
    counts = routes["routing"].fillna("outside").value_counts().to_dict()
    scaled = loop_s / sample * n
    joined = set_based(url, xy, routes)
    joined["join_over_ours"] = round(joined["join_s"] / vector_s, 2)
    return {"points": n, "vectorised_s": round(vector_s, 2), **joined, "loop_sample": sample,
            "loop_sample_s": round(loop_s, 2), "loop_scaled_s": round(scaled, 1),
            "speedup": round(scaled / vector_s, 1), "routing": counts,
            "loop_agrees_on_contained": f"{same_contained}/{int(contained.sum())}",
            "full_rule_mismatches": f"{mismatches}/{min(agree, sample)}"}  # fmt: skip


def set_based(url: str, xy: np.ndarray, routes) -> dict:
    """PostGIS routes all points in one statement: COPY into a table, a GiST index, ANALYZE,
    then ``INSERT … SELECT … JOIN … ON ST_Contains``; the join is compared with `routes`."""
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    load = os.getloadavg()[0]
    with psycopg.connect(plain) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE bench_points (id int PRIMARY KEY, geom geometry(Point, 4326))"
        )
        cur.execute("CREATE TEMP TABLE bench_routed (id int, grid_code text)")
        t = time.perf_counter()
        with cur.copy("COPY bench_points (id, geom) FROM STDIN") as copy:
            for i, wkb in enumerate(
                shapely.to_wkb(shapely.points(xy), hex=True, include_srid=True)
            ):
                copy.write_row((i, wkb))
        cur.execute("CREATE INDEX ON bench_points USING gist (geom)")
        cur.execute("ANALYZE bench_points")
        load_s = time.perf_counter() - t
        join_s = float("inf")
        for _ in range(2):  # best of two: the second runs on warm buffers
            cur.execute("TRUNCATE bench_routed")
            t = time.perf_counter()
            cur.execute(
                "INSERT INTO bench_routed (id, grid_code) SELECT p.id, g.code "
                "FROM bench_points p JOIN grids g ON g.level = 'grid' AND g.valid_to IS NULL "
                "AND ST_Contains(g.geom, p.geom)"
            )
            join_s = min(join_s, time.perf_counter() - t)
        cur.execute("SELECT id, grid_code FROM bench_routed ORDER BY id")
        found = cur.fetchall()
        plan = "\n".join(r[0] for r in cur.execute(
            "EXPLAIN SELECT p.id, g.code FROM bench_points p JOIN grids g ON g.level = 'grid' "
            "AND g.valid_to IS NULL AND ST_Contains(g.geom, p.geom)"
        ).fetchall())  # fmt: skip
    ours = routes["grid_code"].to_numpy()
    contained = routes["routing"].to_numpy() == "contained"
    joined = dict(found)
    agree = sum(1 for i in np.flatnonzero(contained) if joined.get(int(i)) == ours[i])
    return {"join_s": round(join_s, 2), "join_load_index_s": round(load_s, 2),
            "join_rows": len(found), "join_agrees_on_contained": f"{agree}/{int(contained.sum())}",
            "join_plan_uses": "Index Scan" if "Index" in plan else "no index",
            "load_before_after": [round(load, 2), round(os.getloadavg()[0], 2)]}  # fmt: skip


def sustained(server: Server, url: str, threads: int, seconds: float) -> dict:
    import httpx

    from api.db import transaction

    tag = uuid.uuid4().hex[:8]
    answered: dict[str, int] = {}
    lock = threading.Lock()
    stats = {"requests": 0, "created": 0, "replayed": 0, "errors": 0, "replay_mismatch": 0}
    times: list[float] = []
    stop = time.time() + seconds

    def client_loop(k: int) -> None:
        rng = np.random.default_rng(k)
        with httpx.Client(base_url=server.base, timeout=30) as client:
            i = 0
            while time.time() < stop:
                x, y = random_points(1, rng)[0]
                key = f"{tag}-{k}-{i}"
                body = {"lon": float(x), "lat": float(y), "category": "environment.garbage",
                        "description": f"bench {tag} {k} {i}"}  # fmt: skip
                for _ in range(2 if i % 10 == 0 else 1):
                    t = time.perf_counter()
                    try:
                        r = client.post("/api/cases", json=body, headers={"Idempotency-Key": key})
                    except httpx.HTTPError:
                        with lock:
                            stats["errors"] += 1
                        continue
                    with lock:
                        times.append((time.perf_counter() - t) * 1000)
                        stats["requests"] += 1
                        if r.status_code in (200, 201):
                            cid = r.json()["id"]
                            if key in answered and answered[key] != cid:
                                stats["replay_mismatch"] += 1
                            answered.setdefault(key, cid)
                            stats["created" if r.status_code == 201 else "replayed"] += 1
                        else:
                            stats["errors"] += 1
                i += 1

    t0 = time.perf_counter()
    pool = [threading.Thread(target=client_loop, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - t0
    with transaction(url) as s:
        rows = s.execute(
            text("SELECT id, idempotency_key FROM cases WHERE idempotency_key LIKE :p"),
            {"p": f"{tag}-%"},
        ).all()
    stored = {r.id for r in rows}
    got = set(answered.values())
    return {
        "threads": threads,
        "seconds": round(wall, 1),
        **stats,
        "cases_per_s": round(stats["created"] / wall, 1),
        "latency": percentiles(times),
        "stored": len(rows),
        "answered_ids": len(got),
        "lost": len(got - stored),  # answered, not stored
        "unanswered_stored": len(stored - got),  # stored, never answered
        "keys_stored_twice": len(rows) - len({r.idempotency_key for r in rows}),
    }


def run(
    *,
    grids: int = 5000,
    points: int = 1_000_000,
    sample: int = 2000,
    agree: int = 300,
    latency_n: int = 500,
    threads: int = 32,
    seconds: float = 20.0,
    url: str | None = None,
    bulk_only: bool = False,
) -> dict:
    """Build the layer in `url` (an empty, migrated database) or a private cluster; measure."""
    from api.storage.launcher import Cluster

    args = (grids, points, sample, agree, latency_n, threads, seconds, bulk_only)
    if url is not None:
        return _measure(url, *args)
    state = Path(tempfile.mkdtemp(prefix="wangge-bench-", dir="/tmp"))
    state.chmod(0o755)
    cluster = Cluster(state / "cluster", fast=True)
    cluster.start()
    try:
        cluster.ensure_database("bench")
        from api.storage import migrate

        migrate.upgrade(cluster.url("bench"))
        return _measure(cluster.url("bench"), *args)
    finally:
        cluster.destroy()
        state.rmdir()


def _measure(url, grids, points, sample, agree, latency_n, threads, seconds, bulk_only) -> dict:
    rng = np.random.default_rng(SEED)
    t = time.perf_counter()
    layer = make_layer(grids)
    store_layer(url, layer)
    numbers = {
        "grids": len(layer["grids"][0]),
        "micro_grids": len(layer["micro"][0]),
        "communities": len(layer["communities"][0]),
        "build_s": round(time.perf_counter() - t, 1),
    }
    if bulk_only:
        numbers["bulk"] = bulk(url, points, sample, agree, rng)
        return numbers
    numbers["route_point_sql"] = route_sql_latency(url, max(latency_n, 50), rng)
    with Server(url) as server:
        numbers["latency"] = latency(server, latency_n, rng)
        numbers["bulk"] = bulk(url, points, sample, agree, rng)
        numbers["sustained"] = sustained(server, url, threads, seconds)
    return numbers


def bulk_lines(b: dict) -> list[str]:
    """The bulk routing part of the report."""
    return [
        f"bulk: {b['points']:,} points vectorised in {b['vectorised_s']} s (best of 2); "
        f"baseline PostGIS set-based INSERT … SELECT … JOIN ON ST_Contains, one statement: "
        f"{b['join_s']} s (best of 2; COPY + GiST index + ANALYZE before it "
        f"{b['join_load_index_s']} s; plan: {b['join_plan_uses']}) → join / ours = "
        f"{b['join_over_ours']}; the join agrees on contained {b['join_agrees_on_contained']}; "
        f"load average {b['load_before_after'][0]} → {b['load_before_after'][1]}",
        f"  weaker baseline, per-row ST_Contains "
        f"loop {b['loop_sample_s']} s for a sample of {b['loop_sample']:,}, scaled to "
        f"{b['points']:,}: {b['loop_scaled_s']} s (scaled, not run) → {b['speedup']}× faster",
        f"  routing {b['routing']}; loop agrees on contained {b['loop_agrees_on_contained']}; "
        f"full-rule mismatches {b['full_rule_mismatches']}",
    ]


def report(n: dict) -> str:
    lat, b, s = n["latency"], n["bulk"], n["sustained"]
    intake, health, sql = lat["intake"], lat["health_baseline"], n["route_point_sql"]
    lines = [
        f"layer: {n['grids']:,} grids, {n['micro_grids']:,} micro-grids, "
        f"{n['communities']} communities (built in {n['build_s']} s)",
        f"single intake over HTTP: p50 {intake['p50_ms']} ms, p99 {intake['p99_ms']} ms "
        f"(n={intake['n']}); baseline GET /api/health p50 {health['p50_ms']} ms, "
        f"p99 {health['p99_ms']} ms; p99 ratio {intake['p99_ms'] / health['p99_ms']:.1f}×",
        f"dispatch queries alone (route_point): p50 {sql['p50_ms']} ms, p99 {sql['p99_ms']} ms",
        *bulk_lines(b),
        f"sustained: {s['threads']} clients for {s['seconds']} s: {s['requests']:,} requests, "
        f"{s['created']:,} created ({s['cases_per_s']}/s), {s['replayed']:,} retries answered "
        f"with the same case, {s['errors']} errors; latency p50 {s['latency']['p50_ms']} ms, "
        f"p99 {s['latency']['p99_ms']} ms",
        f"  stored {s['stored']:,}, answered ids {s['answered_ids']:,}; lost {s['lost']}, "
        f"stored but unanswered {s['unanswered_stored']}, keys stored twice "
        f"{s['keys_stored_twice']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=5000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--latency-n", type=int, default=500)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument("--bulk-only", action="store_true", help="only the bulk routing part")
    parser.add_argument("--json", type=Path, help="also write every number here")
    args = parser.parse_args(argv)
    if args.quick:
        args.grids, args.points, args.sample, args.latency_n, args.threads, args.seconds = (
            200, 20_000, 100, 30, 4, 2.0,
        )  # fmt: skip
    numbers = run(grids=args.grids, points=args.points, sample=args.sample,
                  latency_n=args.latency_n, threads=args.threads, seconds=args.seconds,
                  bulk_only=args.bulk_only)  # fmt: skip
    print(report(numbers) if "latency" in numbers else "\n".join(bulk_lines(numbers["bulk"])))
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2))
    return numbers


if __name__ == "__main__":
    main()
