"""Grid workers' monthly assessment benchmark: the per-worker and per-grid tables of one month
for the bench/notices.py district (200,000 households), set-based against per-worker queries.

    .venv/bin/python -m bench.assessment              # 200,000 households (≈2 min with set-up)
    .venv/bin/python -m bench.assessment --quick      # one street office, the smoke run

The district is bench/notices.py's (grids of 400 households, one full-time worker per grid, a
leader per community, a part-time building lead per micro-grid), each worker with an account,
then October 2026 seeded in SQL (fixed formulas, no randomness): visits (40 per full-time
worker, 4 per building lead, one in ten flagged), cases (30 assigned to each full-time worker,
half reported by them, 2 reported by each building lead; resolved, late, rated in a fixed
pattern), one case step per assigned case, and sign-ins on four days in five. Then, in this
process, on the same database, each warmed up once and timed over --repeat runs:

1. set-based: api.assessment.monthly.monthly_table (one statement per table), per worker and
   per grid, the admin's scope (everything);
2. the baseline: the worker list once, then ONE statement per worker (its visits, reports,
   cases handled and due, and days present as five scalar subqueries over the same indexes),
   the same formula per row in Python. Both must give the same numbers for every worker.

Wall time (time.perf_counter) and CPU time: this process's (time.process_time) plus the
PostgreSQL backend's (utime + stime of its /proc/<pid>/stat), since most of the work is there.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from api.assessment import monthly_sql
from bench import notices as district
from bench.processes import private_database

MONTH = "2026-10"
START = "2026-10-01 00:00+08"

SEED = [
    "INSERT INTO users (username, role, worker_id) SELECT 'u' || worker_id, "
    "CASE WHEN role = 'grid_leader' THEN 'grid_leader' ELSE 'grid_worker' END, id FROM workers",
    # visits: hour offsets spread over the 744 hours of October
    "INSERT INTO household_visits (worker_id, username, building_id, grid_code, community_code,"
    " visited_at, lon, lat, distance_m, status, flag_reason, households_seen) "
    "SELECT w.id, 'u' || w.worker_id, 'b' || wg.grid_code || '-' || (v % 7), "
    "left(wg.grid_code, 15), left(wg.grid_code, 12), "
    "CAST(:start AS timestamptz) + make_interval(hours => (v * 17 + w.id * 5) % 744), 118, 31, "
    "CASE WHEN v % 10 = 0 THEN 80 ELSE 5 END, "
    "CASE WHEN v % 10 = 0 THEN 'flagged' ELSE 'accepted' END, "
    "CASE WHEN v % 10 = 0 THEN 'too_far' END, v % 6 "
    "FROM workers w JOIN worker_grids wg ON wg.worker_id = w.id, "
    "generate_series(1, CASE w.role WHEN 'full_time' THEN 40 WHEN 'part_time' THEN 4 ELSE 0 END)"
    " v",
    # cases assigned to full-time workers: half reported by them; resolved 3 in 4, due in 48 h
    "INSERT INTO cases (category, status, grid_code, community_code, reported_by, assignee_id,"
    " reported_at, resolved_at, due_at, rating) "
    "SELECT 'dispute.neighbour', CASE WHEN v % 4 = 0 THEN 'dispatched' ELSE 'resolved' END, "
    "wg.grid_code, left(wg.grid_code, 12), "
    "CASE WHEN v % 2 = 0 THEN 'u' || w.worker_id END, w.id, r.at, "
    "CASE WHEN v % 4 <> 0 THEN r.at + make_interval(hours => (v * 7) % 72) END, "
    "r.at + interval '48 hours', CASE WHEN v % 4 <> 0 AND v % 3 = 0 THEN 1 + v % 5 END "
    "FROM workers w JOIN worker_grids wg ON wg.worker_id = w.id, generate_series(1, 30) v, "
    "LATERAL (SELECT CAST(:start AS timestamptz) - interval '3 days' "
    "         + make_interval(hours => (v * 23 + w.id) % 800) AS at) r "
    "WHERE w.role = 'full_time'",
    "INSERT INTO cases (category, status, grid_code, community_code, reported_by, reported_at) "
    "SELECT 'dispute.neighbour', 'reported', left(wg.grid_code, 15), left(wg.grid_code, 12), "
    "'u' || w.worker_id, CAST(:start AS timestamptz) + make_interval(hours => (v * 31 + w.id) "
    "% 744) FROM workers w JOIN worker_grids wg ON wg.worker_id = w.id, generate_series(1, 2) v "
    "WHERE w.role = 'part_time'",
    "INSERT INTO case_events (case_id, at, actor, to_status) "
    "SELECT c.id, c.reported_at + interval '1 hour', 'u' || w.worker_id, 'accepted' "
    "FROM cases c JOIN workers w ON w.id = c.assignee_id",
    # sign-ins at 08:00 China time on four days in five
    "INSERT INTO audit_log (at, actor, action, object_type, object_id) "
    "SELECT CAST(:start AS timestamptz) + make_interval(days => d, hours => 8), "
    "'u' || w.worker_id, 'auth.sign_in', 'sign_in', 'u' || w.worker_id "
    "FROM workers w, generate_series(0, 30) d WHERE (d + w.id) % 5 <> 0",
    # the presence query reads case steps by actor (both ways use it)
    "CREATE INDEX IF NOT EXISTS ix_case_events_actor_at ON case_events (actor, at)",
]

# the baseline: every worker once (the assessment's own list), then one statement per worker
WORKERS = (
    f"WITH {monthly_sql.WORKERS} SELECT * FROM workers_all "
    "ORDER BY community_code NULLS LAST, worker_id"
)

ONE_WORKER = """
SELECT v.visits, v.buildings, v.households_seen,
       (SELECT count(*) FROM cases c WHERE c.reported_by = ANY(CAST(:names AS text[]))
          AND c.reported_at >= :start AND c.reported_at < :end) AS reported,
       h.handled, h.median_hours, h.rating, h.rated, d.due, d.overdue,
       (SELECT count(DISTINCT day) FROM (
            SELECT (a.at AT TIME ZONE :tz)::date AS day FROM audit_log a
             WHERE a.actor = ANY(CAST(:names AS text[])) AND a.at >= :start AND a.at < :end
            UNION
            SELECT (e.at AT TIME ZONE :tz)::date FROM case_events e
             WHERE e.actor = ANY(CAST(:names AS text[])) AND e.at >= :start AND e.at < :end
            UNION
            SELECT (x.visited_at AT TIME ZONE :tz)::date FROM household_visits x
             WHERE x.worker_id = :id AND x.visited_at >= :start AND x.visited_at < :end) p
        WHERE (extract(isodow FROM day)::int = ANY(CAST(:workdays AS int[]))
               AND day <> ALL(CAST(:days_off AS date[])))
           OR day = ANY(CAST(:make_up AS date[]))) AS days_present
FROM (SELECT count(*) AS visits, count(DISTINCT building_id) AS buildings,
             COALESCE(sum(households_seen), 0) AS households_seen
      FROM household_visits WHERE worker_id = :id AND status = 'accepted'
        AND visited_at >= :start AND visited_at < :end) v,
     (SELECT count(*) AS handled,
             percentile_cont(0.5) WITHIN GROUP (
                 ORDER BY extract(epoch FROM resolved_at - reported_at) / 3600.0) AS median_hours,
             avg(rating) FILTER (WHERE rating IS NOT NULL) AS rating, count(rating) AS rated
      FROM cases WHERE assignee_id = :id AND resolved_at >= :start AND resolved_at < :end) h,
     (SELECT count(*) AS due,
             count(*) FILTER (WHERE resolved_at IS NULL OR resolved_at > due_at) AS overdue
      FROM cases WHERE assignee_id = :id AND due_at >= :start
        AND due_at < LEAST(CAST(:end AS timestamptz), :now)) d
"""

COMPARED = ("visits", "buildings", "households_seen", "reported", "handled", "median_hours",
            "rating", "rated", "due", "overdue", "days_present", "score")  # fmt: skip


def seed_month(url: str) -> dict:
    counts = {"visits": "SELECT count(*) FROM household_visits",
              "cases": "SELECT count(*) FROM cases",
              "case_events": "SELECT count(*) FROM case_events",
              "sign_ins": "SELECT count(*) FROM audit_log"}  # fmt: skip
    return district.seeded(url, SEED, {"start": START}, counts)


def _backend_cpu(session) -> float:
    """CPU seconds the PostgreSQL backend serving `session` has used so far (same machine)."""
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(url: str, work) -> tuple[object, dict]:
    """Run `work(session)` in one transaction: its result, wall, client and server CPU."""
    from api.db import transaction

    with transaction(url) as s:
        server0, client0, wall0 = _backend_cpu(s), time.process_time(), time.perf_counter()
        result = work(s)
        wall, client = time.perf_counter() - wall0, time.process_time() - client0
        server = _backend_cpu(s) - server0
    return result, {"wall_s": wall, "client_cpu_s": client, "server_cpu_s": server}


def set_based(session, month, now, level: str) -> list[dict]:
    from api.assessment.monthly import monthly_table
    from api.assessment.scope import Scope

    return monthly_table(session, month=month, level=level, scope=Scope(everything=True), now=now)


def per_worker(session, month, now) -> list[dict]:
    """The baseline: the worker list, then one statement per worker, the formula per row."""
    from api.assessment.formula import formula
    from api.assessment.monthly import _finish, _named, working_days

    rules = formula()
    workdays = working_days(month, now=now, rules=rules)
    params = {
        "start": month.start, "end": month.end, "now": now, "tz": rules.timezone.key,
        "workdays": list(rules.workdays), "days_off": rules.calendar.days_off(),
        "make_up": rules.calendar.make_up_days(),
    }  # fmt: skip
    one = text(ONE_WORKER)
    rows = []
    for w in session.execute(text(WORKERS)).mappings().all():
        found = session.execute(one, {**params, "id": w["id"], "names": w["usernames"]})
        parts = dict(found.mappings().one())
        row = {"key": w["worker_id"], "workers": 1, **{k: w[k] for k in w if k != "id"}, **parts}
        rows.append(_finish(_named(row, "worker"), workdays, rules))
    return rows


def _agree(fast: list[dict], slow: list[dict]) -> int:
    a = {r["key"]: tuple(r[k] for k in COMPARED) for r in fast}
    b = {r["key"]: tuple(r[k] for k in COMPARED) for r in slow}
    if a != b:
        bad = [k for k in a if a[k] != b.get(k)][:3]
        msg = f"set-based and per-worker tables differ, e.g. {[(k, a[k], b.get(k)) for k in bad]}"
        raise AssertionError(msg)
    return len(a)


def _median(runs: list[dict]) -> dict:
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}


def measure(url: str, households: int, *, repeat: int) -> dict:
    from api.assessment.monthly import parse_month

    numbers = {"district": district.seed(url, households), "month": seed_month(url)}
    now = datetime(2026, 11, 15, tzinfo=UTC)
    month = parse_month(MONTH, now=now)
    numbers["load_before"] = os.getloadavg()
    jobs = {
        "set_based_worker": lambda s: set_based(s, month, now, "worker"),
        "set_based_grid": lambda s: set_based(s, month, now, "grid"),
        "per_worker": lambda s: per_worker(s, month, now),
    }
    results = {}
    for name, job in jobs.items():  # warm-up: plans, caches, the formula file
        results[name], _ = _timed(url, job)
    runs = {name: [] for name in jobs}
    for _ in range(repeat):  # interleaved, so load drifts hit every way alike
        for name, job in jobs.items():
            runs[name].append(_timed(url, job)[1])
    numbers["rows"] = {
        "workers": _agree(results["set_based_worker"], results["per_worker"]),
        "grids": len(results["set_based_grid"]),
    }
    numbers |= {name: _median(r) for name, r in runs.items()}
    numbers["repeat"] = repeat
    numbers["load_after"] = os.getloadavg()
    return numbers


def run(*, households: int, repeat: int = 3, url: str | None = None) -> dict:
    """Seed `url` (an empty, migrated database) or a private cluster, then measure."""
    if url is not None:
        return measure(url, households, repeat=repeat)
    with private_database() as own:
        return measure(own, households, repeat=repeat)


def _cpu(t: dict) -> float:
    return t["client_cpu_s"] + t["server_cpu_s"]


def report(n: dict) -> str:
    d, m, fast, grid, slow = (n[k] for k in ("district", "month", "set_based_worker",
                                             "set_based_grid", "per_worker"))  # fmt: skip

    def line(label, t):
        return (f"{label}: wall {t['wall_s']:.2f} s, CPU {_cpu(t):.2f} s "
                f"(client {t['client_cpu_s']:.2f} + server {t['server_cpu_s']:.2f})")  # fmt: skip

    return "\n".join(
        [
            f"district: {d['households']:,} households, {d['grids']:,} grids, "
            f"{d['workers']:,} workers; {MONTH}: {m['visits']:,} visits, {m['cases']:,} cases, "
            f"{m['case_events']:,} case steps, {m['sign_ins']:,} sign-ins "
            f"(seeded in {d['seed_s'] + m['seed_s']:.1f} s)",
            f"rows: {n['rows']['workers']:,} workers (same numbers both ways), "
            f"{n['rows']['grids']:,} grids; medians of {n['repeat']} warm runs",
            line("set-based, per worker", fast),
            line("set-based, per grid", grid),
            line("per-worker statements", slow),
            f"per-worker / set-based: wall {slow['wall_s'] / fast['wall_s']:.1f}×, "
            f"CPU {_cpu(slow) / _cpu(fast):.1f}×",
            district.load_line(n),
        ]
    )


def main(argv: list[str] | None = None) -> dict:
    options = district.parser(__doc__)
    options.add_argument("--repeat", type=int, default=3, help="timed runs of each way")
    args = options.parse_args(argv)
    numbers = run(households=district.households_of(args), repeat=1 if args.quick else args.repeat)
    return district.emit(numbers, report(numbers), args.json)


if __name__ == "__main__":
    main()
