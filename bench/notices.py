"""District notice benchmark: the fan-out of an emergency notice to every responsible person
of a 200,000-household district, queued (recipient rows and outbox messages committed).

    .venv/bin/python -m bench.notices              # 200,000 households (≈1 min with set-up)
    .venv/bin/python -m bench.notices --quick      # the smoke run the tests use

The district is synthetic and seeded directly in SQL: street offices of 10 communities, each
community 5 grids of 400 households, each grid 10 micro-grids (one building of 40 households
each); one full-time worker per grid, one leader per community leading its 5 grids, one
building lead (a part-time worker with a phone) per building, one community admin per
community and one volunteer account per grid. Then, in this process, on the same database:

1. api.notices.send_notice for the whole district (area resolution, the set-based fan-out,
   outbox rows, audit), timed from the call to the commit;
2. the baseline: the same people found by the same query, then one INSERT per recipient row
   and one per outbox message (the per-recipient loop a plain ORM service would run), timed
   the same way in its own transaction. Both must write the same number of rows.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from sqlalchemy import text

from bench.processes import private_database

DISTRICT = "990199"
GRIDS_PER_COMMUNITY, MICRO_PER_GRID, HOUSEHOLDS_PER_MICRO = 5, 10, 40
COMMUNITIES_PER_STREET = 10
HOUSEHOLDS_PER_STREET = (
    COMMUNITIES_PER_STREET * GRIDS_PER_COMMUNITY * MICRO_PER_GRID * HOUSEHOLDS_PER_MICRO
)

SEED = [
    "INSERT INTO districts (code, name) VALUES (:d, '基准区')",
    "INSERT INTO streets (code, name, district_id) SELECT :d || lpad(s::text, 3, '0'), "
    "'基准街道' || s, (SELECT id FROM districts WHERE code = :d) FROM generate_series(1, :s) s",
    "INSERT INTO communities (code, name, street_id) SELECT s.code || lpad(c::text, 3, '0'), "
    "'基准社区' || s.code || '-' || c, s.id FROM streets s, generate_series(1, :c) c "
    "WHERE s.code LIKE :d || '%'",
    # grid n of the district: a 0.005° square in a 50-wide lattice
    "INSERT INTO grids (code, level, households, community_id, geom) "
    "SELECT c.code || lpad(g::text, 3, '0'), 'grid', :gh, c.id, "
    "ST_MakeEnvelope(118 + (n % 50) * 0.005, 31 + (n / 50) * 0.005, "
    "118.005 + (n % 50) * 0.005, 31.005 + (n / 50) * 0.005, 4326) "
    "FROM (SELECT c.*, g, (row_number() OVER (ORDER BY c.code, g) - 1)::int AS n "
    "      FROM communities c, generate_series(1, :g) g WHERE c.code LIKE :d || '%') c",
    "INSERT INTO grids (code, level, parent_code, households, community_id, geom) "
    "SELECT g.code || lpad(m::text, 3, '0'), 'micro', g.code, :mh, g.community_id, "
    "ST_MakeEnvelope(ST_XMin(g.geom) + ((m - 1) % 5) * 0.001, "
    "ST_YMin(g.geom) + ((m - 1) / 5) * 0.0025, ST_XMin(g.geom) + ((m - 1) % 5 + 1) * 0.001, "
    "ST_YMin(g.geom) + ((m - 1) / 5 + 1) * 0.0025, 4326) "
    "FROM grids g, generate_series(1, :m) m WHERE g.level = 'grid' AND g.code LIKE :d || '%'",
    # one full-time worker per grid, one leader per community, one building lead per micro-grid
    "INSERT INTO workers (worker_id, name, phone, role, community_id) "
    "SELECT 'bw' || code, '网格员' || right(code, 6), '139' || lpad(id::text, 8, '0'), "
    "'full_time', community_id FROM grids WHERE level = 'grid' AND code LIKE :d || '%'",
    "INSERT INTO workers (worker_id, name, phone, role, community_id) "
    "SELECT 'bl' || code, '网格长' || right(code, 6), '137' || lpad(id::text, 8, '0'), "
    "'grid_leader', id FROM communities WHERE code LIKE :d || '%'",
    "INSERT INTO workers (worker_id, name, phone, role, community_id) "
    "SELECT 'bb' || code, '楼栋长' || right(code, 9), '138' || lpad(id::text, 8, '0'), "
    "'part_time', community_id FROM grids WHERE level = 'micro' AND code LIKE :d || '%'",
    "INSERT INTO worker_grids (worker_id, grid_code) "
    "SELECT w.id, substr(w.worker_id, 3) FROM workers w WHERE w.worker_id ~ '^b[wb]'",
    "INSERT INTO worker_grids (worker_id, grid_code) SELECT w.id, g.code FROM workers w "
    "JOIN grids g ON left(g.code, 12) = substr(w.worker_id, 3) AND g.level = 'grid' "
    "WHERE w.worker_id LIKE 'bl%'",
    "INSERT INTO users (username, role, community_code) "
    "SELECT 'ca' || code, 'community_admin', code FROM communities WHERE code LIKE :d || '%'",
    "INSERT INTO users (username, role) SELECT 'vol' || code, 'volunteer' FROM grids "
    "WHERE level = 'grid' AND code LIKE :d || '%'",
    "INSERT INTO volunteers (user_id, username, grid_code, community_code, kind) "
    "SELECT u.id, u.username, substr(u.username, 4), substr(u.username, 4, 12), 'party_member' "
    "FROM users u WHERE u.username LIKE 'vol%'",
    "INSERT INTO users (username, role) VALUES ('bench-admin', 'admin')",
]


def seed(url: str, households: int) -> dict:
    """The synthetic district of about `households` households (whole street offices)."""
    streets = max(1, round(households / HOUSEHOLDS_PER_STREET))
    params = {
        "d": DISTRICT,
        "s": streets,
        "c": COMMUNITIES_PER_STREET,
        "g": GRIDS_PER_COMMUNITY,
        "m": MICRO_PER_GRID,
        "mh": HOUSEHOLDS_PER_MICRO,
        "gh": MICRO_PER_GRID * HOUSEHOLDS_PER_MICRO,
    }
    counts = {
        "households": "SELECT sum(households) FROM grids WHERE level = 'grid'",
        "grids": "SELECT count(*) FROM grids WHERE level = 'grid'",
        "micro_grids": "SELECT count(*) FROM grids WHERE level = 'micro'",
        "workers": "SELECT count(*) FROM workers",
        "accounts": "SELECT count(*) FROM users",
    }
    return seeded(url, SEED, params, counts)


def seeded(url: str, statements: list[str], params: dict, counts: dict[str, str]) -> dict:
    """Run `statements` in one transaction and ANALYZE; then each of `counts` (name → a
    scalar query) as an int, and the seconds it took as seed_s."""
    from api.db import transaction

    t = time.perf_counter()
    with transaction(url) as s:
        for sql in statements:
            s.execute(text(sql), params)
        s.execute(text("ANALYZE"))
    with transaction(url) as s:
        found = {name: int(s.execute(text(sql)).scalar()) for name, sql in counts.items()}
    return found | {"seed_s": round(time.perf_counter() - t, 1)}


def fan_out_set_based(url: str) -> dict:
    """send_notice for the whole district, timed to its commit."""
    from api.accounts.roles import Principal, Role
    from api.db import transaction
    from api.notices import Area, send_notice

    admin = Principal(username="bench-admin", role=Role.admin)
    t = time.perf_counter()
    with transaction(url) as s:
        sent = send_notice(
            s, admin, title="紧急通知", body="暴雨红色预警，请立即通知到户", level="emergency",
            area=Area(district=DISTRICT), confirm=True,
        )  # fmt: skip
    seconds = time.perf_counter() - t
    return {"notice": sent.id, "grids": sent.grids, "people": sent.people, "s": seconds}


def fan_out_loop(url: str) -> dict:
    """The baseline: same people, one INSERT per recipient row and per outbox message."""
    from api.db import transaction
    from api.notices import fanout
    from api.notices.send import message

    t = time.perf_counter()
    with transaction(url) as s:
        codes = list(
            s.execute(
                text("SELECT code FROM grids WHERE level = 'grid' AND left(code, 6) = :d"),
                {"d": DISTRICT},
            ).scalars()
        )
        notice = s.execute(
            text(
                "INSERT INTO notices (title, body, level, area, grid_codes, sender) VALUES "
                "('紧急通知', '基线', 'emergency', '{}', :codes, 'bench-admin') RETURNING id"
            ),
            {"codes": codes},
        ).scalar()
        people = " UNION ALL ".join(
            (fanout.WORKERS, fanout.COMMUNITY_ADMINS, fanout.VOLUNTEERS, fanout.LEADS)
        )
        params = {"codes": codes, "no_building": fanout.NO_BUILDING}
        found = s.execute(text(fanout.AREA + people), params).all()
        body = message("emergency", "紧急通知", "基线")
        phones = dict(s.execute(text("SELECT id, phone FROM workers")).all())
        queued = set()
        for person, username, worker, name, role, area, grid, households, note in found:
            s.execute(
                text(
                    "INSERT INTO notice_recipients (notice_id, person, username, worker_id, "
                    "name, role, area_code, grid_code, households, note) VALUES "
                    "(:n, :p, :u, :w, :name, :r, :a, :g, :h, :note)"
                ),
                {"n": notice, "p": person, "u": username, "w": worker, "name": name,
                 "r": role, "a": area, "g": grid, "h": households, "note": note},
            )  # fmt: skip
            if person in queued:
                continue
            queued.add(person)
            phone = phones.get(worker)
            s.execute(
                text(
                    "INSERT INTO notifications (notice_id, dedupe_key, channel, address, "
                    "status, body) VALUES (:n, :k, :c, :a, 'emergency', :b)"
                ),
                {"n": notice, "k": f"notice:{notice}:{person}", "c": "sms" if phone else "app",
                 "a": phone, "b": body},
            )  # fmt: skip
    seconds = time.perf_counter() - t
    return {"notice": notice, "people": len(queued), "rows": len(found), "s": seconds}


def rows_of(url: str, notice: int) -> tuple[int, int]:
    from api.db import transaction

    with transaction(url) as s:
        return s.execute(
            text(
                "SELECT (SELECT count(*) FROM notice_recipients WHERE notice_id = :n), "
                "(SELECT count(*) FROM notifications WHERE notice_id = :n)"
            ),
            {"n": notice},
        ).one()


def measure(url: str, households: int) -> dict:
    numbers = {"district": seed(url, households), "load_before": os.getloadavg()}
    fast = fan_out_set_based(url)
    fast["recipient_rows"], fast["outbox_rows"] = rows_of(url, fast["notice"])
    slow = fan_out_loop(url)
    slow["recipient_rows"], slow["outbox_rows"] = rows_of(url, slow["notice"])
    if (fast["recipient_rows"], fast["outbox_rows"]) != (
        slow["recipient_rows"],
        slow["outbox_rows"],
    ):
        msg = f"the two fan-outs disagree: {fast} vs {slow}"
        raise AssertionError(msg)
    numbers |= {"set_based": fast, "loop": slow, "load_after": os.getloadavg()}
    return numbers


def run(*, households: int, url: str | None = None) -> dict:
    """Seed `url` (an empty, migrated database) or a private cluster, then measure."""
    if url is not None:
        return measure(url, households)
    with private_database() as own:
        return measure(own, households)


def report(n: dict) -> str:
    d, fast, slow = n["district"], n["set_based"], n["loop"]
    return "\n".join(
        [
            f"district: {d['households']:,} households, {d['grids']:,} grids, "
            f"{d['micro_grids']:,} micro-grids, {d['workers']:,} workers, "
            f"{d['accounts']:,} accounts (seeded in {d['seed_s']} s)",
            f"set-based fan-out: {fast['people']:,} people, {fast['recipient_rows']:,} "
            f"recipient rows, {fast['outbox_rows']:,} outbox rows in {fast['s']:.2f} s",
            f"per-recipient loop: {slow['people']:,} people, {slow['recipient_rows']:,} "
            f"recipient rows, {slow['outbox_rows']:,} outbox rows in {slow['s']:.2f} s "
            f"({slow['s'] / fast['s']:.1f}× slower)",
            load_line(n),
        ]
    )


def load_line(n: dict) -> str:
    """The load averages measured before and after, for the report."""
    return "load average before {:.2f} {:.2f} {:.2f}".format(
        *n["load_before"]
    ) + ", after {:.2f} {:.2f} {:.2f}".format(*n["load_after"])


def parser(doc: str) -> argparse.ArgumentParser:
    """The options of a district benchmark: --households, --quick, --json."""
    found = argparse.ArgumentParser(description=doc.splitlines()[0])
    found.add_argument("--households", type=int, default=200_000)
    found.add_argument("--quick", action="store_true", help="one street office, for the tests")
    found.add_argument("--json", type=Path, help="also write every number here")
    return found


def households_of(args: argparse.Namespace) -> int:
    return HOUSEHOLDS_PER_STREET if args.quick else args.households


def emit(numbers: dict, text: str, path: Path | None) -> dict:
    """Print the report, write every number to `path` when given; returns the numbers."""
    print(text)
    if path:
        path.write_text(json.dumps(numbers, indent=2))
    return numbers


def main(argv: list[str] | None = None) -> dict:
    args = parser(__doc__).parse_args(argv)
    numbers = run(households=households_of(args))
    return emit(numbers, report(numbers), args.json)


if __name__ == "__main__":
    main()
