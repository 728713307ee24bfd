"""Recording a household visit (走访) from the worker's phone, and the worker's own visits.

The phone's location is checked against the building's footprint (its point where there is no
footprint) in PostGIS. Decided here: a visit farther than the configured distance, or with a
poorer fix than the configured accuracy, is **stored as flagged** with its reason and the
distance, and answered at once; only accepted visits count in the monthly table. A flagged
visit stays on record so that the community can see where phones were. Refused outright (4xx,
nothing stored): a time in the future or too long ago, the same building again within a few
minutes, a building outside the worker's grids, an account without a worker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from api.accounts.roles import WORKER_ROLES, Principal
from api.assessment.building_hints import find_places, told_apart
from api.assessment.formula import Formula, formula
from api.errors import ConflictError, ForbiddenError, NotFoundError
from api.storage.map_data import building_title
from api.storage.models import Building, HouseholdVisit, Worker
from geo.errors import InputError

LANGS = ("zh", "en")
FUTURE_SLACK = timedelta(minutes=2)  # phone clocks run a little ahead

_BUILDING = text("""
SELECT b.building_id, b.name, b.address, b.building_type, b.households,
       c.code AS community_code, ST_X(b.location) AS lon, ST_Y(b.location) AS lat,
       ST_AsGeoJSON(COALESCE(b.footprint, b.location), 6) AS outline,
       ST_Distance(COALESCE(b.footprint, b.location)::geography,
                   ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS distance_m,
       (SELECT g.code FROM grids g
         WHERE g.level = 'grid' AND g.valid_to IS NULL AND ST_Intersects(g.geom, b.location)
         ORDER BY g.code LIMIT 1) AS grid_code
FROM buildings b LEFT JOIN communities c ON c.id = b.community_id
WHERE b.building_id = :building_id
""")

_REPEAT = text("""
SELECT visited_at FROM household_visits
WHERE worker_id = :worker AND building_id = :building_id
  AND visited_at > :at - make_interval(mins => :mins)
  AND visited_at < :at + make_interval(mins => :mins)
LIMIT 1
""")


@dataclass(frozen=True)
class VisitIn:
    building_id: str
    lon: float
    lat: float
    accuracy_m: float | None = None
    households_seen: int = 0
    note: str | None = None
    visited_at: datetime | None = None


def _worker_id(session: Session, principal: Principal) -> int:
    if principal.role not in WORKER_ROLES or not principal.worker_id:
        msg = "只有网格员、网格长可以记录走访 / only grid workers and leaders record visits"
        raise ForbiddenError(msg)
    return session.scalar(select(Worker.id).where(Worker.worker_id == principal.worker_id))


def _check(visit: VisitIn, now: datetime, rules: Formula) -> datetime:
    """The visit's time, after the checks that need no database (InputError when refused)."""
    v = rules.visit
    if not (-180 <= visit.lon <= 180 and -90 <= visit.lat <= 90):
        raise InputError("位置超出经纬度范围 / lon or lat out of range")
    if visit.accuracy_m is not None and visit.accuracy_m < 0:
        raise InputError("定位精度不能为负 / accuracy must not be negative")
    if not 0 <= visit.households_seen <= v.max_households:
        msg = f"走访户数应为 0–{v.max_households} / households seen must be 0–{v.max_households}"
        raise InputError(msg)
    if visit.note and len(visit.note) > v.max_note_chars:
        msg = f"备注最多 {v.max_note_chars} 字 / the note is longer than {v.max_note_chars}"
        raise InputError(msg)
    at = visit.visited_at or now
    if at.tzinfo is None:
        raise InputError("走访时间需带时区 / visited_at needs a time zone")
    if at > now + FUTURE_SLACK:
        raise InputError("走访时间不能晚于现在 / a visit cannot be in the future")
    if at < now - timedelta(hours=v.max_age_hours):
        msg = (
            f"走访时间早于 {v.max_age_hours} 小时前，请当场记录 / "
            f"visits older than {v.max_age_hours} h are not accepted"
        )
        raise InputError(msg)
    return at


def _flag(distance: float, accuracy: float | None, rules: Formula) -> str | None:
    if distance > rules.visit.max_distance_m:
        return "too_far"
    if accuracy is not None and accuracy > rules.visit.max_accuracy_m:
        return "low_accuracy"
    return None


def record_visit(session: Session, principal: Principal, visit: VisitIn, *, now: datetime) -> dict:
    """Store `visit` by the signed-in worker; returns it with `status` ('accepted' or
    'flagged'), `flag_reason` and `distance_m`. Refusals raise (nothing stored)."""
    rules = formula()
    worker = _worker_id(session, principal)
    at = _check(visit, now, rules)
    building = session.execute(_BUILDING, {
        "lon": visit.lon, "lat": visit.lat, "building_id": visit.building_id,
    }).mappings().first()  # fmt: skip
    if building is None:
        raise NotFoundError(f"没有这栋楼 / no building {visit.building_id!r}")
    grids = principal.grid_codes
    if grids and building["grid_code"] not in grids:
        msg = "这栋楼不在您负责的网格内 / the building is outside your grids"
        raise ForbiddenError(msg)
    # one visit at a time per worker, so that two taps cannot both pass the repeat check
    session.execute(text("SELECT pg_advisory_xact_lock(20130, :w)"), {"w": worker})
    mins = rules.visit.repeat_minutes
    if session.execute(_REPEAT, {
        "worker": worker, "building_id": visit.building_id, "at": at, "mins": mins,
    }).first():  # fmt: skip
        msg = f"{mins} 分钟内已记录过这栋楼的走访 / already recorded here in the last {mins} min"
        raise ConflictError(msg)
    distance = round(float(building["distance_m"]), 1)
    reason = _flag(distance, visit.accuracy_m, rules)
    row = HouseholdVisit(
        worker_id=worker,
        username=principal.username,
        building_id=visit.building_id,
        grid_code=building["grid_code"],
        community_code=building["community_code"],
        visited_at=at,
        lon=visit.lon,
        lat=visit.lat,
        accuracy_m=visit.accuracy_m,
        distance_m=distance,
        status="flagged" if reason else "accepted",
        flag_reason=reason,
        households_seen=visit.households_seen,
        note=(visit.note or "").strip() or None,
    )
    session.add(row)
    session.flush()
    key = (visit.building_id, building["grid_code"])
    named = building["name"], building["address"], building["building_type"], building["households"]
    unnamed = [key] if _unnamed(*named[:2]) else []
    title = told_apart({key: _titles(*named)}, find_places(session, unnamed))[key]
    where = building["lon"], building["lat"], building["outline"]
    return as_dict(row, building=_building(title, *where), rules=rules)


def reason_text(reason: str | None, distance: float, rules: Formula) -> tuple[str, str]:
    """The answer shown on the phone: (Chinese, English)."""
    if reason == "too_far":
        limit = rules.visit.max_distance_m
        return (
            f"距离楼栋 {distance:.0f} 米，超过 {limit:g} 米，已记录但不计入考核",
            f"{distance:.0f} m from the building (limit {limit:g} m): kept, not counted",
        )
    if reason == "low_accuracy":
        limit = rules.visit.max_accuracy_m
        return (
            f"定位精度差于 {limit:g} 米，已记录但不计入考核",
            f"location accuracy worse than {limit:g} m: kept, not counted",
        )
    return f"已记录走访，距离楼栋 {distance:.0f} 米", f"visit recorded, {distance:.0f} m away"


def _titles(name, address, kind, households) -> tuple[str, str]:
    """The building's title in Chinese and in English."""
    return tuple(building_title(name, address, kind, households or 0, lang=la) for la in LANGS)


def _building(titles: tuple[str, str], lon, lat, outline: str | None) -> dict:
    """The building's part of a visit: its title in Chinese and English, where it stands (a
    building no longer stored has none)."""
    return {
        "building_name": titles[0],
        "building_name_en": titles[1],
        "building_lon": lon,
        "building_lat": lat,
        "building_outline": json.loads(outline) if outline else None,
    }


def as_dict(row: HouseholdVisit, *, building: dict, rules: Formula) -> dict:
    message, message_en = reason_text(row.flag_reason, row.distance_m, rules)
    return building | {
        "id": row.id,
        "building_id": row.building_id,
        "grid_code": row.grid_code,
        "visited_at": row.visited_at,
        "distance_m": row.distance_m,
        "accuracy_m": row.accuracy_m,
        "status": row.status,
        "accepted": row.status == "accepted",
        "flag_reason": row.flag_reason,
        "message": message,
        "message_en": message_en,
        "households_seen": row.households_seen,
        "note": row.note,
    }


def my_visits(session: Session, principal: Principal, *, start: datetime, end: datetime):
    """The signed-in worker's visits in [start, end), newest first."""
    rules = formula()
    worker = _worker_id(session, principal)
    query = (
        select(
            HouseholdVisit,
            Building.name,
            Building.address,
            Building.building_type,
            Building.households,
            func.ST_X(Building.location),
            func.ST_Y(Building.location),
            func.ST_AsGeoJSON(func.coalesce(Building.footprint, Building.location), 6),
        )
        .outerjoin(Building, Building.building_id == HouseholdVisit.building_id)
        .where(
            HouseholdVisit.worker_id == worker,
            HouseholdVisit.visited_at >= start,
            HouseholdVisit.visited_at < end,
        )
        .order_by(HouseholdVisit.visited_at.desc())
    )
    rows = session.execute(query).all()
    titles = {(v.building_id, v.grid_code): _titles(*row[:4]) for v, *row in rows}
    unnamed = [
        (v.building_id, v.grid_code) for v, name, address, *_ in rows if _unnamed(name, address)
    ]
    titles = told_apart(titles, find_places(session, sorted(set(unnamed))))
    return [
        as_dict(v, building=_building(titles[v.building_id, v.grid_code], *row[4:]), rules=rules)
        for v, *row in rows
    ]


def _unnamed(name: str | None, address: str | None) -> bool:
    return not any(isinstance(t, str) and t.strip() for t in (name, address))
