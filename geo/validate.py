"""Row-level checks of input features before they are stored or used.

:func:`validate_features` splits a frame into the rows that can be used and a list of
:class:`RowProblem` naming the source row, the feature id and the reason. One rejecting reason is
reported per row, the first of: missing id, missing/empty geometry, coordinates (non-finite, out
of lon/lat range, lat/lon swapped, outside ``bounds``), wrong geometry type for the kind,
unrepairable geometry, bad attribute values (buildings), duplicate id. Invalid geometries that
``shapely.make_valid`` repairs are kept; they are listed in ``Validated.repaired``, not in
``Validated.problems`` (which holds exactly the rejected rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import require_crs
from geo.errors import InputError

__all__ = ["KINDS", "RowProblem", "Validated", "as_multipolygon", "validate_features"]


@dataclass(frozen=True)
class _Kind:
    id_column: str
    types: tuple[str, ...]


KINDS: dict[str, _Kind] = {
    "buildings": _Kind("building_id", ("Polygon", "MultiPolygon", "Point")),
    "roads": _Kind("road_id", ("LineString", "MultiLineString")),
    "boundaries": _Kind("code", ("Polygon", "MultiPolygon")),
    "stations": _Kind("station_id", ("Point", "Polygon", "MultiPolygon")),
    "pois": _Kind("poi_id", ("Point",)),
}
_POLYGONS = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class RowProblem:
    """One problem found in one source row.

    Attributes
    ----------
    row : int
        ``source_row`` of the record (1-based position when the frame has no such column).
    id : str or None
        The feature's id, when it has one.
    reason : str
        What is wrong, in words.
    """

    row: int
    id: str | None
    reason: str


@dataclass(frozen=True, eq=False)
class Validated:
    """Result of :func:`validate_features`.

    Attributes
    ----------
    frame : GeoDataFrame
        The good rows only.
    problems : tuple of RowProblem
        One entry per rejected row, in row order.
    repaired : tuple of RowProblem
        Rows kept after ``shapely.make_valid`` fixed their geometry (reason names the defect).
    """

    frame: gpd.GeoDataFrame
    problems: tuple[RowProblem, ...]
    repaired: tuple[RowProblem, ...] = ()


def as_multipolygon(geoms):
    """Promote Polygons to single-part MultiPolygons; other geometries pass unchanged.

    Parameters
    ----------
    geoms : GeoSeries or array-like of shapely geometries

    Returns
    -------
    GeoSeries or numpy.ndarray
        Same kind of container as given (a GeoSeries keeps index, name and CRS).
    """
    if isinstance(geoms, gpd.GeoSeries):
        values = as_multipolygon(np.asarray(geoms.array, dtype=object))
        return gpd.GeoSeries(values, index=geoms.index, crs=geoms.crs, name=geoms.name)
    out = np.array(geoms, dtype=object)
    polygon = shapely.get_type_id(out) == shapely.GeometryType.POLYGON
    if polygon.any():
        out[polygon] = shapely.multipolygons(out[polygon], indices=np.arange(polygon.sum()))
    return out


def _id_text(value) -> str | None:
    """An id as text; None for missing/blank. Whole floats lose their '.0' (12.0 → '12')."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _parts(geom, dimension: int) -> list:
    """The parts of ``geom`` (flattened) whose dimension is ``dimension``."""
    if geom.is_empty:
        return []
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in _parts(g, dimension)]
    return [geom] if shapely.get_dimensions(geom) == dimension else []


def _repair(geom, dimension: int):
    """``make_valid`` and keep the parts of the wanted dimension; None when nothing is left."""
    parts = _parts(shapely.make_valid(geom), dimension)
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return {2: shapely.MultiPolygon, 1: shapely.MultiLineString, 0: shapely.MultiPoint}[dimension](
        parts
    )


def _coordinate_reason(coords: np.ndarray, bounds) -> str | None:
    """Why a geometry's vertices are implausible, or None when they are fine."""
    lon, lat = coords[:, 0], coords[:, 1]
    if not np.isfinite(coords).all():
        return "non-finite coordinates (NaN or infinity)"
    outside = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if outside.any():
        x, y = lon[outside][0], lat[outside][0]
        if abs(x) <= 90 and abs(y) <= 180:
            return f"coordinates look like lat/lon swapped (lon={x:g}, lat={y:g})"
        return (
            f"coordinates out of range (lon={x:g}, lat={y:g}; "
            "expected lon in [-180, 180], lat in [-90, 90])"
        )
    if bounds is not None:
        west, south, east, north = bounds
        off = (lon < west) | (lon > east) | (lat < south) | (lat > north)
        if off.any():
            x, y = lon[off][0], lat[off][0]
            if west <= y <= east and south <= x <= north:
                return f"coordinates look like lat/lon swapped (lon={x:g}, lat={y:g})"
            return f"coordinates outside bounds {tuple(bounds)} (lon={x:g}, lat={y:g})"
    return None


def _count_reason(name: str, value, *, whole: bool) -> str | None:
    """Why a count attribute is unusable (households, floors, units), or None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return f"{name} is not a number: {value!r}"
    shown = repr(value) if isinstance(value, str) else f"{number:g}"
    if not np.isfinite(number):
        return f"{name} is not a finite number: {shown}"
    if number < 0:
        return f"{name} is negative: {shown}"
    if whole and not number.is_integer():
        return f"{name} is not a whole number: {shown}"
    return None


def validate_features(
    frame: gpd.GeoDataFrame,
    *,
    kind: str,
    id_column: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> Validated:
    """Check features row by row; keep the good rows and report the others.

    Parameters
    ----------
    frame : GeoDataFrame
        Features in EPSG:4326, e.g. from :func:`geo.io.read_vector`.
    kind : {'buildings', 'roads', 'boundaries', 'stations', 'pois'}
        What the features are; decides the id column and the allowed geometry types
        (buildings: Polygon/MultiPolygon/Point; roads: LineString/MultiLineString; boundaries:
        Polygon/MultiPolygon; stations: Point, or a polygon replaced by its representative
        point; pois: Point).
    id_column : str, optional
        Defaults to building_id, road_id, code, station_id, poi_id by kind.
    bounds : (lon_min, lat_min, lon_max, lat_max), optional
        Area the data must lie in; a vertex outside it rejects the row.

    Returns
    -------
    Validated
        ``frame``: the good rows (same columns, original index; ids as str; repaired
        geometries; for buildings ``households`` and ``units`` as Int64). ``problems``: one
        :class:`RowProblem` per rejected row. ``repaired``: rows kept with a fixed geometry.

    Raises
    ------
    InputError
        Unknown kind or id column not in the frame.
    CRSMismatchError
        If the frame is not in EPSG:4326.
    """
    if kind not in KINDS:
        msg = f"unknown kind {kind!r}; expected one of {sorted(KINDS)}"
        raise InputError(msg)
    spec = KINDS[kind]
    id_column = id_column or spec.id_column
    if id_column not in frame.columns:
        msg = f"{kind}: id column {id_column!r} not found; columns are {list(frame.columns)}"
        raise InputError(msg)
    require_crs(frame, name=kind)

    n = len(frame)
    rows = frame["source_row"].to_numpy() if "source_row" in frame.columns else np.arange(1, n + 1)
    ids = [_id_text(v) for v in frame[id_column].tolist()]
    geoms = np.asarray(frame.geometry.array, dtype=object)
    reasons: list[str | None] = [None] * n
    notes: list[str | None] = [None] * n
    fixed = geoms.copy()

    coords, owner = shapely.get_coordinates(geoms, return_index=True, include_z=False)
    starts = np.searchsorted(owner, np.arange(n + 1))
    counts = _count_reasons(frame) if kind == "buildings" else [None] * n
    valid = shapely.is_valid(geoms)  # one call for all rows (None and empty rows are caught first)
    for i in range(n):
        if ids[i] is None:
            reasons[i] = f"missing id in column {id_column!r}"
            continue
        vertices = coords[starts[i] : starts[i + 1]]
        reasons[i], notes[i], fixed[i] = _check_geometry(
            geoms[i], vertices, kind, bounds, valid=bool(valid[i])
        )
        if reasons[i] is None:
            reasons[i] = counts[i]

    first_seen: dict[str, int] = {}
    for i, key in enumerate(ids):
        if key is None:
            continue
        if key in first_seen:
            if reasons[i] is None:
                reasons[i] = f"duplicate id {key!r} (first seen in row {rows[first_seen[key]]})"
        else:
            first_seen[key] = i

    problems = tuple(
        RowProblem(int(rows[i]), ids[i], reason) for i, reason in enumerate(reasons) if reason
    )
    repaired = tuple(
        RowProblem(int(rows[i]), ids[i], note)
        for i, note in enumerate(notes)
        if note and reasons[i] is None
    )
    good = np.array([r is None for r in reasons], dtype=bool)
    return Validated(_clean(frame, good, fixed, ids, id_column, kind), problems, repaired)


def _check_geometry(geom, vertices: np.ndarray, kind: str, bounds, *, valid: bool) -> tuple:
    """(rejecting reason or None, repair note or None, geometry to keep) for one feature."""
    if geom is None:
        return "missing geometry", None, geom
    if geom.is_empty:
        return "empty geometry", None, geom
    if reason := _coordinate_reason(vertices, bounds):
        return reason, None, geom
    types = KINDS[kind].types
    if geom.geom_type not in types:
        *head, last = types
        expected = f"{', '.join(head)} or {last}" if head else last
        return f"wrong geometry type {geom.geom_type} for {kind}; expected {expected}", None, geom
    if valid:
        return None, None, geom
    why = shapely.is_valid_reason(geom)
    dimension = 2 if geom.geom_type in _POLYGONS else int(shapely.get_dimensions(geom))
    repaired = _repair(geom, dimension)
    if repaired is None:
        return f"unrepairable geometry: {why}", None, geom
    return None, f"repaired invalid geometry: {why}", repaired


def _count_reasons(frame: gpd.GeoDataFrame) -> list[str | None]:
    """Per row, the first reason its households, floors or units are unusable (or None).

    Only the rows a numeric column flags (and every row of a text column) are worded."""
    reasons: list[str | None] = [None] * len(frame)
    for name, whole in (("households", True), ("floors", False), ("units", True)):
        if name not in frame.columns:
            continue
        column = frame[name]
        values = column.array
        for i in _count_suspects(column, whole=whole):
            if reasons[i] is None:
                reasons[i] = _count_reason(name, values[i], whole=whole)
    return reasons


def _count_suspects(column: pd.Series, *, whole: bool) -> np.ndarray:
    """Rows of a count column that may be unusable: all rows unless the column is numeric."""
    if not (pd.api.types.is_integer_dtype(column) or pd.api.types.is_float_dtype(column)):
        return np.arange(len(column))
    number = column.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(number) | (number < 0)
        if whole:
            bad |= number != np.floor(number)
    return np.flatnonzero(bad & ~np.isnan(number))


def _clean(frame, good, fixed, ids, id_column, kind) -> gpd.GeoDataFrame:
    """The good rows with repaired geometry, ids as text and counts as Int64."""
    out = frame.copy()
    out[id_column] = pd.Series(ids, index=frame.index, dtype=object)
    geometry = fixed[good]
    out = out.loc[good]
    if kind == "stations":
        polygonal = shapely.get_dimensions(geometry) == 2
        geometry[polygonal] = shapely.point_on_surface(geometry[polygonal])
    out[out.geometry.name] = gpd.GeoSeries(geometry, index=out.index, crs=frame.crs)
    if kind == "buildings":
        for name in ("households", "units"):
            if name in out.columns:
                numbers = pd.to_numeric(out[name], errors="coerce")
                out[name] = pd.array(numbers.astype("Float64").round(), dtype="Int64")
    return out
