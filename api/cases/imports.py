"""Bulk import of cases (CSV lon/lat or GeoJSON points): row checks and vectorised dispatch
(geo.dispatch over the current grids) in partitions, in this process or on Dask; least-loaded
assignment in the file's order; one COPY of the cases and their events (api.cases.import_copy).

The whole file is refused when a row is bad, unless ``skip_invalid``: then the good rows are
loaded and the bad ones reported by row number (1 = the first data row) with a Chinese reason.
Duplicate detection is left to single intake; imported rows are not linked as duplicates.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.bulk.pool import Pool
from api.cases import dispatch
from api.cases.import_copy import copy_cases
from api.storage import models
from data.catalogs import case_categories
from geo.coords import to_wgs84
from geo.dispatch import route_points
from geo.errors import InputError

Advance = Callable[[int], None]
#: Rows per partition: checked and routed as one task (one Dask task with --workers).
PART = 50_000
ALLOWED_CONTROL = {"\n", "\r", "\t"}
FIELD_NAMES = {"description": "描述", "address": "地址"}
OUTSIDE = "不在任何网格、社区或街道范围内 (outside every grid, community and street office)"


@dataclass
class Problem:
    row: int
    id: str | None
    reason: str
    line: int | None = None  # the line of the file, where each row is one line (CSV)


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
        one_line_each = _physical_lines(path) == len(frame) + 1  # the header, then a row a line
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
        one_line_each = False
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
    out.attrs["line_of_row_1"] = 2 if one_line_each else None
    return out


def _physical_lines(path: Path) -> int:
    with path.open("rb") as f:
        n, last = 0, b"\n"
        while block := f.read(1 << 20):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (last not in (b"\n", b""))


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


def _row_problems(rows: pd.DataFrame, max_chars: int) -> dict[int, str]:
    """Each row's problem on its own, by position in the file (dates parsed all at once)."""
    given = rows["reported_at"].where(rows["reported_at"] != "")
    when = pd.to_datetime(given, errors="coerce", utc=True, format="mixed")
    timed = (given.isna() | when.notna()).to_numpy()
    known = rows["category"].isin(list(case_categories())).to_numpy()
    bad = {}
    for k, (i, row) in enumerate(zip(rows.index, rows.itertuples(index=False), strict=True)):
        if reason := _row_problem(row, known[k], timed[k], max_chars):
            bad[int(i)] = reason
    return bad


@dataclass
class Part:
    """One partition of the file: its rows (indexed by position in the file) and the rules."""

    rows: pd.DataFrame
    max_chars: int
    tolerance_m: float


def check_and_route(layers: tuple, part: Part) -> tuple[dict[int, str], pd.DataFrame]:
    """A partition's bad rows (position → reason) and the routes of the others (geo.dispatch),
    indexed by position; a pure function of its input, so any worker gives the same."""
    grids, communities, streets = layers
    bad = _row_problems(part.rows, part.max_chars)
    good = part.rows.drop(index=list(bad))
    points = gpd.GeoDataFrame(
        geometry=shapely.points(good["lon"].to_numpy(float), good["lat"].to_numpy(float)),
        index=good.index,
        crs=4326,
    )
    routes = route_points(
        points, grids, communities=communities, streets=streets, tolerance_m=part.tolerance_m
    )
    return bad, routes


def _parts(frame: pd.DataFrame, max_chars: int, tolerance_m: float) -> Iterator[Part]:
    for start in range(0, max(len(frame), 1), PART):  # an empty file: one empty part
        yield Part(frame.iloc[start : start + PART], max_chars, tolerance_m)


def _known_ids(session: Session, frame: pd.DataFrame) -> dict[int, str]:
    """Rows whose external_id repeats an earlier row or is already stored."""
    ids = frame["external_id"]
    given = [i for i in ids.unique() if i]
    stored: set[str] = set()
    for start in range(0, len(given), 10_000):
        chunk = given[start : start + 10_000]
        stored |= set(
            session.execute(
                select(models.Case.external_id).where(models.Case.external_id.in_(chunk))
            ).scalars()
        )
    out = {}
    for i in np.flatnonzero(((ids != "") & ids.duplicated(keep="first")).to_numpy()):
        ext = ids.iat[i]
        out[int(i)] = f"编号 {ext!r} 与前面的行重复 (external_id {ext!r} repeats an earlier row)"
    for i in np.flatnonzero(ids.isin(stored).to_numpy()):
        ext = ids.iat[i]
        out.setdefault(int(i), f"编号 {ext!r} 已经存在 (external_id {ext!r} is already stored)")
    return out


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
    pool: Pool | None = None,
) -> ImportReport:
    """Check, route, assign and store the rows of `frame` (see read_cases) in `session`'s
    transaction. Checks and routing run in partitions on `pool` (this process when None), the
    grid layers sent to each worker once; assignment follows the file's order, so the result is
    the same for any number of workers."""
    first = frame.attrs.get("line_of_row_1")  # the file line of row 1, when each row is one
    frame = frame.reset_index(drop=True)
    report = ImportReport(rows=len(frame))
    layers = dispatch.routing_layers(session)
    bad: dict[int, str] = {}
    routed = []
    for part_bad, routes in (pool or Pool()).stream(
        check_and_route, _parts(frame, max_chars, tolerance_m), layers
    ):
        bad |= part_bad
        routed.append(routes)
    routes = pd.concat(routed)
    for i, reason in _known_ids(session, frame).items():
        bad.setdefault(i, reason)
    for i in routes.index[routes["routing"].isna()]:
        bad.setdefault(int(i), OUTSIDE)
    ids = frame["external_id"].to_numpy(object)
    report.rejected = [
        Problem(i + 1, ids[i] or None, bad[i], None if first is None else first + i)
        for i in sorted(bad)
    ]
    if bad and not skip_invalid:
        msg = (
            f"{len(bad)} 行有误，未导入任何数据 ({len(bad)} of {len(frame)} rows are bad; "
            "nothing was loaded; --skip-invalid loads the rest)"
        )
        raise ImportRejected(msg, report.rejected)
    routes = routes.drop(index=[i for i in bad if i in routes.index])
    good = frame.loc[routes.index]
    now = session.execute(select(func.clock_timestamp())).scalar_one()
    statuses = copy_cases(
        session, good, routes, Assigner(session).pick, now=now, actor=actor, advance=advance
    )
    report.loaded = len(good)
    report.by_status = statuses.value_counts().to_dict()
    report.by_routing = routes["routing"].fillna("none").value_counts().to_dict()
    return report
