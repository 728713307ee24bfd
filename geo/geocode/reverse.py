"""Reverse geocoding without a database: the nearest place of an address base to a point."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from geo.coords import to_wgs84
from geo.crs import utm_crs
from geo.errors import InputError

__all__ = ["Nearest", "nearest_place"]


@dataclass(frozen=True, slots=True)
class Nearest:
    """The place nearest to a point: its row label in the frame and the distance in metres."""

    label: object
    distance_m: float


def nearest_place(
    places: gpd.GeoDataFrame,
    lon: float,
    lat: float,
    *,
    crs: str = "wgs84",
    max_distance_m: float = 50.0,
) -> Nearest | None:
    """The place of `places` nearest to a point, if one lies within `max_distance_m`.

    Parameters
    ----------
    places
        Points, lines or polygons in EPSG:4326 (WGS-84).
    lon, lat
        The point, in the datum `crs` ("wgs84", "gcj02" or "bd09").
    max_distance_m
        Tolerance in metres; a point inside a polygon is at distance 0.

    Returns
    -------
    Nearest or None
        None when `places` is empty or nothing lies within the tolerance.

    Raises
    ------
    InputError
        If the coordinates are out of range or the datum is unknown.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> base = gpd.GeoDataFrame({"id": ["B1"]}, geometry=[Point(118.8, 32.0)], crs=4326)
    >>> nearest_place(base, 118.8001, 32.0).label
    0
    >>> nearest_place(base, 118.81, 32.0) is None
    True
    """
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        msg = f"coordinates out of range: lon {lon} (−180…180), lat {lat} (−90…90)"
        raise InputError(msg)
    if max_distance_m < 0:
        msg = f"max_distance_m must be ≥ 0, got {max_distance_m}"
        raise InputError(msg)
    x, y = to_wgs84(lon, lat, crs=crs)
    if places.empty:
        return None
    point = gpd.GeoSeries([shapely.Point(float(x), float(y))], crs=4326)
    metric = utm_crs(point)
    geoms = places.geometry.to_crs(metric)
    here = point.to_crs(metric).iloc[0]
    window = geoms.sindex.query(here.buffer(max_distance_m), predicate="intersects")
    if len(window) == 0:
        return None
    distances = shapely.distance(np.asarray(geoms.values[window]), here)
    best = int(np.argmin(distances))
    return Nearest(places.index[window[best]], float(distances[best]))
