"""Barrier lines from an OSM file: water and rail, which grids should not cross.

Water lines are ways tagged ``waterway=river|canal|stream``; water areas (``natural=water``,
``waterway=riverbank``, ``landuse=reservoir|basin``) give their outlines. Rail is
``railway=rail|light_rail|narrow_gauge`` above ground (``tunnel``, and ``subway``, are left
out: they divide nothing on the surface). Each row's ``class`` is the waterway or railway value,
or ``water`` for an area's outline — the classes geo.grids.generate.BARRIER_CLASSES knows.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import osmium
import shapely

from geo.crs import WGS84
from geo.errors import InputError

BARRIER_COLUMNS = ("barrier_id", "name", "class", "source_row")
WATER_LINES = frozenset({"river", "canal", "stream"})
RAIL_LINES = frozenset({"rail", "light_rail", "narrow_gauge"})
WATER_AREAS = (("natural", "water"), ("waterway", "riverbank"), ("landuse", "reservoir"),
               ("landuse", "basin"))  # fmt: skip


def line_class(tags) -> str | None:
    """The barrier class of a way's tags, or None."""
    if tags.get("waterway") in WATER_LINES and tags.get("tunnel") in (None, "no"):
        return tags["waterway"]
    if tags.get("railway") in RAIL_LINES and tags.get("tunnel") in (None, "no"):
        return tags["railway"]
    return None


def is_water_area(tags) -> bool:
    return any(tags.get(k) == v for k, v in WATER_AREAS)


def read_barriers(path: str | Path) -> gpd.GeoDataFrame:
    """Water and rail lines of an OSM file (EPSG:4326), columns BARRIER_COLUMNS + geometry."""
    wkb = osmium.geom.WKBFactory()
    rows: list[dict] = []
    area_filter = osmium.filter.KeyFilter("natural", "waterway", "landuse")
    try:
        for obj in osmium.FileProcessor(str(path)).with_areas(area_filter):
            tags = obj.tags if isinstance(obj, (osmium.osm.Way, osmium.osm.Area)) else None
            if tags is None:
                continue
            try:
                if isinstance(obj, osmium.osm.Way) and (cls := line_class(tags)):
                    geom = shapely.from_wkb(wkb.create_linestring(obj))
                    rows.append(_row(f"osm-way-{obj.id}", tags, cls, geom))
                elif isinstance(obj, osmium.osm.Area) and is_water_area(tags):
                    outline = shapely.boundary(shapely.from_wkb(wkb.create_multipolygon(obj)))
                    kind = "way" if obj.from_way() else "relation"
                    rows.append(_row(f"osm-{kind}-{obj.orig_id()}-water", tags, "water", outline))
            except (RuntimeError, osmium.InvalidLocationError):
                continue  # nodes missing from a clipped extract: the line is left out
    except RuntimeError as exc:
        msg = f"{path}: 无法读取 OSM 文件 (cannot read as an OSM file): {exc}"
        raise InputError(msg) from exc
    frame = gpd.GeoDataFrame(
        rows, columns=[*BARRIER_COLUMNS[:-1], "geometry"], geometry="geometry", crs=WGS84
    )
    frame.insert(3, "source_row", range(1, len(frame) + 1))
    return frame


def _row(barrier_id: str, tags, cls: str, geom: shapely.Geometry) -> dict:
    name = tags.get("name") or tags.get("name:zh") or None
    return {"barrier_id": barrier_id, "name": name, "class": cls, "geometry": geom}
