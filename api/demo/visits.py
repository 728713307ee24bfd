"""The demo's household visits: for every worker with grids, 20–80 visits at buildings of their
grids spread over the last two months (working hours, China time), about one in twelve flagged
as too far, so that the monthly assessment table comes out of the demo's own data. One
set-based INSERT; the spread is a hash of worker and building, so a reload makes the same."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

_VISITS = text("""
WITH span AS (
    SELECT date_trunc('month', (now() AT TIME ZONE 'Asia/Shanghai') - interval '1 month')
           AS first_day,
           (now() AT TIME ZONE 'Asia/Shanghai') AS local_now
),
staff AS (
    SELECT w.id, w.worker_id, wg.grid_code, g.geom, left(g.code, 12) AS community_code,
           COALESCE((SELECT u.username FROM users u WHERE u.worker_id = w.id
                     ORDER BY u.username LIMIT 1), w.worker_id) AS username
    FROM workers w
    JOIN worker_grids wg ON wg.worker_id = w.id
    JOIN grids g ON g.code = wg.grid_code AND g.level = 'grid' AND g.valid_to IS NULL
),
picked AS (
    SELECT s.*, b.building_id, b.households, ST_X(b.location) AS lon, ST_Y(b.location) AS lat,
           abs(hashtext(s.worker_id || '/' || b.building_id || '/' || r.round)) AS h,
           20 + abs(hashtext(s.worker_id)) % :spread AS quota  -- some workers visit more
    FROM staff s
    CROSS JOIN LATERAL (
        SELECT b.building_id, b.households, b.location FROM buildings b
        WHERE ST_Intersects(s.geom, b.location) AND b.households > 0
        ORDER BY md5(s.worker_id || b.building_id) LIMIT :buildings
    ) b
    CROSS JOIN generate_series(1, :rounds) AS r(round)
),
timed AS (
    SELECT p.*, (sp.first_day
                 + ((p.h % GREATEST(1, extract(day FROM sp.local_now - sp.first_day)::int))
                    * interval '1 day')
                 + interval '9 hours' + ((p.h / 7) % 480) * interval '1 minute')
                AT TIME ZONE 'Asia/Shanghai' AS visited_at,
           row_number() OVER (PARTITION BY p.id ORDER BY p.h) AS n
    FROM picked p CROSS JOIN span sp
)
INSERT INTO household_visits (worker_id, username, building_id, grid_code, community_code,
    visited_at, lon, lat, accuracy_m, distance_m, status, flag_reason, households_seen, note)
SELECT id, username, building_id, grid_code, community_code, visited_at,
       lon + CASE WHEN h % 12 = 0 THEN 0.002 ELSE 0 END, lat, 10 + h % 25,
       CASE WHEN h % 12 = 0 THEN 150 + h % 100 ELSE 0 END,
       CASE WHEN h % 12 = 0 THEN 'flagged' ELSE 'accepted' END,
       CASE WHEN h % 12 = 0 THEN 'too_far' END,
       LEAST(households, 1 + h % 12), NULL
FROM timed
WHERE visited_at < now() AND n <= quota
""")


def seed_visits(
    session: Session, *, buildings: int = 30, rounds: int = 12, spread: int = 60,
    log: Callable[[str], None] = print,
) -> int:  # fmt: skip
    """Add the demo's visits (each worker 20 to 20 + `spread` over the two months, at up to
    `buildings` of their grids, `rounds` times each at most); returns how many were made."""
    params = {"buildings": buildings, "rounds": rounds, "spread": spread}
    made = session.execute(_VISITS, params).rowcount
    log(f"household visits: {made} over the last two months")
    return made
