"""City benchmark of grid generation: one process against a local Dask cluster (issue 19).

    .venv/bin/python -m bench.city                       # 144 communities, ~1.27M households
    .venv/bin/python -m bench.city --communities 576 --households 5000000
    .venv/bin/python -m bench.city --communities 8 --households 60000 --levels grid  # smoke
    .venv/bin/python -m bench.city --communities 30 --households 262000 --one-boundary

The city: synthetic districts (data.synthetic, size 'district', seeds 0, 1, …) laid side by side,
each with its own county code (990101, 990102, …), until there are --communities communities;
the first of them by code are kept with their buildings and every road. Each building's
households and floors are then multiplied by one factor so that the city holds --households
(a high-rise city: the layout stays, the towers grow; households per unit and floor stay).

Per level and worker count, a fresh subprocess (started through a launcher, so that peak memory is
its own) reads the city, opens the pool (api.bulk.pool.open_pool: this process for one
worker, else a LocalCluster of N one-thread processes forked from it), and times generate_grids
over the communities with roads, areas on the pool, largest first. Recorded: wall time of pool
start and of the division; CPU time (user + system) summed over the process and its Dask processes,
read before the pool closes; peak memory, the largest sum of RSS over the process and all its
children, sampled every 0.2 s; and a digest of the layer (WKB, codes, households, members), which
must be the same for every worker count. With --one-boundary each run is made twice: the
communities as given, then their union as one boundary (the first community's code), which the
engine cuts into parts along its barrier lines (geo.grids.parts).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import pickle
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.processes import fresh_run

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_S = 0.2


# -- the city ------------------------------------------------------------------------------------


def build_city(communities: int, households: int) -> dict:
    """Buildings, communities and roads (EPSG:4326) of the composed city, and how it was made."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from data.synthetic import DISTRICT_CODE, generate_city

    parts: dict[str, list] = {"buildings": [], "communities": [], "roads": []}
    offset, seed, count = 0.0, 0, 0
    while count < communities:
        city = generate_city(size="district", seed=seed)
        minx, _, maxx, _ = city.communities.total_bounds
        county = f"99{int(DISTRICT_CODE[2:]) + seed:04d}"

        def recode(code, county=county):
            return county + str(code)[6:]

        b = city.buildings.copy()
        b["community_code"] = b["community_code"].map(recode)
        b["building_id"] = f"D{seed}-" + b["building_id"].astype(str)
        b["compound"] = b["compound"].where(b["compound"].isna(), f"D{seed}-" + b["compound"])
        c = city.communities.copy()
        c["code"] = c["code"].map(recode)
        for name, frame in (("buildings", b), ("communities", c), ("roads", city.roads.copy())):
            frame = frame.set_geometry(frame.geometry.translate(xoff=offset - minx))
            parts[name].append(frame)
        offset += maxx - minx + 0.005
        count += len(c)
        seed += 1
    frames = {
        k: gpd.GeoDataFrame(pd.concat(v, ignore_index=True), crs=4326) for k, v in parts.items()
    }
    kept = frames["communities"].sort_values("code").head(communities).reset_index(drop=True)
    b = frames["buildings"]
    b = b[b["community_code"].isin(set(kept["code"]))].reset_index(drop=True)
    factor = households / max(int(b["households"].sum()), 1)
    scaled = b["households"].to_numpy(dtype=float) * factor
    whole = np.floor(scaled).astype(int)
    short = households - int(whole.sum())  # to the largest fractions: the total is exact
    whole[np.argsort(whole - scaled, kind="stable")[:short]] += 1
    b["households"] = whole
    if "floors" in b.columns:
        floors = pd.to_numeric(b["floors"], errors="coerce")
        b["floors"] = np.maximum(1, np.round(floors * factor)).where(floors.notna(), floors)
    return {
        "buildings": b,
        "communities": kept[["code", "name", "geometry"]],
        "roads": frames["roads"],
        "districts": seed,
        "factor": factor,
    }


# -- one run (in a fresh process) ------------------------------------------------------------------


class PeakMemory:
    """The largest sum of RSS over this process and its children, sampled in a thread."""

    def __init__(self) -> None:
        import psutil

        self.me, self.peak, self._stop = psutil.Process(), 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for p in [self.me, *self.me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # ended since the listing
                    total += p.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(SAMPLE_S)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds() -> tuple[float, float]:
    """User + system CPU time of (this process, its living children: Dask's workers)."""
    import psutil

    me, theirs = psutil.Process(), 0.0
    for p in me.children(recursive=True):
        try:
            t = p.cpu_times()
            theirs += t.user + t.system
        except psutil.Error:
            pass
    t = me.cpu_times()
    return t.user + t.system, theirs


def timed_divide(divide, work) -> tuple[list[dict], float]:
    """An area's rows and the CPU seconds its division took in the process that ran it."""
    c = time.thread_time()
    rows = divide(work)
    return rows, time.thread_time() - c


def timed_areas(inner, tasks: list[float]):
    """A map_areas that records each area's division CPU in `tasks` (what is left of a
    worker's CPU is Dask's: receiving, sending, its housekeeping)."""
    from functools import partial

    def mapped(divide, works):
        done = list((inner or map)(partial(timed_divide, divide), works))
        tasks.extend(cpu for _, cpu in done)
        return [rows for rows, _ in done]

    return mapped


def digest(grids) -> str:
    """sha256 over each grid's code, level, parent, households, members and WKB, in order."""
    import shapely

    h = hashlib.sha256()
    wkb = shapely.to_wkb(grids.geometry.to_numpy())
    for row, raw in zip(grids.itertuples(index=False), wkb, strict=True):
        h.update(f"{row.code}|{row.level}|{row.parent_code}|{row.households}|".encode())
        h.update(json.dumps(row.members).encode() + raw)
    return h.hexdigest()[:16]


def one_boundary(communities):
    """The communities as one polygon, with the first one's code."""
    import geopandas as gpd
    import shapely

    whole = shapely.union_all(communities.geometry.to_numpy())
    return gpd.GeoDataFrame({"code": [communities["code"].min()]}, geometry=[whole], crs=4326)


def run(
    city_path: Path, level: str, workers: int, scheduler: str | None = None, *, one: bool = False
) -> dict:
    from api.bulk.pool import open_pool
    from api.grids.parallel import area_map
    from geo.grids.generate import generate_grids

    with open(city_path, "rb") as f:
        city = pickle.load(f)
    if one:
        city["communities"] = one_boundary(city["communities"])
    tasks: list[float] = []
    with PeakMemory() as memory:
        t0, (driver0, _) = time.perf_counter(), cpu_seconds()
        with open_pool(workers, scheduler) as pool:
            started = time.perf_counter()
            workers0 = cpu_seconds()[1]  # the forked workers' CPU before any area
            layer = generate_grids(
                city["buildings"], city["communities"], roads=city["roads"], level=level,
                map_areas=timed_areas(area_map(pool), tasks),
            )  # fmt: skip
            done = time.perf_counter()
            driver, theirs = cpu_seconds()
    out = {
        "level": level,
        "workers": pool.workers if scheduler else workers,
        "shape": "one boundary" if one else "communities",
        "communities": len(city["communities"]),
        "buildings": len(city["buildings"]),
        "households": int(city["buildings"]["households"].sum()),
        "start_s": started - t0,
        "divide_s": done - started,
        "wall_s": done - t0,
        "cpu_s": driver - driver0 + theirs,
        "cpu_driver_s": driver - driver0,
        "cpu_workers_s": theirs,
        "cpu_workers_start_s": workers0,
        "cpu_tasks_s": sum(tasks),
        "tasks": len(tasks),
        "largest_task_s": max(tasks, default=0.0),
        "peak_mb": memory.peak / 2**20,
        "digest": digest(layer.grids),
    }
    for lvl in ("grid", "micro"):
        if lvl in layer.report:
            rep = layer.report[lvl]
            out[lvl] = {"count": rep["count"], "within_bounds": rep["within_bounds"]}
    return out


# -- the whole benchmark ---------------------------------------------------------------------------


def bench(
    communities: int,
    households: int,
    levels: list[str],
    workers: list[int],
    folder: Path,
    shapes: tuple[str, ...] = ("many",),
) -> list[dict]:
    city_path = folder / f"city-{communities}-{households}.pickle"
    if not city_path.exists():
        t0 = time.perf_counter()
        city = build_city(communities, households)
        with open(city_path, "wb") as f:
            pickle.dump(city, f, protocol=pickle.HIGHEST_PROTOCOL)
        print(f"built the city in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    rows = []
    for level in levels:
        for n in workers:
            for shape in shapes:
                worker = ["-m", "bench.city", "--run", str(city_path), level, str(n), shape]
                rows.append(fresh_run(worker, f"run {level} × {n} ({shape})"))
                rows[-1]["load"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
                r = rows[-1]
                print(
                    f"  {level} × {n} {r['shape']}: {r['wall_s']:.1f} s wall, "
                    f"{r['cpu_s']:.1f} s CPU (driver {r['cpu_driver_s']:.1f}, workers "
                    f"{r['cpu_workers_s']:.1f}, of which areas {r['cpu_tasks_s']:.1f} in "
                    f"{r['tasks']} areas), {r['peak_mb']:.0f} MB, load {r['load']}",
                    file=sys.stderr,
                    flush=True,
                )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| level | workers | areas | households | grids | micro-grids "
        "| wall s (start + divide) | CPU s | CPU s driver + workers (areas) "
        "| peak MB (sum of RSS) | speed-up | s per 100,000 hh | digest | load |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| --- | --- |",
    ]
    one = {(r["level"], r["shape"]): r["wall_s"] for r in rows if r["workers"] == 1}
    for r in rows:
        cells = [f"{r[lvl]['count']:,}" if lvl in r else "–" for lvl in ("grid", "micro")]
        key = (r["level"], r["shape"])
        speed = f"{one[key] / r['wall_s']:.2f}×" if key in one else "–"
        areas = f"{r['communities']} ({r['shape']})"
        lines.append(
            f"| {r['level']} | {r['workers']} | {areas} | {r['households']:,} "
            f"| {cells[0]} | {cells[1]} | {r['wall_s']:.1f} ({r['start_s']:.1f} + "
            f"{r['divide_s']:.1f}) | {r['cpu_s']:.1f} | {r['cpu_driver_s']:.1f} + "
            f"{r['cpu_workers_s']:.1f} ({r['cpu_tasks_s']:.1f}) | {r['peak_mb']:,.0f} | {speed} "
            f"| {r['wall_s'] / r['households'] * 1e5:.1f} | `{r['digest']}` | {r['load']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.city", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--communities", type=int, default=144)
    parser.add_argument("--households", type=int, default=1_270_000)
    parser.add_argument("--levels", default="grid,both", help="comma-separated: grid, both, micro")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--folder", type=Path, help="where the city is kept between runs")
    parser.add_argument("--json", type=Path, help="also write every number here")
    parser.add_argument(
        "--one-boundary",
        action="store_true",
        help="also run the communities' union as one boundary (cut into parts by the engine)",
    )
    parser.add_argument(
        "--run", nargs=4, metavar=("CITY", "LEVEL", "WORKERS", "SHAPE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.run:
        path, level, workers, shape = args.run
        print(json.dumps(run(Path(path), level, int(workers), one=shape == "one")))
        return 0
    folder = args.folder or Path(tempfile.mkdtemp(prefix="wangge-city-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = bench(
        args.communities, args.households, args.levels.split(","),
        [int(n) for n in args.workers.split(",")], folder,
        ("many", "one") if args.one_boundary else ("many",),
    )  # fmt: skip
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
