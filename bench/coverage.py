"""Benchmark of the stations API and coverage on a synthetic district in a throwaway PostGIS.

    .venv/bin/python -m bench.coverage [--size district] [--samples 100] [--quick]

One process: a private PostGIS cluster is started, the synthetic city loaded (grids built),
and the app served in-process (FastAPI TestClient, so no network sockets are timed). Measured:

* API isochrone latency, network loaded: GET /api/stations/{id}/isochrone?minutes=15 for
  `samples` stations, computed on the cached network (before circles are stored) and served
  from the `isochrones` table (after `build_circles`); median and p95 in ms. The first
  request's time (which builds the network from `roads`) is reported separately.
* GET /api/stations/nearest from random points: median and p95.
* Coverage of the whole district (GET /api/coverage), against the named baseline
  "straight-line circles": households within 1,125 m (15 min at 4.5 km/h) of any station as
  the crow flies, one PostGIS ST_DWithin query; ratio of times and how much the crow-flies
  circles overstate coverage.
* Site suggestions: greedy maximal covering vs spopt's MCLP (PuLP + CBC) on the same reach
  matrix (health within 10 min, k = 5): time and households covered.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import text

BASELINE = "crow-flies circles (r = minutes × 75 m around each station; shapely STRtree)"


def _ms(samples: list[tuple[float, float]]) -> dict:
    """Wall-clock median/p95/max and the median CPU time (all threads of this process: the
    in-process app's work) of (wall, cpu) samples in seconds."""
    wall = np.array([w for w, _ in samples]) * 1000
    cpu = np.array([c for _, c in samples]) * 1000
    return {
        "n": len(wall),
        "median_ms": round(float(np.median(wall)), 2),
        "p95_ms": round(float(np.percentile(wall, 95)), 2),
        "max_ms": round(float(wall.max()), 2),
        "cpu_median_ms": round(float(np.median(cpu)), 2),
    }


def _request(call) -> tuple[tuple[float, float], object]:
    """((wall s, cpu s), value) of one call."""
    w0, c0 = time.perf_counter(), time.process_time()
    value = call()
    return (time.perf_counter() - w0, time.process_time() - c0), value


def _timed(call) -> tuple[float, object]:
    t0 = time.perf_counter()
    value = call()
    return time.perf_counter() - t0, value


def mclp_vs_greedy(url: str, *, function: str = "health", minutes: float = 10.0, k: int = 5):
    """Greedy and spopt MCLP on one reach matrix (candidates: buildings near uncovered ones)."""
    import pulp
    from spopt.locate import MCLP

    from api.db import transaction
    from api.stations.network import get_network
    from api.storage import stations as store
    from geo import coverage as cov
    from geo.network import reach_matrix

    with transaction(url) as session:
        net = get_network(session)
        stations = store.station_frame(session)
        buildings = store.building_frame(session)
    now = cov.minutes_by_function(
        net, stations, buildings, functions=[function], max_minutes=minutes
    )
    mask = cov.uncovered(now, function=function, within=minutes)
    demand = buildings[mask].reset_index(drop=True)
    pool = buildings[cov.near_enough(buildings, demand, minutes=minutes)].reset_index(drop=True)
    t_reach, reach = _timed(
        lambda: (
            reach_matrix(net, pool, demand, max_minutes=minutes)
            if len(pool) <= len(demand)
            else reach_matrix(net, demand, pool, max_minutes=minutes).T.tocsr()
        )
    )
    weights = demand["households"].to_numpy(dtype=float)
    t_greedy, choice = _timed(lambda: cov.greedy_max_cover(reach, weights, k=k))
    # spopt wants a clients × facilities cost matrix; out of reach = beyond the service radius
    cost = np.full((len(demand), len(pool)), minutes * 10.0)
    coo = reach.tocoo()
    cost[coo.col, coo.row] = coo.data
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=120)
    t_mclp, model = _timed(
        lambda: MCLP.from_cost_matrix(cost, weights, minutes, p_facilities=k).solve(solver)
    )
    chosen = [j for j in range(len(pool)) if model.fac2cli[j] or _picked(model, j)]
    covered = cov.covered_by(reach, chosen)
    mclp_covered = int(round(weights[covered].sum()))
    return {
        "function": function,
        "minutes": minutes,
        "k": k,
        "demand_buildings": len(demand),
        "demand_households": int(weights.sum()),
        "candidates": len(pool),
        "reach_pairs": int(reach.nnz),
        "reach_s": round(t_reach, 3),
        "greedy_s": round(t_greedy, 4),
        "greedy_covered": choice.covered,
        "greedy_upper_bound": choice.upper_bound,
        "mclp_s": round(t_mclp, 3),
        "mclp_covered": mclp_covered,
        "mclp_status": pulp.LpStatus[model.problem.status],
    }


def _picked(model, j: int) -> bool:
    var = model.fac_vars[j]
    return bool(var.value() and var.value() > 0.5)


def run(
    size: str = "district",
    samples: int = 100,
    *,
    seed: int = 0,
    url: str | None = None,
    mclp: bool = True,
):
    """Load the city into `url` (an empty, migrated database) or into a private cluster."""
    from api.storage.launcher import Cluster

    if url is not None:
        return _measure(url, size, samples, seed, mclp=mclp)
    state = Path(tempfile.mkdtemp(prefix="wangge-bench-", dir="/tmp"))
    state.chmod(0o755)
    cluster = Cluster(state / "cluster", fast=True)
    cluster.start()
    try:
        cluster.ensure_database("bench")
        return _measure(cluster.url("bench"), size, samples, seed, migrate_first=True, mclp=mclp)
    finally:
        cluster.destroy()
        state.rmdir()


def _measure(
    url: str, size: str, samples: int, seed: int, *, migrate_first: bool = False, mclp: bool = True
):
    import os

    from fastapi.testclient import TestClient

    from api.db import get_engine, transaction
    from api.demo import datasets as demo
    from api.main import create_app
    from api.settings import get_settings
    from api.stations import network as network_db
    from api.stations.circles import build_circles
    from api.storage import migrate
    from api.storage import stations as store

    os.environ["WANGGE_RATE_LIMIT"] = "false"  # hundreds of requests from one client, on purpose
    get_settings.cache_clear()
    rng = np.random.default_rng(seed)
    numbers: dict = {"size": size, "machine": f"{platform.machine()}, {platform.python_version()}"}
    if migrate_first:
        migrate.upgrade(url)
    t0 = time.perf_counter()
    with transaction(url) as session:
        demo.load_synthetic(session, size=size, log=lambda _: None)
    with transaction(url) as session:
        demo.build_grids(session, log=lambda _: None)
    numbers["load_s"] = round(time.perf_counter() - t0, 1)
    with get_engine(url).connect() as conn:
        for table in ("buildings", "roads", "stations"):
            numbers[table] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        numbers["households"] = int(
            conn.execute(text("SELECT sum(households) FROM buildings")).scalar_one()
        )
    with TestClient(create_app(url)) as api:
        ids = [f["id"] for f in api.get("/api/stations").json()["features"]]
        picks = [ids[i] for i in rng.choice(len(ids), min(samples, len(ids)), replace=False)]
        network_db.invalidate(url)
        first, answer = _timed(lambda: api.get(f"/api/stations/{picks[0]}/isochrone"))
        assert answer.status_code == 200, answer.text
        numbers["first_request_s"] = round(first, 3)
        with transaction(url) as session:
            numbers["network"] = network_db.get_network(session, url).summary()
        computed = []
        for sid in picks:
            t, answer = _request(lambda sid=sid: api.get(f"/api/stations/{sid}/isochrone"))
            assert answer.json()["properties"]["source"] == "computed", answer.text
            computed.append(t)
        numbers["isochrone_computed"] = _ms(computed)
        with transaction(url) as session:
            t, report = _timed(lambda: build_circles(session))
        numbers["circles_s"] = round(t, 2)
        numbers["circles"] = report.stored
        stored = []
        for sid in picks:
            t, answer = _request(lambda sid=sid: api.get(f"/api/stations/{sid}/isochrone"))
            assert answer.json()["properties"]["source"] == "stored", answer.text
            stored.append(t)
        numbers["isochrone_stored"] = _ms(stored)
        with get_engine(url).connect() as conn:
            box = conn.execute(text("SELECT ST_Extent(location) FROM buildings")).scalar_one()
        x0, y0, x1, y1 = (float(v) for v in box[4:-1].replace(",", " ").split())
        nearest = []
        for _ in range(min(samples, 100)):
            params = {"lon": rng.uniform(x0, x1), "lat": rng.uniform(y0, y1)}
            t, answer = _request(lambda p=params: api.get("/api/stations/nearest", params=p))
            assert answer.status_code == 200, answer.text
            nearest.append(t)
        numbers["nearest"] = _ms(nearest)
        (t, cpu), answer = _request(lambda: api.get("/api/coverage", params={"limit": 0}))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        numbers["coverage_s"] = round(t, 2)
        numbers["coverage_cpu_s"] = round(cpu, 2)
        numbers["coverage_share_any_15"] = body["share"]
        totals = {
            (r["function"], r["minutes"]): r["share"] for r in body["rows"] if r["level"] == "total"
        }
        numbers["shares"] = {f"{f}@{m:g}": v for (f, m), v in sorted(totals.items())}
        numbers["gap_areas"] = len(body["gaps"]["features"])
        t, answer = _timed(
            lambda: api.post(
                "/api/coverage/suggestions",
                json={"k": 5, "minutes": 10, "function": "health"},
            )
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        numbers["suggestions"] = {
            "seconds": round(t, 2),
            "covered_before": body["covered_before"],
            "gain": body["gain"],
            "upper_bound": body["upper_bound"],
            "candidates": body["candidates"],
        }
    with transaction(url) as session:
        stations = store.station_frame(session)
        buildings = store.building_frame(session)
    t, crow = _timed(lambda: crow_flies(stations, buildings))
    numbers["baseline_s"] = round(t, 3)
    numbers["baseline_shares"] = crow
    numbers["baseline_share_any_15"] = crow["any@15"]
    numbers["mclp"] = mclp_vs_greedy(url) if mclp else None
    network_db.invalidate(url)
    get_engine(url).dispose()
    return numbers


def crow_flies(stations, buildings, *, speed_kmh: float = 4.5) -> dict[str, float]:
    """The baseline: shares of households within r = minutes × 75 m of a station offering each
    function as the crow flies (circles around stations, the usual planning shortcut)."""
    import shapely

    from geo import coverage as cov
    from geo.crs import utm_crs

    utm = utm_crs(buildings)
    pts = shapely.get_coordinates(buildings.to_crs(utm).geometry.to_numpy())
    homes = shapely.points(pts)
    sites = stations.to_crs(utm).geometry.to_numpy()
    hh = buildings["households"].to_numpy(dtype=float)
    out = {}
    for function in (*cov.SIX_FUNCTIONS, cov.ANY):
        mask = np.array(
            [function == cov.ANY or function in (f or []) for f in stations["functions"]]
        )
        tree = shapely.STRtree(sites[mask])
        for minutes in cov.THRESHOLDS:
            r = minutes * speed_kmh * 1000 / 60
            covered = np.zeros(len(homes), dtype=bool)
            covered[tree.query(homes, predicate="dwithin", distance=r)[0]] = True
            out[f"{function}@{minutes:g}"] = round(float(hh[covered].sum() / hh.sum()), 4)
    return out


def report(n: dict) -> str:
    net = n["network"]
    m = n["mclp"]
    s = n["suggestions"]
    lines = [
        "### Stations API, coverage and suggestions (bench/coverage.py)",
        "",
        f"Synthetic {n['size']}: {n['buildings']:,} buildings, {n['households']:,} households, "
        f"{n['roads']:,} road lines → {net['edges']:,} network edges, {n['stations']} stations; "
        f"loaded with grids in {n['load_s']} s. {n['machine']}.",
        "",
        "| request (network loaded) | median ms | p95 ms | max ms | median CPU ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, label in (
        ("isochrone_computed", "GET /api/stations/{id}/isochrone?minutes=15, computed"),
        ("isochrone_stored", "same, stored circle"),
        ("nearest", "GET /api/stations/nearest"),
    ):
        v = n[key]
        lines.append(
            f"| {label} (n={v['n']}) | {v['median_ms']} | {v['p95_ms']} | {v['max_ms']} "
            f"| {v['cpu_median_ms']} |"
        )
    ratio = n["coverage_s"] / max(n["baseline_s"], 1e-9)
    lines += [
        "",
        f"First isochrone request, building the network from `roads`: {n['first_request_s']} s. "
        f"All circles (3 × {n['stations']} stations): {n['circles_s']} s.",
        "",
        f"Coverage of the whole district (GET /api/coverage, six functions + any + all at "
        f"5/10/15 min, per grid/community/street, gap layer): {n['coverage_s']} s "
        f"({n['coverage_cpu_s']} s CPU); "
        f"baseline {BASELINE}, the same functions and times: {n['baseline_s']} s "
        f"(ratio {ratio:.1f}×).",
        "",
        "| households covered | on foot 5 / 10 / 15 min | crow-flies 5 / 10 / 15 min |",
        "|---|---|---|",
        *[
            f"| {f} | "
            + " / ".join(f"{n['shares'][f'{f}@{m}']:.1%}" for m in (5, 10, 15))
            + " | "
            + " / ".join(
                f"{n['baseline_shares'][f'{f}@{m}']:.1%}"
                if f"{f}@{m}" in n["baseline_shares"]
                else "–"
                for m in (5, 10, 15)
            )
            + " |"
            for f in ("any", "health", "childcare", "food", "all")
        ],
        "",
        f"Suggestions (POST /api/coverage/suggestions, health within 10 min, k = 5): "
        f"{s['seconds']} s, {s['candidates']:,} candidate buildings, gain {s['gain']:,} "
        f"households (covered before {s['covered_before']:,}; bound {s['upper_bound']:,}).",
    ]
    if m:
        lines += [
            "",
            f"Greedy vs spopt MCLP (CBC, status {m['mclp_status']}) on the same reach matrix "
            f"({m['candidates']:,} candidates × {m['demand_buildings']:,} uncovered buildings, "
            f"{m['reach_pairs']:,} pairs, built in {m['reach_s']} s): "
            f"greedy {m['greedy_covered']:,} households in {m['greedy_s']} s, "
            f"MCLP {m['mclp_covered']:,} in {m['mclp_s']} s "
            f"(greedy/MCLP {m['greedy_covered'] / max(m['mclp_covered'], 1):.3f}).",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="district", choices=["community", "street", "district"])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="one community, 10 samples")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("--no-mclp", action="store_true", help="skip spopt MCLP (minutes on CBC)")
    args = parser.parse_args()
    size, samples = ("community", 10) if args.quick else (args.size, args.samples)
    numbers = run(size, samples, mclp=not args.no_mclp)
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2, ensure_ascii=False))
    print(report(numbers))
    print()
    print(json.dumps(numbers, ensure_ascii=False))


if __name__ == "__main__":
    main()
