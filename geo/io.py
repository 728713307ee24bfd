"""Reading vector files (GeoJSON, GeoPackage, Shapefile, CSV) into EPSG:4326 frames.

Every frame returned by :func:`read_vector` is in EPSG:4326 and carries a ``source_row`` column:
the 1-based record number in the source (for CSV the data-row number, header not counted), so
that later checks can point at the offending record. OpenStreetMap files go through
:func:`geo.osm.read_osm` instead.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from geo.crs import WGS84, describe_crs, same_crs, to_wgs84
from geo.errors import CRSMismatchError, InputError

__all__ = ["LAT_NAMES", "LON_NAMES", "read_vector"]

#: Column names tried, in order and case-insensitively, for CSV longitudes and latitudes.
LON_NAMES = ("lon", "lng", "longitude", "x")
LAT_NAMES = ("lat", "latitude", "y")

_VECTOR_SUFFIXES = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".shp": "Shapefile"}
_OSM_SUFFIXES = (".osm", ".pbf", ".o5m", ".osc", ".osm.bz2", ".osm.gz")


def read_vector(
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str | CRS | None = None,
    lon_column: str | None = None,
    lat_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector file into a GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    path : str or Path
        A ``.geojson``/``.json``, ``.gpkg``, ``.shp`` or ``.csv`` file.
    layer : str, optional
        GeoPackage layer. Needed only when the file holds more than one spatial layer.
    crs : str or pyproj.CRS, optional
        CRS of the coordinates in the file. Used when the file declares none (CSV, Shapefile
        without ``.prj``). GeoJSON files without a ``crs`` member are reported as EPSG:4326 by
        GDAL, so for GeoJSON ``crs`` overrides that default; for other formats a declared CRS
        that differs from ``crs`` is a :class:`CRSMismatchError`.
    lon_column, lat_column : str, optional
        CSV only: the coordinate columns. By default the first column named (case-insensitive)
        ``lon``/``lng``/``longitude``/``x`` and ``lat``/``latitude``/``y``.

    Returns
    -------
    GeoDataFrame
        The records in EPSG:4326 with the file's columns plus ``source_row`` (1-based record
        number; an existing column of that name is replaced). CSV rows whose coordinates are
        missing or not numbers get a ``None`` geometry instead of failing the file.

    Raises
    ------
    InputError
        Missing, unreadable or unsupported file; CSV coordinate columns not found; no CRS where
        one is needed.
    CRSMismatchError
        The file declares a CRS different from an explicitly given ``crs``.
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith(_OSM_SUFFIXES):
        msg = f"{path}: OpenStreetMap files are read with geo.osm.read_osm, not read_vector"
        raise InputError(msg)
    suffix = path.suffix.lower()
    if suffix != ".csv" and suffix not in _VECTOR_SUFFIXES:
        msg = (
            f"{path}: unsupported file type {suffix or '(no suffix)'!r}; "
            "expected .geojson, .json, .gpkg, .shp or .csv"
        )
        raise InputError(msg)
    if not path.is_file():
        msg = f"{path}: file not found"
        raise InputError(msg)

    if suffix == ".csv":
        frame = _read_csv(path, lon_column=lon_column, lat_column=lat_column)
        default_crs: str | CRS | None = WGS84
    else:
        frame = _read_ogr(path, layer=layer)
        default_crs = WGS84 if _VECTOR_SUFFIXES[suffix] == "GeoJSON" else None

    frame = _assign_crs(frame, path, crs=crs, default_crs=default_crs)
    frame["source_row"] = np.arange(1, len(frame) + 1, dtype="int64")
    return to_wgs84(frame, name=str(path))


def _read_ogr(path: Path, *, layer: str | None) -> gpd.GeoDataFrame:
    """Read a GDAL-supported file with pyogrio, choosing the GeoPackage layer explicitly."""
    try:
        if layer is None and path.suffix.lower() == ".gpkg":
            spatial = [str(n) for n, geom_type in pyogrio.list_layers(path) if geom_type]
            if len(spatial) > 1:
                msg = f"{path}: holds {len(spatial)} spatial layers {spatial}; pass layer=..."
                raise InputError(msg)
            layer = spatial[0] if spatial else None
        return gpd.read_file(path, layer=layer, engine="pyogrio")
    except InputError:
        raise
    except Exception as exc:  # pyogrio raises several unrelated classes for unreadable files
        msg = f"{path}: cannot read as {_VECTOR_SUFFIXES[path.suffix.lower()]}: {exc}"
        raise InputError(msg) from exc


def _find_column(
    columns: list[str], given: str | None, candidates: tuple[str, ...], what: str, path: Path
) -> str:
    if given is not None:
        if given not in columns:
            msg = f"{path}: {what} column {given!r} not found; columns are {columns}"
            raise InputError(msg)
        return given
    lowered = {c.strip().lower(): c for c in reversed(columns)}
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    msg = (
        f"{path}: no {what} column found (looked for {', '.join(candidates)}); columns are "
        f"{columns}; pass {what[:3]}_column=..."
    )
    raise InputError(msg)


def _read_csv(path: Path, *, lon_column: str | None, lat_column: str | None) -> gpd.GeoDataFrame:
    """Read a CSV of points; identifier-like columns are kept as text (leading zeros matter)."""
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig")
        columns = [str(c) for c in header.columns]
        text_columns = {
            c: str
            for c in columns
            if c.lower() in {"id", "code"} or c.lower().endswith(("_id", "_code"))
        }
        table = pd.read_csv(path, encoding="utf-8-sig", dtype=text_columns)
    except UnicodeDecodeError as exc:
        msg = f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise InputError(msg) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as exc:
        msg = f"{path}: cannot read as CSV: {exc}"
        raise InputError(msg) from exc

    lon_name = _find_column(columns, lon_column, LON_NAMES, "longitude", path)
    lat_name = _find_column(columns, lat_column, LAT_NAMES, "latitude", path)
    lon = pd.to_numeric(table[lon_name], errors="coerce").to_numpy(dtype="float64")
    lat = pd.to_numeric(table[lat_name], errors="coerce").to_numpy(dtype="float64")
    points = gpd.points_from_xy(lon, lat)
    usable = np.isfinite(lon) & np.isfinite(lat)
    geometry = np.where(usable, np.asarray(points, dtype=object), None)
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geometry, index=table.index))


def _assign_crs(
    frame: gpd.GeoDataFrame,
    path: Path,
    *,
    crs: str | CRS | None,
    default_crs: str | CRS | None,
) -> gpd.GeoDataFrame:
    """Settle the CRS of freshly read data (see :func:`read_vector` for the rules)."""
    if frame.crs is None:
        chosen = crs if crs is not None else default_crs
        if chosen is None:
            msg = f"{path}: the file declares no CRS (missing .prj?); pass crs=... to name it"
            raise InputError(msg)
        return frame.set_crs(chosen)
    if crs is None or same_crs(frame.crs, crs):
        return frame
    geojson = _VECTOR_SUFFIXES.get(path.suffix.lower()) == "GeoJSON"
    if geojson and same_crs(frame.crs, WGS84):  # GDAL's default for GeoJSON without "crs"
        return frame.set_crs(crs, allow_override=True)
    msg = f"{path}: file declares {describe_crs(frame.crs)} but crs={describe_crs(crs)} was given"
    raise CRSMismatchError(msg)


def feature_collection(
    frame: gpd.GeoDataFrame,
    properties: list[str] | None = None,
    *,
    id_column: str | None = None,
    precision: int | None = None,
) -> dict:
    """`frame` as a GeoJSON FeatureCollection dict, properties as plain JSON values.

    List and dict cells (such as grid members) stay JSON arrays and objects; missing columns
    among `properties` give null; with `precision`, coordinates are rounded to that many
    decimals (7 ≈ 1 cm); empty geometries give null.
    """
    import json

    import shapely

    geoms = frame.geometry.to_numpy()
    if precision is not None:
        geoms = shapely.set_precision(geoms, 10.0**-precision)
    if properties is None:
        properties = [c for c in frame.columns if c != frame.geometry.name]
    columns = [frame[c].tolist() if c in frame.columns else [None] * len(frame) for c in properties]
    texts = shapely.to_geojson(geoms)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    # one parse for all geometries: a json.loads per feature costs more than the geometries
    parts = ["null" if e else t for t, e in zip(texts, empty, strict=True)]
    shown = json.loads("[" + ",".join(parts) + "]")
    ids = frame[id_column].tolist() if id_column is not None else None
    features = []
    for k, geometry in enumerate(shown):
        feature = {
            "type": "Feature",
            "properties": {
                name: json_ready(col[k]) for name, col in zip(properties, columns, strict=True)
            },
            "geometry": geometry,
        }
        if ids is not None:
            feature["id"] = json_ready(ids[k])
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}


def write_geojson(frame: gpd.GeoDataFrame, path: str | Path, *, precision: int = 7) -> Path:
    """Write `frame` as a GeoJSON FeatureCollection in EPSG:4326 (see feature_collection)."""
    import json

    path = Path(path)
    frame = frame.to_crs(4326) if frame.crs is not None else frame
    collection = feature_collection(frame, precision=precision)
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return path


def json_ready(value):
    """A JSON-ready version of a frame cell."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value
