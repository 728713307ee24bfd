"""Bulk import of cases (CSV lon/lat or GeoJSON points): row checks, vectorised dispatch
(geo.dispatch over the current grids) and the cases' COPY text in partitions, in this process or
on Dask (api.cases.import_rows); least-loaded assignment in the file's order and the COPYs of
the cases and their events here (api.cases.import_copy).

The whole file is refused when a row is bad, unless ``skip_invalid``: then the good rows are
loaded and the bad ones reported by row number (1 = the first data row) with a Chinese reason.
Duplicate detection is left to single intake; imported rows are not linked as duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from api.bulk.pool import Pool
from api.cases import dispatch
from api.cases.import_copy import CASES_SQL, Assigner, copy_events, draw_ids, lines, raw_cursor
from api.cases.import_rows import Part, prepare
from geo.coords import to_wgs84
from geo.errors import InputError

Advance = Callable[[int], None]
#: Rows per partition: checked, routed and rendered as one task (one Dask task with --workers);
#: 25,000 rather than 50,000 took the two-worker peak at 200,000 points from ~1.25 to 1.04 GB.
PART = 25_000
STORED_IDS = text("SELECT external_id FROM cases WHERE external_id = ANY(:ids)")
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


def _parts(frame: pd.DataFrame, rules: dict) -> Iterator[Part]:
    for start in range(0, max(len(frame), 1), PART):  # an empty file: one empty part
        yield Part(frame.iloc[start : start + PART], **rules)


def _known_ids(session: Session, frame: pd.DataFrame) -> dict[int, str]:
    """Rows whose external_id repeats an earlier row or is already stored (one query)."""
    ids = frame["external_id"]
    given = [i for i in ids.unique() if i]
    stored = set(session.execute(STORED_IDS, {"ids": given}).scalars()) if given else set()
    out = {}
    for i in np.flatnonzero(((ids != "") & ids.duplicated(keep="first")).to_numpy()):
        ext = ids.iat[i]
        out[int(i)] = f"编号 {ext!r} 与前面的行重复 (external_id {ext!r} repeats an earlier row)"
    for i in np.flatnonzero(ids.isin(stored).to_numpy()):
        ext = ids.iat[i]
        out.setdefault(int(i), f"编号 {ext!r} 已经存在 (external_id {ext!r} is already stored)")
    return out


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
    transaction. Checks, routing and the COPY text run in partitions on `pool` (this process
    when None), the grid layers sent to each worker once; assignment follows the file's order,
    so the result is the same for any number of workers. The cases' COPY takes each partition
    as it comes, the events' COPY follows; with bad rows and not `skip_invalid` nothing is
    written (the COPY is abandoned) and ImportRejected lists them all."""
    first = frame.attrs.get("line_of_row_1")  # the file line of row 1, when each row is one
    frame = frame.reset_index(drop=True)
    report = ImportReport(rows=len(frame))
    layers = dispatch.routing_layers(session)
    known = _known_ids(session, frame)
    now = session.execute(select(func.clock_timestamp())).scalar_one()
    assigner = Assigner.of(session)
    case_ids = draw_ids(session, len(frame))
    known_at = np.fromiter(known, dtype=np.int64, count=len(known))
    rules = {"max_chars": max_chars, "tolerance_m": tolerance_m, "now": now, "actor": actor}
    bad: dict[int, str] = {}
    events: list[str] = []
    statuses, routings = [], []
    cursor = raw_cursor(session)  # the cases' text goes out on a thread while the rest is made
    with cursor, cursor.copy(CASES_SQL, writer=QueuedLibpqWriter(cursor)) as copy:
        for prepared in (pool or Pool()).stream(prepare, _parts(frame, rules), layers):
            bad |= prepared.bad
            taken = np.isin(prepared.at, known_at)
            outside = prepared.routing == None  # noqa: E711 (elementwise)
            for i in prepared.at[taken | outside]:
                bad[int(i)] = known.get(int(i), OUTSIDE)
            keep = ~(taken | outside)
            if advance is not None:
                advance(len(prepared.at) + len(prepared.bad))  # the partition's rows
            if bad and not skip_invalid:
                continue  # nothing more is written; every bad row is still found
            used = case_ids[report.loaded : report.loaded + int(keep.sum())]
            cases, history, status = lines(prepared, keep, used, assigner)
            copy.write(cases)
            events.append(history)
            report.loaded += len(used)
            statuses.append(status)
            routings.append(prepared.routing[keep])
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
            raise ImportRejected(msg, report.rejected)  # psycopg ends the COPY with an error
    copy_events(session, events)
    report.by_status = _counts(statuses)
    report.by_routing = _counts(routings)
    return report


def _counts(arrays: list[np.ndarray]) -> dict[str, int]:
    values = pd.Series(np.concatenate(arrays) if arrays else [], dtype=object)
    return values.value_counts().to_dict()
