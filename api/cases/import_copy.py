"""Storing imported cases: status, queue and worker in the file's order, then one COPY of the
cases and one of their events in the caller's transaction (ids drawn from the sequence first,
so each event knows its case)."""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Callable
from datetime import datetime

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from data.catalogs import case_categories

CHUNK = 50_000
CASE_COLUMNS = (
    "id", "category", "description", "address", "external_id", "status", "grid_code",
    "micro_grid_code", "community_code", "street_code", "assignee_id", "reported_at",
    "updated_at", "due_at", "geom", "intake", "source_lon", "source_lat", "source_crs",
    "handling_level", "department", "priority", "queue", "routing", "route_distance_m", "receipt",
)  # fmt: skip
EVENT_COLUMNS = ("case_id", "actor", "from_status", "to_status", "kind", "action", "at", "data")
NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence('cases', 'id')) FROM generate_series(1, :n)")


def _decide(cat: np.ndarray, grid: np.ndarray, routing: np.ndarray, pick: Callable) -> tuple:
    """Status, queue, assignee and department per row, as single intake decides them; in the
    file's order, since each assignment raises the chosen worker's load for the next rows."""
    cats = case_categories()
    n = len(cat)
    status = np.full(n, "reported", dtype=object)
    queue = np.full(n, None, dtype=object)
    assignee = np.full(n, None, dtype=object)
    dept = np.full(n, None, dtype=object)
    for k in range(n):
        c = cats[cat[k]]
        if c["to_department"]:
            status[k], queue[k], dept[k] = "transferred", "department", c["department"]
        elif grid[k] is not None and (pk := pick(grid[k])) is not None:
            status[k], queue[k], assignee[k] = "dispatched", "grid", pk
        else:
            queue[k] = "community" if grid[k] is not None else routing[k]
    return status, queue, assignee, dept


def _copy(session: Session, table: str, frame: pd.DataFrame, advance=None) -> None:
    cursor = session.connection().connection.driver_connection.cursor()
    # every value quoted (an unquoted line of backslash-dot ends the data), every empty one NULL
    names = ", ".join(frame.columns)
    sql = f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv, FORCE_NULL ({names}))"
    with cursor, cursor.copy(sql) as copy:
        for start in range(0, len(frame), CHUNK):
            part = frame.iloc[start : start + CHUNK]
            buffer = io.StringIO()
            part.to_csv(buffer, header=False, index=False, quoting=csv.QUOTE_ALL)
            copy.write(buffer.getvalue())
            if advance is not None:
                advance(len(part))


def _none(values: pd.Series) -> np.ndarray:
    """The values as objects, empty text and NaN read as None."""
    out = values.to_numpy(object, copy=True)
    out[pd.isna(values).to_numpy() | (values == "").to_numpy()] = None
    return out


def copy_cases(
    session: Session,
    good: pd.DataFrame,
    routes: pd.DataFrame,
    pick: Callable[[str], int | None],
    *,
    now: datetime,
    actor: str = "import",
    advance: Callable[[int], None] | None = None,
) -> pd.Series:
    """Store the checked rows `good` with their `routes` (same index); `pick` chooses a grid's
    worker. Returns each stored row's status."""
    cats = case_categories()
    n = len(good)
    cat = good["category"].to_numpy(object)
    grid, routing = _none(routes["grid_code"]), _none(routes["routing"])
    status, queue, assignee, dept = _decide(cat, grid, routing, pick)
    if n == 0:
        return pd.Series(status, dtype=object)
    ids = np.array(session.execute(NEXT_IDS, {"n": n}).scalars().all(), dtype=np.int64)
    utc_now = pd.Timestamp(now).tz_convert("UTC")
    given = good["reported_at"].where(good["reported_at"] != "", None)
    at = pd.to_datetime(given, utc=True, format="mixed").astype("datetime64[us, UTC]")
    at = at.fillna(utc_now)
    hours = pd.to_timedelta([cats[c]["deadline_hours"] for c in cat], unit="h")
    lon, lat = good["lon"].to_numpy(float), good["lat"].to_numpy(float)
    geom = shapely.to_wkb(
        shapely.set_srid(shapely.points(lon, lat), 4326), hex=True, include_srid=True
    )
    cases = pd.DataFrame({
        "id": ids, "category": cat, "description": good["description"].to_numpy(object),
        "address": _none(good["address"]), "external_id": _none(good["external_id"]),
        "status": status, "grid_code": grid,
        "micro_grid_code": _none(routes["micro_grid_code"]),
        "community_code": _none(routes["community_code"]),
        "street_code": _none(routes["street_code"]),
        "assignee_id": pd.array(assignee, dtype="Int64"), "reported_at": at.to_numpy(),
        "updated_at": utc_now, "due_at": (at + hours).to_numpy(), "geom": geom,
        "intake": "import", "source_lon": lon, "source_lat": lat, "source_crs": "wgs84",
        "handling_level": [cats[c]["level"] for c in cat], "department": dept,
        "priority": [cats[c]["priority"] for c in cat], "queue": queue, "routing": routing,
        "route_distance_m": routes["distance_m"].to_numpy(float),
        "receipt": [secrets.token_urlsafe(16)[:22] for _ in range(n)],
    }, columns=list(CASE_COLUMNS))  # fmt: skip
    _copy(session, "cases", cases, advance)
    _copy(session, "case_events", _events(ids, status, assignee, dept, routing, at, actor))
    return pd.Series(status, dtype=object)


def _events(ids, status, assignee, dept, routing, at, actor: str) -> pd.DataFrame:
    """A create event per case and, unless it stays reported, its dispatch; case by case."""
    created = pd.DataFrame({
        "case_id": ids, "actor": actor, "from_status": None, "to_status": "reported",
        "kind": "create", "action": "import", "at": at.to_numpy(),
        "data": [json.dumps({"routing": r}) for r in routing], "order": 2 * np.arange(len(ids)),
    })  # fmt: skip
    moved = np.flatnonzero(status != "reported")
    dispatched = pd.DataFrame({
        "case_id": ids[moved], "actor": "system", "from_status": "reported",
        "to_status": status[moved], "kind": "transition",
        "action": np.where(status[moved] == "transferred", "dispatch_department", "dispatch"),
        "at": at.to_numpy()[moved],
        "data": [json.dumps({"assignee_id": assignee[k], "department": dept[k]}) for k in moved],
        "order": 2 * moved + 1,
    })  # fmt: skip
    events = pd.concat([created, dispatched]).sort_values("order", kind="stable")
    return events[list(EVENT_COLUMNS)]
