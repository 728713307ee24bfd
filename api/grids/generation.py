"""Grid generation jobs: from files to a GeoJSON layer (file mode), or from PostGIS back into
it as a new version (DB mode), and the demo's assignment of grid workers to grids."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import shapely

from api.bulk.pool import Pool
from api.grids.parallel import area_map, generate_on_cluster
from geo.errors import GeoError, InputError
from geo.grids.generate import GRID_BOUNDS, MICRO_BOUNDS, GridLayer, generate_grids
from geo.grids.limits import Breach, check_limits, require_limits
from geo.grids.parts import PART_HOUSEHOLDS
from geo.households import estimate_households
from geo.io import read_vector, write_geojson
from geo.validate import RowProblem, validate_features

if TYPE_CHECKING:  # file mode starts without loading the database layer (SQLAlchemy, models)
    from sqlalchemy.orm import Session

    from api.storage import grids as store

CONTRACT_COLUMNS = ["code", "level", "parent_code", "households", "members"]


@dataclass(frozen=True)
class Bounds:
    grid: tuple[int, int] = GRID_BOUNDS
    micro: tuple[int, int] = MICRO_BOUNDS
    cut_above: int = PART_HOUSEHOLDS  # a boundary of more households is cut into parts


def bounds_for(level: str, lo: int | None, hi: int | None, micro_lo=None, micro_hi=None) -> Bounds:
    """--min/--max apply to the level asked for (to grids when it is 'both')."""
    if level == "micro":
        micro = (lo or MICRO_BOUNDS[0], hi or MICRO_BOUNDS[1])
        return Bounds(micro=micro)
    grid = (lo or GRID_BOUNDS[0], hi or GRID_BOUNDS[1])
    return Bounds(grid=grid, micro=(micro_lo or MICRO_BOUNDS[0], micro_hi or MICRO_BOUNDS[1]))


class BadRows(InputError):
    """Input rows that cannot be used; each is listed."""

    def __init__(self, source: Path, problems: list[RowProblem]) -> None:
        self.problems = problems
        first = problems[0]
        super().__init__(
            f"{source}: {len(problems)} bad building row(s) (first: row {first.row}"
            f"{f' ({first.id})' if first.id else ''}: {first.reason}); "
            "fix them or pass --skip-invalid"
        )


def read_buildings(path: Path, *, skip_invalid: bool = False) -> tuple[gpd.GeoDataFrame, list]:
    """Buildings from a file, validated, with missing household counts estimated and flagged."""
    checked = validate_features(read_vector(path), kind="buildings", id_column="building_id")
    if checked.problems and not skip_invalid:
        raise BadRows(path, list(checked.problems))
    return estimate_households(checked.frame), list(checked.problems)


def read_boundary(path: Path) -> gpd.GeoDataFrame:
    frame = read_vector(path)
    if len(frame) == 0:
        msg = f"{path}: no boundary polygons"
        raise InputError(msg)
    kinds = set(frame.geom_type.dropna())
    if not kinds <= {"Polygon", "MultiPolygon"} or frame.geometry.isna().any():
        msg = f"{path}: the boundary must be polygons, got {sorted(kinds)}"
        raise InputError(msg)
    fixed = shapely.make_valid(frame.geometry.to_numpy())
    fixed = [g if g.geom_type in ("Polygon", "MultiPolygon") else g.buffer(0) for g in fixed]
    return frame.set_geometry(gpd.GeoSeries(fixed, index=frame.index, crs=frame.crs))


def generate_file(
    buildings: Path,
    boundary: Path,
    out: Path,
    *,
    roads: Path | None = None,
    level: str = "grid",
    bounds: Bounds = Bounds(),
    report: Path | None = None,
    skip_invalid: bool = False,
    pool: Pool | None = None,
    warn: Callable[[Breach], None] | None = None,
) -> GridLayer:
    """Read the inputs, check the limits (geo.grids.limits: errors raise LimitError before any
    division, warnings go to `warn`), generate the layer with its areas on `pool` (this
    process by default), write OUT (GeoJSON) and the report (JSON)."""
    frame, rejected = read_buildings(buildings, skip_invalid=skip_invalid)
    area = read_boundary(boundary)
    lines = read_vector(roads) if roads is not None else None
    warnings = require_limits(
        check_limits(frame, area, level=level, grid_bounds=bounds.grid, micro_bounds=bounds.micro)
    )
    for breach in warnings if warn is not None else ():
        warn(breach)
    layer = generate_grids(
        frame, area, roads=lines, level=level, grid_bounds=bounds.grid, micro_bounds=bounds.micro,
        map_areas=area_map(pool), part_households=bounds.cut_above,
    )  # fmt: skip
    layer.report["limits"] = [b.reason for b in warnings]
    write_layer(layer, out, report=report, rejected=rejected)
    return layer


def write_layer(
    layer: GridLayer, out: Path, *, report: Path | None, rejected: list[RowProblem]
) -> None:
    """The layer as GeoJSON (contract columns first) and, if asked, the report as JSON."""
    layer.report["rejected_rows"] = [
        p._asdict() if hasattr(p, "_asdict") else vars(p) for p in rejected
    ]
    columns = CONTRACT_COLUMNS + [c for c in layer.grids.columns if c not in CONTRACT_COLUMNS]
    write_geojson(layer.grids[columns], out)
    if report is not None:
        report.write_text(json.dumps(layer.report, ensure_ascii=False, indent=2), encoding="utf-8")


# -- DB mode -----------------------------------------------------------------------------------


@dataclass
class CommunityResult:
    """What one community's regeneration did (or why it was skipped)."""

    code: str
    name: str
    skipped: str | None = None  # reason, when nothing was written
    failed: bool = False  # skipped because generation raised an error
    buildings: int = 0
    households: int = 0
    # (buildings, households) whose community_id is this one but that lie outside its polygon
    outside: tuple[int, int] = (0, 0)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # level → (count, within)
    infeasible: list[dict] = field(default_factory=list)
    version: int = 0  # highest version written
    # grids the engine left in several parts, stored as their largest: code → share left out
    trimmed: dict[str, float] = field(default_factory=dict)
    report: dict = field(default_factory=dict)


@dataclass
class DbRun:
    """One DB-mode run: a result per selected community, all written at `at`."""

    at: datetime | None
    results: list[CommunityResult]

    @property
    def generated(self) -> list[CommunityResult]:
        return [r for r in self.results if r.skipped is None]

    @property
    def skipped(self) -> list[CommunityResult]:
        return [r for r in self.results if r.skipped is not None]


Advance = Callable[[int], None]


def generate_communities(
    session: Session,
    areas: Sequence[store.Area],
    *,
    level: str = "both",
    bounds: Bounds = Bounds(),
    force: bool = False,
    advance: Advance | None = None,
    pool: Pool | None = None,
) -> DbRun:
    """Regenerate the grids of `areas` in the caller's transaction, each as a new version.

    Per community with a polygon: its buildings and the roads across it are read and its
    limits checked (geo.grids.limits) before any division; the engine then runs on `pool`
    (this process by default, or Dask workers) with the community code as prefix; results are
    written in the order of `areas`: the current rows closed and the new ones inserted (see
    api.storage.grids.write_version). Communities without a polygon, without buildings, past
    a limit, or (unless `force`) with locked grids are skipped and say why; one whose
    generation fails on its input is skipped with failed=True and its layer left as it was.
    """
    from api.storage import grids as store

    at = store.lock_communities(session, [a.id for a in areas]) if areas else None
    pool = pool or Pool()
    started = [(area, *_start_one(session, area, level, bounds, force, pool)) for area in areas]
    results = []
    for area, result, future in started:
        if future is not None:
            _finish_one(session, area, result, future, at=at)
        results.append(result)
        if advance is not None:
            advance(1)
    if any(r.version for r in results):
        from api.cases import reroute_open_cases

        reroute_open_cases(session, actor="system:grids-generate")
    return DbRun(at, results)


def _start_one(session: Session, area: store.Area, level: str, bounds: Bounds, force: bool, pool):
    """(result, future of the engine's layer), or (result saying why it is skipped, None)."""
    from api.storage import grids as store

    result = CommunityResult(area.code, area.name)
    if area.geom is None:
        result.skipped = "no polygon stored for this community"
        return result, None
    if not force and (locked := store.locked_codes(session, area)):
        shown = ", ".join(locked[:3]) + (" …" if len(locked) > 3 else "")
        result.skipped = f"{len(locked)} locked grid(s) ({shown}); unlock them or pass --force"
        return result, None
    buildings = store.read_buildings(session, area)
    result.outside = store.buildings_outside(session, area)
    if len(buildings) == 0:
        result.skipped = "no buildings inside its polygon"
        return result, None
    result.buildings = len(buildings)
    result.households = int(buildings["households"].sum())
    boundary = gpd.GeoDataFrame({"code": [area.code]}, geometry=[area.geom], crs=4326)
    options = {"level": level, "grid_bounds": bounds.grid, "micro_bounds": bounds.micro}
    breaches = check_limits(buildings, boundary, **options)
    if errors := [b.reason for b in breaches if b.error]:
        result.skipped, result.failed = f"未划分 (not divided): {'; '.join(errors)}", True
        return result, None
    result.report["limits"] = [b.reason for b in breaches]
    roads = store.read_roads(session, area)
    return result, pool.submit(
        generate_on_cluster, buildings, boundary, roads=roads, part_households=bounds.cut_above,
        **options,
    )  # fmt: skip


def _finish_one(session: Session, area: store.Area, result: CommunityResult, future, *, at):
    from api.storage import grids as store

    try:
        layer = future.result()
        written = store.write_version(session, area, layer.grids, at=at)
    except (GeoError, ValueError, shapely.errors.GEOSException) as exc:  # named by community
        result.skipped, result.failed = f"生成失败 (generation failed): {exc}", True
        return
    result.version = max(written.versions.values(), default=0)
    result.trimmed = written.trimmed
    result.report = {**layer.report, "limits": result.report.get("limits", [])}
    for lvl in ("grid", "micro"):
        if lvl in layer.report:
            r = layer.report[lvl]
            result.counts[lvl] = (r["count"], r["within_bounds"])
            result.infeasible += [{"level": lvl, **item} for item in r["infeasible"]]


def generate_db(
    url: str,
    *,
    community: Sequence[str] = (),
    street: Sequence[str] = (),
    every: bool = False,
    level: str = "both",
    bounds: Bounds = Bounds(),
    force: bool = False,
    progress_for: Callable[[str, int], Advance] | None = None,
    actor: str = "cli",
    pool: Pool | None = None,
) -> DbRun:
    """Select communities and regenerate them in one transaction (committed when all is done),
    with an audit row ("grids.generate" by `actor`) per community regenerated.

    Raises api.errors.NotFoundError for an unknown community or street code; nothing is
    written then.
    """
    from api.accounts import audit
    from api.db import transaction
    from api.storage import grids as store

    if not (community or street or every):
        msg = "name communities (--community), street offices (--street) or --all"
        raise InputError(msg)
    with transaction(url) as session:
        areas = store.select_communities(session, community=community, street=street, every=every)
        advance = progress_for("社区 communities", len(areas)) if progress_for else None
        run = generate_communities(
            session, areas, level=level, bounds=bounds, force=force, advance=advance, pool=pool
        )
        for r in run.generated:
            after = {"version": r.version, "households": r.households, "counts": r.counts}
            audit.record(session, actor, "grids.generate", "grids", r.code, {"after": after})
        return run


# -- grid workers --------------------------------------------------------------------------------


def plan_assignments(codes: Sequence[str], workers: dict[str, list[int]]) -> list[tuple[int, str]]:
    """(worker, grid code) pairs: one leader per grid, full-time and part-time workers spread.

    Grid i gets grid leader i mod L (a leader leads several grids when there are fewer leaders
    than grids; leaders beyond the number of grids get none). Full-time workers are dealt round
    the grids until every grid has one and every full-timer has a grid; part-time workers are
    dealt round the grids once each.

    Examples
    --------
    >>> plan_assignments(["A", "B"], {"grid_leader": [1], "full_time": [2, 3], "part_time": [4]})
    [(1, 'A'), (1, 'B'), (2, 'A'), (3, 'B'), (4, 'A')]
    """
    if not codes:
        return []
    n = len(codes)
    leaders = workers.get("grid_leader", [])
    full = workers.get("full_time", [])
    part = workers.get("part_time", [])
    pairs = [(leaders[i % len(leaders)], codes[i]) for i in range(n)] if leaders else []
    if full:
        pairs += [(full[i % len(full)], codes[i % n]) for i in range(max(n, len(full)))]
    pairs += [(w, codes[i % n]) for i, w in enumerate(part)]
    return pairs


def assign_workers(session: Session, community_ids: Sequence[int]) -> int:
    """Assign each community's workers to its current grids (replacing their assignments)."""
    from api.storage import grids as store

    stored = 0
    for community_id in community_ids:
        workers = store.community_workers(session, community_id)
        codes = store.current_codes(session, community_id, level="grid")
        everyone = [w for ids in workers.values() for w in ids]
        stored += store.replace_assignments(session, everyone, plan_assignments(codes, workers))
    return stored
