"""Working days (工作日): the weekday rule, minus the official holidays, plus the make-up
working days (调休上班) of data/assessment.toml."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class Holiday:
    name: str
    first: date
    last: date
    make_up: tuple[date, ...]

    def days(self) -> list[date]:
        return [self.first + timedelta(n) for n in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class WorkCalendar:
    workdays: tuple[int, ...]  # ISO weekdays
    years: tuple[int, ...]  # the years whose holidays are listed
    holidays: tuple[Holiday, ...]

    def days_off(self) -> list[date]:
        return sorted({d for h in self.holidays for d in h.days()})

    def make_up_days(self) -> list[date]:
        return sorted({d for h in self.holidays for d in h.make_up})

    def is_workday(self, day: date) -> bool:
        if day in self.make_up_days():
            return True
        return day.isoweekday() in self.workdays and day not in self.days_off()

    def words(self, year: int, month: int) -> list[str]:
        """The working-day rule and the month's holidays and make-up days, in Chinese first."""
        rule = "出勤：工作日 = 周一至周五 − 法定节假日 + 调休上班日 (working days)"
        if year not in self.years:
            return [rule, f"{year} 年的节假日安排尚未录入，本月按周一至周五计 (not listed yet)"]
        lines = []
        for h in self.holidays:
            off = [d for d in h.days() if (d.year, d.month) == (year, month)]
            work = [d for d in h.make_up if (d.year, d.month) == (year, month)]
            if off:
                lines.append(f"{h.name}：{_span(off[0], off[-1])} 放假 (holiday)")
            lines.extend(f"{h.name}调休：{_day(d)}（周{WEEKDAYS[d.weekday()]}）上班" for d in work)
        return [rule, *(lines or [f"{year} 年 {month} 月没有法定节假日和调休 (none this month)"])]


def _day(d: date) -> str:
    return f"{d.month}月{d.day}日"


def _span(first: date, last: date) -> str:
    return _day(first) if first == last else f"{_day(first)}至{_day(last)}"


def parse_calendar(data: dict) -> WorkCalendar:
    """The calendar from the TOML's `workdays`, `calendar_years` and `[[holiday]]` tables."""
    holidays = []
    for raw in data.get("holiday", []):
        first, last = raw["days"]
        if not (isinstance(first, date) and isinstance(last, date) and first <= last):
            msg = f"holiday {raw.get('name')!r}: days = [first, last] dates expected"
            raise ValueError(msg)
        make_up = tuple(raw.get("make_up", ()))
        holidays.append(Holiday(str(raw["name"]), first, last, make_up))
    return WorkCalendar(
        workdays=tuple(int(d) for d in data.get("workdays", (1, 2, 3, 4, 5))),
        years=tuple(int(y) for y in data.get("calendar_years", ())),
        holidays=tuple(holidays),
    )
