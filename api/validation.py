"""Shared checks of what clients write: geometries, coordinates and text.

Pure checks (GeoJSON structure, coordinate system, lat/lon order, vertex count, validity, text)
raise ``ValueError`` inside pydantic validators, so a bad request is a 422 naming the field
and the problem. The service-area check needs the database: ``require_in_service_area``
raises ``InputError`` (422) from a route.

Routers use the ``Annotated`` types (``Text``, ``Line``, ``Identifier``) and
``check_geojson_geometry``/``check_lon_lat``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import shapely
from pydantic import AfterValidator, Field
from shapely.errors import GEOSException
from shapely.geometry import MultiPolygon, Polygon, shape
from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from geo.errors import InputError

WGS84_NAMES = {
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "urn:ogc:def:crs:epsg::4326",
    "epsg:4326",
    "crs84",
    "wgs84",
}
GEOMETRY_TYPES = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
)
M_PER_DEG = 111_320.0


def _max_vertices() -> int:
    from api.settings import get_settings

    return get_settings().max_vertices


# -- text -------------------------------------------------------------------------------------

# control characters, line/paragraph separators, the byte-order mark and the bidirectional
# controls (U+202E shows "gpj.exe" as "exe.jpg"): never part of a name or a description
HIDDEN = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
    r"\u2066-\u2069\ufeff]"
)
_CONTROL = HIDDEN


def clean_text(value: str, *, multiline: bool = False) -> str:
    """`value` stripped and NFC-normalised; ValueError for control characters.

    Tabs and line breaks are allowed where `multiline` (descriptions, notes), nowhere else.
    """
    value = unicodedata.normalize("NFC", value).strip()
    bad = _CONTROL.search(value) or (None if multiline else re.search(r"[\t\r\n]", value))
    if bad:
        msg = (
            f"含有控制字符 U+{ord(bad.group()):04X}（第 {bad.start()} 个字符），请发送纯文本 "
            f"(contains the control character U+{ord(bad.group()):04X} at position {bad.start()}"
            "; send plain text)"
        )
        raise ValueError(msg)
    if "\x00" in value:
        msg = "contains a NUL character"
        raise ValueError(msg)
    return value


def _line(value: str) -> str:
    return clean_text(value)


def _text(value: str) -> str:
    return clean_text(value, multiline=True)


def _not_blank(value: str) -> str:
    if not value:
        msg = "is empty"
        raise ValueError(msg)
    return value


# one line of text (names, titles, addresses): no line breaks or other control characters
Line = Annotated[str, Field(max_length=200), AfterValidator(_line), AfterValidator(_not_blank)]
# free text (descriptions, notes): line breaks allowed, other control characters not
Text = Annotated[str, Field(max_length=4000), AfterValidator(_text)]
# identifiers of stored things (building ids, usernames): short, printable, no spaces inside
Identifier = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[^\s\x00-\x1f\x7f]+$"), AfterValidator(_line)
]


# -- coordinates ------------------------------------------------------------------------------


def check_crs(crs: Any) -> None:
    """ValueError unless a GeoJSON `crs` member (2008 spec) names WGS-84 lon/lat."""
    if crs is None:
        return
    name = None
    if isinstance(crs, dict):
        name = (crs.get("properties") or {}).get("name") if crs.get("type") == "name" else None
    elif isinstance(crs, str):
        name = crs
    if not isinstance(name, str) or name.strip().lower() not in WGS84_NAMES:
        msg = (
            f"wrong coordinate system {name or crs!r}: positions must be WGS-84 "
            "[longitude, latitude] (EPSG:4326 / CRS84); convert them first or leave out `crs`"
        )
        raise ValueError(msg)


def coordinate_problem(xy: np.ndarray) -> str | None:
    """Why positions (n × 2, x = lon, y = lat) are not WGS-84 lon/lat, or None when they are."""
    if len(xy) == 0:
        return None
    finite = np.isfinite(xy).all(axis=1)
    if not finite.all():
        k = int(np.flatnonzero(~finite)[0])
        return f"position {k + 1} {xy[k].tolist()} is not a finite number"
    x, y = xy[:, 0], xy[:, 1]
    if (np.abs(x) <= 180).all() and (np.abs(y) <= 90).all():
        return None
    k = int(np.flatnonzero((np.abs(x) > 180) | (np.abs(y) > 90))[0])
    where = f"position {k + 1} {xy[k].tolist()}"
    if (np.abs(xy) > 1000).any():
        return (
            f"{where} looks like projected metres (Web Mercator, UTM or a CGCS2000 zone), "
            "not degrees: send WGS-84 [longitude, latitude]"
        )
    if (np.abs(y) <= 180).all() and (np.abs(x) <= 90).all():
        return f"{where} looks like [latitude, longitude]: swap them to [longitude, latitude]"
    return f"{where} is out of range: longitude must be -180..180 and latitude -90..90"


def check_lon_lat(lon: float, lat: float) -> None:
    """ValueError naming the problem for a point that is not WGS-84 lon/lat."""
    if problem := coordinate_problem(np.array([[lon, lat]], dtype=float)):
        raise ValueError(problem.replace("position 1 ", "the point "))


def check_geojson_geometry(
    geometry: Any,
    *,
    kinds: Iterable[str] = GEOMETRY_TYPES,
    max_vertices: int | None = None,
    valid: bool = True,
) -> shapely.Geometry:
    """The shapely geometry of a GeoJSON geometry dict, or ValueError saying what is wrong.

    Checks the type (one of `kinds`), the structure, the coordinates (finite, WGS-84 lon/lat,
    not swapped, not projected), the vertex count and, if `valid`, validity (self-intersections
    and the like, with the place where they are). With ``valid=False`` an invalid geometry is
    returned as it is, for callers that report it themselves (grid layer validation).
    """
    kinds = tuple(kinds)
    if not isinstance(geometry, dict):
        msg = f"a geometry must be a GeoJSON object, got {type(geometry).__name__}"
        raise ValueError(msg)
    kind = geometry.get("type")
    if kind not in kinds:
        msg = f"geometry type {kind!r} is not accepted here; expected {' or '.join(kinds)}"
        raise ValueError(msg)
    check_crs(geometry.get("crs"))
    limit = max_vertices or _max_vertices()
    geom = _plain_polygon(kind, geometry.get("coordinates"), limit)
    if geom is None:
        geom = _checked_shape(geometry, kind, limit)
    if geom.is_empty:
        msg = f"the {kind} is empty"
        raise ValueError(msg)
    if valid and not geom.is_valid:
        msg = f"the {kind} is invalid: {shapely.is_valid_reason(geom)}; fix it before sending"
        raise ValueError(msg)
    return geom


_NUMBER = (float, int)  # exact types: bool is an int but never a coordinate


def _plain_polygon(kind: str, coords: Any, limit: int) -> shapely.Geometry | None:
    """The (Multi)Polygon of plain coordinates (closed rings of [lon, lat] numbers in range, at
    most `limit` positions), or None for anything else: _checked_shape then says what is wrong.
    The fast path of a layer's worth of polygons; the result is what shape() makes of them."""
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if type(polygons) is not list or not polygons:
        return None
    built, count = [], 0
    for rings in polygons:
        if type(rings) is not list or not rings:
            return None
        arrays = []
        for ring in rings:
            if (
                type(ring) is not list
                or len(ring) < 4
                or not all(
                    type(p) is list
                    and len(p) == 2
                    and type(p[0]) in _NUMBER
                    and type(p[1]) in _NUMBER
                    for p in ring
                )
            ):
                return None
            xy = np.array(ring, dtype=float)
            count += len(xy)
            if count > limit or (xy[0] != xy[-1]).any() or coordinate_problem(xy):
                return None
            arrays.append(xy)
        built.append(Polygon(arrays[0], arrays[1:]))
    return built[0] if kind == "Polygon" else MultiPolygon(built)


def _checked_shape(geometry: dict, kind: str, limit: int) -> shapely.Geometry:
    """The shapely geometry of any GeoJSON geometry, or ValueError saying what is wrong."""
    positions = _positions(geometry.get("coordinates"), limit)
    if len(positions) > limit:
        msg = f"the geometry has more than {limit} vertices (WANGGE_MAX_VERTICES); simplify it"
        raise ValueError(msg)
    if short := [p for p in positions if len(p) < 2]:
        msg = f"position {short[0]} has fewer than 2 numbers; positions are [longitude, latitude]"
        raise ValueError(msg)
    xy = np.array([p[:2] for p in positions], dtype=float).reshape(-1, 2)
    if problem := coordinate_problem(xy):
        raise ValueError(problem)
    if problem := _open_ring(kind, geometry.get("coordinates")):
        raise ValueError(problem)
    try:
        geom = shapely.force_2d(shape(geometry))
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, GEOSException) as exc:
        msg = (
            f"the coordinates are not a {kind} (GeoJSON positions are [longitude, latitude]"
            f"{', rings of at least 4 positions, closed' if 'Polygon' in kind else ''}): {exc}"
        )
        raise ValueError(msg) from None
    return geom


def _open_ring(kind: str, coords: Any) -> str | None:
    """Why a (Multi)Polygon has a ring whose last position is not its first, or None."""
    polygons = {"Polygon": [coords], "MultiPolygon": coords}.get(kind) or []
    for p, rings in enumerate(polygons, start=1):
        for r, ring in enumerate(rings if isinstance(rings, list) else [], start=1):
            ends = [ring[0], ring[-1]] if isinstance(ring, list) and ring else []
            if all(isinstance(e, list) for e in ends) and ends and ends[0][:2] != ends[1][:2]:
                return (
                    f"第 {p} 个多边形的第 {r} 个环未闭合 (ring {r} of polygon {p} is not closed: "
                    f"it starts at {ring[0][:2]} and ends at {ring[-1][:2]}; repeat the first "
                    "position at the end)"
                )
    return None


def _positions(coords: Any, limit: int) -> list[list[float]]:
    """The positions (lists of numbers) in nested GeoJSON coordinates, up to `limit` + 1."""
    found: list[list[float]] = []
    stack = [coords]
    while stack and len(found) <= limit:
        item = stack.pop()
        if not isinstance(item, list | tuple):
            shown = str(_printable(item))[:60]
            msg = (
                f"坐标须为数字 (coordinates must be numbers, [longitude, latitude] in nested "
                f"lists): found {type(item).__name__} {shown!r}"
            )
            raise ValueError(msg)
        if item and all(isinstance(v, int | float) and not isinstance(v, bool) for v in item):
            found.append(list(item))
        else:
            stack.extend(item)
    return found


# -- the service area -------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceArea:
    """The extent of the loaded districts and communities, widened by `margin_m`."""

    minx: float
    miny: float
    maxx: float
    maxy: float
    margin_m: float

    def contains(self, xy: np.ndarray) -> np.ndarray:
        x, y = xy[:, 0], xy[:, 1]
        return (x >= self.minx) & (x <= self.maxx) & (y >= self.miny) & (y <= self.maxy)

    def describe(self) -> str:
        box = ", ".join(f"{v:.4f}" for v in (self.minx, self.miny, self.maxx, self.maxy))
        return f"[{box}] (the loaded districts and communities + {self.margin_m:g} m)"


def service_area(session: Session, *, margin_m: float | None = None) -> ServiceArea | None:
    """The service area of the database, or None when no district or community is loaded."""
    from api.settings import get_settings
    from api.storage import models

    margin = get_settings().service_area_margin_m if margin_m is None else margin_m
    parts = union_all(
        select(models.District.geom.label("g")), select(models.Community.geom.label("g"))
    ).subquery()
    box = select(
        func.ST_XMin(func.ST_Extent(parts.c.g)),
        func.ST_YMin(func.ST_Extent(parts.c.g)),
        func.ST_XMax(func.ST_Extent(parts.c.g)),
        func.ST_YMax(func.ST_Extent(parts.c.g)),
    )
    minx, miny, maxx, maxy = session.execute(box).one()
    if minx is None:
        return None
    dy = margin / M_PER_DEG
    dx = margin / (M_PER_DEG * max(math.cos(math.radians(max(abs(miny), abs(maxy)))), 0.01))
    return ServiceArea(minx - dx, miny - dy, maxx + dx, maxy + dy, margin)


def require_in_service_area(
    session: Session, geometries: Iterable[shapely.Geometry | None], *, what: str = "geometry"
) -> None:
    """InputError (422) when a geometry has a vertex outside the service area.

    Says "swapped" when the positions read as [latitude, longitude] would lie inside.
    """
    area = service_area(session)
    if area is None:
        return
    for number, geom in enumerate(geometries, start=1):
        if geom is None:
            continue
        xy = shapely.get_coordinates(geom)
        if len(xy) == 0 or area.contains(xy).all():
            continue
        name = f"{what} {number}"
        if area.contains(xy[:, ::-1]).all():
            msg = (
                f"第 {number} 个图形的坐标是 [纬度, 经度]，请换成 [经度, 纬度] / "
                f"{name} has [latitude, longitude] positions: swap them to [longitude, latitude]"
            )
        else:
            k = int(np.flatnonzero(~area.contains(xy))[0])
            msg = (
                f"第 {number} 个图形的位置 {xy[k].tolist()} 超出服务范围，"
                f"坐标应为 WGS-84 [经度, 纬度] / "
                f"{name}: position {xy[k].tolist()} is outside the service area "
                f"{area.describe()}; is it in WGS-84 [longitude, latitude]?"
            )
        raise InputError(msg)


# -- 422 answers ------------------------------------------------------------------------------


ECHO_CHARS, ECHO_ITEMS, ECHO_DEPTH = 200, 20, 6  # how much of a bad input a 422 repeats


def _printable(value: Any, depth: int = 0) -> Any:
    """`value` made JSON-ready and small: text and bytes cut at ECHO_CHARS characters, lists and
    objects at ECHO_ITEMS items and ECHO_DEPTH levels, NaN and ±Infinity as text."""
    if isinstance(value, bytes | bytearray):
        value = bytes(value[:ECHO_CHARS]).decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value[:ECHO_CHARS] + ("…" if len(value) > ECHO_CHARS else "")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or Infinity
    if isinstance(value, int | float | bool) or value is None:
        return value
    if isinstance(value, dict | list | tuple) and depth >= ECHO_DEPTH:
        return "…"
    if isinstance(value, dict):
        items = list(value.items())
        out = {str(k)[:ECHO_CHARS]: _printable(v, depth + 1) for k, v in items[:ECHO_ITEMS]}
        return out | ({"…": f"{len(items) - ECHO_ITEMS} more"} if len(items) > ECHO_ITEMS else {})
    if isinstance(value, list | tuple):
        out = [_printable(v, depth + 1) for v in value[:ECHO_ITEMS]]
        return out + (["…"] if len(value) > ECHO_ITEMS else [])
    return _printable(str(value), depth)


async def request_validation_handler(request: Any, exc: Any) -> Any:
    """FastAPI's 422 for invalid requests, safe for any input (binary bodies included); each
    error's `msg` in Chinese naming the field, the framework's English in `msg_en`."""
    from fastapi.responses import JSONResponse

    from api.request_errors import chinese

    errors = [
        {k: _printable(v) for k, v in error.items() if k != "url"}
        | {"msg": _printable(chinese(error)), "msg_en": _printable(error.get("msg", ""))}
        for error in exc.errors()
    ]
    return JSONResponse(status_code=422, content={"detail": errors})


def register_validation_errors(app: Any) -> None:
    from fastapi.exceptions import RequestValidationError

    app.add_exception_handler(RequestValidationError, request_validation_handler)
