"""One partition of a case import, in whichever process runs it: the rows checked (column by
column; a reason written only for the bad ones), routed (geo.dispatch) and the cases' COPY text
rendered, all but the columns that the file's order decides (id, status, assignee, queue)."""

from __future__ import annotations

import base64
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.catalogs import case_categories
from geo.dispatch import route_points

ALLOWED_CONTROL = {"\n", "\r", "\t"}
#: Unicode category Cc less \t \n \r (what _text_problem refuses), as a regex class.
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SPECIAL = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
FIELD_NAMES = {"description": "描述", "address": "地址"}
NULL = "\\N"
#: The cases' COPY columns: first those decided in the file's order, then the rendered tail.
HEAD = ("id", "status", "assignee_id", "queue")
TAIL = (
    "category", "description", "address", "external_id", "grid_code", "micro_grid_code",
    "community_code", "street_code", "reported_at", "updated_at", "due_at", "geom", "intake",
    "source_lon", "source_lat", "source_crs", "handling_level", "department", "priority",
    "routing", "route_distance_m", "receipt",
)  # fmt: skip


@dataclass
class Part:
    """One partition of the file: its rows (indexed by position in the file) and the rules."""

    rows: pd.DataFrame
    max_chars: int
    tolerance_m: float
    now: datetime | None = None  # the import's clock: updated_at, and reported_at when empty
    actor: str = "import"


@dataclass
class Prepared:
    """A partition's bad rows (position → reason) and, for the rows that passed the row checks
    (positions `at`), what the file's order needs and the rest of their COPY text."""

    bad: dict[int, str]
    at: np.ndarray  # positions in the file
    grid: np.ndarray  # grid code or None
    routing: np.ndarray  # contained, nearest, community, street or None (outside)
    department: np.ndarray  # the category's department when it goes there, else None
    case_tail: np.ndarray  # "\t".join(TAIL) + "\n", COPY text
    when: np.ndarray  # reported_at as COPY text
    created: np.ndarray  # the create event's COPY text after its case_id


def _text_problem(value: str, name: str, limit: int, *, required: bool) -> str | None:
    zh = FIELD_NAMES[name]
    if required and not value:
        return f"{zh}为空 ({name} is empty)"
    if any(unicodedata.category(c) == "Cc" and c not in ALLOWED_CONTROL for c in value):
        return f"{zh}含控制字符 ({name} contains control characters)"
    if len(value) > limit:
        return f"{zh}超过 {limit} 个字符 ({name} longer than {limit} characters)"
    return None


def _row_problem(row, known: bool, timed: bool, max_chars: int) -> str | None:
    """What is wrong with one row on its own (the first thing found), or None; `known`: its
    category is in the catalog, `timed`: its reported_at is empty or a date and time."""
    if not (np.isfinite(row.lon) and np.isfinite(row.lat)):
        return (
            "没有坐标：经纬度缺失、不是数字或不是点几何 "
            "(no point: lon/lat missing, not numbers, or not a Point geometry)"
        )
    if not (abs(row.lon) <= 180 and abs(row.lat) <= 90):
        return f"经纬度超出范围 (lon/lat out of range ({row.lon}, {row.lat}))"
    if not known:
        return f"未知的事件类别 {row.category!r} (unknown category {row.category!r})"
    text = _text_problem(row.description, "description", max_chars, required=True)
    if text or (text := _text_problem(row.address, "address", 200, required=False)):
        return text
    if not timed:
        return (
            f"上报时间 {row.reported_at!r} 不是日期和时间 "
            f"(reported_at {row.reported_at!r} is not a date and time)"
        )
    return None


def _bad_text(values: pd.Series, limit: int, *, required: bool) -> np.ndarray:
    """Rows whose text has a control character, is too long or (`required`) empty; each
    test made on the whole column first."""
    texts = values.tolist()
    n = len(texts)
    bad = np.zeros(n, dtype=bool)
    if CONTROL_RE.search("".join(texts)):
        bad = np.fromiter((CONTROL_RE.search(t) is not None for t in texts), bool, n)
    lengths = np.fromiter(map(len, texts), np.int64, n)
    return bad | (lengths > limit) | (lengths == 0) if required else bad | (lengths > limit)


def row_problems(rows: pd.DataFrame, max_chars: int) -> tuple[dict[int, str], pd.Series]:
    """Each row's problem on its own, by position in the file, and reported_at parsed (NaT
    where empty or bad); the checks column by column, a reason written for bad rows only."""
    given = rows["reported_at"].where(rows["reported_at"] != "")
    when = pd.to_datetime(given, errors="coerce", utc=True, format="mixed")
    timed = (given.isna() | when.notna()).to_numpy()
    known = rows["category"].isin(list(case_categories())).to_numpy()
    lon, lat = rows["lon"].to_numpy(float), rows["lat"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        placed = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    fine = placed & known & timed
    fine &= ~_bad_text(rows["description"], max_chars, required=True)
    fine &= ~_bad_text(rows["address"], 200, required=False)
    bad = {}
    for k in np.flatnonzero(~fine):
        row = next(rows.iloc[[k]].itertuples(index=False))
        bad[int(rows.index[k])] = _row_problem(row, known[k], timed[k], max_chars)
    return bad, when


def copy_text(values) -> np.ndarray:
    """Values as COPY text fields: backslash, tab, newline and CR escaped, None, NaN and empty
    text as NULL (the column searched as a whole first)."""
    values = np.asarray(values, dtype=object)
    missing = pd.isna(values) | (values == "")
    texts = [str(v) for v in np.where(missing, "", values)]
    if any(c in "".join(texts) for c in SPECIAL):
        for a, b in SPECIAL.items():
            texts = [t.replace(a, b) if a in t else t for t in texts]
    out = np.array(texts, dtype=object)
    out[missing] = NULL
    return out


def _numbers(values: np.ndarray) -> np.ndarray:
    """Floats as COPY text (shortest text that reads back the same double), NaN as NULL."""
    out = values.astype(str).astype(object)
    out[np.isnan(values)] = NULL
    return out


def _timestamps(values: np.ndarray) -> np.ndarray:
    """UTC datetime64[us] as COPY text."""
    return (np.datetime_as_string(values, unit="us").astype(object) + "+00").astype(object)


def _lines(columns: list, n: int) -> np.ndarray:
    """Each row's fields joined by tabs, ending with a newline."""
    out = np.empty(n, dtype=object)
    out[:] = [f"{line}\n" for line in map("\t".join, zip(*columns, strict=True))]
    return out


def receipts(n: int) -> list[str]:
    """`n` random receipt codes of 22 URL-safe characters (132 random bits each)."""
    text = base64.urlsafe_b64encode(secrets.token_bytes(18 * n)).decode()
    return [text[i : i + 22] for i in range(0, 24 * n, 24)]


def prepare(layers: tuple, part: Part) -> Prepared:
    """Check, route and render one partition; a pure function of its input (but for the
    receipts, random as in single intake), so any worker gives the same."""
    grids, communities, streets = layers
    rows = part.rows
    bad, when = row_problems(rows, part.max_chars)
    keep = ~rows.index.isin(list(bad))
    good = rows[keep]
    lon, lat = good["lon"].to_numpy(float), good["lat"].to_numpy(float)
    xy = shapely.points(lon, lat)
    points = gpd.GeoDataFrame(geometry=xy, index=good.index, crs=4326)
    routes = route_points(
        points, grids, communities=communities, streets=streets, tolerance_m=part.tolerance_m
    )
    cats = case_categories()
    n = len(good)
    cat = good["category"].to_numpy(object)
    facts = {c: cats[c] for c in set(cat)}
    to_dept = np.array([facts[c]["to_department"] for c in cat], dtype=bool)
    dept = np.array([facts[c]["department"] for c in cat], dtype=object)
    dept[~to_dept] = None
    now = pd.Timestamp(part.now).tz_convert("UTC")
    at = when[keep].astype("datetime64[us, UTC]").fillna(now)
    hours = pd.to_timedelta([facts[c]["deadline_hours"] for c in cat], unit="h")
    at_us = at.dt.tz_localize(None).to_numpy("datetime64[us]")
    due = (at + hours).dt.tz_localize(None).to_numpy("datetime64[us]")
    geom = shapely.to_wkb(shapely.set_srid(xy, 4326), hex=True, include_srid=True)
    grid = routes["grid_code"].to_numpy(object, copy=True)
    routing = routes["routing"].to_numpy(object, copy=True)
    routing[pd.isna(routing)] = None
    grid[pd.isna(grid)] = None
    stamp = _timestamps(at_us)
    updated = _timestamps(np.array([now.tz_localize(None)], dtype="datetime64[us]"))[0]
    columns = {
        "category": copy_text(cat), "description": copy_text(good["description"]),
        "address": copy_text(good["address"]), "external_id": copy_text(good["external_id"]),
        "grid_code": copy_text(grid), "micro_grid_code": copy_text(routes["micro_grid_code"]),
        "community_code": copy_text(routes["community_code"]),
        "street_code": copy_text(routes["street_code"]), "reported_at": stamp,
        "updated_at": np.full(n, updated, dtype=object),
        "due_at": _timestamps(due), "geom": np.asarray(geom, dtype=object),
        "intake": np.full(n, "import", object), "source_lon": _numbers(lon),
        "source_lat": _numbers(lat), "source_crs": np.full(n, "wgs84", object),
        "handling_level": copy_text([facts[c]["level"] for c in cat]),
        "department": copy_text(dept),
        "priority": copy_text([facts[c]["priority"] for c in cat]),
        "routing": copy_text(routing),
        "route_distance_m": _numbers(routes["distance_m"].to_numpy(float)),
        "receipt": receipts(n),
    }  # fmt: skip
    routed_json = {r: json.dumps({"routing": r}) for r in set(routing)}
    data = copy_text([routed_json[r] for r in routing])
    actor = copy_text([part.actor])[0]
    created = np.empty(n, dtype=object)
    created[:] = [
        f"{actor}\t{NULL}\treported\tcreate\timport\t{t}\t{d}\n"
        for t, d in zip(stamp, data, strict=True)
    ]
    return Prepared(
        bad=bad, at=good.index.to_numpy(np.int64), grid=grid, routing=routing, department=dept,
        case_tail=_lines([columns[c] for c in TAIL], n), when=stamp, created=created,
    )  # fmt: skip
