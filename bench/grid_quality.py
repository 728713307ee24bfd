"""Quality of generated grid layers on real footprints (Xuanwu) and on synthetic cities.

    .venv/bin/python -m bench.grid_quality [--roads-only] [--cities 0,1]

Per dataset, `generate_grids(level='both')` is run once and the stored layer measured:

* barrier-crossing grids: grids whose households lie on both sides of a barrier (major roads,
  rail, water: the faces those lines cut the area into), measured against every barrier line
  of the data, whether or not the engine was given it;
* pinholes: polygons with an interior ring smaller than 1 m²;
* thin micro-grids: micro-grids whose largest inscribed circle is narrower than 5 m;
* mean Polsby–Popper of grids and of micro-grids;
* validation errors and warnings (geo.grids.edit.validate_layer), by kind.

Xuanwu is read as the demo reads it (geo.osm.read_osm, geo.households.estimate_households,
the extract's outline as the one area). `--roads-only` gives the engine the highway lines
only, as `wangge ingest osm` stored them before barrier layers (the "before" figures);
`--save-inputs`/`--load-inputs` run an older engine on exactly the same inputs.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import utm_crs
from geo.grids.edit import validate_layer
from geo.grids.generate import BARRIER_CLASSES, generate_grids
from geo.grids.tessellation import enclosures
from geo.lookup import first_containing

PINHOLE_M2 = 1.0
THIN_M = 5.0


def xuanwu() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Buildings, area, engine roads and every barrier line of the Xuanwu extract."""
    from api.demo.datasets import XUANWU_OSM, _checked, extract_area
    from geo.households import estimate_households
    from geo.osm import read_osm

    osm = read_osm(XUANWU_OSM)
    buildings = estimate_households(
        _checked(osm.buildings, "buildings", "building_id"), landuse=osm.landuse, pois=osm.pois
    )
    area = gpd.GeoDataFrame(
        {"code": ["320102000000"]}, geometry=[extract_area(buildings)], crs=4326
    )
    network = osm.network[["class", "geometry"]]
    barriers = getattr(osm, "barriers", None)
    every = (
        pd.concat([network, barriers[["class", "geometry"]]]) if barriers is not None else network
    )
    return buildings, area, network, gpd.GeoDataFrame(every, crs=4326)


def synthetic(seed: int):
    from data.synthetic import generate_city

    city = generate_city(size="street", seed=seed)
    roads = city.roads[["class", "geometry"]]
    return city.buildings, city.communities[["code", "geometry"]], roads, roads


def measure(grids, buildings, area, barriers) -> dict:
    """The figures of one layer (see the module docstring)."""
    crs = utm_crs(area)
    g = grids.to_crs(crs)
    polys = g.geometry.to_numpy()
    rings = [[shapely.area(shapely.Polygon(r)) for r in getattr(p, "interiors", [])] for p in polys]
    micro = g[g["level"] == "micro"]
    widths = (
        2 * np.array([shapely.maximum_inscribed_circle(p, 0.05).length for p in micro.geometry])
        if len(micro)
        else np.array([])
    )
    problems = validate_layer(grids, buildings, area)
    kinds = Counter(f"{s}:{k}" for s, k in zip(problems["severity"], problems["kind"], strict=True))
    grid = g[g["level"] == "grid"]
    return {
        "grids": len(grid),
        "grids_within_bounds": int(grid["households"].between(300, 500).sum()),
        "grids_empty": int((grid["households"] == 0).sum()),
        "micro_grids": len(micro),
        "micro_within_bounds": int(micro["households"].between(30, 50).sum()),
        "micro_empty": int((micro["households"] == 0).sum()),
        "barrier_crossing_grids": _crossing(g[g["level"] == "grid"], buildings, area, barriers),
        "pinholed_polygons": sum(1 for r in rings if any(a < PINHOLE_M2 for a in r)),
        "thin_micro_grids": int((widths < THIN_M).sum()),
        "polsby_popper_grid": round(float(g.loc[g["level"] == "grid", "polsby_popper"].mean()), 3),
        "polsby_popper_micro": round(float(micro["polsby_popper"].mean()), 3)
        if len(micro)
        else None,
        "validation_errors": int((problems["severity"] == "error").sum()),
        "validation_warnings": int((problems["severity"] == "warning").sum()),
        "problems": dict(sorted(kinds.items())),
    }


def _crossing(grids, buildings, area, barriers) -> int:
    """Grids holding households in more than one barrier face of their area."""
    crs = grids.crs
    lines = barriers[barriers["class"].astype(str).str.lower().isin(BARRIER_CLASSES)]
    lines = lines.to_crs(crs).geometry.to_numpy()
    faces = np.concatenate([enclosures(a, lines) for a in area.to_crs(crs).geometry])
    b = buildings.to_crs(crs)
    b = b[b["households"] > 0]
    face = dict(
        zip(
            b["building_id"].astype(str),
            first_containing(shapely.point_on_surface(b.geometry.to_numpy()), faces),
            strict=True,
        )
    )
    count = 0
    for members in grids["members"]:
        seen = {face.get(str(m[0]), -1) for m in members if m[1] > 0}
        count += len(seen - {-1}) > 1
    return count


def run(name, buildings, area, roads, barriers) -> dict:
    t0 = time.perf_counter()
    layer = generate_grids(buildings, area, roads=roads, level="both")
    seconds = time.perf_counter() - t0
    figures = measure(layer.grids, buildings, area, barriers)
    merged = layer.report.get("buildings_merged")
    return {"dataset": name, "seconds": round(seconds, 1), "merged": merged, **figures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roads-only", action="store_true", help="engine gets highways only")
    parser.add_argument("--cities", default="0,1", help="seeds of the synthetic street cities")
    parser.add_argument("--out", help="also write the figures as JSON here")
    parser.add_argument("--no-xuanwu", action="store_true", help="synthetic cities only")
    parser.add_argument("--save-inputs", help="pickle the input layers here")
    parser.add_argument("--load-inputs", help="read pickled input layers instead of building them")
    args = parser.parse_args(argv)
    if args.load_inputs:  # the same inputs for an older engine (the "before" figures)
        with open(args.load_inputs, "rb") as fh:
            datasets = pickle.load(fh)
    else:
        datasets = {} if args.no_xuanwu else {"xuanwu": xuanwu()}
        for seed in [int(s) for s in args.cities.split(",") if s]:
            datasets[f"synthetic-street-{seed}"] = synthetic(seed)
    if args.save_inputs:
        with open(args.save_inputs, "wb") as fh:
            pickle.dump(datasets, fh)
    rows = []
    for name, (buildings, area, network, every) in datasets.items():
        engine_roads = network if args.roads_only else every
        rows.append(run(name, buildings, area, engine_roads, every))
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, ensure_ascii=False, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
