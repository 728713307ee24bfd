"""Benchmark of the grid engine: against PySAL spopt's max-p heuristic, and how it scales.

    .venv/bin/python -m bench.grids [--sizes community,street,district] [--quick]

Needs spopt and libpysal (``pip install -e '.[bench]'``); CI does not run it.

Part 1, baseline. One synthetic city (``--baseline``, 'street' by default) is divided into
regions of 300-500 households by both engines in this process, each timed end to end from the
EPSG:4326 layers to region polygons, after a warm-up run of each on the one-community city:

* wangge: ``generate_grids(buildings, communities, roads=roads, level='grid')``;
* max-p: per community, one point per building (shapely.point_on_surface, as the engine anchors
  buildings), the Voronoi diagram of the points clipped to the community, rook contiguity of the
  cells (libpysal), then ``spopt.region.MaxPHeuristic`` with attribute = threshold variable =
  households, threshold = 300 (the lower bound), top_n = 2, 99 construction iterations (the
  class default) and 10 annealing iterations (spopt's default); numpy's global generator, which
  spopt draws from, is seeded before every community. A region's polygon is the union of the
  Voronoi cells of its buildings.

The quality measures are computed here, the same way for both engines, from each region's
polygon (in UTM metres) and its members (building id -> households in the region):

* within bounds: share of regions with 300-500 households; max households of a region;
* Polsby-Popper 4*pi*A/P^2, mean over regions;
* split compounds: compounds whose buildings fall in more than one region, among those with at
  most 500 households (which fit in one grid) and among all;
* barrier crossing: regions whose households lie in more than one enclosure, the faces that
  barrier roads (geo.grids.generate.BARRIER_CLASSES) cut the community into;
* coverage: every building inside a community is in the regions with all its households.

Part 2, scaling. Each size and level (both, grid) runs in a fresh subprocess
(``--worker SIZE LEVEL``), so the peak resident memory (getrusage ru_maxrss) is per run; the
worker builds the city, warms up on the one-community city, then times one generate_grids call.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from bench.processes import fresh_run
from data.synthetic import SyntheticCity, generate_city
from geo.crs import utm_crs
from geo.grids.generate import BARRIER_CLASSES, GRID_BOUNDS, generate_grids
from geo.grids.tessellation import PRECISION_M, enclosures, polygonal
from geo.lookup import first_containing

ROOT = Path(__file__).resolve().parents[1]
SEED = 0
SIZES = ("community", "street", "district")
LEVELS = ("both", "grid")
MAXP = {"threshold": GRID_BOUNDS[0], "top_n": 2, "max_iterations_construction": 99,
        "max_iterations_sa": 10}  # fmt: skip
MAXP_QUICK = {**MAXP, "max_iterations_construction": 3, "max_iterations_sa": 1}
MAXP_WARMUP = {**MAXP, "max_iterations_construction": 1, "max_iterations_sa": 1}


# -- inputs ---------------------------------------------------------------------------------


@dataclass
class Inputs:
    """One city as both engines see it, and what the measures need about each building."""

    name: str
    buildings: gpd.GeoDataFrame  # EPSG:4326
    communities: gpd.GeoDataFrame  # EPSG:4326
    roads: gpd.GeoDataFrame  # EPSG:4326
    crs: CRS  # UTM, metres
    area_geoms: np.ndarray  # community polygons in metres
    points: np.ndarray  # one point per building in metres (point_on_surface)
    building_id: np.ndarray  # str
    households: np.ndarray  # int
    compound: np.ndarray  # compound name or None
    area: np.ndarray  # community row of each building, -1 outside every community
    enclosure: np.ndarray  # enclosure id (unique across communities), -1 outside

    @property
    def inside(self) -> np.ndarray:
        return self.area >= 0

    @property
    def total_households(self) -> int:
        return int(self.households[self.inside].sum())


def prepare(city: SyntheticCity, name: str, *, communities: int | None = None) -> Inputs:
    """The inputs of both engines; with `communities`, only the first N communities by code and
    the buildings inside them."""
    area = city.communities.sort_values("code").reset_index(drop=True)
    if communities is not None:
        area = area.iloc[:communities].reset_index(drop=True)
        name = f"{name} (first {len(area)} communities)"
    crs = utm_crs(area)
    area_m = area.to_crs(crs).geometry.to_numpy()
    points = shapely.point_on_surface(city.buildings.to_crs(crs).geometry.to_numpy())
    area_of = first_containing(points, area_m)
    keep = area_of >= 0 if communities is not None else np.ones(len(points), dtype=bool)
    buildings = city.buildings[keep].reset_index(drop=True)
    points, area_of = points[keep], area_of[keep]

    roads_m = city.roads.to_crs(crs)
    barrier = roads_m["class"].astype(str).str.lower().isin(BARRIER_CLASSES).to_numpy()
    lines = roads_m.geometry.to_numpy()[barrier]
    enclosure = np.full(len(points), -1)
    offset = 0
    for a, geom in enumerate(area_m):
        faces = enclosures(geom, lines)
        mine = np.flatnonzero(area_of == a)
        hit = first_containing(points[mine], faces)
        enclosure[mine] = np.where(hit >= 0, hit + offset, -1)
        offset += len(faces)
    compound = (
        buildings["compound"].astype(object).where(buildings["compound"].notna(), None)
        if "compound" in buildings.columns
        else pd.Series([None] * len(buildings))
    )
    return Inputs(
        name=name,
        buildings=buildings,
        communities=area,
        roads=city.roads,
        crs=crs,
        area_geoms=area_m,
        points=points,
        building_id=buildings["building_id"].astype(str).to_numpy(),
        households=buildings["households"].to_numpy(dtype=np.int64),
        compound=compound.to_numpy(dtype=object),
        area=area_of,
        enclosure=enclosure,
    )


# -- engines --------------------------------------------------------------------------------


@dataclass
class Regions:
    """The regions an engine made: households, polygon (metres) and members of each."""

    engine: str
    households: np.ndarray
    geometry: np.ndarray
    members: list[dict[str, int]]  # building id -> households of the building in the region
    runs: list[float] = field(default_factory=list)  # wall seconds of each timed run
    extra: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return float(np.median(self.runs)) if self.runs else math.nan


def run_wangge(inputs: Inputs, *, level: str = "grid") -> Regions:
    """Our engine on the whole input; regions at the grid level."""
    layer = generate_grids(inputs.buildings, inputs.communities, roads=inputs.roads, level=level)
    grids = layer.grids[layer.grids["level"] == "grid"].to_crs(inputs.crs)
    members = [{str(b): int(h) for b, h in m} for m in grids["members"]]
    return Regions(
        "wangge",
        grids["households"].to_numpy(dtype=np.int64),
        grids.geometry.to_numpy(),
        members,
        extra={"report": layer.report},
    )


def run_maxp(inputs: Inputs, *, seed: int = SEED, **params) -> Regions:
    """spopt's MaxPHeuristic per community on Voronoi cells of the buildings (see the module
    docstring); `params` override MAXP."""
    from libpysal.weights import Rook
    from spopt.region import MaxPHeuristic

    p = {**MAXP, **params}
    households, geometry, members = [], [], []
    solve = solve_cpu = 0.0
    for a, area in enumerate(inputs.area_geoms):
        rows = np.flatnonzero(inputs.area == a)
        if len(rows) == 0:
            continue
        cells = voronoi_cells(inputs.points[rows], area)
        hh = inputs.households[rows]
        if len(rows) < 2 or hh.sum() < 2 * p["threshold"]:
            labels = np.zeros(len(rows), dtype=np.int64)  # at most one region fits
        else:
            frame = gpd.GeoDataFrame({"households": hh}, geometry=cells, crs=inputs.crs)
            w = Rook.from_dataframe(frame, use_index=False, silence_warnings=True)
            np.random.seed(seed)
            random.seed(seed)
            start, cpu = time.perf_counter(), time.process_time()
            model = MaxPHeuristic(
                frame,
                w,
                ["households"],
                "households",
                p["threshold"],
                top_n=p["top_n"],
                max_iterations_construction=p["max_iterations_construction"],
                max_iterations_sa=p["max_iterations_sa"],
            )
            model.solve()
            solve += time.perf_counter() - start
            solve_cpu += time.process_time() - cpu
            labels = np.asarray(model.labels_, dtype=np.int64)
        for label in np.unique(labels):
            mine = np.flatnonzero(labels == label)
            households.append(int(hh[mine].sum()))
            geometry.append(shapely.union_all(cells[mine], grid_size=PRECISION_M))
            members.append({inputs.building_id[rows[i]]: int(hh[i]) for i in mine})
    return Regions(
        "max-p",
        np.asarray(households, dtype=np.int64),
        np.asarray(geometry, dtype=object),
        members,
        extra={"solve_seconds": solve, "solve_cpu_seconds": solve_cpu},
    )


def voronoi_cells(points: np.ndarray, area: shapely.Geometry) -> np.ndarray:
    """Voronoi cell of each point, clipped to `area` (cells in the order of the points)."""
    if len(points) == 1:
        return np.asarray([area], dtype=object)
    xy = shapely.get_coordinates(points)
    seen: dict[tuple[float, float], int] = {}
    for i, (x, y) in enumerate(xy):  # nudge coincident points apart so each gets a cell
        n = seen.get((x, y), 0)
        seen[(x, y)] = n + 1
        xy[i] += 0.01 * n
    diagram = shapely.voronoi_polygons(shapely.MultiPoint(xy), extend_to=area, ordered=True)
    cells = shapely.intersection(shapely.get_parts(diagram), area)
    return np.asarray([polygonal(c) for c in cells], dtype=object)


def timed(run: Callable[[], Regions], repeats: int) -> Regions:
    """Run `repeats` times (at least once); the last result with every run's wall time."""
    runs = []
    result = None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        result = run()
        runs.append(time.perf_counter() - start)
    result.runs = runs
    return result


# -- measures -------------------------------------------------------------------------------


def measure(regions: Regions, inputs: Inputs, bounds: tuple[int, int] = GRID_BOUNDS) -> dict:
    """Quality measures of one engine's regions (see the module docstring)."""
    lo, hi = bounds
    hh = regions.households
    area = shapely.area(regions.geometry)
    perimeter = shapely.length(regions.geometry)
    pp = np.where(perimeter > 0, 4 * math.pi * area / np.maximum(perimeter, 1e-12) ** 2, 0.0)
    row_of = {b: i for i, b in enumerate(inputs.building_id)}
    covered = np.zeros(len(inputs.building_id), dtype=np.int64)
    seen = np.zeros(len(inputs.building_id), dtype=bool)
    regions_of: dict[tuple[int, str], set[int]] = {}
    crossing = 0
    for r, members in enumerate(regions.members):
        faces = set()
        for b, share in members.items():
            i = row_of[b]
            covered[i] += share
            seen[i] = True
            if inputs.compound[i] is not None:
                key = (int(inputs.area[i]), inputs.compound[i])
                regions_of.setdefault(key, set()).add(r)
            if share > 0:
                faces.add(int(inputs.enclosure[i]))
        crossing += len(faces) > 1
    inside = inputs.inside
    named = inside & (inputs.compound != None)  # noqa: E711 (elementwise)
    keys = zip(inputs.area[named].tolist(), inputs.compound[named].tolist(), strict=True)
    compound_hh: dict[tuple[int, str], int] = {}
    for key, h in zip(keys, inputs.households[named].tolist(), strict=True):
        compound_hh[key] = compound_hh.get(key, 0) + h
    small = [c for c, h in compound_hh.items() if h <= hi]
    return {
        "engine": regions.engine,
        "seconds": regions.seconds,
        "runs": [round(t, 3) for t in regions.runs],
        "regions": len(hh),
        "households": int(hh.sum()),
        "covers_all": bool(
            seen[inside].all()
            and (covered == np.where(inside, inputs.households, 0)).all()
            and int(hh.sum()) == inputs.total_households
        ),
        "within_bounds": int(((hh >= lo) & (hh <= hi)).sum()),
        "within_share": float(((hh >= lo) & (hh <= hi)).mean()) if len(hh) else 0.0,
        "households_min": int(hh.min()) if len(hh) else 0,
        "households_max": int(hh.max()) if len(hh) else 0,
        "polsby_popper_mean": float(pp.mean()) if len(pp) else 0.0,
        "compounds_small": len(small),
        "compounds_all": len(compound_hh),
        "split_compounds_small": sum(len(regions_of.get(c, ())) > 1 for c in small),
        "split_compounds_all": sum(len(s) > 1 for s in regions_of.values()),
        "barrier_crossing": int(crossing),
        **{k: v for k, v in regions.extra.items() if k != "report"},
    }


# -- part 1: baseline -----------------------------------------------------------------------


def warm_up(seed: int = SEED) -> None:
    """One run of each engine on the one-community city (imports, caches), not timed."""
    small = prepare(generate_city(size="community", seed=seed), "community")
    run_wangge(small)
    run_maxp(small, seed=seed, **MAXP_WARMUP)


def compare(
    inputs: Inputs,
    *,
    repeats: int = 3,
    maxp_repeats: int = 1,
    maxp_params: dict | None = None,
    seed: int = SEED,
) -> dict:
    """Both engines on the same inputs (warm up first): measures and the time ratio."""
    params = {**MAXP, **(maxp_params or {})}
    ours = timed(lambda: run_wangge(inputs), repeats)
    theirs = timed(lambda: run_maxp(inputs, seed=seed, **params), maxp_repeats)
    rows = [measure(ours, inputs), measure(theirs, inputs)]
    report = ours.extra["report"]["grid"]
    rows[0]["engine_report"] = {
        k: report[k]
        for k in ("barrier_crossing", "split_compounds", "within_bounds")
        if k in report
    }
    return {
        "input": inputs.name,
        "buildings": int(inputs.inside.sum()),
        "households": inputs.total_households,
        "communities": len(inputs.area_geoms),
        "maxp_params": params,
        "rows": rows,
        "ratio": rows[1]["seconds"] / rows[0]["seconds"],
    }


def comparison_table(result: dict) -> str:
    lines = [
        f"Input: {result['input']}: {result['communities']} communities, "
        f"{result['buildings']:,} buildings, {result['households']:,} households; "
        f"bounds {GRID_BOUNDS[0]}–{GRID_BOUNDS[1]}.",
        "",
        "| engine | seconds (median of runs) | regions | within 300–500 | max households "
        "| mean Polsby–Popper | split compounds ≤500 hh | split compounds (all) "
        "| barrier-crossing | covers all households |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in result["rows"]:
        runs = ", ".join(f"{t:.2f}" for t in r["runs"])
        lines.append(
            f"| {r['engine']} | {r['seconds']:.2f} ({runs}) | {r['regions']} "
            f"| {r['within_bounds']}/{r['regions']} = {100 * r['within_share']:.1f}% "
            f"| {r['households_max']} | {r['polsby_popper_mean']:.3f} "
            f"| {r['split_compounds_small']}/{r['compounds_small']} "
            f"| {r['split_compounds_all']}/{r['compounds_all']} "
            f"| {r['barrier_crossing']} | {'yes' if r['covers_all'] else 'NO'} |"
        )
    maxp = result["rows"][1]
    lines += [
        "",
        f"max-p time / wangge time = {result['ratio']:.1f}× "
        f"(max-p solver alone {maxp['solve_seconds']:.2f} s; max-p parameters "
        f"{json.dumps(result['maxp_params'])})",
    ]
    return "\n".join(lines)


# -- part 2: scaling ------------------------------------------------------------------------


def scaling_worker(size: str, level: str, seed: int = SEED) -> dict:
    """Body of one scaling run (meant for a fresh process: the peak memory is the process's)."""
    city = generate_city(size=size, seed=seed)
    small = city if size == "community" else generate_city(size="community", seed=seed)
    generate_grids(small.buildings, small.communities, roads=small.roads, level=level)  # warm-up
    del small
    before = _peak_mb()
    start = time.perf_counter()
    layer = generate_grids(city.buildings, city.communities, roads=city.roads, level=level)
    seconds = time.perf_counter() - start
    out = {
        "size": size,
        "level": level,
        "households": int(city.buildings["households"].sum()),
        "buildings": len(city.buildings),
        "communities": len(city.communities),
        "seconds": seconds,
        "peak_mb_before_run": before,
        "peak_mb": _peak_mb(),
        "vm_hwm_mb": _vm_hwm_mb(),
    }
    for lvl in ("grid", "micro"):
        if lvl in layer.report:
            rep = layer.report[lvl]
            out[lvl] = {
                "count": rep["count"],
                "within_bounds": rep["within_bounds"],
                "households_min": rep["households_min"],
                "households_max": rep["households_max"],
                "polsby_popper_mean": rep["polsby_popper_mean"],
                "barrier_crossing": rep["barrier_crossing"],
                "infeasible": len(rep["infeasible"]),
            }
    return out


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _vm_hwm_mb() -> float | None:
    """The peak RSS of this process's own address space (a cross-check of ru_maxrss)."""
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            line = next(line for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return None
    return int(line.split()[1]) / 1024


def scale(sizes: list[str], levels: tuple[str, ...] = LEVELS, seed: int = SEED) -> list[dict]:
    """One fresh subprocess per size and level."""
    out = []
    for size in sizes:
        for level in levels:
            worker = ["-m", "bench.grids", "--worker", size, level, "--seed", str(seed)]
            out.append(fresh_run(worker, f"worker {size} {level}"))
            print(f"  {size} {level}: {out[-1]['seconds']:.1f} s", file=sys.stderr, flush=True)
    return out


def scaling_table(rows: list[dict]) -> str:
    lines = [
        "| size | level | communities | buildings | households | grids (300–500) "
        "| micro-grids (30–50) | seconds | peak RSS MB (before the run) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        cells = []
        for lvl in ("grid", "micro"):
            rep = r.get(lvl)
            cells.append(f"{rep['count']:,} ({rep['within_bounds']:,} within)" if rep else "–")
        lines.append(
            f"| {r['size']} | {r['level']} | {r['communities']} | {r['buildings']:,} "
            f"| {r['households']:,} | {cells[0]} | {cells[1]} | {r['seconds']:.1f} "
            f"| {r['peak_mb']:.0f} ({r['peak_mb_before_run']:.0f}) |"
        )
    return "\n".join(lines)


# -- machine and command line ---------------------------------------------------------------


def machine() -> dict:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as f:
        mem_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    versions = {}
    for name in ("shapely", "geopandas", "numpy", "spopt", "libpysal"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = None
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "geo", "data", "bench"],
                           capture_output=True, text=True)  # fmt: skip
    commit = head.stdout.strip() or "unknown"
    if dirty.stdout.strip():
        commit += " + uncommitted changes in geo/, data/ or bench/"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "load_average": _load(),
        "nproc": len(os.sched_getaffinity(0)),
        "ram_gib": round(mem_kb / 1024**2, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "geos": ".".join(map(str, shapely.geos_version)),
        **versions,
    }


def _load() -> str:
    """1-, 5- and 15-minute load averages: other work on the machine slows both engines."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.grids", description=__doc__.split("\n")[0]
    )
    add = parser.add_argument
    add("--sizes", help="scaling sizes, comma-separated (default all three; --quick: community)")
    add(
        "--quick",
        action="store_true",
        help="smoke run: baseline on the community city with few max-p iterations, one timed "
        "run each, scaling on the community city",
    )
    add(
        "--baseline",
        choices=SIZES,
        help="city of the max-p comparison (default street; --quick: community)",
    )
    add("--baseline-communities", type=int, metavar="N", help="compare on the first N only")
    parser.add_argument("--repeats", type=int, help="timed runs of wangge (default 3; --quick 1)")
    parser.add_argument("--maxp-repeats", type=int, default=1, help="timed runs of max-p")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--json", type=Path, help="also write every number to this file")
    parser.add_argument("--worker", nargs=2, metavar=("SIZE", "LEVEL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        size, level = args.worker
        print(json.dumps(scaling_worker(size, level, seed=args.seed)))
        return 0

    sizes = args.sizes.split(",") if args.sizes else (["community"] if args.quick else list(SIZES))
    unknown = sorted(set(sizes) - set(SIZES))
    if unknown:
        parser.error(f"unknown sizes {unknown}; choose from {', '.join(SIZES)}")
    baseline = args.baseline or ("community" if args.quick else "street")
    repeats = args.repeats or (1 if args.quick else 3)
    command = " ".join([".venv/bin/python -m bench.grids", *(argv or sys.argv[1:])])
    results: dict = {"machine": machine(), "command": command}
    print("Machine: " + ", ".join(f"{k} {v}" for k, v in results["machine"].items()))
    start = time.perf_counter()
    if not args.no_baseline:
        print(f"\n## Baseline: wangge vs spopt max-p (seed {args.seed})\n", flush=True)
        warm_up(args.seed)
        inputs = prepare(
            generate_city(size=baseline, seed=args.seed),
            baseline,
            communities=args.baseline_communities,
        )
        results["baseline"] = compare(
            inputs,
            repeats=repeats,
            maxp_repeats=args.maxp_repeats,
            maxp_params=MAXP_QUICK if args.quick else MAXP,
            seed=args.seed,
        )
        print(comparison_table(results["baseline"]), flush=True)
    if not args.no_scaling:
        print(f"\n## Scaling (one fresh process per row, seed {args.seed})\n", flush=True)
        results["scaling"] = scale(sizes, seed=args.seed)
        print(scaling_table(results["scaling"]))
    results["seconds"] = time.perf_counter() - start
    results["load_average_end"] = _load()
    print(f"\nWhole benchmark: {results['seconds']:.0f} s; load average at the end {_load()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
