"""Service circles: wangge isochrones vs the common baselines, same network, same stations.

Run ``.venv/bin/python -m bench.isochrones`` (``--quick`` is the smoke run: Xuanwu only, a few
stations, no figures to quote; ``--json FILE`` saves every number).

Inputs
    * Nanjing Xuanwu: the OSM extract in data/nanjing_xuanwu (its walkable ways), with its 301
      OSM points of interest standing in for service stations and its 1,277 buildings as
      targets;
    * the synthetic district: ``data.walknet.dense_walk_network`` (roads + footpath mesh,
      ~120,000 edges) with 600 stations (``benchmark_stations``) and the district's buildings.

Engines, all on the same noded network (``geo.network.walk_network``), 5/10/15 minutes at
4.5 km/h:
    * wangge: ``geo.isochrones.isochrones`` (limited Dijkstra searches from all stations in
      batches, then the outlines of the cells (``DEFAULT_CELL_M``, 17.5 m) whose walk, along
      the network and straight from where the cell joins it, fits in each time, placed where
      the walk meets the limit between cell centres and traced for all stations together by
      ``geo.outlines``; EPSG:4326 output). Its time is split into the reach (snapping +
      Dijkstra, ``geo.network.source_distances``) and the polygons (the rest); the cell
      raster is built once per network, like pandana's contraction hierarchy, and timed apart;
    * baseline: the OSMnx-example way: a networkx graph of the same edges, the station's
      nearest node, ``nx.ego_graph(G, node, radius=metres, distance="length")`` per minute
      value, the convex hull of the reached nodes. If it is slow it runs on a sample of
      stations and its time is scaled to all of them (the output says so);
    * pandana (if installed): contraction-hierarchy ``nodes_in_range`` from the nearest nodes
      (the reach), convex hull of the reached nodes (the polygons), timed apart.

Shape is judged against the true walk: for each sampled station the buildings' walking minutes
(``geo.network.reach_matrix``, snap walks counted) say which buildings are really within each
minute value. "Recall" is the share of those inside the polygon; "false area" is the share of
buildings inside the polygon that are NOT within reach (a convex hull spans parks, rail yards
and blocks with no way through). Network loading and graph building are timed apart and not
counted in any engine's time. wangge's whole job and pandana's reach + hulls run ``--repeat``
times, interleaved, in the same process (both warm, same network and stations); the medians
are compared, in wall and CPU time. The single-station time is the median of ``isochrones()``
on one station with the network already loaded (the API's case).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from geo.isochrones import DEFAULT_CELL_M, isochrones
from geo.network import (
    WalkNetwork,
    reach_matrix,
    read_walk_network,
    snap_points,
    source_distances,
    walk_network,
)

XUANWU_OSM = (
    Path(__file__).resolve().parents[1] / "data/nanjing_xuanwu/nanjing_xuanwu_2021-06-12.osm"
)
MINUTES = (5, 10, 15)
SPEED_KMH = 4.5
PER_MIN = SPEED_KMH * 1000 / 60
SEED = 0


@dataclass
class Case:
    name: str
    net: WalkNetwork
    stations: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    load_s: float


def xuanwu() -> Case:
    from geo.osm import read_osm

    started = time.perf_counter()
    net = read_walk_network(XUANWU_OSM)
    load = time.perf_counter() - started
    layers = read_osm(XUANWU_OSM)
    stations = layers.pois.rename(columns={"poi_id": "id"})[["id", "geometry"]]
    return Case("Nanjing Xuanwu (OSM)", net, stations, layers.buildings, load)


def district(count: int = 600) -> Case:
    from data.synthetic import generate_city
    from data.walknet import benchmark_stations, dense_walk_network

    city = generate_city(size="district", seed=SEED)
    lines = dense_walk_network(city, seed=SEED)
    started = time.perf_counter()
    net = walk_network(lines)
    load = time.perf_counter() - started
    stations = benchmark_stations(city, count=count, seed=SEED)
    return Case("synthetic district (dense mesh)", net, stations, city.buildings, load)


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


# -- baselines -------------------------------------------------------------------------------


def nx_graph(net: WalkNetwork) -> nx.Graph:
    graph = nx.Graph()
    xy = shapely.get_coordinates(net.nodes.geometry.to_numpy())
    graph.add_nodes_from((k, {"x": x, "y": y}) for k, (x, y) in enumerate(xy))
    e = net.edges
    graph.add_weighted_edges_from(
        zip(e["u"].to_numpy(), e["v"].to_numpy(), e["length_m"].to_numpy(), strict=True),
        weight="length",
    )
    return graph


def nearest_nodes(net: WalkNetwork, stations: gpd.GeoDataFrame) -> np.ndarray:
    pts = stations.geometry.to_crs(net.crs).to_numpy()
    _, node = shapely.STRtree(net.nodes.geometry.to_numpy()).query_nearest(pts, all_matches=False)
    return node


def baseline_nx(graph: nx.Graph, nodes: np.ndarray) -> list[list[shapely.Geometry]]:
    """The OSMnx example: ego graph per minute value, convex hull of its nodes."""
    out = []
    for node in nodes:
        hulls = []
        for minutes in MINUTES:
            sub = nx.ego_graph(graph, int(node), radius=minutes * PER_MIN, distance="length")
            pts = shapely.points([(d["x"], d["y"]) for _, d in sub.nodes(data=True)])
            hulls.append(shapely.convex_hull(shapely.multipoints(pts)))
        out.append(hulls)
    return out


def pandana_network(net: WalkNetwork):
    import pandana

    xy = shapely.get_coordinates(net.nodes.geometry.to_numpy())
    e = net.edges[net.edges["u"] != net.edges["v"]]
    return pandana.Network(
        xy[:, 0], xy[:, 1], e["u"].to_numpy(), e["v"].to_numpy(), e[["length_m"]], twoway=True
    )


def pandana_reach(pnet, nodes: np.ndarray):
    """Nodes within the longest minute value of each station's nearest node (the reach)."""
    return pnet.nodes_in_range(list(map(int, nodes)), max(MINUTES) * PER_MIN)


def pandana_hulls(reach, net: WalkNetwork, nodes: np.ndarray) -> list[list[shapely.Geometry]]:
    """Convex hull of the nodes reached within each minute value."""
    xy = shapely.get_coordinates(net.nodes.geometry.to_numpy())
    out = []
    groups = {k: g for k, g in reach.groupby(reach.columns[0])}
    for node in nodes:
        g = groups[int(node)]
        dest, dist = g.iloc[:, 1].to_numpy(), g.iloc[:, 2].to_numpy()
        out.append(
            [
                shapely.convex_hull(shapely.multipoints(xy[dest[dist <= m * PER_MIN]]))
                for m in MINUTES
            ]
        )
    return out


def wangge_reach(net: WalkNetwork, stations: gpd.GeoDataFrame) -> int:
    """Snapping and the limited Dijkstra searches alone (what isochrones() does before drawing)."""
    snaps = snap_points(net, stations)
    reached = 0
    for _, dist in source_distances(net, snaps, limit_m=max(MINUTES) * PER_MIN):
        reached += int(np.isfinite(dist).sum())
    return reached


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# -- shape ---------------------------------------------------------------------------------


def shape_scores(case: Case, sample: np.ndarray, polys: dict[str, list[list]]) -> dict:
    """Recall and false share of buildings per engine, minute value, over sampled stations."""
    buildings = case.buildings[["geometry"]]
    matrix = reach_matrix(
        case.net, case.stations.iloc[sample], buildings, speed_kmh=SPEED_KMH, max_minutes=15
    )
    dense = np.full(matrix.shape, np.inf)
    coo = matrix.tocoo()
    dense[coo.row, coo.col] = coo.data
    pts = buildings.geometry.to_crs(case.net.crs).to_numpy()
    pts = np.where(shapely.get_type_id(pts) == 0, pts, shapely.point_on_surface(pts))
    scores = {}
    for engine, per_station in polys.items():
        rows = {}
        for j, minutes in enumerate(MINUTES):
            hit = miss = inside = false = 0
            for k, polygons in enumerate(per_station):
                truth = dense[k] <= minutes
                within = shapely.contains_xy(polygons[j], shapely.get_x(pts), shapely.get_y(pts))
                hit += int((truth & within).sum())
                miss += int((truth & ~within).sum())
                inside += int(within.sum())
                false += int((within & ~truth).sum())
            area = statistics.mean(p[j].area for p in per_station) / 1e6
            rows[minutes] = {
                "recall": hit / max(hit + miss, 1),
                "false_share": false / max(inside, 1),
                "mean_area_km2": area,
            }
        scores[engine] = rows
    return scores


# -- run -------------------------------------------------------------------------------------


def run_case(
    case: Case,
    *,
    baseline_sample: int,
    shape_sample: int,
    single: int,
    pandana: bool = True,
    repeat: int = 3,
) -> dict:
    net, stations = case.net, case.stations
    info = net.summary()
    print(
        f"\n== {case.name}: {info['edges']:,} edges, {info['nodes']:,} nodes, "
        f"{info['components']} components, {len(stations)} stations; network built in "
        f"{case.load_s:.1f} s; wangge cells {DEFAULT_CELL_M:g} m"
    )
    before = load()
    print(f"load average before: {before}")
    # the cell raster is built once per network, on first use (timed like pandana's build)
    _, prep_wall, prep_cpu = timed(lambda: isochrones(net, stations, minutes=MINUTES))
    print(f"wangge cell raster built by a first run in {prep_wall:.2f} s ({prep_cpu:.2f} s CPU)")
    pnet, p_build, nodes = None, 0.0, nearest_nodes(net, stations)
    if pandana:
        try:
            pnet, p_build, _ = timed(lambda: pandana_network(net))
        except ImportError:
            pnet = None
    # whole jobs, interleaved and repeated (the machine is shared): the median of each side
    runs: dict[str, list] = {k: [] for k in ("wangge", "reach", "pandana_reach", "hulls")}
    for _ in range(repeat):
        iso, *times = timed(lambda: isochrones(net, stations, minutes=MINUTES, speed_kmh=SPEED_KMH))
        runs["wangge"].append(times)
        runs["reach"].append(timed(lambda: wangge_reach(net, stations))[1:])
        if pnet is not None:
            reach, *times = timed(lambda: pandana_reach(pnet, nodes))
            runs["pandana_reach"].append(times)
            p_hulls, *times = timed(lambda reach=reach: pandana_hulls(reach, net, nodes))
            runs["hulls"].append(times)
    med = {k: np.median(np.array(v), axis=0) if v else None for k, v in runs.items()}
    (wall, cpu), (r_wall, r_cpu) = med["wangge"], med["reach"]
    per = wall / len(stations) * 1000
    print(
        f"wangge: {len(stations)} stations × 3 minute values in {wall:.2f} s wall "
        f"({cpu:.2f} s CPU), {per:.1f} ms per station; reach {r_wall:.2f} s wall "
        f"({r_cpu:.2f} s CPU), polygons {wall - r_wall:.2f} s wall ({cpu - r_cpu:.2f} s CPU); "
        f"median of {repeat} runs"
    )
    # one station, network loaded (the API's case)
    rng = np.random.default_rng(SEED)
    picks = rng.choice(len(stations), size=min(single, len(stations)), replace=False)
    one = [timed(lambda k=k: isochrones(net, stations.iloc[[k]]))[1:] for k in picks]
    one_wall = statistics.median(w for w, _ in one) * 1000
    one_cpu = statistics.median(c for _, c in one) * 1000
    print(f"one station (5/10/15): median {one_wall:.1f} ms wall, {one_cpu:.1f} ms CPU")

    graph, g_wall, _ = timed(lambda: nx_graph(net))
    sample = np.sort(
        rng.choice(len(stations), size=min(baseline_sample, len(stations)), replace=False)
    )
    hulls, b_wall, b_cpu = timed(lambda: baseline_nx(graph, nodes[sample]))
    scale = len(stations) / len(sample)
    sampled = " (sampled, scaled)" if len(sample) < len(stations) else ""
    print(
        f"baseline networkx ego_graph + convex hull: {len(sample)} stations in {b_wall:.2f} s "
        f"wall ({b_cpu:.2f} s CPU) → {b_wall * scale:.1f} s for all {len(stations)}{sampled}; "
        f"graph built in {g_wall:.1f} s"
    )
    ratio, ratio_cpu = (b_wall * scale) / wall, (b_cpu * scale) / cpu
    print(f"ratio baseline / wangge per station: {ratio:.1f}× wall, {ratio_cpu:.1f}× CPU")
    result = {
        "network": info,
        "network_build_s": case.load_s,
        "stations": len(stations),
        "cell_m": DEFAULT_CELL_M,
        "load_before": before,
        "wangge_prepare_wall_s": prep_wall,
        "wangge_prepare_cpu_s": prep_cpu,
        "repeat": repeat,
        "wangge_wall_s": wall,
        "wangge_cpu_s": cpu,
        "wangge_reach_wall_s": r_wall,
        "wangge_reach_cpu_s": r_cpu,
        "wangge_polygons_wall_s": wall - r_wall,
        "wangge_polygons_cpu_s": cpu - r_cpu,
        "wangge_ms_per_station": per,
        "single_station_ms_wall": one_wall,
        "single_station_ms_cpu": one_cpu,
        "baseline_nx_stations": int(len(sample)),
        "baseline_nx_wall_s": b_wall,
        "baseline_nx_cpu_s": b_cpu,
        "baseline_nx_scaled_s": b_wall * scale,
        "ratio_nx": ratio,
        "ratio_nx_cpu": ratio_cpu,
    }
    polys = {"wangge": [], "networkx+hull": []}
    shape_pick = sample[: min(shape_sample, len(sample))]
    geoms = iso.to_crs(net.crs).geometry.to_numpy().reshape(len(stations), len(MINUTES))
    polys["wangge"] = [list(geoms[k]) for k in shape_pick]
    where = {k: n for n, k in enumerate(sample)}
    polys["networkx+hull"] = [hulls[where[k]] for k in shape_pick]
    if pnet is not None:
        (pr_wall, pr_cpu), (ph_wall, ph_cpu) = med["pandana_reach"], med["hulls"]
        p_wall, p_cpu = pr_wall + ph_wall, pr_cpu + ph_cpu
        print(
            f"pandana: {len(stations)} stations, reach (nodes_in_range) {pr_wall:.2f} s wall "
            f"({pr_cpu:.2f} s CPU), convex hulls {ph_wall:.2f} s wall ({ph_cpu:.2f} s CPU); "
            f"contraction hierarchy built in {p_build:.1f} s; median of {repeat} runs"
        )
        print(
            f"whole job, pandana / wangge: {p_wall / wall:.2f}× wall, {p_cpu / cpu:.2f}× CPU "
            f"(wangge {wall:.2f} s / {cpu:.2f} s CPU with its EPSG:4326 output; pandana reach + "
            f"hulls {p_wall:.2f} s / {p_cpu:.2f} s CPU); reach {pr_wall / r_wall:.2f}× wall, "
            f"polygons {ph_wall / (wall - r_wall):.2f}× wall"
        )
        result.update(
            pandana_reach_wall_s=pr_wall,
            pandana_reach_cpu_s=pr_cpu,
            pandana_hulls_wall_s=ph_wall,
            pandana_hulls_cpu_s=ph_cpu,
            pandana_wall_s=p_wall,
            pandana_cpu_s=p_cpu,
            pandana_build_s=p_build,
            ratio_pandana_wall=p_wall / wall,
            ratio_pandana_cpu=p_cpu / cpu,
            runs={k: [list(map(float, t)) for t in v] for k, v in runs.items()},
        )
        polys["pandana+hull"] = [p_hulls[k] for k in shape_pick]
    else:
        print("pandana: skipped (not installed, or --no-pandana)")
    scores = shape_scores(case, shape_pick, polys)
    print(
        f"shape on {len(shape_pick)} stations, buildings truly within reach (snap walks counted):"
    )
    for engine, rows in scores.items():
        text = "; ".join(
            f"{m} min: recall {r['recall']:.1%}, false {r['false_share']:.1%}, "
            f"{r['mean_area_km2']:.2f} km²"
            for m, r in rows.items()
        )
        print(f"  {engine}: {text}")
    result["shape"] = {e: {str(m): r for m, r in rows.items()} for e, rows in scores.items()}
    result["shape_stations"] = int(len(shape_pick))
    off = int((iso["method"] == "buffer").sum() // len(MINUTES))
    result["off_network_stations"] = off
    snaps = snap_points(net, stations)
    print(
        f"off-network stations (plain circles): {off}; median snap {snaps['snap_m'].median():.1f} m"
    )
    result["load_after"] = load()
    print(f"load average after: {result['load_after']}")
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: Xuanwu, few stations")
    parser.add_argument("--baseline-sample", type=int, default=60)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-pandana", action="store_true", help="skip pandana (slow to build)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side (median)")
    parser.add_argument("--only", choices=("xuanwu", "district"), help="one network only")
    args = parser.parse_args(argv)
    results = {}
    case = xuanwu() if args.quick or args.only != "district" else None
    if args.quick:
        case.stations = case.stations.iloc[:8]
        results["xuanwu"] = run_case(case, baseline_sample=4, shape_sample=4, single=3, repeat=1)
    elif case is not None:
        results["xuanwu"] = run_case(
            case,
            baseline_sample=len(case.stations),
            shape_sample=60,
            single=30,
            repeat=args.repeat,
        )
    if not args.quick and args.only != "xuanwu":
        results["district"] = run_case(
            district(),
            baseline_sample=args.baseline_sample,
            shape_sample=30,
            single=30,
            pandana=not args.no_pandana,
            repeat=args.repeat,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float), encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
