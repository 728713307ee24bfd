"""The fan-out of a notice down the grid tree, set-based in the caller's transaction: one
INSERT … SELECT of every responsible person of the notice's grids and their micro-grids
(community admins, grid leaders and workers, part-time workers and building leads, volunteers
with their kind: party members, building leads, volunteers),
then one INSERT … SELECT of their outbox messages (one per person, SMS where a phone is known,
else the phone page's channel)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

# the grid-level grids of the notice and their micro-grids, current versions
AREA = """
WITH area AS (
    SELECT g.code, g.level, g.households, left(g.code, 15) AS grid, c.code AS community
    FROM grids g JOIN communities c ON c.id = g.community_id
    WHERE g.valid_to IS NULL AND (
        (g.level = 'grid' AND g.code = ANY(:codes))
        OR (g.level = 'micro' AND g.parent_code = ANY(:codes)))
)
"""

WORKERS = """
SELECT 'w:' || w.id, u.username, w.id, w.name,
       CASE WHEN w.role = 'grid_leader' THEN 'grid_leader'
            WHEN w.role = 'full_time' THEN 'grid_worker'
            WHEN a.level = 'micro' THEN 'building_lead' ELSE 'part_time' END,
       a.code, a.grid, a.households
FROM area a
JOIN worker_grids wg ON wg.grid_code = a.code
JOIN workers w ON w.id = wg.worker_id AND w.on_duty
LEFT JOIN LATERAL (
    SELECT username FROM users WHERE worker_id = w.id AND NOT disabled ORDER BY id LIMIT 1
) u ON true
"""

COMMUNITY_ADMINS = """
SELECT 'u:' || u.username, u.username, NULL::int, coalesce(u.display_name, u.username),
       'community_admin', a.community, NULL, sum(a.households)::int
FROM area a JOIN users u ON u.community_code = a.community
WHERE a.level = 'grid' AND u.role = 'community_admin' AND NOT u.disabled
GROUP BY u.username, u.display_name, a.community
"""

INSERT = """
INSERT INTO notice_recipients
    (notice_id, person, username, worker_id, name, role, area_code, grid_code, households)
SELECT :notice, p.* FROM ({people}) p
ON CONFLICT ON CONSTRAINT uq_notice_recipients_notice_id DO NOTHING
"""

OUTBOX = """
INSERT INTO notifications (notice_id, dedupe_key, channel, address, status, body)
SELECT :notice, 'notice:' || :notice || ':' || r.person,
       CASE WHEN min(w.phone) IS NOT NULL THEN 'sms' ELSE 'app' END, min(w.phone), :level, :body
FROM notice_recipients r LEFT JOIN workers w ON w.id = r.worker_id
WHERE r.notice_id = :notice
GROUP BY r.person
ON CONFLICT (dedupe_key) DO NOTHING
"""


VOLUNTEERS = """
SELECT 'u:' || u.username, u.username, NULL::int, coalesce(u.display_name, u.username),
       v.kind,
       a.code, a.grid, a.households
FROM area a
JOIN volunteers v ON v.grid_code = a.code AND v.active
JOIN users u ON u.id = v.user_id AND NOT u.disabled
"""


def fan_out(session: Session, notice_id: int, codes: list[str], *, level: str, body: str) -> int:
    """Queue the notice to every responsible person of the grids `codes` (grid level) and their
    micro-grids; returns the number of people reached. Idempotent (unique keys)."""
    people = " UNION ALL ".join((WORKERS, COMMUNITY_ADMINS, VOLUNTEERS))
    params = {"notice": notice_id, "codes": codes}
    session.execute(text(AREA + INSERT.format(people=people)), params)
    result = session.execute(text(OUTBOX), {**params, "level": level, "body": body})
    return result.rowcount
