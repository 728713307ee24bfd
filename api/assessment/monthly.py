"""The monthly assessment table per worker or per grid: one query, then the formula per row."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.assessment.formula import Formula, formula
from api.assessment.monthly_sql import GRID_TABLE, WORKER_TABLE
from api.assessment.scope import Scope
from geo.errors import InputError
from geo.grids.edit.messages import grid_name

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
LEVELS = ("worker", "grid")


@dataclass(frozen=True)
class Month:
    first: date
    start: datetime  # local midnight of the first day, aware
    end: datetime  # local midnight of the next month's first day

    @property
    def label(self) -> str:
        return self.first.strftime("%Y-%m")


def parse_month(value: str | None, *, now: datetime, rules: Formula | None = None) -> Month:
    """'YYYY-MM' (the current month when None) in the formula's zone; InputError when bad."""
    tz = (rules or formula()).timezone
    if value is None:
        local = now.astimezone(tz)
        year, month = local.year, local.month
    else:
        found = MONTH.match(value)
        if not found:
            raise InputError(f"月份格式应为 YYYY-MM，如 2026-11 / month must be YYYY-MM: {value!r}")
        year, month = int(found[1]), int(found[2])
        if not (2000 <= year <= 9998 and 1 <= month <= 12):
            raise InputError(f"月份超出范围 (2000-01 起) / month out of range: {value!r}")
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    start = datetime(first.year, first.month, 1, tzinfo=tz)
    end = datetime(following.year, following.month, 1, tzinfo=tz)
    return Month(first=first, start=start, end=end)


def working_days(month: Month, *, now: datetime, rules: Formula) -> int:
    """Working days of `month` up to and including today (all of them for a past month): the
    weekday rule − official holidays + make-up working days."""
    today = now.astimezone(rules.timezone).date()
    day, n = month.first, 0
    while day.month == month.first.month and day <= today:
        n += rules.calendar.is_workday(day)
        day += timedelta(days=1)
    return n


def part_values(row: dict, workdays: int) -> dict[str, float | None]:
    """The formula's inputs of one row: counts, 1 − overdue share, rating, attendance share."""
    return {
        "visits": row["visits"],
        "reported": row["reported"],
        "handled": row["handled"],
        "on_time": None if row["due"] == 0 else 1 - row["overdue"] / row["due"],
        "rating": row["rating"],
        "attendance": None if workdays == 0 else row["attendance"],
    }


def _named(row: dict, level: str) -> dict:
    """The row's names from the server: `community` and `grid_name` (社区 + 第N网格), and for a
    grid its `name` too; codes stay in `key` and `grid_codes` (details)."""
    out = dict(row)
    out["community"] = out.pop("community_name")
    if level == "grid":
        out["grid_codes"] = [out["key"]]
        out["name"] = out["grid_name"] = grid_name(out["key"], "grid", out["community"])
    else:
        out["grid_codes"] = list(out.get("grid_codes") or [])
        names = (grid_name(c, "micro" if len(c) == 18 else "grid", out["community"])
                 for c in out["grid_codes"])  # fmt: skip
        out["grid_name"] = "、".join(names)
    return out


def _finish(row: dict, workdays: int, rules: Formula) -> dict:
    out = dict(row)
    for key in ("median_hours", "rating"):
        out[key] = None if out.get(key) is None else round(float(out[key]), 2)
    out["days_present"] = round(float(out["days_present"]), 1)
    out["overdue_share"] = None if out["due"] == 0 else round(out["overdue"] / out["due"], 3)
    out["workdays"] = workdays
    share = out["days_present"] / workdays if workdays else None
    out["attendance"] = None if share is None else round(share, 3)
    out["score"] = rules.score(part_values(out, workdays))
    return out


def monthly_table(
    session: Session, *, month: Month, level: str, scope: Scope, now: datetime
) -> list[dict]:
    """Every row in `scope` for `month` at `level` ('worker' or 'grid'), with its score."""
    if level not in LEVELS:
        raise InputError(f"层级应为 worker 或 grid / level must be worker or grid: {level!r}")
    rules = formula()
    query = WORKER_TABLE if level == "worker" else GRID_TABLE
    params = {
        "start": month.start, "end": month.end, "now": now, "tz": rules.timezone.key,
        "workdays": list(rules.workdays),
        "days_off": rules.calendar.days_off(), "make_up": rules.calendar.make_up_days(),
        **scope.params(),
    }  # fmt: skip
    # one short report: PostgreSQL's JIT would spend seconds compiling it (measured: 5.2 s of
    # 5.5 s for 1,680 workers), so it is off for this statement only
    # (a failed statement ends the transaction, and the local setting with it)
    jit = session.execute(text("SELECT current_setting('jit')")).scalar()
    session.execute(text("SELECT set_config('jit', 'off', true)"))
    rows = session.execute(query, params).mappings().all()
    session.execute(text("SELECT set_config('jit', :was, true)"), {"was": jit})
    workdays = working_days(month, now=now, rules=rules)
    return [_finish(_named(r, level), workdays, rules) for r in rows]
