"""The service catalog (data/catalogs/services.json) and what each station offers from it: a
station offers a service when one of the service's functions is among the station's."""

from __future__ import annotations

import json
from functools import cache

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.errors import NotFoundError
from data.catalogs import HERE
from geo.errors import InputError


@cache
def _catalog() -> dict:
    return json.loads((HERE / "services.json").read_text(encoding="utf-8"))


def services() -> dict[str, dict]:
    """Every service by code: name, name_en, description(_en), skill, functions, minutes."""
    return {code: {"code": code, **spec} for code, spec in _catalog()["services"].items()}


def skills() -> dict[str, str]:
    """The skills volunteers register (助老, 托育, 代办, 维修, 陪诊) with their English names."""
    return dict(_catalog()["skills"])


def service(code: str) -> dict:
    """One service; InputError (422) naming the known ones otherwise."""
    found = services().get(code)
    if found is None:
        known = "、".join(services())
        msg = f"没有这项服务：{code!r}；可选：{known} (unknown service {code!r})"
        raise InputError(msg)
    return found


def check_skills(given: list[str]) -> list[str]:
    """The skills, stripped and without repeats; InputError for one not in the catalog."""
    out = list(dict.fromkeys(s.strip() for s in given if s and s.strip()))
    unknown = [s for s in out if s not in skills()]
    if unknown:
        msg = (
            f"未知的技能：{'、'.join(unknown)}；可选：{'、'.join(skills())} "
            f"(unknown skill(s): {', '.join(unknown)})"
        )
        raise InputError(msg)
    return out


def offered(functions: list[str] | None) -> list[dict]:
    """The services a station with `functions` offers, in catalog order."""
    have = set(functions or ())
    return [s for s in services().values() if have & set(s["functions"])]


NEAR = text("""
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography AS g),
rated AS (
  SELECT station_id, round(avg(stars)::numeric, 1)::float AS rating, count(*) AS ratings
  FROM service_orders WHERE stars IS NOT NULL GROUP BY station_id
)
SELECT s.id, s.station_id AS code, s.name, s.type, s.functions, s.stars, s.address,
       ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
       s.opening_hours, rated.rating AS resident_rating, coalesce(rated.ratings, 0) AS ratings,
       round(ST_Distance(s.geom::geography, pt.g)::numeric, 0)::float AS distance_m
FROM stations s CROSS JOIN pt LEFT JOIN rated ON rated.station_id = s.id
WHERE s.functions && CAST(:functions AS varchar[])
ORDER BY s.geom::geography <-> pt.g, s.id
LIMIT :limit
""")

ONE = text("""
SELECT s.id, s.station_id AS code, s.name, s.type, s.functions, s.stars, s.address,
       s.opening_hours,
       (SELECT round(avg(stars)::numeric, 1)::float FROM service_orders o
         WHERE o.station_id = s.id AND o.stars IS NOT NULL) AS resident_rating,
       (SELECT count(*) FROM service_orders o
         WHERE o.station_id = s.id AND o.stars IS NOT NULL) AS ratings
FROM stations s WHERE s.id = :station
""")


def _functions() -> list[str]:
    return sorted({f for s in services().values() for f in s["functions"]})


def _with_services(row) -> dict:
    out = dict(row._mapping)
    out["services"] = offered(out.pop("functions"))
    return out


def near(session: Session, *, lon: float, lat: float, limit: int = 5) -> list[dict]:
    """The `limit` stations nearest to WGS-84 lon/lat that offer any service, nearest first,
    each with its services, official stars and residents' rating (average stars, count)."""
    params = {"lon": lon, "lat": lat, "functions": _functions(), "limit": limit}
    return [_with_services(r) for r in session.execute(NEAR, params)]


def station(session: Session, station_id: int) -> dict:
    """One station's catalog and ratings; NotFoundError for an unknown id."""
    row = session.execute(ONE, {"station": station_id}).first()
    if row is None:
        msg = f"没有编号为 {station_id} 的服务站 (no station {station_id})"
        raise NotFoundError(msg)
    return _with_services(row)
