"""Write validated GeoDataFrames into PostGIS.

Each ``load_*`` function inserts into the caller's session and never commits, so a whole load
(one file, or an OSM extract's buildings, roads and POIs together) is one transaction: it lands
whole or not at all. Rows whose id is already stored are reported as rejected, never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from geoalchemy2.elements import WKBElement
from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from api.storage import models
from geo.validate import RowProblem

Progress = Callable[[int], None]
CHUNK = 2000

BOUNDARY_LEVELS = {
    "district": (models.District, None, None),
    "street": (models.Street, "district_code", models.District),
    "community": (models.Community, "street_code", models.Street),
}
PARENT_COLUMN = {models.Street: "district_id", models.Community: "street_id"}


@dataclass
class LoadReport:
    """What one load did: rows written and rows refused, with reasons."""

    kind: str
    loaded: int = 0
    rejected: list[RowProblem] = field(default_factory=list)
    estimated: int = 0
    repaired: list[RowProblem] = field(default_factory=list)


def _wkb(geoms: Iterable, *, multi: bool = False) -> list[WKBElement | None]:
    arr = np.asarray(list(geoms), dtype=object)
    if multi:
        arr = np.array([_promote(g) for g in arr], dtype=object)
    raw = shapely.to_wkb(arr, include_srid=False)
    return [None if b is None else WKBElement(b, srid=models.SRID) for b in raw]


def _promote(geom):
    if geom is None:
        return None
    kind = geom.geom_type
    if kind == "Polygon":
        return shapely.MultiPolygon([geom])
    if kind == "LineString":
        return shapely.MultiLineString([geom])
    return geom


def _value(v):
    """A frame cell as a plain Python value (NA → None, numpy scalars → Python)."""
    if v is None or (not isinstance(v, list | tuple | np.ndarray) and pd.isna(v)):
        return None
    return v.item() if isinstance(v, np.generic) else v


def _column(frame: pd.DataFrame, name: str) -> list:
    if name not in frame.columns:
        return [None] * len(frame)
    return [_value(v) for v in frame[name].tolist()]


def _records(frame: pd.DataFrame, columns: dict[str, str], **values: list) -> list[dict]:
    """Rows to insert: model attribute → frame column (missing columns give None), plus
    ready-made value lists (ids looked up, geometry as WKB) passed by keyword."""
    lists = {attr: _column(frame, column) for attr, column in columns.items()}
    lists.update(values)
    names = list(lists)
    return [dict(zip(names, row, strict=True)) for row in zip(*lists.values(), strict=True)]


def _chunks(rows: list[dict], size: int = CHUNK) -> Iterator[list[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _insert(session: Session, model, rows: list[dict], progress: Progress | None) -> int:
    for chunk in _chunks(rows):
        session.execute(insert(model), chunk)
        if progress:
            progress(len(chunk))
    return len(rows)


def _drop_stored(
    session: Session, model, id_attr: str, frame: pd.DataFrame, report: LoadReport
) -> pd.DataFrame:
    """Remove rows whose id is already in the table, reporting each."""
    ids = frame[id_attr].astype(str).tolist()
    column = getattr(model, id_attr)
    stored = set()
    for start in range(0, len(ids), 10_000):
        part = ids[start : start + 10_000]
        stored |= set(session.execute(select(column).where(column.in_(part))).scalars())
    if not stored:
        return frame
    clash = frame[id_attr].astype(str).isin(stored)
    for row, ident in zip(_rows(frame[clash]), frame.loc[clash, id_attr], strict=True):
        report.rejected.append(RowProblem(row, str(ident), "id already in the database"))
    return frame[~clash]


def _rows(frame: pd.DataFrame) -> list[int]:
    if "source_row" in frame.columns:
        return [int(r) for r in frame["source_row"]]
    return list(range(1, len(frame) + 1))


def _code_map(session: Session, model, code_attr: str = "code") -> dict[str, int]:
    column = getattr(model, code_attr)
    return dict(session.execute(select(column, model.id)).all())


def _lookup(codes: list, mapping: dict[str, int]) -> list[int | None]:
    return [None if c is None else mapping.get(str(c)) for c in codes]


def _prepare(
    session: Session, model, id_attr: str, frame: pd.DataFrame, kind: str
) -> tuple[pd.DataFrame, LoadReport]:
    report = LoadReport(kind)
    return _drop_stored(session, model, id_attr, frame, report), report


def load_buildings(
    session: Session,
    frame: gpd.GeoDataFrame,
    *,
    progress: Progress | None = None,
) -> LoadReport:
    """Insert buildings (footprints or points) with households already filled in.

    A building's community is taken from a `community_code` column, else from the community
    polygon containing it; its compound from a `compound` column (compound_id).
    """
    frame, report = _prepare(session, models.Building, "building_id", frame, "buildings")
    geoms = frame.geometry.to_numpy()
    is_point = shapely.get_type_id(geoms) == 0
    footprints = np.where(is_point, None, geoms)
    locations = np.where(is_point, geoms, shapely.point_on_surface(geoms))
    compounds = _code_map(session, models.Compound, "compound_id")
    communities = _code_map(session, models.Community)
    estimated = [e or False for e in _column(frame, "households_estimated")]
    sources = [
        src or ("estimated" if est else "given")
        for src, est in zip(_column(frame, "households_source"), estimated, strict=True)
    ]
    columns = {
        "building_id": [str(b) for b in frame["building_id"]],
        "name": _column(frame, "name"),
        "building_type": _column(frame, "building_type"),
        "households": [int(h) for h in _column(frame, "households")],
        "households_estimated": [bool(e) for e in estimated],
        "households_source": sources,
        "households_rule": _column(frame, "households_rule"),
        "units": _column(frame, "units"),
        "floors": _column(frame, "floors"),
        "address": _column(frame, "address"),
        "compound_id": _lookup(_column(frame, "compound"), compounds),
        "community_id": _lookup(_column(frame, "community_code"), communities),
        "footprint": _wkb(footprints, multi=True),
        "location": _wkb(locations),
    }
    rows = [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]
    report.loaded = _insert(session, models.Building, rows, progress)
    report.estimated = sum(1 for r in rows if r["households_estimated"])
    session.execute(
        text(
            "UPDATE buildings b SET community_id = c.id FROM communities c "
            "WHERE b.community_id IS NULL AND c.geom IS NOT NULL "
            "AND ST_Intersects(c.geom, b.location)"
        )
    )
    session.execute(
        text(
            "UPDATE buildings b SET compound_id = p.id FROM compounds p "
            "WHERE b.compound_id IS NULL AND p.geom IS NOT NULL "
            "AND ST_Intersects(p.geom, b.location)"
        )
    )
    return report


def load_roads(
    session: Session,
    frame: gpd.GeoDataFrame,
    *,
    progress: Progress | None = None,
) -> LoadReport:
    """Insert road and path lines; `class` holds the OSM highway value."""
    columns = {"name": "name", "class_": "class", "from_no": "from_no", "to_no": "to_no"}
    return _load_lines(session, models.Road, "road_id", frame, columns, "roads", progress)


def load_barriers(
    session: Session,
    frame: gpd.GeoDataFrame,
    *,
    progress: Progress | None = None,
) -> LoadReport:
    """Insert water and rail lines (geo.osm_barriers): barriers to grids, never walked."""
    columns = {"name": "name", "class_": "class"}
    return _load_lines(session, models.Barrier, "barrier_id", frame, columns, "barriers", progress)


def _load_lines(session, model, id_column, frame, columns, kind, progress) -> LoadReport:
    frame, report = _prepare(session, model, id_column, frame, kind)
    ids = {id_column: [str(r) for r in frame[id_column]]}
    rows = _records(frame, columns, **ids, geom=_wkb(frame.geometry, multi=True))
    report.loaded = _insert(session, model, rows, progress)
    return report


def load_boundaries(
    session: Session,
    frame: gpd.GeoDataFrame,
    *,
    level: str,
    progress: Progress | None = None,
) -> LoadReport:
    """Insert district, street or community polygons (or rows without geometry).

    The parent is named by `district_code` (streets) or `street_code` (communities); where that
    column is missing, the code's prefix is used (GB/T 2260 codes nest).
    """
    if level == "compound":
        return load_compounds(session, frame, progress=progress)
    if level not in BOUNDARY_LEVELS:
        msg = f"unknown boundary level {level!r}: expected district, street, community or compound"
        raise ValueError(msg)
    model, parent_col, parent_model = BOUNDARY_LEVELS[level]
    replaced = 0
    if hasattr(model, "boundary_source"):  # streets and communities
        frame, replaced = _replace_placeholders(session, model, frame)
    frame, report = _prepare(session, model, "code", frame, f"{level} boundaries")
    report.loaded += replaced
    codes = [str(c) for c in frame["code"]]
    rows = [
        {"code": code, "name": name or code, "geom": g}
        for code, name, g in zip(
            codes, _column(frame, "name"), _wkb(frame.geometry, multi=True), strict=True
        )
    ]
    if parent_model is not None:
        parents = _column(frame, parent_col)
        prefix = {"district_code": 6, "street_code": 9}[parent_col]
        parents = [p or code[:prefix] for p, code in zip(parents, codes, strict=True)]
        ids = _lookup(parents, _code_map(session, parent_model))
        for row, pid in zip(rows, ids, strict=True):
            row[PARENT_COLUMN[model]] = pid
    report.loaded += _insert(session, model, rows, progress)
    return report


def _replace_placeholders(session: Session, model, frame: gpd.GeoDataFrame):
    """Official polygons for stored streets/communities that are approximate or have none: the
    row keeps its id, takes the polygon (and name), becomes 'official'; buildings and
    stations are linked again by location. Returns the other rows and how many were replaced."""
    codes = [str(c) for c in frame["code"]]
    stored = set(
        session.execute(
            select(model.code).where(
                model.code.in_(codes),
                (model.boundary_source == "approximate") | model.geom.is_(None),
            )
        ).scalars()
    )
    hit = frame[[c in stored and g is not None for c, g in zip(codes, frame.geometry, strict=True)]]
    if hit.empty:
        return frame, 0
    for code, name, g in zip(
        hit["code"], _column(hit, "name"), _wkb(hit.geometry, multi=True), strict=True
    ):
        values = {"geom": g, "boundary_source": "official"} | ({"name": name} if name else {})
        session.execute(update(model).where(model.code == str(code)).values(**values))
    if model is models.Community:
        ids = select(model.id).where(model.code.in_([str(c) for c in hit["code"]]))
        for table in (models.Building, models.Station):
            session.execute(
                update(table).where(table.community_id.in_(ids)).values(community_id=None)
            )
        session.execute(text(
            "UPDATE buildings b SET community_id = c.id FROM communities c WHERE b.community_id "
            "IS NULL AND c.geom IS NOT NULL AND ST_Intersects(c.geom, b.location)"
        ))  # fmt: skip
        session.execute(text(
            "UPDATE stations s SET community_id = c.id FROM communities c WHERE s.community_id "
            "IS NULL AND c.geom IS NOT NULL AND ST_Intersects(c.geom, s.geom)"
        ))  # fmt: skip
    return frame.drop(index=hit.index), len(hit)


def load_compounds(
    session: Session,
    frame: gpd.GeoDataFrame,
    *,
    progress: Progress | None = None,
) -> LoadReport:
    """Insert compound (小区) polygons, linked to their community by `community_code`."""
    id_col = "compound_id" if "compound_id" in frame.columns else "code"
    frame = frame.rename(columns={id_col: "compound_id"})
    frame, report = _prepare(session, models.Compound, "compound_id", frame, "compounds")
    communities = _code_map(session, models.Community)
    rows = _records(
        frame,
        {"name": "name", "kind": "kind", "address": "address"},
        compound_id=[str(c) for c in frame["compound_id"]],
        community_id=_lookup(_column(frame, "community_code"), communities),
        geom=_wkb(frame.geometry, multi=True),
    )
    report.loaded = _insert(session, models.Compound, rows, progress)
    return report


def load_stations(
    session: Session,
    frame: gpd.GeoDataFrame,
    *,
    functions_by_type: dict[str, list[str]] | None = None,
    progress: Progress | None = None,
) -> LoadReport:
    """Insert service stations (points); functions default from the station-type catalog."""
    frame, report = _prepare(session, models.Station, "station_id", frame, "stations")
    communities = _code_map(session, models.Community)
    functions_by_type = functions_by_type or {}
    given = _column(frame, "functions")
    phones = _column(frame, "phone")
    sources = [s or "given" for s in _column(frame, "location_source")]
    rows = []
    for sid, name, stype, funcs, stars, hours, services, contact, addr, com, g, ph, src in zip(
        frame["station_id"],
        _column(frame, "name"),
        _column(frame, "type"),
        given,
        _column(frame, "stars"),
        _column(frame, "opening_hours"),
        _column(frame, "services"),
        _column(frame, "contact"),
        _column(frame, "address"),
        _lookup(_column(frame, "community_code"), communities),
        _wkb(frame.geometry),
        phones,
        sources,
        strict=True,
    ):
        if isinstance(funcs, str):
            funcs = [f for f in funcs.replace("；", ";").split(";") if f]
        rows.append(
            {
                "station_id": str(sid),
                "name": name or str(sid),
                "type": stype,
                "functions": list(funcs) if funcs is not None else functions_by_type.get(stype),
                "stars": None if stars is None else int(stars),
                "opening_hours": hours,
                "services": services,
                "contact": None if contact is None else str(contact),
                "phone": None if ph is None else str(ph),
                "location_source": src,
                "address": addr,
                "community_id": com,
                "geom": g,
            }
        )
    report.loaded = _insert(session, models.Station, rows, progress)
    session.execute(
        text(
            "UPDATE stations s SET community_id = c.id FROM communities c "
            "WHERE s.community_id IS NULL AND c.geom IS NOT NULL AND ST_Intersects(c.geom, s.geom)"
        )
    )
    return report


def load_pois(
    session: Session,
    frame: gpd.GeoDataFrame,
    *,
    progress: Progress | None = None,
) -> LoadReport:
    """Insert OpenStreetMap points of interest (amenity, shop, office)."""
    frame, report = _prepare(session, models.Poi, "poi_id", frame, "pois")
    rows = _records(
        frame,
        {"name": "name", "kind": "kind", "value": "value", "address": "address"},
        poi_id=[str(p) for p in frame["poi_id"]],
        geom=_wkb(frame.geometry),
    )
    report.loaded = _insert(session, models.Poi, rows, progress)
    return report


def load_workers(session: Session, frame: pd.DataFrame) -> LoadReport:
    """Insert grid workers; their grids are assigned once grids exist."""
    frame, report = _prepare(session, models.Worker, "worker_id", frame, "workers")
    communities = _code_map(session, models.Community)
    rows = _records(
        frame,
        {"name": "name", "phone": "phone", "role": "role"},
        worker_id=[str(w) for w in frame["worker_id"]],
        community_id=_lookup(_column(frame, "community_code"), communities),
    )
    report.loaded = _insert(session, models.Worker, rows, None)
    return report


def load_cases(session: Session, frame: gpd.GeoDataFrame, *, actor: str = "import") -> LoadReport:
    """Insert sample cases as 'reported', each with its first event."""
    frame = frame.rename(columns={"case_id": "external_id"})
    frame, report = _prepare(session, models.Case, "external_id", frame, "cases")
    for ext, category, desc, at, g in zip(
        frame["external_id"],
        _column(frame, "category"),
        _column(frame, "description"),
        _column(frame, "reported_at"),
        _wkb(frame.geometry),
        strict=True,
    ):
        values = {"external_id": str(ext), "category": category, "description": desc, "geom": g}
        if at is not None:
            values["reported_at"] = at
        stmt = insert(models.Case).values(**values).returning(models.Case.id)
        case_id = session.execute(stmt).scalar_one()
        event = {"case_id": case_id, "actor": actor, "to_status": "reported"}
        if at is not None:
            event["at"] = at
        session.execute(insert(models.CaseEvent).values(**event))
        report.loaded += 1
    return report
