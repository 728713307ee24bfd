"""Bulk import of cases (CSV lon/lat or GeoJSON points): row checks, vectorised dispatch
(geo.dispatch over the current grids), least-loaded assignment, and inserts in batches.

The whole file is refused when a row is bad, unless ``skip_invalid``: then the good rows are
loaded and the bad ones reported by row number (1 = the first data row). Duplicate detection
is left to single intake; imported rows are not linked as duplicates.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from geoalchemy2.elements import WKBElement
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from api.cases import dispatch
from api.storage import models
from data.catalogs import case_categories
from geo.coords import to_wgs84
from geo.dispatch import route_points
from geo.errors import InputError

Advance = Callable[[int], None]
BATCH = 5_000
ALLOWED_CONTROL = {"\n", "\r", "\t"}


@dataclass
class Problem:
    row: int
    id: str | None
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    loaded: int = 0
    rejected: list[Problem] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)
    by_routing: dict[str, int] = field(default_factory=dict)


class ImportRejected(InputError):
    """The file has bad rows and --skip-invalid was not given; nothing was stored."""

    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(message)
        self.problems = problems


def read_cases(
    path: Path, *, lon_column: str = "lon", lat_column: str = "lat", crs: str = "wgs84"
) -> pd.DataFrame:
    """A frame of category, description, address, external_id, reported_at, lon, lat (WGS-84)
    from a CSV (lon/lat columns in `crs`) or a GeoJSON/GeoPackage of points (EPSG:4326)."""
    if path.suffix.lower() == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        missing = [c for c in (lon_column, lat_column, "category") if c not in frame.columns]
        if missing:
            msg = f"{path.name}: missing column(s) {', '.join(missing)}"
            raise InputError(msg)
        lon = pd.to_numeric(frame[lon_column].str.strip(), errors="coerce").to_numpy(float)
        lat = pd.to_numeric(frame[lat_column].str.strip(), errors="coerce").to_numpy(float)
    else:
        try:
            gdf = gpd.read_file(path)
        except Exception as exc:  # noqa: BLE001 (any reader error is a bad file)
            msg = f"{path.name}: cannot read ({exc})"
            raise InputError(msg) from None
        if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
            gdf = gdf.to_crs(4326)
        if "category" not in gdf.columns:
            msg = f"{path.name}: missing property 'category'"
            raise InputError(msg)
        geoms = gdf.geometry.to_numpy()
        points = np.array([g is not None and g.geom_type == "Point" for g in geoms])
        lon = np.where(
            points, [g.x if p else np.nan for g, p in zip(geoms, points, strict=True)], np.nan
        )
        lat = np.where(
            points, [g.y if p else np.nan for g, p in zip(geoms, points, strict=True)], np.nan
        )
        frame = pd.DataFrame(gdf.drop(columns="geometry")).astype(object).where(gdf.notna(), "")
    if "external_id" not in frame.columns and "case_id" in frame.columns:
        frame = frame.rename(columns={"case_id": "external_id"})
    out = pd.DataFrame({
        c: frame[c].astype(str).str.strip() if c in frame.columns else ""
        for c in ("category", "description", "address", "external_id", "reported_at")
    })  # fmt: skip
    out["lon"], out["lat"] = lon, lat
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    if crs != "wgs84" and ok.any():
        x, y = to_wgs84(lon[ok], lat[ok], crs=crs)
        out.loc[ok, "lon"], out.loc[ok, "lat"] = x, y
    return out


def _text_problem(value: str, name: str, limit: int, *, required: bool) -> str | None:
    if required and not value:
        return f"{name} is empty"
    if any(unicodedata.category(c) == "Cc" and c not in ALLOWED_CONTROL for c in value):
        return f"{name} contains control characters"
    if len(value) > limit:
        return f"{name} longer than {limit} characters"
    return None


def _texts_problem(row, max_chars: int) -> str | None:
    return _text_problem(row.description, "description", max_chars, required=True) or _text_problem(
        row.address, "address", 200, required=False
    )


def check_rows(session: Session, frame: pd.DataFrame, *, max_chars: int) -> list[Problem]:
    """Every bad row with its reason (the first one found per row)."""
    cats = case_categories()
    ids = frame["external_id"]
    repeated = ids[(ids != "") & ids.duplicated(keep="first")]
    given = [i for i in ids.unique() if i]
    stored: set[str] = set()
    for start in range(0, len(given), 10_000):
        chunk = given[start : start + 10_000]
        stored |= set(
            session.execute(
                select(models.Case.external_id).where(models.Case.external_id.in_(chunk))
            ).scalars()
        )
    problems = []
    for i, row in enumerate(frame.itertuples(index=False)):
        reason = None
        if not (np.isfinite(row.lon) and np.isfinite(row.lat)):
            reason = "no point: lon/lat missing, not numbers, or not a Point geometry"
        elif not (abs(row.lon) <= 180 and abs(row.lat) <= 90):
            reason = f"lon/lat out of range ({row.lon}, {row.lat})"
        elif row.category not in cats:
            reason = f"unknown category {row.category!r}"
        elif text := _texts_problem(row, max_chars):
            reason = text
        elif row.external_id and i in repeated.index:
            reason = f"external_id {row.external_id!r} repeats an earlier row"
        elif row.external_id in stored:
            reason = f"external_id {row.external_id!r} is already stored"
        elif row.reported_at and pd.isna(
            pd.to_datetime(row.reported_at, errors="coerce", utc=True)
        ):
            reason = f"reported_at {row.reported_at!r} is not a date and time"
        if reason:
            problems.append(Problem(i + 1, row.external_id or None, reason))
    return problems


class Assigner:
    """Least-open-load assignment over all grids at once (same rule as api.cases.dispatch)."""

    def __init__(self, session: Session) -> None:
        W, WG = models.Worker, models.WorkerGrid
        rows = session.execute(
            select(WG.grid_code, W.id, W.worker_id, W.role, dispatch.open_load())
            .join(W, W.id == WG.worker_id)
            .where(W.on_duty)
        ).all()
        self.by_grid: dict[str, list[list]] = {}
        self.load: dict[int, int] = {}
        for grid, pk, wid, role, load in rows:
            self.by_grid.setdefault(grid, []).append([pk, wid, role])
            self.load[pk] = load

    def pick(self, grid: str) -> int | None:
        workers = [(pk, wid, role, self.load[pk]) for pk, wid, role in self.by_grid.get(grid, [])]
        pk = dispatch.choose_worker(workers)
        if pk is not None:
            self.load[pk] += 1
        return pk


def import_cases(
    session: Session,
    frame: pd.DataFrame,
    *,
    skip_invalid: bool = False,
    tolerance_m: float = 50.0,
    max_chars: int = 2000,
    actor: str = "import",
    advance: Advance | None = None,
) -> ImportReport:
    """Check, route, assign and insert the rows of `frame` (see read_cases)."""
    report = ImportReport(rows=len(frame))
    problems = check_rows(session, frame, max_chars=max_chars)
    frame = frame.reset_index(drop=True)
    grids, communities, streets = dispatch.routing_layers(session)
    bad = {p.row - 1 for p in problems}
    good = frame.drop(index=sorted(bad))
    points = gpd.GeoDataFrame(
        geometry=shapely.points(good["lon"].to_numpy(float), good["lat"].to_numpy(float)),
        index=good.index,
        crs=4326,
    )
    routes = route_points(
        points, grids, communities=communities, streets=streets, tolerance_m=tolerance_m
    )
    outside = routes.index[routes["routing"].isna()]
    for i in outside:
        problems.append(
            Problem(
                i + 1,
                frame.at[i, "external_id"] or None,
                "outside every grid, community and street office",
            )  # fmt: skip
        )
    problems.sort(key=lambda p: p.row)
    report.rejected = problems
    if problems and not skip_invalid:
        msg = (
            f"{len(problems)} of {len(frame)} rows are bad; nothing was loaded "
            "(--skip-invalid loads the rest)"
        )
        raise ImportRejected(msg, problems)
    good, routes = good.drop(index=outside), routes.drop(index=outside)
    now = session.execute(select(func.clock_timestamp())).scalar_one()
    assigner = Assigner(session)
    cats = case_categories()
    rows, starts = [], []
    wkb = shapely.to_wkb(shapely.points(good["lon"].to_numpy(float), good["lat"].to_numpy(float)))
    for (_, row), (_, route), raw in zip(good.iterrows(), routes.iterrows(), wkb, strict=True):
        cat = cats[row["category"]]
        r = dispatch.as_route(route)
        at = (
            pd.to_datetime(row["reported_at"], utc=True).to_pydatetime()
            if row["reported_at"]
            else now
        )
        if cat["to_department"]:
            status, queue, assignee, dept = "transferred", "department", None, cat["department"]
        elif r.grid_code is not None and (assignee := assigner.pick(r.grid_code)) is not None:
            status, queue, dept = "dispatched", "grid", None
        else:
            status, queue, assignee, dept = (
                "reported",
                ("community" if r.grid_code else r.routing),
                None,
                None,
            )
        rows.append({
            "category": cat["code"], "description": row["description"],
            "address": row["address"] or None, "external_id": row["external_id"] or None,
            "status": status, "grid_code": r.grid_code, "micro_grid_code": r.micro_grid_code,
            "community_code": r.community_code, "street_code": r.street_code,
            "assignee_id": assignee, "reported_at": at, "updated_at": now,
            "due_at": at + timedelta(hours=cat["deadline_hours"]),
            "geom": WKBElement(raw, srid=models.SRID), "intake": "import",
            "source_lon": float(row["lon"]), "source_lat": float(row["lat"]), "source_crs": "wgs84",
            "handling_level": cat["level"], "department": dept, "priority": cat["priority"],
            "queue": queue, "routing": r.routing, "route_distance_m": r.distance_m,
            "receipt": secrets.token_urlsafe(16)[:22],
        })  # fmt: skip
        starts.append((status, assignee, dept, at, r.routing))
        if len(rows) >= BATCH:
            _flush(session, rows, starts, actor, report, advance)
            rows, starts = [], []
    _flush(session, rows, starts, actor, report, advance)
    return report


def _flush(session, rows, starts, actor, report: ImportReport, advance) -> None:
    if not rows:
        return
    ids = (
        session.execute(
            insert(models.Case).returning(models.Case.id, sort_by_parameter_order=True), rows
        )
        .scalars()
        .all()
    )
    events = []
    for case_id, (status, assignee, dept, at, routing) in zip(ids, starts, strict=True):
        events.append({"case_id": case_id, "actor": actor, "from_status": None,
                       "to_status": "reported", "kind": "create", "action": "import", "at": at,
                       "data": {"routing": routing}})  # fmt: skip
        if status != "reported":
            action = "dispatch_department" if status == "transferred" else "dispatch"
            events.append({"case_id": case_id, "actor": "system", "from_status": "reported",
                           "to_status": status, "kind": "transition", "action": action, "at": at,
                           "data": {"assignee_id": assignee, "department": dept}})  # fmt: skip
        report.by_status[status] = report.by_status.get(status, 0) + 1
        key = routing or "none"
        report.by_routing[key] = report.by_routing.get(key, 0) + 1
    session.execute(insert(models.CaseEvent), events)
    report.loaded += len(ids)
    if advance is not None:
        advance(len(ids))
