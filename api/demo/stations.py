"""Stations of the Xuanwu demo: OSM service places by the catalog's rules, and the offices of
the approximate communities where OpenStreetMap does not map them."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from api.demo.xuanwu_areas import stem
from data.catalogs import offered_by_type, station_from_osm, station_types, type_defaults

COLUMNS = [
    "station_id", "name", "type", "functions", "opening_hours", "address", "location_source",
    "rule",
]  # fmt: skip


def service_places(pois: gpd.GeoDataFrame, *, inside: shapely.Geometry) -> gpd.GeoDataFrame:
    """POIs inside `inside` that the catalog's osm_rules make stations, with their type,
    functions (the rule's and the tags', then the type's extras) and the rule's id."""
    rows = []
    for poi in pois[pois.geometry.within(inside)].itertuples(index=False):
        found = station_from_osm(poi.osm_tags)
        if found is None:
            continue
        kind, functions, rule = found
        extras = station_types()["types"][kind].get("extras", [])
        hours = poi.osm_tags.get("opening_hours") or type_defaults(kind)["opening_hours"]
        rows.append(
            {"station_id": poi.poi_id, "name": poi.name or kind, "type": kind,
             "functions": [*functions, *extras], "opening_hours": hours, "address": poi.address,
             "location_source": "given", "rule": rule, "geometry": poi.geometry}
        )  # fmt: skip
    return gpd.GeoDataFrame(rows, columns=[*COLUMNS, "geometry"], crs=pois.crs)


def community_offices(seeds: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A 党群服务中心 station per seeded community whose office OSM does not map, at its seed
    (the place the community is named after): location_source 'geocoded', as a position
    inferred from a name, shown as approximate."""
    placed = seeds[seeds["how"] != "office"]
    kind = "党群服务中心"
    return gpd.GeoDataFrame(
        {
            "station_id": [f"office-{code}" for code in placed["code"]],
            "name": list(placed["name"]),
            "type": kind,
            "functions": [offered_by_type()[kind]] * len(placed),
            "opening_hours": type_defaults(kind)["opening_hours"],
            "address": [f"{stem(n)}一带（位置按社区名称推定）" for n in placed["name"]],
            "location_source": "geocoded",
            "rule": "community_seed",
        },
        geometry=list(placed.geometry),
        crs=seeds.crs,
    )


def xuanwu_stations(
    pois: gpd.GeoDataFrame, seeds: gpd.GeoDataFrame, *, inside: shapely.Geometry
) -> gpd.GeoDataFrame:
    """service_places then community_offices, one frame."""
    frames = [service_places(pois, inside=inside), community_offices(seeds)]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=pois.crs)
