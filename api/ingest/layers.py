"""Load a file into PostGIS: read (geo.io / geo.osm), validate, estimate households, insert.

A load is all or nothing: with any bad row it fails as a whole (nothing written) unless the
caller asks to skip bad rows, which are then listed in the report by row number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy.orm import Session

from api.stations.importing import Geocoder, prepare_stations, read_station_file
from api.storage import ingest as store
from data.catalogs import offered_by_type
from geo.errors import InputError
from geo.households import classify_buildings, estimate_households
from geo.io import read_vector
from geo.osm import read_osm
from geo.validate import RowProblem, validate_features

KINDS = ("buildings", "roads", "boundaries", "stations", "osm")
LEVELS = ("district", "street", "community", "compound")
OSM_SUFFIXES = (".osm", ".pbf", ".osm.bz2", ".osm.gz")

# columns each kind understands; Shapefiles cut names to 10 characters, which are mapped back
KNOWN_COLUMNS = (
    "building_id", "households", "households_estimated", "units", "floors", "building_type",
    "compound", "compound_id", "community_code", "street_code", "district_code", "address",
    "road_id", "from_no", "to_no", "station_id", "opening_hours", "services", "functions",
)  # fmt: skip

ProgressFor = Callable[[str, int], Callable[[int], None]]
# China's extent (lon, lat), a little widened: a file read in a wrong CRS lands far outside it
CHINA = (73.0, 3.0, 136.0, 54.0)
CODE_DIGITS = {"district": 6, "street": 9, "community": 12}  # GB/T 2260 and its extensions


class IngestRejected(Exception):
    """The load was refused because of bad rows; nothing was written."""

    def __init__(self, source: Path, problems: dict[str, list[RowProblem]]) -> None:
        self.source = source
        self.problems = problems
        count = sum(len(p) for p in problems.values())
        first = next(p[0] for p in problems.values() if p)
        msg = (
            f"{source}: {count} bad row(s), nothing loaded (first: row {first.row}"
            f"{f' id {first.id}' if first.id else ''}: {first.reason}); "
            "fix them or pass --skip-invalid to load the rest"
        )
        super().__init__(msg)


@dataclass
class IngestResult:
    source: Path
    reports: list[store.LoadReport] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def is_osm(path: Path) -> bool:
    return any(path.name.lower().endswith(s) for s in OSM_SUFFIXES)


def restore_truncated_names(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rename Shapefile-truncated columns (building_i → building_id) where unambiguous."""
    renames = {
        name[:10]: name
        for name in KNOWN_COLUMNS
        if len(name) > 10
        and name not in frame.columns
        and name[:10] in frame.columns
        and name[:10] not in KNOWN_COLUMNS  # 'households' is not a cut 'households_estimated'
    }
    return frame.rename(columns=renames)


Layer = tuple[str, gpd.GeoDataFrame, list[RowProblem], list[RowProblem]]


def _validate(frame: gpd.GeoDataFrame, layer: str, *, level: str | None, bounds) -> Layer:
    kind, id_column = {
        "buildings": ("buildings", "building_id"),
        "roads": ("roads", "road_id"),
        "stations": ("stations", "station_id"),
        "pois": ("pois", "poi_id"),
        "barriers": ("roads", "barrier_id"),  # lines, checked as roads are
        "boundaries": ("boundaries", "compound_id" if level == "compound" else "code"),
    }[layer]
    checked = validate_features(frame, kind=kind, id_column=id_column, bounds=bounds)
    return layer, checked.frame, list(checked.problems), list(checked.repaired)


def _classified(osm) -> gpd.GeoDataFrame:
    """OSM buildings with their residential share, judged from land use and POIs around them."""
    return classify_buildings(osm.buildings, landuse=osm.landuse, pois=osm.pois)


def read_layers(
    path: Path,
    *,
    kind: str,
    level: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    geocode: Geocoder | None = None,
    **read_options,
) -> tuple[list[Layer], dict[str, int]]:
    """Read and validate `path` as `kind`; an OSM file gives buildings, roads and POIs.

    Station rows are checked against the catalog first; rows without a point are placed by
    `geocode` from their address (see api.stations.importing)."""
    if kind not in KINDS:
        msg = f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}"
        raise ValueError(msg)
    if kind == "boundaries" and level not in LEVELS:
        msg = f"boundaries need --level, one of {', '.join(LEVELS)} (got {level!r})"
        raise ValueError(msg)
    if kind == "osm" or is_osm(path):
        osm = read_osm(path)
        layers = [
            _validate(_classified(osm), "buildings", level=None, bounds=bounds),
            _validate(osm.network, "roads", level=None, bounds=bounds),
            _validate(osm.pois, "pois", level=None, bounds=bounds),
            _validate(osm.barriers, "barriers", level=None, bounds=bounds),
        ]
        wanted = {"osm": None, "buildings": "buildings", "roads": "roads"}.get(kind, "pois")
        if wanted is not None:
            layers = [layer for layer in layers if layer[0] == wanted]
        return layers, dict(osm.skipped)
    if kind == "stations":
        frame = read_station_file(path, **read_options)
    else:
        frame = read_vector(path, **read_options)
    if path.suffix.lower() == ".shp":
        frame = restore_truncated_names(frame)
    check_in_china(frame, path=path, crs=read_options.get("crs"))
    if kind == "stations":
        frame, early = prepare_stations(frame, geocode=geocode)
        name, good, problems, repaired = _validate(frame, kind, level=level, bounds=bounds)
        return [(name, good, sorted(early + problems, key=lambda p: p.row), repaired)], {}
    if kind == "boundaries" and level in CODE_DIGITS:
        frame, early = _bad_codes(frame, level)
        name, good, problems, repaired = _validate(frame, kind, level=level, bounds=bounds)
        return [(name, good, sorted(early + problems, key=lambda p: p.row), repaired)], {}
    return [_validate(frame, kind, level=level, bounds=bounds)], {}


def check_in_china(frame: gpd.GeoDataFrame, *, path: Path, crs: object = None) -> None:
    """InputError when most features, read into WGS-84, lie outside China: the coordinate
    system the file was read in (`crs`, else the file's own) is wrong. A few stray rows are
    left to the row checks."""
    shapes = frame.geometry[frame.geometry.notna() & ~frame.geometry.is_empty]
    if shapes.empty:
        return
    x0, y0, x1, y1 = CHINA
    bounds = shapes.bounds
    inside = (bounds.minx >= x0) & (bounds.maxx <= x1) & (bounds.miny >= y0) & (bounds.maxy <= y1)
    if inside.mean() >= 0.5:
        return
    minx, miny, maxx, maxy = shapes.total_bounds
    used = f"--crs {crs}" if crs else "the file's own coordinate system"
    msg = (
        f"{path}: 按 {used} 换算后坐标不在中国范围内 ({minx:.4f}, {miny:.4f} – {maxx:.4f}, "
        f"{maxy:.4f})，坐标系可能有误 (read with {used}, the features lie outside China: "
        "is that the file's coordinate system?)"
    )
    raise InputError(msg)


def _bad_codes(frame: gpd.GeoDataFrame, level: str) -> tuple[gpd.GeoDataFrame, list[RowProblem]]:
    """`frame` without the rows whose code is not the level's number of digits, and those."""
    digits = CODE_DIGITS[level]
    if "code" not in frame.columns:
        return frame, []
    codes = frame["code"].astype("string").str.strip()
    good = codes.str.fullmatch(f"[0-9]{{{digits}}}").fillna(False).astype(bool)
    problems = [
        RowProblem(
            int(row),
            None if code is None or code is pd.NA else str(code)[:40],
            f"{level} 编码须为 {digits} 位数字 (a {level} code is {digits} digits)",
        )
        for row, code in zip(frame.loc[~good, "source_row"], codes[~good], strict=True)
    ]
    return frame[good.to_numpy()], problems


def ingest_file(
    session: Session,
    path: Path,
    *,
    kind: str,
    level: str | None = None,
    skip_invalid: bool = False,
    dwelling_m2: float = 90.0,
    bounds: tuple[float, float, float, float] | None = None,
    progress_for: ProgressFor | None = None,
    **read_options,
) -> IngestResult:
    """Load one file into the session's transaction; raise IngestRejected on bad rows."""
    path = Path(path)
    geocode = _db_geocoder(session) if kind == "stations" else None
    layers, skipped = read_layers(
        path, kind=kind, level=level, bounds=bounds, geocode=geocode, **read_options
    )
    problems = {layer: rows for layer, _, rows, _ in layers if rows}
    if problems and not skip_invalid:
        raise IngestRejected(path, problems)
    result = IngestResult(path, skipped=skipped)
    for layer, frame, rejected, repaired in layers:
        progress = progress_for(f"{path.name}: {layer}", len(frame)) if progress_for else None
        if layer == "buildings":
            frame = estimate_households(frame, dwelling_m2=dwelling_m2)
            report = store.load_buildings(session, frame, progress=progress)
        elif layer == "roads":
            report = store.load_roads(session, frame, progress=progress)
        elif layer == "pois":
            report = store.load_pois(session, frame, progress=progress)
        elif layer == "barriers":
            report = store.load_barriers(session, frame, progress=progress)
        elif layer == "stations":
            report = store.load_stations(
                session, frame, functions_by_type=offered_by_type(), progress=progress
            )
        else:
            report = store.load_boundaries(session, frame, level=level, progress=progress)
        if report.rejected and not skip_invalid:
            raise IngestRejected(path, {layer: report.rejected})
        report.rejected = sorted(rejected + report.rejected, key=lambda p: p.row)
        report.repaired = repaired
        result.reports.append(report)
    return result


def _db_geocoder(session: Session) -> Geocoder:
    """Geocode against the address base of the session's database."""
    from api.addresses.geocode import geocode_many_db

    url = session.get_bind().url.render_as_string(hide_password=False)
    return lambda texts: geocode_many_db(session, url, list(texts))
