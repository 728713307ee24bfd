"""Approximate community and street-office areas for the Xuanwu demo (none are published).

The method, step by step:

1. The district's part of the extract: the extract's outline (a buffered concave hull of its
   buildings) cut by the 玄武区 boundary ways the extract holds, on the side of the district's
   label node. Gulou and Qinhuai parts of the extract stay outside every community.
2. A seed per community: its office where OpenStreetMap names one (a name holding the
   community's name + 社区, e.g. 长江路社区居委会), else the place the community is named after
   (the same name: a road, a stop, a square; else a name starting with it, e.g. 香铺营集贸市场),
   the centre of the best matches inside the district part.
3. geo.areas.approximate_areas: Voronoi cells of the seeds, snapped to the major roads.
4. A street office's area is the union of its communities' areas.

Communities without a seed keep no polygon (they are listed in the load log); their buildings
fall into a neighbouring approximate community. Every polygon made here is stored with
boundary_source 'approximate'; `wangge ingest boundaries FILE --level community` replaces it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely

from geo.areas import approximate_areas, side_of
from geo.grids.generate import BARRIER_CLASSES

#: The words after a community's own name in the official list.
SUFFIX = re.compile(r"(社区居民委员会|社区居委会|虚拟社区|社区)$")
#: Road classes that bound blocks (the barrier classes without paths and links).
BLOCK_ROADS = frozenset(c for c in BARRIER_CLASSES if not c.endswith("_link"))


@dataclass
class Approximation:
    """Polygons for the communities and street offices that could be placed."""

    district: shapely.Geometry
    seeds: gpd.GeoDataFrame  # code, name, how, matched (OSM ids), geometry
    communities: gpd.GeoDataFrame  # code, geometry
    streets: gpd.GeoDataFrame  # code, geometry
    unplaced: list[str]  # names of communities without a seed


def stem(name: str) -> str:
    """A community's own name: 长江路社区居委会 → 长江路."""
    return SUFFIX.sub("", name)


def seed_for(name: str, places: gpd.GeoDataFrame) -> tuple[str, list[str], shapely.Point] | None:
    """(how, matched osm ids, point) for one community among named `places`, or None."""
    own = stem(name)
    names = places["name"].astype(str)
    ranks = (
        ("office", names.str.contains(own + "社区", regex=False)),
        ("named place", names == own),
        ("named place (prefix)", names.str.startswith(own)),
    )
    for how, hit in ranks:
        found = places[hit]
        if len(found):
            centre = shapely.MultiPoint([_middle(g) for g in found.geometry]).centroid
            return how, list(found["osm_id"]), centre
    return None


def _middle(geom: shapely.Geometry) -> shapely.Point:
    """A point standing for a place: itself, or the middle of its (longest) line."""
    if geom.geom_type == "Point":
        return geom
    line = max(shapely.get_parts(geom), key=lambda part: part.length)
    return line.interpolate(0.5, normalized=True)


def approximate(
    communities: pd.DataFrame,
    *,
    area: shapely.Geometry,
    boundary_lines: shapely.Geometry,
    label: shapely.Point,
    places: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
) -> Approximation:
    """Steps 1–4 above; `communities` has code, name, street_code; all geometry in EPSG:4326."""
    district = side_of(area, boundary_lines, inside=label)
    places = places[places.geometry.intersects(district)]
    places = places.assign(geometry=places.geometry.intersection(district))
    rows, unplaced = [], []
    for code, name in zip(communities["code"], communities["name"], strict=True):
        found = seed_for(name, places)
        if found is None:
            unplaced.append(name)
            continue
        how, matched, point = found
        rows.append({"code": code, "name": name, "how": how, "matched": matched,
                     "geometry": point})  # fmt: skip
    seeds = gpd.GeoDataFrame(rows, columns=["code", "name", "how", "matched", "geometry"],
                             crs=4326)  # fmt: skip
    barriers = roads[roads["class"].str.lower().isin(BLOCK_ROADS)]
    polygons = approximate_areas(seeds, area=district, barriers=barriers[["geometry"]])
    polygons = polygons[~polygons.geometry.is_empty]
    parents = communities.set_index("code")["street_code"]
    streets = polygons.assign(code=parents.reindex(polygons["code"]).to_numpy()).dissolve(
        by="code", as_index=False
    )[["code", "geometry"]]
    return Approximation(district, seeds, polygons, streets, unplaced)
