"""A notice's progress for the sender's live map: per grid the households responsible, reached
and their share, and who has not acknowledged yet.

Households reached in a grid: the larger of what its grid-level people (leader, workers)
reported and the sum over its parts (micro-grids, and building leads' own buildings), never
more than the grid holds; a leader and a worker of one grid reach the same households, so
their counts are not added."""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.accounts.roles import Principal, Role
from api.errors import ForbiddenError, NotFoundError

GRIDS = """
WITH per_area AS (
    SELECT area_code, grid_code, max(coalesce(households_reached, 0)) AS reached,
           -- a building lead's row of a grid stands for their own buildings, a part of it
           CASE WHEN role = 'building_lead' AND length(area_code) = 15 THEN person END AS lead
    FROM notice_recipients WHERE notice_id = :n AND grid_code IS NOT NULL
    GROUP BY area_code, grid_code, lead
), per_grid AS (
    SELECT grid_code,
           max(reached) FILTER (WHERE length(area_code) = 15 AND lead IS NULL) AS by_grid,
           sum(reached) FILTER (WHERE length(area_code) = 18 OR lead IS NOT NULL) AS by_parts
    FROM per_area GROUP BY grid_code
), people AS (
    SELECT grid_code, count(DISTINCT person) AS people,
           count(DISTINCT person) FILTER (WHERE acknowledged_at IS NOT NULL) AS acknowledged
    FROM notice_recipients WHERE notice_id = :n AND grid_code IS NOT NULL GROUP BY grid_code
)
SELECT g.code, c.name AS community, g.households,
       least(g.households, greatest(coalesce(p.by_grid, 0), coalesce(p.by_parts, 0)))::int
           AS reached,
       coalesce(pe.people, 0)::int AS people, coalesce(pe.acknowledged, 0)::int AS acknowledged,
       ST_AsGeoJSON(g.geom, 6) AS geometry
FROM notices n
JOIN grids g ON g.code = ANY(n.grid_codes) AND g.level = 'grid' AND g.valid_to IS NULL
LEFT JOIN communities c ON c.id = g.community_id
LEFT JOIN per_grid p ON p.grid_code = g.code
LEFT JOIN people pe ON pe.grid_code = g.code
WHERE n.id = :n
ORDER BY g.code
"""

PENDING = """
SELECT min(name) AS name, min(role) AS role, min(area_code) AS area_code,
       sum(households)::int AS households, bool_or(delivered_at IS NOT NULL) AS delivered,
       min(note) AS note
FROM notice_recipients WHERE notice_id = :n AND acknowledged_at IS NULL
GROUP BY person ORDER BY min(area_code), min(name) LIMIT :limit
"""

PEOPLE = """
SELECT count(DISTINCT person), count(DISTINCT person) FILTER (WHERE acknowledged_at IS NOT NULL)
FROM notice_recipients WHERE notice_id = :n
"""


def check_viewer(session: Session, user: Principal, notice_id: int) -> dict:
    """The notice's row as a dict; 404 when unknown, 403 unless the user sent it, is an admin
    or a street admin of a street the notice reaches."""
    row = session.execute(
        text(
            "SELECT id, title, body, level, sender, sent_at, grid_codes, "
            "clock_timestamp() - sent_at AS since FROM notices WHERE id = :n"
        ),
        {"n": notice_id},
    ).mappings().one_or_none()  # fmt: skip
    if row is None:
        raise NotFoundError(f"通知 {notice_id} 不存在 (no notice {notice_id})")
    if user.role is Role.admin or user.username == row["sender"]:
        return dict(row)
    if user.role is Role.street_admin and user.street_code:
        reaches = session.execute(
            text(
                "SELECT 1 FROM grids g JOIN communities c ON c.id = g.community_id "
                "JOIN streets s ON s.id = c.street_id WHERE g.code = ANY(:codes) "
                "AND g.valid_to IS NULL AND s.code = :street LIMIT 1"
            ),
            {"codes": row["grid_codes"], "street": user.street_code},
        ).scalar()
        if reaches:
            return dict(row)
    raise ForbiddenError(f"您无权查看通知 {notice_id} 的进度 (you may not see this notice)")


def progress(session: Session, user: Principal, notice_id: int, *, pending_limit: int = 500):
    """GeoJSON FeatureCollection of the notice's grids with households, reached, share,
    people and acknowledged; plus `notice` (totals, seconds since sending) and `pending`."""
    notice = check_viewer(session, user, notice_id)
    features = []
    households = reached = 0
    for r in session.execute(text(GRIDS), {"n": notice_id}).mappings():
        households += r["households"]
        reached += r["reached"]
        props = {k: r[k] for k in ("code", "community", "households", "reached", "people")}
        props["acknowledged"] = r["acknowledged"]
        props["share"] = round(r["reached"] / r["households"], 4) if r["households"] else None
        features.append(
            {"type": "Feature", "geometry": json.loads(r["geometry"]), "properties": props}
        )
    pending = session.execute(text(PENDING), {"n": notice_id, "limit": pending_limit})
    people, acknowledged = session.execute(text(PEOPLE), {"n": notice_id}).one()
    return {
        "type": "FeatureCollection",
        "features": features,
        "notice": {
            "id": notice["id"],
            "title": notice["title"],
            "body": notice["body"],
            "level": notice["level"],
            "sender": notice["sender"],
            "sent_at": notice["sent_at"].isoformat(),
            "seconds_since": int(notice["since"].total_seconds()),
            "households": households,
            "households_reached": reached,
            "share": round(reached / households, 4) if households else None,
            "grids": len(features),
            "people": people,
            "acknowledged": acknowledged,
        },
        "pending": [dict(p) for p in pending.mappings()],
    }


def sent_by(session: Session, user: Principal, *, limit: int = 20) -> list[dict]:
    """The notices a sender can follow: theirs, or every one for an admin; newest first."""
    where = "" if user.role is Role.admin else "WHERE sender = :me"
    rows = session.execute(
        text(
            f"SELECT id, title, level, sender, sent_at, cardinality(grid_codes) AS grids "
            f"FROM notices {where} ORDER BY sent_at DESC, id DESC LIMIT :limit"
        ),
        {"me": user.username, "limit": limit},
    ).mappings()
    return [dict(r) for r in rows]
