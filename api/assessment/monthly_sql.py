"""The two monthly queries, set-based: one statement per table, over every row in scope.

Parameters: :start and :end (the month, timestamptz), :now, :tz (the zone days are counted
in), :workdays (ISO weekdays), :days_off and :make_up (official holidays and make-up working
days, dates), and the scope's :everything, :self_worker, :grids, :prefixes."""

from __future__ import annotations

from sqlalchemy import text

# the workers with their community, grids and accounts
WORKERS = """
workers_all AS (
    SELECT wk.id, wk.worker_id, wk.name, wk.role, c.code AS community_code,
           c.name AS community_name,
           COALESCE(array_agg(DISTINCT wg.grid_code::text)
                    FILTER (WHERE wg.grid_code IS NOT NULL), '{}') AS grid_codes,
           COALESCE(array_agg(DISTINCT u.username::text)
                    FILTER (WHERE u.username IS NOT NULL), '{}') AS usernames
    FROM workers wk
    LEFT JOIN communities c ON c.id = wk.community_id
    LEFT JOIN worker_grids wg ON wg.worker_id = wk.id
    LEFT JOIN users u ON u.worker_id = wk.id
    GROUP BY wk.id, c.code, c.name
)"""

# distinct local working days on which a worker signed in, acted on a case, or recorded a visit;
# a working day: the weekday rule, not an official holiday, or a make-up working day
_PRESENCE = """
names AS (SELECT w.id, unnest(w.usernames) AS username FROM {workers} w),
presence AS (
    SELECT d.id, count(DISTINCT d.day) AS days
    FROM (
        SELECT n.id, (a.at AT TIME ZONE :tz)::date AS day
        FROM audit_log a JOIN names n ON n.username = a.actor
        WHERE a.at >= :start AND a.at < :end
        UNION
        SELECT n.id, (e.at AT TIME ZONE :tz)::date
        FROM case_events e JOIN names n ON n.username = e.actor
        WHERE e.at >= :start AND e.at < :end
        UNION
        SELECT v.worker_id, (v.visited_at AT TIME ZONE :tz)::date
        FROM household_visits v JOIN {workers} w ON w.id = v.worker_id
        WHERE v.visited_at >= :start AND v.visited_at < :end
    ) d
    WHERE (extract(isodow FROM d.day)::int = ANY(CAST(:workdays AS int[]))
           AND d.day <> ALL(CAST(:days_off AS date[])))
       OR d.day = ANY(CAST(:make_up AS date[]))
    GROUP BY d.id
)"""

# cases resolved in the month and cases due in it, per worker (assignee) or per grid
_CASE_OUTCOMES = """handled AS (
    SELECT {key} AS {name}, count(*) AS handled,
           percentile_cont(0.5) WITHIN GROUP (
               ORDER BY extract(epoch FROM c.resolved_at - c.reported_at) / 3600.0
           ) AS median_hours,
           avg(c.rating) FILTER (WHERE c.rating IS NOT NULL) AS rating,
           count(c.rating) AS rated
    FROM cases c JOIN {join}
    WHERE c.resolved_at >= :start AND c.resolved_at < :end
    GROUP BY {key}
),
due AS (
    SELECT {key} AS {name}, count(*) AS due,
           count(*) FILTER (WHERE c.resolved_at IS NULL OR c.resolved_at > c.due_at) AS overdue
    FROM cases c JOIN {join}
    WHERE c.due_at >= :start AND c.due_at < LEAST(:end, :now)
    GROUP BY {key}
)"""

_IN_SCOPE_WORKER = """
    :everything
    OR w.worker_id = :self_worker
    OR w.grid_codes && CAST(:grids AS text[])
    OR EXISTS (SELECT 1 FROM unnest(CAST(:prefixes AS text[])) p
               WHERE w.community_code LIKE p || '%'
                  OR EXISTS (SELECT 1 FROM unnest(w.grid_codes) g WHERE g LIKE p || '%'))"""

WORKER_TABLE = text(f"""
WITH {WORKERS},
scoped AS (SELECT * FROM workers_all w WHERE {_IN_SCOPE_WORKER}),
visits AS (
    SELECT v.worker_id AS id, count(*) AS visits, count(DISTINCT v.building_id) AS buildings,
           sum(v.households_seen) AS households_seen
    FROM household_visits v JOIN scoped s ON s.id = v.worker_id
    WHERE v.status = 'accepted' AND v.visited_at >= :start AND v.visited_at < :end
    GROUP BY v.worker_id
),
reported AS (
    SELECT s.id, count(*) AS reported
    FROM scoped s CROSS JOIN LATERAL unnest(s.usernames) n(username)
    JOIN cases c ON c.reported_by = n.username
    WHERE c.reported_at >= :start AND c.reported_at < :end
    GROUP BY s.id
),
{_CASE_OUTCOMES.format(key="c.assignee_id", name="id", join="scoped s ON s.id = c.assignee_id")},
{_PRESENCE.format(workers="scoped")}
SELECT s.worker_id AS key, s.name, s.role, s.community_code, s.community_name, s.grid_codes,
       COALESCE(v.visits, 0) AS visits, COALESCE(v.buildings, 0) AS buildings,
       COALESCE(v.households_seen, 0) AS households_seen,
       COALESCE(r.reported, 0) AS reported,
       COALESCE(h.handled, 0) AS handled, h.median_hours, h.rating, COALESCE(h.rated, 0) AS rated,
       COALESCE(d.due, 0) AS due, COALESCE(d.overdue, 0) AS overdue,
       COALESCE(p.days, 0) AS days_present, 1 AS workers
FROM scoped s
LEFT JOIN visits v ON v.id = s.id
LEFT JOIN reported r ON r.id = s.id
LEFT JOIN handled h ON h.id = s.id
LEFT JOIN due d ON d.id = s.id
LEFT JOIN presence p ON p.id = s.id
ORDER BY s.community_code NULLS LAST, s.worker_id
""")

_IN_SCOPE_GRID = """
    :everything
    OR g.code = ANY(CAST(:grids AS text[]))
    OR EXISTS (SELECT 1 FROM unnest(CAST(:prefixes AS text[])) p WHERE g.code LIKE p || '%')"""

GRID_TABLE = text(f"""
WITH {WORKERS},
grids_in AS (
    SELECT g.code, g.households, c.name AS community_name, left(g.code, 12) AS community_code
    FROM grids g LEFT JOIN communities c ON c.id = g.community_id
    WHERE g.level = 'grid' AND g.valid_to IS NULL AND ({_IN_SCOPE_GRID})
),
staff AS (
    SELECT DISTINCT w.* FROM workers_all w JOIN worker_grids wg ON wg.worker_id = w.id
    JOIN grids_in gi ON gi.code = wg.grid_code
),
{_PRESENCE.format(workers="staff")},
attendance AS (
    SELECT wg.grid_code AS code, count(*) AS workers, avg(COALESCE(p.days, 0)) AS days
    FROM worker_grids wg JOIN grids_in gi ON gi.code = wg.grid_code
    LEFT JOIN presence p ON p.id = wg.worker_id
    GROUP BY wg.grid_code
),
visits AS (
    SELECT v.grid_code AS code, count(*) AS visits, count(DISTINCT v.building_id) AS buildings,
           sum(v.households_seen) AS households_seen
    FROM household_visits v JOIN grids_in gi ON gi.code = v.grid_code
    WHERE v.status = 'accepted' AND v.visited_at >= :start AND v.visited_at < :end
    GROUP BY v.grid_code
),
reported AS (
    SELECT c.grid_code AS code, count(*) AS reported
    FROM cases c JOIN grids_in gi ON gi.code = c.grid_code
    JOIN users u ON u.username = c.reported_by AND u.worker_id IS NOT NULL
    WHERE c.reported_at >= :start AND c.reported_at < :end
    GROUP BY c.grid_code
),
{_CASE_OUTCOMES.format(key="c.grid_code", name="code", join="grids_in gi ON gi.code = c.grid_code")}
SELECT gi.code AS key, gi.community_code, gi.community_name,
       gi.households,
       COALESCE(v.visits, 0) AS visits, COALESCE(v.buildings, 0) AS buildings,
       COALESCE(v.households_seen, 0) AS households_seen,
       COALESCE(r.reported, 0) AS reported,
       COALESCE(h.handled, 0) AS handled, h.median_hours, h.rating, COALESCE(h.rated, 0) AS rated,
       COALESCE(d.due, 0) AS due, COALESCE(d.overdue, 0) AS overdue,
       COALESCE(a.days, 0) AS days_present, COALESCE(a.workers, 0) AS workers
FROM grids_in gi
LEFT JOIN visits v ON v.code = gi.code
LEFT JOIN reported r ON r.code = gi.code
LEFT JOIN handled h ON h.code = gi.code
LEFT JOIN due d ON d.code = gi.code
LEFT JOIN attendance a ON a.code = gi.code
ORDER BY gi.code
""")
