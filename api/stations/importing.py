"""Station rows before they are stored: catalog checks, defaults, and points from addresses.

A station file may give points (GeoJSON, GeoPackage, CSV lon/lat, optionally a per-row `crs`
column of wgs84/gcj02/bd09) or only addresses: rows without a point are geocoded against the
database's address base and kept when the answer is at door-number, compound or building level
(``location_source`` 'geocoded'); coarser answers are refused with the level reached.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.catalogs import function_names, offered_by_type, station_types, type_defaults
from geo.coords import to_wgs84
from geo.errors import InputError
from geo.geocode import Match
from geo.io import LAT_NAMES, LON_NAMES, read_vector
from geo.validate import RowProblem

Geocoder = Callable[[Sequence[str]], Sequence[Match]]

#: Geocoding answers precise enough to place a station (door number, compound or finer).
PLACE_LEVELS = ("roomno", "cellno", "houseno", "poi", "roadno")
STAR_RANGE = (3, 5)
_TIME_RANGE = re.compile(r"\d{1,2}[:：]\d{2}\s*[-–~～至到]\s*\d{1,2}[:：]\d{2}")
_ALWAYS = ("24/7", "全天", "24小时")
_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{4,30}$")
_CRS_NAMES = ("wgs84", "gcj02", "bd09")


def read_station_file(path: Path, **read_options) -> gpd.GeoDataFrame:
    """Read a station file; a CSV without coordinate columns gives rows without points."""
    path = Path(path)
    if path.suffix.lower() == ".csv" and not _has_coordinates(path, read_options):
        try:
            table = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        except (UnicodeDecodeError, pd.errors.ParserError, OSError) as exc:
            msg = f"{path}: cannot read as CSV: {exc}"
            raise InputError(msg) from exc
        table = table.replace({"": None})
        table["source_row"] = np.arange(1, len(table) + 1, dtype="int64")
        return gpd.GeoDataFrame(table, geometry=[None] * len(table), crs=4326)
    return read_vector(path, **read_options)


def _has_coordinates(path: Path, options: dict) -> bool:
    if options.get("lon_column") or options.get("lat_column"):
        return True
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError):
        return True  # let read_vector report it
    names = {str(c).lower() for c in header.columns}
    return bool(names & set(LON_NAMES)) and bool(names & set(LAT_NAMES))


def _text(value) -> str | None:
    if value is None or (not isinstance(value, list | tuple | np.ndarray) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def _functions(value, stype: str | None) -> tuple[list[str] | None, str | None]:
    """(function codes, problem): given codes or Chinese names, else the type's defaults."""
    names = function_names()
    by_label = {v: k for k, v in names.items()}
    if isinstance(value, list | tuple | np.ndarray):
        items = [str(v).strip() for v in value]
    else:
        text = _text(value)
        items = [] if text is None else re.split(r"[;；,，、|]", text)
    items = [i.strip() for i in items if i and i.strip()]
    if not items:
        if stype is None:
            return [], None  # a station of no named kind: counts only as 'any station'
        if stype not in station_types()["types"]:
            known = ", ".join(station_types()["types"])
            return None, f"unknown station type {stype!r} and no functions given (types: {known})"
        return offered_by_type()[stype], None
    codes, unknown = [], []
    for item in items:
        code = item if item in names else by_label.get(item)
        if code is None:
            unknown.append(item)
        elif code not in codes:
            codes.append(code)
    if unknown:
        return None, f"unknown function(s) {', '.join(unknown)} (known: {', '.join(names)})"
    return codes, None


def _stars(value) -> tuple[int | None, str | None]:
    text = _text(value)
    if text is None:
        return None, None
    try:
        number = float(text)
    except ValueError:
        return None, f"stars {text!r} is not a number"
    low, high = STAR_RANGE
    if not number.is_integer() or not low <= number <= high:
        return None, f"stars must be a whole number from {low} to {high} (got {text})"
    return int(number), None


def _hours(value, stype: str | None) -> tuple[str | None, str | None]:
    text = _text(value)
    if text is None:
        return type_defaults(stype).get("opening_hours") if stype else None, None
    if any(a in text for a in _ALWAYS) or _TIME_RANGE.search(text):
        return text, None
    return None, f"opening hours {text!r} name no time range such as 08:30-17:30"


def _phone(row: dict) -> tuple[str | None, str | None]:
    given = _text(row.get("phone"))
    if given is not None:
        if _PHONE.match(given):
            return given, None
        return None, f"phone {given!r} is not a telephone number"
    contact = _text(row.get("contact"))  # a public desk number written as the contact
    return (contact if contact and _PHONE.match(contact) else None), None


def prepare_stations(
    frame: gpd.GeoDataFrame, *, geocode: Geocoder | None = None
) -> tuple[gpd.GeoDataFrame, list[RowProblem]]:
    """Check station attributes, fill catalog defaults, and place rows without a point.

    Returns the good rows (with ``functions`` as lists, ``stars`` as int, ``opening_hours``,
    ``phone``, ``location_source`` and the geometry filled in) and one RowProblem per bad row.
    """
    if "station_id" not in frame.columns:
        msg = f"stations: id column 'station_id' not found; columns are {list(frame.columns)}"
        raise InputError(msg)
    out = frame.copy()
    n = len(out)
    rows = out["source_row"].tolist() if "source_row" in out.columns else list(range(1, n + 1))
    records = out.to_dict("records")
    geoms = np.asarray(out.geometry.array, dtype=object)
    problems: dict[int, str] = {}
    values: dict[str, list] = {k: [None] * n for k in ("functions", "stars", "opening_hours")}
    values["phone"] = [None] * n
    source = ["given"] * n
    for i, row in enumerate(records):
        stype = _text(row.get("type"))
        functions, p1 = _functions(row.get("functions"), stype)
        stars, p2 = _stars(row.get("stars"))
        hours, p3 = _hours(row.get("opening_hours"), stype)
        phone, p4 = _phone(row)
        p5 = _convert(geoms, i, _text(row.get("crs")))
        reason = next((p for p in (p1, p2, p3, p4, p5) if p), None)
        if reason:
            problems[i] = reason
        values["functions"][i], values["stars"][i] = functions, stars
        values["opening_hours"][i], values["phone"][i] = hours, phone
    missing = [i for i in range(n) if i not in problems and (geoms[i] is None or geoms[i].is_empty)]
    if missing:
        _place(records, geoms, source, problems, missing, geocode)
    for name, column in values.items():
        out[name] = pd.Series(column, index=out.index, dtype=object)
    out["location_source"] = source
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=out.index, crs=out.crs or 4326)
    keep = np.array([i not in problems for i in range(n)], dtype=bool)
    report = [
        RowProblem(int(rows[i]), _text(records[i].get("station_id")), reason)
        for i, reason in sorted(problems.items())
    ]
    return out[keep], report


def _convert(geoms: np.ndarray, i: int, crs: str | None) -> str | None:
    """Bring row i's point from a per-row crs (gcj02, bd09) to WGS-84 in place."""
    if crs is None or crs.lower() == "wgs84" or geoms[i] is None:
        return None
    if crs.lower() not in _CRS_NAMES:
        return f"unknown crs {crs!r}: expected wgs84, gcj02 or bd09"
    g = geoms[i]
    if g.geom_type != "Point":
        return f"crs {crs} is only understood for points (got {g.geom_type})"
    lon, lat = to_wgs84(g.x, g.y, crs=crs.lower())
    geoms[i] = shapely.Point(float(lon), float(lat))
    return None


def _place(records, geoms, source, problems, missing, geocode: Geocoder | None) -> None:
    addresses = [_text(records[i].get("address")) for i in missing]
    if geocode is None:
        for i in missing:
            problems[i] = "no lon/lat, and no address base to geocode the address against"
        return
    asked = [(i, a) for i, a in zip(missing, addresses, strict=True) if a]
    for i, a in zip(missing, addresses, strict=True):
        if not a:
            problems[i] = "no lon/lat and no address to geocode"
    matches = geocode([a for _, a in asked]) if asked else []
    for (i, address), match in zip(asked, matches, strict=True):
        if match.level in PLACE_LEVELS and match.lon is not None:
            geoms[i] = shapely.Point(match.lon, match.lat)
            source[i] = "geocoded"
        else:
            problems[i] = (
                f"address {address!r} could not be placed: matched only at level {match.level}"
                f" (need {', '.join(PLACE_LEVELS)})"
            )
