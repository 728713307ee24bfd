"""Coordinate reference systems: the storage CRS, metric UTM zones and checks.

Data is stored in WGS-84 longitude/latitude (EPSG:4326). Areas and lengths are measured in the
UTM zone of the data (``frame.estimate_utm_crs()``), which keeps scale errors below 0.1 % inside a
city. Combining frames in different CRSs is an error, never a silent reprojection.
"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
from pyproj import CRS

from geo.errors import CRSMismatchError, InputError

__all__ = [
    "WGS84",
    "describe_crs",
    "require_crs",
    "same_crs",
    "to_metric",
    "to_wgs84",
    "utm_crs",
]

WGS84 = "EPSG:4326"


def describe_crs(crs: str | CRS | None) -> str:
    """Short human-readable name of a CRS: ``EPSG:32650`` when it has a code, else its name."""
    if crs is None:
        return "no CRS"
    crs = CRS.from_user_input(crs)
    code = crs.to_authority()
    return f"{code[0]}:{code[1]}" if code else crs.name


def same_crs(left: str | CRS, right: str | CRS) -> bool:
    """Whether two CRSs are the same, ignoring axis order (EPSG:4326 vs OGC:CRS84)."""
    left, right = CRS.from_user_input(left), CRS.from_user_input(right)
    return left == right or left.equals(right, ignore_axis_order=True)


def utm_crs(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """Return the UTM CRS that covers the data.

    Parameters
    ----------
    frame : GeoDataFrame or GeoSeries
        Data with a CRS and at least one non-empty geometry.

    Returns
    -------
    pyproj.CRS
        The UTM zone (WGS-84 datum) estimated from the data's bounds.

    Raises
    ------
    InputError
        If the frame has no CRS or no geometry to locate it.
    """
    if frame.crs is None:
        msg = "cannot estimate a UTM zone: the frame has no CRS (expected e.g. EPSG:4326)"
        raise InputError(msg)
    geoms = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    located = geoms[geoms.notna() & ~geoms.is_empty]
    if located.empty:
        msg = f"cannot estimate a UTM zone: the frame has no non-empty geometry ({len(frame)} rows)"
        raise InputError(msg)
    lon_min, lat_min, lon_max, lat_max = located.to_crs(WGS84).total_bounds
    return _utm_zone((lon_min + lon_max) / 2, (lat_min + lat_max) / 2)


@lru_cache(maxsize=128)
def _zone_crs(epsg: int) -> CRS:
    return CRS.from_epsg(epsg)


def _utm_zone(lon: float, lat: float) -> CRS:
    """The WGS-84 UTM zone of a point (what estimate_utm_crs finds, without a PROJ query)."""
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return _zone_crs((32600 if lat >= 0 else 32700) + zone)


def to_metric(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a copy of the frame reprojected to its UTM zone (metres).

    Parameters
    ----------
    frame : GeoDataFrame
        Data with a CRS.

    Returns
    -------
    GeoDataFrame
        New frame in the UTM CRS given by :func:`utm_crs`.
    """
    return frame.to_crs(utm_crs(frame))


def require_crs(
    frame: gpd.GeoDataFrame | gpd.GeoSeries, expected: str | CRS = WGS84, *, name: str = "frame"
) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """Check that the frame is in the expected CRS.

    Parameters
    ----------
    frame : GeoDataFrame or GeoSeries
        Data to check.
    expected : str or pyproj.CRS, default "EPSG:4326"
        The CRS the caller needs.
    name : str, default "frame"
        What to call the frame in the error message (e.g. "buildings").

    Returns
    -------
    GeoDataFrame or GeoSeries
        The same object, unchanged, so the call can be chained.

    Raises
    ------
    CRSMismatchError
        If the frame has no CRS or a different one; the message names both.
    """
    wanted = CRS.from_user_input(expected)
    if frame.crs is None or not same_crs(frame.crs, wanted):
        msg = f"{name} is in {describe_crs(frame.crs)}, expected {describe_crs(wanted)}"
        raise CRSMismatchError(msg)
    return frame


def to_wgs84(
    frame: gpd.GeoDataFrame, *, crs: str | CRS | None = None, name: str = "frame"
) -> gpd.GeoDataFrame:
    """Return a copy of the frame in WGS-84 longitude/latitude (EPSG:4326).

    Parameters
    ----------
    frame : GeoDataFrame
        Data to reproject.
    crs : str or pyproj.CRS, optional
        CRS of the coordinates when the frame carries none. If the frame has a CRS and ``crs``
        names a different one, that is a mismatch.
    name : str, default "frame"
        What to call the frame in error messages.

    Returns
    -------
    GeoDataFrame
        New frame in EPSG:4326.

    Raises
    ------
    InputError
        If the frame has no CRS and ``crs`` is not given.
    CRSMismatchError
        If the frame's CRS differs from an explicitly given ``crs``.
    """
    if frame.crs is None:
        if crs is None:
            msg = f"{name} has no CRS; pass crs=... (e.g. 'EPSG:4326') to say what it is in"
            raise InputError(msg)
        frame = frame.set_crs(crs)
    elif crs is not None:
        require_crs(frame, crs, name=name)
    return frame.to_crs(WGS84)
