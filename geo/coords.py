"""Chinese map datums: WGS-84, GCJ-02 (Amap, Tencent) and BD-09 (Baidu), in every direction.

Phones and web map SDKs in China report positions in GCJ-02, a deliberately distorted
longitude/latitude, and Baidu adds its own offset on top (BD-09). The service stores WGS-84
(EPSG:4326), so points arriving in another datum pass through :func:`to_wgs84` (or
:func:`convert_frame` for a whole frame) first.

The maths
---------
* **WGS-84 → GCJ-02** is the widely published formula: the offset polynomials in
  ``x = lon - 105``, ``y = lat - 35`` scaled to degrees on the Krasovsky ellipsoid
  (a = 6,378,245.0 m, e² = 0.00669342162296594323). Its offset is a few hundred metres.
* **GCJ-02 → BD-09** is the published rotation about the origin with ``x_pi = π·3000/180``,
  then a shift of (0.0065°, 0.006°), a further ~1 km.
* **The inverses** (GCJ-02 → WGS-84, BD-09 → GCJ-02, BD-09 → WGS-84) have no closed form.
  Each is solved by fixed-point iteration ``w ← w + (target - forward(w))`` on the smooth
  forward transform (BD-09 → WGS-84 iterates on the whole WGS-84 → BD-09 chain, so its check
  is against the input itself). The start is the target minus the offset there, and the
  offsets change by well under 1 % of a step, so each iteration shrinks the error ~300-fold:
  two iterations suffice inside China. Each point stops when its forward transform is within
  :data:`TOLERANCE` (1e-7°, about 1 cm) of the input, after at most :data:`MAX_ITERATIONS`,
  so a point's answer does not depend on the other points in the call. Round trips at a
  million random points in China come back within 1.5 cm. The answers are inverses *of the
  published formulas*; how closely those match a given provider's data is another matter
  (reports put it within 1–2 m).

Outside China
-------------
GCJ-02 is the identity outside China. "China" here is the usual bounding box
:data:`CHINA_BBOX` (72.004–137.8347 E, 0.8293–55.8271 N), the test most public
implementations of these formulas use, so results agree with theirs. It is coarse: it also
covers parts of neighbouring countries (Mongolia, the Korean peninsula, northern Vietnam…),
where points are shifted as if in China. For the inverse, the test is applied to the GCJ-02
input, so round trips fail only in a band of < 1 km along the edges of the box, none of which
lies in China. BD-09 applies its rotation and shift everywhere, on top of the identity GCJ-02
outside the box: BD-09 is never the identity. (Baidu documents BD-09 for China only; applying
the shift everywhere keeps BD-09 ↔ GCJ-02 one formula with no box test of its own.) Within
0.01° of ±180° longitude the BD-09 shift wraps around, and latitudes are clipped to ±90°.

Input
-----
Longitudes and latitudes are scalars or array-likes (broadcast against each other). Scalars in
give Python floats out; arrays give float64 arrays of the broadcast shape. NaN or infinite
values, longitudes outside [-180, 180] and latitudes outside [-90, 90] raise
:class:`~geo.errors.InputError` naming the first bad value. Datum names are ``"wgs84"``,
``"gcj02"`` and ``"bd09"`` (case, ``-`` and ``_`` ignored: ``"WGS-84"``, ``"GCJ_02"``).
"""

from __future__ import annotations

from typing import Literal, TypeVar

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from geo.crs import WGS84, describe_crs, same_crs
from geo.errors import CRSMismatchError, InputError

__all__ = [
    "CHINA_BBOX",
    "DATUMS",
    "MAX_ITERATIONS",
    "TOLERANCE",
    "convert",
    "convert_frame",
    "from_wgs84",
    "in_china",
    "to_wgs84",
]

Datum = Literal["wgs84", "gcj02", "bd09"]
DATUMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

#: (lon_min, lat_min, lon_max, lat_max) of the region where GCJ-02 differs from WGS-84.
CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)
#: Degrees: the inverses stop when the forward transform of the answer is this close to the input.
TOLERANCE = 1e-7
#: Upper bound on fixed-point iterations (3–4 are needed inside China).
MAX_ITERATIONS = 10

# Krasovsky 1940 ellipsoid, as in the published GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006

# ---------------------------------------------------------------------------- checks


def _datum(name: object, *, role: str) -> Datum:
    if isinstance(name, str):
        key = name.strip().lower().replace("-", "").replace("_", "")
        if key in DATUMS:
            return key  # type: ignore[return-value]
    msg = f"unknown {role} {name!r}; expected one of {', '.join(repr(d) for d in DATUMS)}"
    raise InputError(msg)


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray, bool]:
    """Float64 copies of lon and lat broadcast together, and whether both were scalars."""
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    try:
        lon_a = np.asarray(lon, dtype=np.float64)
        lat_a = np.asarray(lat, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"longitude and latitude must be numbers or arrays of numbers ({exc})"
        raise InputError(msg) from exc
    try:
        lon_a, lat_a = np.broadcast_arrays(lon_a, lat_a)
    except ValueError as exc:
        msg = f"longitude shape {lon_a.shape} and latitude shape {lat_a.shape} do not match"
        raise InputError(msg) from exc
    _check_range(lon_a, "longitude", 180.0)
    _check_range(lat_a, "latitude", 90.0)
    return lon_a, lat_a, scalar


def _check_range(values: NDArray, name: str, limit: float) -> None:
    bad = ~(np.abs(values) <= limit)  # NaN compares False, so NaN counts as bad
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        value = float(values[where])
        at = "" if values.ndim == 0 else f" at index {where[0] if values.ndim == 1 else where}"
        bounds = f"[-{limit:g}, {limit:g}]"
        kind = f"outside {bounds}" if np.isfinite(value) else "not a finite number"
        msg = f"{name} {value!r}{at} is {kind}"
        raise InputError(msg)


def in_china(lon: ArrayLike, lat: ArrayLike) -> bool | NDArray[np.bool_]:
    """Whether points lie in :data:`CHINA_BBOX`, where GCJ-02 differs from WGS-84.

    Parameters
    ----------
    lon, lat : float or array-like
        Longitude and latitude in degrees.

    Returns
    -------
    bool or ndarray of bool
        A bool for scalar input, else an array of the broadcast shape.

    Examples
    --------
    >>> in_china(118.79, 32.05), in_china(2.35, 48.86)
    (True, False)
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    inside = _inside(lon_a, lat_a)
    return bool(inside) if scalar else inside


def _inside(lon: NDArray, lat: NDArray) -> NDArray[np.bool_]:
    lon_min, lat_min, lon_max, lat_max = CHINA_BBOX
    return (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)


# ---------------------------------------------------------------------------- the transforms


def _gcj_offset(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    """The GCJ-02 offset (degrees of longitude, latitude) at WGS-84 points, ignoring the box."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    pi = np.pi
    # the term shared by both polynomials
    common = (20.0 * np.sin(6.0 * pi * x) + 20.0 * np.sin(2.0 * pi * x)) * (2.0 / 3.0)
    d_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sqrt_abs_x
        + common
        + (20.0 * np.sin(pi * y) + 40.0 * np.sin(pi * y / 3.0)) * (2.0 / 3.0)
        + (160.0 * np.sin(pi * y / 12.0) + 320.0 * np.sin(pi * y / 30.0)) * (2.0 / 3.0)
    )
    d_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sqrt_abs_x
        + common
        + (20.0 * np.sin(pi * x) + 40.0 * np.sin(pi * x / 3.0)) * (2.0 / 3.0)
        + (150.0 * np.sin(pi * x / 12.0) + 300.0 * np.sin(pi * x / 30.0)) * (2.0 / 3.0)
    )
    # metres on the Krasovsky ellipsoid → degrees
    rad_lat = np.radians(lat)
    w = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_w = np.sqrt(w)
    d_lat = d_lat * 180.0 / (_A * (1.0 - _EE) / (w * sqrt_w) * pi)
    d_lon = d_lon * 180.0 / (_A / sqrt_w * np.cos(rad_lat) * pi)
    return d_lon, d_lat


def _wgs_to_gcj(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    d_lon, d_lat = _gcj_offset(lon, lat)
    inside = _inside(lon, lat)
    return np.where(inside, lon + d_lon, lon), np.where(inside, lat + d_lat, lat)


def _gcj_to_bd(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd_to_gcj_approx(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    """The usual closed-form inverse of BD-09 (good to ~1e-6°); a start for the iteration."""
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(forward, lon: NDArray, lat: NDArray, start: tuple[NDArray, NDArray]):
    """Solve forward(w) = (lon, lat) by fixed-point iteration from ``start``.

    Each point stops as soon as its own residual is within :data:`TOLERANCE`, so a point's
    answer does not depend on the other points converted with it (scalar and array calls agree
    exactly), and later iterations only touch the points still moving.
    """
    w_lon, w_lat = (np.array(a, dtype=np.float64, order="C", copy=True) for a in start)
    active = np.arange(w_lon.size)
    flat = (w_lon.reshape(-1), w_lat.reshape(-1), lon.reshape(-1), lat.reshape(-1))
    wl, wt, tl, tt = flat
    for _ in range(MAX_ITERATIONS):
        f_lon, f_lat = forward(wl[active], wt[active])
        r_lon = tl[active] - f_lon
        r_lat = tt[active] - f_lat
        moving = (np.abs(r_lon) > TOLERANCE) | (np.abs(r_lat) > TOLERANCE)
        if not moving.any():
            break
        active = active[moving]
        wl[active] += r_lon[moving]
        wt[active] += r_lat[moving]
    return w_lon, w_lat


def _gcj_forward(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    """WGS-84 → GCJ-02 without the box test (smooth, for the iterations)."""
    d_lon, d_lat = _gcj_offset(lon, lat)
    return lon + d_lon, lat + d_lat


def _bd_forward(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    """WGS-84 → BD-09 without the box test (smooth, for the iterations)."""
    return _gcj_to_bd(*_gcj_forward(lon, lat))


def _unshift(forward, lon: NDArray, lat: NDArray, gcj: tuple[NDArray, NDArray]):
    """WGS-84 of points whose GCJ-02 is ``gcj``: the iteration inside the box, else the identity.

    The box test is made on the GCJ-02 point, and ``forward`` (the smooth transform from
    WGS-84 to the input datum) is iterated to match the input (lon, lat) for points inside.
    """
    out_lon, out_lat = (np.array(a, dtype=np.float64, copy=True) for a in gcj)
    inside = _inside(out_lon, out_lat)
    if inside.any():
        g_lon, g_lat = out_lon[inside], out_lat[inside]
        d_lon, d_lat = _gcj_offset(g_lon, g_lat)
        out_lon[inside], out_lat[inside] = _invert(
            forward, lon[inside], lat[inside], (g_lon - d_lon, g_lat - d_lat)
        )
    return out_lon, out_lat


def _gcj_to_wgs(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    return _unshift(_gcj_forward, lon, lat, (lon, lat))


def _bd_to_gcj(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    return _invert(_gcj_to_bd, lon, lat, _bd_to_gcj_approx(lon, lat))


def _wgs_to_bd(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    return _gcj_to_bd(*_wgs_to_gcj(lon, lat))


def _bd_to_wgs(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    # iterate on the whole WGS-84 → BD-09 transform, so its check is against the input itself
    return _unshift(_bd_forward, lon, lat, _bd_to_gcj(lon, lat))


def _identity(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    return lon.copy(), lat.copy()


_STEPS = {
    ("wgs84", "wgs84"): _identity,
    ("gcj02", "gcj02"): _identity,
    ("bd09", "bd09"): _identity,
    ("wgs84", "gcj02"): _wgs_to_gcj,
    ("gcj02", "wgs84"): _gcj_to_wgs,
    ("gcj02", "bd09"): _gcj_to_bd,
    ("bd09", "gcj02"): _bd_to_gcj,
    ("wgs84", "bd09"): _wgs_to_bd,
    ("bd09", "wgs84"): _bd_to_wgs,
}


def _wrap(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    """Keep results in range: BD-09's shift can push a point just past ±180° or ±90°."""
    lon = np.where(lon > 180.0, lon - 360.0, np.where(lon < -180.0, lon + 360.0, lon))
    return lon, np.clip(lat, -90.0, 90.0)


# ---------------------------------------------------------------------------- public API


def convert(lon: ArrayLike, lat: ArrayLike, *, src: str, dst: str):
    """Convert longitude/latitude from one datum to another.

    Parameters
    ----------
    lon, lat : float or array-like
        Longitude and latitude in degrees, in the ``src`` datum. Broadcast against each other.
    src, dst : {"wgs84", "gcj02", "bd09"}
        Datum of the input and of the result. GCJ-02 ↔ BD-09 is converted directly, not via
        WGS-84.

    Returns
    -------
    tuple
        ``(lon, lat)``: two floats for scalar input, else two float64 arrays of the broadcast
        shape. The input is never modified.

    Raises
    ------
    InputError
        For an unknown datum name, NaN or infinite values, longitudes outside [-180, 180] or
        latitudes outside [-90, 90]; the message names the value.

    Examples
    --------
    >>> lon, lat = convert(116.3975, 39.9087, src="wgs84", dst="gcj02")
    >>> round(lon, 6), round(lat, 6)
    (116.403744, 39.910103)
    """
    step = _STEPS[_datum(src, role="source datum"), _datum(dst, role="target datum")]
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    out_lon, out_lat = _wrap(*step(lon_a, lat_a))
    if scalar:
        return float(out_lon), float(out_lat)
    return out_lon, out_lat


def to_wgs84(lon: ArrayLike, lat: ArrayLike, *, crs: str):
    """Convert longitude/latitude in ``crs`` ("wgs84", "gcj02" or "bd09") to WGS-84.

    Same as ``convert(lon, lat, src=crs, dst="wgs84")``; see :func:`convert`.

    Examples
    --------
    >>> lon, lat = to_wgs84(116.403744, 39.910103, crs="gcj02")
    >>> round(lon, 4), round(lat, 4)
    (116.3975, 39.9087)
    """
    return convert(lon, lat, src=crs, dst="wgs84")


def from_wgs84(lon: ArrayLike, lat: ArrayLike, *, crs: str):
    """Convert WGS-84 longitude/latitude to ``crs`` ("wgs84", "gcj02" or "bd09").

    Same as ``convert(lon, lat, src="wgs84", dst=crs)``; see :func:`convert`.
    """
    return convert(lon, lat, src="wgs84", dst=crs)


FrameT = TypeVar("FrameT", gpd.GeoDataFrame, gpd.GeoSeries)


def convert_frame(frame: FrameT, *, src: str, dst: str, name: str = "frame") -> FrameT:
    """Return a copy of a frame with every coordinate converted from ``src`` to ``dst``.

    Any geometry type works: each vertex is converted (``shapely.transform``); Z values are
    kept. Empty and missing geometries stay as they are.

    Parameters
    ----------
    frame : GeoDataFrame or GeoSeries
        Longitude/latitude data in the ``src`` datum. Its CRS must be EPSG:4326 (the label
        such data carries, whatever the datum) or missing.
    src, dst : {"wgs84", "gcj02", "bd09"}
        Datum of the input and of the result.
    name : str, default "frame"
        What to call the frame in error messages.

    Returns
    -------
    GeoDataFrame or GeoSeries
        New object with the same index and other columns, CRS EPSG:4326.

    Raises
    ------
    CRSMismatchError
        If the frame has a CRS other than EPSG:4326 (e.g. a projected one).
    InputError
        For an unknown datum name or invalid coordinates (see :func:`convert`).

    Examples
    --------
    >>> frame = gpd.GeoDataFrame(
    ...     {"case": [1]}, geometry=[shapely.Point(116.403744, 39.910103)], crs="EPSG:4326"
    ... )
    >>> wgs = convert_frame(frame, src="gcj02", dst="wgs84")
    >>> round(float(wgs.geometry.x.iloc[0]), 4), wgs.crs.to_epsg()
    (116.3975, 4326)
    """
    step = _STEPS[_datum(src, role="source datum"), _datum(dst, role="target datum")]
    if not isinstance(frame, gpd.GeoDataFrame | gpd.GeoSeries):
        msg = f"{name} must be a GeoDataFrame or GeoSeries, got {type(frame).__name__}"
        raise InputError(msg)
    if frame.crs is not None and not same_crs(frame.crs, WGS84):
        msg = (
            f"{name} is in {describe_crs(frame.crs)}, expected EPSG:4326 "
            f"longitude/latitude in {src}"
        )
        raise CRSMismatchError(msg)

    def transform(coords: NDArray) -> NDArray:
        lon, lat, _ = _as_arrays(coords[:, 0], coords[:, 1])
        out = coords.copy()
        out[:, 0], out[:, 1] = _wrap(*step(lon, lat))
        return out

    geoms = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    values = shapely.transform(np.asarray(geoms.array), transform, include_z=None)
    converted = gpd.GeoSeries(values, index=frame.index, crs=WGS84, name=geoms.name)
    if isinstance(frame, gpd.GeoSeries):
        return converted
    out = frame.copy()
    out[frame.geometry.name] = converted
    return out.set_crs(WGS84, allow_override=True)
