"""Bulk jobs on Dask (issue 19, item 5): addresses geocoded by ``wangge geocode`` and points
dispatched by ``wangge cases import``, each run on 1 and on 2 workers in one run, against the
strongest fair baseline in the same run.

    .venv/bin/python -m bench.bulk [--addresses 1000000] [--points 1000000] > bulk.json

**Geocoding.** The address base of ``--cities`` district-size synthetic cities (bench.geocode's
``build_base``); the queries are messy variants of its building addresses (bench.geocode's
``Messer``: dropped admin levels, homophone typos, traditional characters, full-width digits,
Chinese numerals, a trailing 旁边 …) with a unit and room appended, all distinct (seeded). Each
worker count is a fresh ``wangge geocode --index … --in … --out …`` process (index read and
built, file streamed in partitions); both outputs are compared byte for byte. Baseline: one
warm process: the index already built, ``geocode_many`` over every line in this process, no
file reading or writing.

**Dispatch.** bench.cases' synthetic layer (``--grids`` Voronoi grids, quarter micro-grids,
100 grids a community, one leader and one full-time worker a grid) in a private PostGIS
cluster; ``--points`` random points over it with a 0.005° margin (so some lie outside every
street office) written as a CSV with seeded categories. Each worker count is a fresh ``wangge
cases import FILE --skip-invalid`` (rows checked, routed and their COPY text rendered in
partitions, workers assigned in order, the cases' COPY fed as partitions come and the events'
COPY after, in one transaction), the tables emptied between runs; the stored cases are
compared (digest of every routed and assigned column, ordered by id). Baselines: the same
routing rule in one warm process (``geo.dispatch.route_points`` over all points, layers
loaded), and PostGIS set-based (bench.cases' ``set_based``: the points copied into an indexed
table, one ``INSERT … SELECT … JOIN grids ON ST_Contains``; containing grid only).

**Measured.** Wall time; CPU time of the command and every process it started and waited for
(Dask's worker processes included; PostgreSQL's own server processes are not); peak summed
resident memory of the command's process tree, sampled every 0.2 s; the load average before and
after each run; ``uptime`` before and after the whole run; for the imports also the CPU of the
PostgreSQL server over the run (``server_cpu_s``: it is not in the command's tree). Prints
every number as one JSON line (the figures in bench/RESULTS.md, "Bulk jobs on Dask", are copied
from it).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
WANGGE = [sys.executable, "-m", "api.cli"]
CATEGORIES = ("dispute", "environment.garbage", "dispute.neighbour", "work_safety.gas")


def measure(args: list[str], env: dict | None = None) -> dict:
    """Run ``wangge ARGS``: wall and CPU seconds, peak summed RSS of its tree, load."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    environ = {**os.environ, **(env or {})}
    t = time.perf_counter()
    proc = subprocess.Popen(
        [*WANGGE, *map(str, args)], cwd=ROOT, env=environ, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        root = psutil.Process(proc.pid)
        while not stop.wait(0.2):
            try:
                tree = [root, *root.children(recursive=True)]
                rss = 0
                for p in tree:
                    with contextlib.suppress(psutil.Error):
                        rss += p.memory_info().rss
                peak[0] = max(peak[0], rss)
            except psutil.Error:
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = proc.communicate()
    wall = time.perf_counter() - t
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"wangge {' '.join(map(str, args[:2]))} failed:\n{stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "peak_mb": round(peak[0] / 2**20),
            "load": [round(load, 1), round(os.getloadavg()[0], 1)]}  # fmt: skip


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()[:16]


# -- geocoding ---------------------------------------------------------------------------------


def make_addresses(folder: Path, n: int, cities: int, seed: int) -> dict:
    """The address base (places.geojson) and `n` distinct messy queries (addresses.txt)."""
    from bench.geocode import ASSIST, Messer, build_base

    rng = random.Random(seed)
    base, buildings = build_base(cities)
    base.to_file(folder / "places.geojson", driver="GeoJSON")
    messer = Messer(base, buildings, rng)
    rows = messer.table.to_dict("records")
    texts: set[str] = set()
    lines = []
    while len(lines) < n:
        text = messer.variant(rng.choice(rows)).text
        room = f"{rng.randint(1, 4)}单元{rng.randint(1, 18)}{rng.randint(1, 4):02d}室"
        tail = next((a for a in ASSIST if text.endswith(a)), "")
        text = text[: len(text) - len(tail)] + room + tail
        if text not in texts:
            texts.add(text)
            lines.append(text)
    (folder / "addresses.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"places": len(base), "buildings": len(buildings), "queries": n}


def geocode_runs(folder: Path) -> dict:
    src, places = folder / "addresses.txt", folder / "places.geojson"
    out: dict = {}
    for workers in (1, 2):
        dst = folder / f"geocoded-{workers}.jsonl"
        args = ["geocode", "--index", places, "--in", src, "--out", dst, "--workers", workers]
        out[workers] = measure(args) | {"digest": _digest(dst)}
    out["identical"] = out[1]["digest"] == out[2]["digest"]
    out["baseline"] = geocode_warm(places, src)
    return out


def geocode_warm(places: Path, src: Path) -> dict:
    """One warm process: the index built beforehand, geocode_many over every line."""
    from api.addresses.files import load_index
    from geo.address.batch import read_lines
    from geo.geocode import geocode_many

    index = load_index(places)
    lines = read_lines(src)
    load = os.getloadavg()[0]
    t, c = time.perf_counter(), time.process_time()
    levels: dict[str, int] = {}
    for start in range(0, len(lines), 2000):
        for m in geocode_many(index, lines[start : start + 2000]):
            levels[m.level] = levels.get(m.level, 0) + 1
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "levels": levels,
            "load": [round(load, 1), round(os.getloadavg()[0], 1)]}  # fmt: skip


# -- dispatch ----------------------------------------------------------------------------------


def make_points(path: Path, n: int, seed: int) -> np.ndarray:
    """`n` random points over the layer (with a margin) as a cases CSV; their coordinates."""
    import pandas as pd

    from bench.cases import random_points

    rng = np.random.default_rng(seed)
    xy = random_points(n, rng, pad=0.005).round(7)
    pd.DataFrame({
        "case_id": [f"B{i}" for i in range(n)], "lon": xy[:, 0], "lat": xy[:, 1],
        "category": np.asarray(CATEGORIES)[rng.integers(0, len(CATEGORIES), n)],
        "description": "批量导入", "reported_at": "2026-12-01T08:00:00+08:00",
    }).to_csv(path, index=False)  # fmt: skip
    return xy


STORED = (
    "SELECT md5(string_agg(concat_ws('|', id, external_id, status, grid_code, micro_grid_code, "
    "community_code, street_code, assignee_id, queue, routing, route_distance_m, due_at), ',' "
    "ORDER BY id)), count(*) FROM cases"
)


def server_cpu(data_dir: Path) -> float:
    """CPU seconds of the PostgreSQL server at `data_dir` so far: the postmaster, its running
    children and the ones it has reaped (a connection's backend ends with its command)."""
    postmaster = psutil.Process(int((data_dir / "postmaster.pid").read_text().split()[0]))
    t = postmaster.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in postmaster.children():
        with contextlib.suppress(psutil.Error):
            c = child.cpu_times()
            total += c.user + c.system
    return total


def dispatch_runs(url: str, csv: Path, xy: np.ndarray, data_dir: Path) -> dict:
    from sqlalchemy import text

    from api.db import transaction

    out: dict = {}
    for workers in (1, 2):
        with transaction(url) as s:
            s.execute(text("TRUNCATE cases, case_events RESTART IDENTITY CASCADE"))
        env = {"WANGGE_DATABASE_URL": url}
        args = ["cases", "import", csv, "--skip-invalid", "--workers", workers]
        server = server_cpu(data_dir)
        out[workers] = measure(args, env)
        out[workers]["server_cpu_s"] = round(server_cpu(data_dir) - server, 1)
        with transaction(url) as s:
            digest, count = s.execute(text(STORED)).one()
            events = s.execute(text("SELECT count(*) FROM case_events")).scalar()
        out[workers] |= {"digest": digest[:16], "stored": count, "events": events}
    out["identical"] = out[1]["digest"] == out[2]["digest"]
    out["baseline"] = dispatch_warm(url, xy)
    return out


def dispatch_warm(url: str, xy: np.ndarray) -> dict:
    """The same rule in one warm process, then PostGIS set-based (bench.cases.set_based)."""
    import geopandas as gpd
    import shapely

    from api.cases import dispatch
    from api.db import transaction
    from bench.cases import set_based
    from geo.dispatch import route_points

    with transaction(url) as s:
        grids, communities, streets = dispatch.routing_layers(s)
    load = os.getloadavg()[0]
    t, c = time.perf_counter(), time.process_time()
    frame = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=4326)
    routes = route_points(frame, grids, communities=communities, streets=streets)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return {"route_points": {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                             "load": [round(load, 1), round(os.getloadavg()[0], 1)]},
            "set_based": set_based(url, xy, routes)}  # fmt: skip


# -- the run -----------------------------------------------------------------------------------


def run(addresses: int, points: int, *, cities: int, grids: int, seed: int) -> dict:
    from api.storage import migrate
    from api.storage.launcher import Cluster
    from bench.cases import make_layer, store_layer

    numbers: dict = {"started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                     "uptime_before": _uptime()}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="wangge-bulk-", dir="/tmp") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)
        if addresses:
            t = time.perf_counter()
            numbers["addresses"] = make_addresses(folder, addresses, cities, seed)
            numbers["addresses"]["make_s"] = round(time.perf_counter() - t, 1)
            numbers["geocode"] = geocode_runs(folder)
            print(numbers["geocode"], file=sys.stderr)
        if points:
            cluster = Cluster(folder / "cluster", fast=True)
            cluster.start()
            try:
                cluster.ensure_database("bulk")
                url = cluster.url("bulk")
                migrate.upgrade(url)
                layer = make_layer(grids, seed=seed)
                store_layer(url, layer)
                xy = make_points(folder / "cases.csv", points, seed)
                numbers["layer"] = {"grids": len(layer["grids"][0]),
                                    "micro": len(layer["micro"][0])}  # fmt: skip
                numbers["dispatch"] = dispatch_runs(url, folder / "cases.csv", xy, cluster.data_dir)
            finally:
                cluster.destroy()
    numbers["uptime_after"] = _uptime()
    return numbers


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--cities", type=int, default=4)
    parser.add_argument("--grids", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    numbers = run(args.addresses, args.points, cities=args.cities, grids=args.grids,
                  seed=args.seed)  # fmt: skip
    numbers["points"] = args.points
    print(json.dumps(numbers, ensure_ascii=False, default=str))
    return numbers


if __name__ == "__main__":
    main()
