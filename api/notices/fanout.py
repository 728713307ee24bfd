"""The fan-out of a notice down the grid tree, set-based in the caller's transaction: one
INSERT … SELECT of every responsible person of the notice's grids and their micro-grids
(community admins, grid leaders and workers, part-time workers, volunteers with their kind:
party members, volunteers; building leads with the households of their own buildings),
then one INSERT … SELECT of their outbox messages (one per person, SMS where a phone is known,
else the phone page's channel).

A building lead (楼栋长) answers for their buildings: one row per grid holding them, with the
buildings' households there (the grid's members). A lead with no building known keeps their
micro-grid (a part-time worker of a micro-grid), or is listed with 0 households and a note."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

NO_BUILDING = "未登记楼栋，户数按 0 计；请社区为其登记楼栋 (no building registered: 0 households)"

# the grid-level grids of the notice and their micro-grids, current versions; the building
# leads that have buildings or no micro-grid, and the buildings' households in each grid
AREA = """
WITH area AS (
    SELECT g.code, g.level, g.households, g.members, left(g.code, 15) AS grid,
           c.code AS community
    FROM grids g JOIN communities c ON c.id = g.community_id
    WHERE g.valid_to IS NULL AND (
        (g.level = 'grid' AND g.code = ANY(:codes))
        OR (g.level = 'micro' AND g.parent_code = ANY(:codes)))
), leads AS (
    SELECT 'u:' || u.username AS person, u.username::text AS username, NULL::int AS worker_id,
           coalesce(u.display_name, u.username)::text AS name, v.building_ids,
           v.grid_code AS home
    FROM volunteers v JOIN users u ON u.id = v.user_id AND NOT u.disabled
    WHERE v.active AND v.kind = 'building_lead'
    UNION ALL
    SELECT 'w:' || w.id, u.username, w.id, w.name, w.building_ids, NULL
    FROM workers w
    LEFT JOIN LATERAL (
        SELECT username FROM users WHERE worker_id = w.id AND NOT disabled ORDER BY id LIMIT 1
    ) u ON true
    WHERE w.on_duty AND w.role = 'part_time' AND cardinality(w.building_ids) > 0
), shares AS (
    SELECT a.code, a.grid, m->>0 AS building_id, (m->>1)::int AS households
    FROM area a CROSS JOIN LATERAL jsonb_array_elements(a.members) m
    WHERE a.level = 'grid'
      AND m->>0 IN (SELECT unnest(building_ids) FROM leads)
)
"""

WORKERS = """
SELECT 'w:' || w.id, u.username, w.id, w.name,
       CASE WHEN w.role = 'grid_leader' THEN 'grid_leader'
            WHEN w.role = 'full_time' THEN 'grid_worker'
            WHEN a.level = 'micro' THEN 'building_lead' ELSE 'part_time' END,
       a.code, a.grid, a.households, NULL::text
FROM area a
JOIN worker_grids wg ON wg.grid_code = a.code
JOIN workers w ON w.id = wg.worker_id AND w.on_duty
    AND NOT (w.role = 'part_time' AND cardinality(w.building_ids) > 0)
LEFT JOIN LATERAL (
    SELECT username FROM users WHERE worker_id = w.id AND NOT disabled ORDER BY id LIMIT 1
) u ON true
"""

COMMUNITY_ADMINS = """
SELECT 'u:' || u.username, u.username, NULL::int, coalesce(u.display_name, u.username),
       'community_admin', a.community, NULL, sum(a.households)::int, NULL
FROM area a JOIN users u ON u.community_code = a.community
WHERE a.level = 'grid' AND u.role = 'community_admin' AND NOT u.disabled
GROUP BY u.username, u.display_name, a.community
"""

INSERT = """
INSERT INTO notice_recipients
    (notice_id, person, username, worker_id, name, role, area_code, grid_code, households, note)
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
       a.code, a.grid, a.households, NULL
FROM area a
JOIN volunteers v ON v.grid_code = a.code AND v.active AND v.kind <> 'building_lead'
JOIN users u ON u.id = v.user_id AND NOT u.disabled
"""

# building leads: their buildings' households per grid, or 0 and a note where none is known
LEADS = """
SELECT l.person, l.username, l.worker_id, l.name, 'building_lead', s.code, s.grid,
       sum(s.households)::int, NULL
FROM leads l CROSS JOIN LATERAL unnest(l.building_ids) b(id)
JOIN shares s ON s.building_id = b.id
GROUP BY l.person, l.username, l.worker_id, l.name, s.code, s.grid
UNION ALL
SELECT l.person, l.username, l.worker_id, l.name, 'building_lead', a.code, a.grid, 0,
       CAST(:no_building AS text)
FROM leads l JOIN area a ON a.code = l.home AND a.level = 'grid'
WHERE cardinality(l.building_ids) = 0
"""


def fan_out(session: Session, notice_id: int, codes: list[str], *, level: str, body: str) -> int:
    """Queue the notice to every responsible person of the grids `codes` (grid level) and their
    micro-grids; returns the number of people reached. Idempotent (unique keys)."""
    people = " UNION ALL ".join((WORKERS, COMMUNITY_ADMINS, VOLUNTEERS, LEADS))
    params = {"notice": notice_id, "codes": codes, "no_building": NO_BUILDING}
    session.execute(text(AREA + INSERT.format(people=people)), params)
    outbox = {"notice": notice_id, "level": level, "body": body}
    result = session.execute(text(OUTBOX), outbox)
    return result.rowcount
