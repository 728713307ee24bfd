"""Reading OpenStreetMap extracts (.osm XML, .osm.pbf, compressed XML) with pyosmium.

:func:`read_osm` returns three EPSG:4326 layers:

* ``buildings``: closed ways and multipolygon relations tagged ``building=*`` (not ``no``);
* ``network``: ways tagged ``highway=*`` as LineStrings;
* ``pois``: nodes tagged ``amenity``/``shop``/``office`` and, unless ``area_pois=False``, the
  representative point of ways/relations carrying those tags (community centres are often mapped
  as polygons);
* ``landuse``: areas that say what the land around buildings is used for: ``landuse=*``,
  ``military=*`` and the grounds of schools, universities and hospitals (``amenity`` in
  :data:`SITE_AMENITIES`) that are not themselves buildings.

Extracts cut out of a larger map (Overpass, bounding-box clips) often reference nodes or member
ways that are not in the file. Such objects are skipped and counted in ``OsmLayers.skipped``
(reason → count) instead of failing the whole file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely

from geo.crs import WGS84
from geo.errors import InputError
from geo.osm_barriers import BARRIER_COLUMNS, read_barriers

__all__ = [
    "BUILDING_COLUMNS",
    "LANDUSE_COLUMNS",
    "NETWORK_COLUMNS",
    "POI_COLUMNS",
    "OsmLayers",
    "read_osm",
]

BUILDING_COLUMNS = (
    "building_id",
    "building_type",
    "floors",
    "households",
    "units",
    "name",
    "address",
    "tags",
    "source_row",
)
NETWORK_COLUMNS = ("road_id", "name", "class", "foot", "access", "source_row")
POI_COLUMNS = ("poi_id", "name", "kind", "value", "address", "osm_tags", "source_row")
LANDUSE_COLUMNS = ("landuse_id", "key", "value", "name", "source_row")

#: Keys that make an object a point of interest, in order of precedence for ``kind``.
POI_KEYS = ("amenity", "shop", "office")
#: Tags of a building kept in its ``tags`` column ('key=value;…'): they say what it is used for.
USE_TAGS = (
    "building:use", "amenity", "shop", "office", "tourism", "healthcare", "education",
    "public_transport", "railway", "leisure", "military",
)  # fmt: skip
#: ``amenity`` values whose areas are grounds (a campus, a hospital) rather than one building.
SITE_AMENITIES = frozenset({"school", "university", "college", "kindergarten", "hospital"})
#: Tags giving a dwelling count, first present wins.
HOUSEHOLD_TAGS = ("building:flats", "flats", "addr:flats")
#: Address tags, in the order of a Chinese address (large to small).
ADDRESS_TAGS = (
    "addr:province",
    "addr:city",
    "addr:district",
    "addr:subdistrict",
    "addr:street",
    "addr:place",
    "addr:housenumber",
    "addr:housename",
)
#: Storey counts outside this range are treated as tagging errors.
MAX_FLOORS = 200

_NUMBER = re.compile(r"(?<![\d.])-?\d+(?:\.\d+)?")  # '5-6' is a range, not 5 and -6
_CJK = re.compile(r"[\u4e00-\u9fff]")
_PLAIN_NUMBER = re.compile(r"^\d+(?:-\d+)?$")


@dataclass(frozen=True, eq=False)
class OsmLayers:
    """The layers read from one OSM file, all in EPSG:4326.

    Attributes
    ----------
    buildings : GeoDataFrame
        Columns :data:`BUILDING_COLUMNS` + geometry (Polygon/MultiPolygon).
    network : GeoDataFrame
        Columns :data:`NETWORK_COLUMNS` + geometry (LineString).
    pois : GeoDataFrame
        Columns :data:`POI_COLUMNS` + geometry (Point).
    landuse : GeoDataFrame
        Columns :data:`LANDUSE_COLUMNS` + geometry (Polygon/MultiPolygon).
    skipped : Mapping[str, int]
        Objects left out, by reason (only reasons that occurred).
    """

    buildings: gpd.GeoDataFrame
    network: gpd.GeoDataFrame
    pois: gpd.GeoDataFrame
    skipped: Mapping[str, int] = field(default_factory=dict)
    landuse: gpd.GeoDataFrame = field(default_factory=lambda: _frame([], LANDUSE_COLUMNS))
    #: water and rail lines grids should not cross (geo.osm_barriers)
    barriers: gpd.GeoDataFrame = field(default_factory=lambda: _frame([], BARRIER_COLUMNS))


def parse_count(value: str | None, *, low: int = 0, high: int | None = None) -> int | None:
    """Parse an OSM count tag (``'6'``, ``'6.0'``, ``'6;7'``, ``'5-6'``) to an int.

    Parameters
    ----------
    value : str or None
        The tag value.
    low, high : int
        Sensible range, inclusive; numbers outside it are ignored.

    Returns
    -------
    int or None
        The largest sensible whole number in the value (fractions are truncated), or None.
    """
    if value is None:
        return None
    numbers = [int(float(n)) for n in _NUMBER.findall(value)]
    sensible = [n for n in numbers if n >= low and (high is None or n <= high)]
    return max(sensible) if sensible else None


def assemble_address(tags: Mapping[str, str]) -> str | None:
    """Build a Chinese-order address from ``addr:*`` tags, or None when there are none.

    ``addr:full`` wins when present. A purely numeric house number after a Chinese street name
    gets the suffix 号 (``中山路`` + ``18`` → ``中山路18号``).
    """
    full = (tags.get("addr:full") or "").strip()
    if full:
        return full
    parts = [(key, (tags.get(key) or "").strip()) for key in ADDRESS_TAGS]
    parts = [(key, text) for key, text in parts if text]
    if not parts:
        return None
    street = tags.get("addr:street") or tags.get("addr:place") or ""
    out = []
    for key, text in parts:
        if key == "addr:housenumber" and _PLAIN_NUMBER.match(text) and _CJK.search(street):
            text += "号"
        out.append(text)
    return "".join(out)


def _name(tags: Mapping[str, str]) -> str | None:
    return tags.get("name") or tags.get("name:zh") or None


def _to_shapely(wkb_hex: str) -> shapely.Geometry:
    geom = shapely.from_wkb(wkb_hex)
    if geom.geom_type == "MultiPolygon" and len(geom.geoms) == 1:
        return geom.geoms[0]
    return geom


class _Collector:
    """Accumulates rows of the three layers while the file is streamed."""

    def __init__(self, *, area_pois: bool, node_ids: bool = False) -> None:
        self.area_pois = area_pois
        self.node_ids = node_ids
        self.way_nodes: list[tuple[int, ...]] = []  # per network row, when node_ids is set
        self.wkb = osmium.geom.WKBFactory()
        self.buildings: list[dict] = []
        self.network: list[dict] = []
        self.pois: list[dict] = []
        self.landuse: list[dict] = []
        self.skipped: Counter[str] = Counter()
        self.building_ways: set[int] = set()  # closed, all locations present
        self.building_relations: set[int] = set()
        self.assembled_ways: set[int] = set()
        self.assembled_relations: set[int] = set()

    def node(self, obj: osmium.osm.Node) -> None:
        tags = dict(obj.tags)
        if "building" in tags and tags["building"] != "no":
            self.skipped["building node without footprint"] += 1
        kind = next((key for key in POI_KEYS if key in tags), None)
        if kind is None:
            return
        if not obj.location.valid():
            self.skipped["poi node without location"] += 1
            return
        self.pois.append(
            self._poi_row(f"osm-node-{obj.id}", tags, kind, obj.location.lon, obj.location.lat)
        )

    def way(self, obj: osmium.osm.Way) -> None:
        tags = dict(obj.tags)
        is_building = "building" in tags and tags["building"] != "no"
        if not (is_building or "highway" in tags):
            return
        complete = all(n.location.valid() for n in obj.nodes)
        if is_building:
            if not obj.is_closed():
                self.skipped["building way not closed"] += 1
            elif not complete:
                self.skipped["building way with missing node locations"] += 1
            else:
                self.building_ways.add(obj.id)
        if "highway" in tags:
            self._highway(obj, tags, complete)

    def _highway(self, obj: osmium.osm.Way, tags: dict[str, str], complete: bool) -> None:
        if not complete:
            self.skipped["highway way with missing node locations"] += 1
            return
        try:
            geom = shapely.from_wkb(self.wkb.create_linestring(obj))
        except (RuntimeError, osmium.InvalidLocationError):  # fewer than 2 distinct points
            self.skipped["highway way with fewer than 2 distinct points"] += 1
            return
        if self.node_ids:  # one id per coordinate: osmium drops repeated locations
            refs, last = [], None
            for n in obj.nodes:
                if n.location != last:
                    refs.append(n.ref)
                    last = n.location
            self.way_nodes.append(tuple(refs))
        self.network.append(
            {
                "road_id": f"osm-way-{obj.id}",
                "name": _name(tags),
                "class": tags["highway"],
                "foot": tags.get("foot"),
                "access": tags.get("access"),
                "geometry": geom,
            }
        )

    def relation(self, obj: osmium.osm.Relation) -> None:
        tags = obj.tags
        if tags.get("type") in {"multipolygon", "boundary"} and tags.get("building", "no") != "no":
            self.building_relations.add(obj.id)

    def area(self, obj: osmium.osm.Area) -> None:
        tags = dict(obj.tags)
        is_building = "building" in tags and tags["building"] != "no"
        kind = next((key for key in POI_KEYS if key in tags), None) if self.area_pois else None
        use = None if is_building else _land_use(tags)
        if not (is_building or kind or use):
            return
        osm_type = "way" if obj.from_way() else "relation"
        osm_id = f"osm-{osm_type}-{obj.orig_id()}"
        try:
            geom = _to_shapely(self.wkb.create_multipolygon(obj))
        except (RuntimeError, osmium.InvalidLocationError):
            self.skipped[f"{osm_type} area with broken geometry"] += 1
            return
        if is_building:
            (self.assembled_ways if obj.from_way() else self.assembled_relations).add(obj.orig_id())
            self.buildings.append(self._building_row(osm_id, tags, geom))
        if kind:
            point = shapely.point_on_surface(geom)
            self.pois.append(self._poi_row(osm_id, tags, kind, point.x, point.y))
        if use:
            key, value = use
            self.landuse.append(
                {"landuse_id": osm_id, "key": key, "value": value, "name": _name(tags)}
                | {"geometry": geom}
            )

    @staticmethod
    def _building_row(osm_id: str, tags: dict[str, str], geom: shapely.Geometry) -> dict:
        counts = (parse_count(tags.get(tag)) for tag in HOUSEHOLD_TAGS)
        households = next((count for count in counts if count is not None), None)
        return {
            "building_id": osm_id,
            "building_type": tags["building"],
            "floors": parse_count(tags.get("building:levels"), low=1, high=MAX_FLOORS),
            "households": households,
            "units": None,
            "name": _name(tags),
            "address": assemble_address(tags),
            "tags": ";".join(f"{k}={tags[k]}" for k in USE_TAGS if k in tags) or None,
            "geometry": geom,
        }

    @staticmethod
    def _poi_row(osm_id: str, tags: dict[str, str], kind: str, lon: float, lat: float) -> dict:
        return {
            "poi_id": osm_id,
            "name": _name(tags),
            "kind": kind,
            "value": tags[kind],
            "address": assemble_address(tags),
            "osm_tags": dict(tags),  # all of them: the station rules read more than the kind
            "geometry": shapely.Point(lon, lat),
        }

    def finish(self) -> Counter[str]:
        """Count building candidates that libosmium could not assemble into areas."""
        ways = len(self.building_ways - self.assembled_ways)
        relations = len(self.building_relations - self.assembled_relations)
        if ways:
            self.skipped["building way not assembled into an area"] += ways
        if relations:
            self.skipped["building relation incomplete or with broken rings"] += relations
        return self.skipped


def _land_use(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """The (key, value) that makes an area a land-use area, or None."""
    if tags.get("landuse"):
        return "landuse", tags["landuse"]
    if tags.get("military"):
        return "military", tags["military"]
    if tags.get("amenity") in SITE_AMENITIES:
        return "amenity", tags["amenity"]
    return None


def _frame(rows: list[dict], columns: tuple[str, ...], int_columns: tuple[str, ...] = ()):
    table = pd.DataFrame(rows, columns=[c for c in columns if c != "source_row"] + ["geometry"])
    for column in table.columns.drop("geometry"):
        if column in int_columns:
            table[column] = pd.array(table[column].tolist(), dtype="Int64")
        else:  # text: keep None (not NaN) for missing values, whatever pandas infers
            values = [None if pd.isna(v) else v for v in table[column].tolist()]
            table[column] = pd.Series(values, index=table.index, dtype=object)
    table["source_row"] = np.arange(1, len(table) + 1, dtype="int64")
    table = table[[*columns, "geometry"]]
    return gpd.GeoDataFrame(table, geometry="geometry", crs=WGS84)


def read_osm(path: str | Path, *, area_pois: bool = True, node_ids: bool = False) -> OsmLayers:
    """Read buildings, the highway network and points of interest from an OSM file.

    Parameters
    ----------
    path : str or Path
        ``.osm`` (XML), ``.osm.pbf``, or XML compressed as ``.osm.bz2``/``.osm.gz``.
    area_pois : bool, default True
        Also turn ways/relations tagged amenity/shop/office into POIs at a point inside them.
    node_ids : bool, default False
        Add a ``node_ids`` column to ``network``: the OSM node id of each coordinate of the
        line (ways sharing a node id are joined there; a bridge over a road shares none).

    Returns
    -------
    OsmLayers
        ``buildings`` (building_id 'osm-way-<id>'/'osm-relation-<id>', building_type, floors
        Int64 from building:levels, households Int64 from building:flats/flats, units Int64
        (always missing), name, address, source_row), ``network`` (road_id, name, class = the
        highway value, foot, access, source_row), ``pois`` (poi_id 'osm-node-<id>' or the
        area's id, name, kind = 'amenity'|'shop'|'office', value, address, osm_tags = a dict
        of all the object's tags, source_row),
        ``landuse`` (landuse_id, key = 'landuse'|'military'|'amenity', value, name, source_row)
        and ``skipped`` counts. Buildings' ``tags`` keeps their :data:`USE_TAGS` as
        'key=value;…' (None without any). ``source_row`` is the 1-based order within each layer.

    Raises
    ------
    InputError
        If the file is missing or libosmium cannot read it.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: file not found"
        raise InputError(msg)
    collector = _Collector(area_pois=area_pois, node_ids=node_ids)
    relation_filter = osmium.filter.KeyFilter("building", *POI_KEYS, "landuse", "military")
    handlers = {
        osmium.osm.Node: collector.node,
        osmium.osm.Way: collector.way,
        osmium.osm.Relation: collector.relation,
        osmium.osm.Area: collector.area,
    }
    try:
        for obj in osmium.FileProcessor(str(path)).with_areas(relation_filter):
            handler = handlers.get(type(obj))
            if handler is not None:
                handler(obj)
    except RuntimeError as exc:
        msg = f"{path}: cannot read as an OSM file: {exc}"
        raise InputError(msg) from exc
    skipped = collector.finish()
    network = _frame(collector.network, NETWORK_COLUMNS)
    if node_ids:
        network.insert(
            len(NETWORK_COLUMNS), "node_ids", pd.Series(collector.way_nodes, dtype=object)
        )
    return OsmLayers(
        buildings=_frame(collector.buildings, BUILDING_COLUMNS, ("floors", "households", "units")),
        network=network,
        pois=_frame(collector.pois, POI_COLUMNS),
        skipped=dict(sorted(skipped.items())),
        landuse=_frame(collector.landuse, LANDUSE_COLUMNS),
        barriers=read_barriers(path),
    )
