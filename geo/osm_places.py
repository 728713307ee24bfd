"""Named places and district boundary pieces of an OpenStreetMap extract.

:func:`read_places` gives every named node and way (stops, squares, roads, markets…), to find
where a place named in another source lies. :func:`read_boundary` gives the boundary
ways of one administrative area that the extract holds (often only some of them: an extract cut
from a larger map) and its label point.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import osmium
import shapely

from geo.crs import WGS84
from geo.errors import InputError

__all__ = ["PLACE_COLUMNS", "Boundary", "read_boundary", "read_places"]

PLACE_COLUMNS = ("osm_id", "name", "kind")
#: Keys that say what a named object is, first present wins for ``kind``.
KIND_KEYS = ("place", "public_transport", "railway", "highway", "amenity", "shop", "landuse")


@dataclass(frozen=True)
class Boundary:
    """The pieces of one administrative boundary found in an extract (EPSG:4326)."""

    name: str
    lines: shapely.Geometry  # MultiLineString, possibly empty
    label: shapely.Point | None


def _open(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: file not found"
        raise InputError(msg)
    return path


def _kind(tags) -> str | None:
    key = next((k for k in KIND_KEYS if k in tags), None)
    return None if key is None else f"{key}={tags[key]}"


def read_places(path: str | Path) -> gpd.GeoDataFrame:
    """Every named node and way of the file: ``osm_id`` ('osm-node-<id>' or 'osm-way-<id>'),
    ``name``, ``kind`` ('highway=bus_stop', 'highway=secondary', … or None) and the geometry:
    a point for a node and for a closed way (a point inside it), the line of an open way.
    """
    rows: list[dict] = []
    wkb = osmium.geom.WKBFactory()
    try:
        for obj in osmium.FileProcessor(str(_open(path))).with_locations():
            name = obj.tags.get("name") or obj.tags.get("name:zh")
            if not name:
                continue
            if obj.is_node() and obj.location.valid():
                geom = shapely.Point(obj.location.lon, obj.location.lat)
            elif obj.is_way():
                try:
                    line = shapely.from_wkb(wkb.create_linestring(obj))
                except (RuntimeError, osmium.InvalidLocationError):
                    continue
                closed = obj.is_closed() and len(obj.nodes) > 3
                ring = shapely.Polygon(line.coords) if closed else None
                geom = ring.point_on_surface() if ring is not None and ring.is_valid else line
            else:
                continue
            prefix = "node" if obj.is_node() else "way"
            rows.append(
                {"osm_id": f"osm-{prefix}-{obj.id}", "name": name, "kind": _kind(obj.tags),
                 "geometry": geom}
            )  # fmt: skip
    except RuntimeError as exc:
        msg = f"{path}: cannot read as an OSM file: {exc}"
        raise InputError(msg) from exc
    return gpd.GeoDataFrame(rows, columns=[*PLACE_COLUMNS, "geometry"], crs=WGS84)


def read_boundary(path: str | Path, *, name: str) -> Boundary:
    """The boundary ways of the ``boundary=administrative`` relation called `name` that the
    file holds, joined, and the relation's label node (None when absent)."""
    path = _open(path)
    members: set[int] = set()
    label_ref: int | None = None
    for rel in osmium.FileProcessor(str(path), osmium.osm.RELATION):
        if rel.tags.get("boundary") == "administrative" and rel.tags.get("name") == name:
            for m in rel.members:
                if m.type == "w":
                    members.add(m.ref)
                elif m.type == "n" and m.role == "label":
                    label_ref = m.ref
    lines, label = [], None
    wkb = osmium.geom.WKBFactory()
    for obj in osmium.FileProcessor(str(path)).with_locations():
        if obj.is_node() and obj.id == label_ref and obj.location.valid():
            label = shapely.Point(obj.location.lon, obj.location.lat)
        elif obj.is_way() and obj.id in members:
            try:
                lines.append(shapely.from_wkb(wkb.create_linestring(obj)))
            except (RuntimeError, osmium.InvalidLocationError):
                continue
    return Boundary(name, shapely.line_merge(shapely.MultiLineString(lines)), label)
