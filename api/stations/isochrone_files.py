"""Walking circles of points on a network file (file mode of `wangge isochrones`): reading the
points, and the contract's output frame."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI starts without loading geopandas
    import geopandas as gpd

    from geo.network import WalkNetwork

OUTPUT_COLUMNS = ["id", "minutes", "method", "snap_m"]
# the defaults of geo.network / geo.isochrones, repeated for the CLI's help text (tests keep them
# equal) so that the CLI starts without loading geopandas
DEFAULT_SPEED_KMH, DEFAULT_WIDTH_M, DEFAULT_CELL_M, DEFAULT_MAX_SNAP_M = 4.5, 200.0, 17.5, 200.0


def read_points(path: Path, *, id_column: str = "id") -> gpd.GeoDataFrame:
    """Points from a GeoJSON/GeoPackage in WGS-84 longitude/latitude, each with an id.

    Raises
    ------
    InputError
        Missing file, a declared CRS other than WGS-84, coordinates outside longitude/latitude
        ranges, geometries that are not points, or no ``id`` property.
    """
    import numpy as np
    import pyogrio

    from geo.crs import same_crs
    from geo.errors import InputError
    from geo.io import read_vector

    path = Path(path)
    if not path.is_file():
        msg = f"{path}: file not found"
        raise InputError(msg)
    try:
        declared = pyogrio.read_info(path).get("crs")
    except Exception as exc:  # pyogrio raises several classes for unreadable files
        msg = f"{path}: cannot read as a vector file: {exc}"
        raise InputError(msg) from exc
    if declared and not same_crs(declared, "EPSG:4326"):
        msg = f"{path}: points are in {declared}; expected WGS-84 longitude/latitude (EPSG:4326)"
        raise InputError(msg)
    frame = read_vector(path)
    if frame.empty:
        msg = f"{path}: no features"
        raise InputError(msg)
    geoms = frame.geometry
    bad = geoms.isna() | geoms.is_empty | (geoms.geom_type != "Point")
    if bad.any():
        rows = (np.flatnonzero(bad.to_numpy())[:5] + 1).tolist()
        kinds = sorted({str(t) for t in geoms[bad].geom_type.fillna("no geometry")})
        msg = (
            f"{path}: features {rows} are not points ({', '.join(kinds)}); expected Point features"
        )
        raise InputError(msg)
    lon, lat = geoms.x.to_numpy(), geoms.y.to_numpy()
    if (np.abs(lon) > 180).any() or (np.abs(lat) > 90).any():
        msg = (
            f"{path}: coordinates outside longitude/latitude ranges (e.g. {lon[0]:.1f}, "
            f"{lat[0]:.1f}); the file must be in WGS-84 degrees (EPSG:4326)"
        )
        raise InputError(msg)
    if id_column not in frame.columns:
        columns = [c for c in frame.columns if c not in ("geometry", "source_row")]
        msg = f"{path}: points have no {id_column!r} property (properties: {columns})"
        raise InputError(msg)
    if frame[id_column].isna().any():
        rows = (np.flatnonzero(frame[id_column].isna().to_numpy())[:5] + 1).tolist()
        msg = f"{path}: features {rows} have no {id_column!r}"
        raise InputError(msg)
    return frame


def file_isochrones(
    points: gpd.GeoDataFrame,
    net: WalkNetwork,
    *,
    minutes: str | tuple[float, ...] = (5, 10, 15),
    speed_kmh: float = DEFAULT_SPEED_KMH,
    width_m: float = DEFAULT_WIDTH_M,
    cell_m: float = DEFAULT_CELL_M,
) -> gpd.GeoDataFrame:
    """Contract output frame: ``id``, ``minutes`` (int when whole), ``method``, ``snap_m``."""
    import numpy as np

    from geo.isochrones import isochrones, parse_minutes

    frame = isochrones(
        net,
        points,
        minutes=parse_minutes(minutes),
        speed_kmh=speed_kmh,
        width_m=width_m,
        cell_m=cell_m,
    )
    values = frame["minutes"].to_numpy(dtype=float)
    whole = np.all(values == np.round(values))
    frame["minutes"] = values.astype(int) if whole else values
    frame["snap_m"] = frame["snap_m"].round(2)
    return frame[[*OUTPUT_COLUMNS, "geometry"]]
