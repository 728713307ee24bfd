"""The assessment's settings and score formula as data: data/assessment.toml, read once."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from api.assessment.calendar import WorkCalendar, parse_calendar

FORMULA_FILE = Path(__file__).resolve().parents[2] / "data" / "assessment.toml"
PARTS = ("visits", "reported", "handled", "on_time", "rating", "attendance")


@dataclass(frozen=True)
class Part:
    """One term of the score: weight × min(value / target, cap)."""

    key: str
    label: str
    weight: float
    target: float
    cap: float
    when_none: float | None  # share of the weight when there is nothing to measure

    def points(self, value: float | None) -> float:
        if value is None:
            return self.weight * (self.when_none or 0.0)
        return self.weight * min(max(value, 0.0) / self.target, self.cap)

    def words(self) -> str:
        text = f"{self.label}：{self.weight:g} 分 × min(实际 ÷ {self.target:g}, {self.cap:g})"
        if self.when_none is not None:
            text += f"；无数据时按 {self.when_none:g} 计"
        return text


@dataclass(frozen=True)
class VisitRules:
    max_distance_m: float
    max_accuracy_m: float
    repeat_minutes: int
    max_age_hours: int
    max_households: int
    max_note_chars: int


@dataclass(frozen=True)
class Formula:
    timezone: ZoneInfo
    workdays: tuple[int, ...]
    calendar: WorkCalendar
    visit: VisitRules
    parts: tuple[Part, ...]

    def score(self, values: dict[str, float | None]) -> float:
        """The score of one row from its part values (see `part_values`), to 0.1."""
        return round(sum(p.points(values.get(p.key)) for p in self.parts), 1)

    def words(self) -> list[str]:
        """The formula in Chinese, one line per part, the sum first."""
        total = sum(p.weight for p in self.parts)
        head = f"总分（满分 {total:g}）= 各项得分之和 / score = sum of the parts"
        return [head, *(p.words() for p in self.parts)]


def parse_formula(data: dict) -> Formula:
    """A Formula from the TOML's tables (KeyError for a missing one, ValueError for bad ones)."""
    visit = VisitRules(**{k: data["visit"][k] for k in VisitRules.__dataclass_fields__})
    parts = []
    for key in PARTS:
        raw = data["score"][key]
        part = Part(
            key=key,
            label=str(raw["label"]),
            weight=float(raw["weight"]),
            target=float(raw["target"]),
            cap=float(raw.get("cap", 1)),
            when_none=None if raw.get("when_none") is None else float(raw["when_none"]),
        )
        if part.weight < 0 or part.target <= 0 or part.cap <= 0:
            msg = f"score.{key}: weight ≥ 0, target > 0 and cap > 0 expected"
            raise ValueError(msg)
        parts.append(part)
    return Formula(
        timezone=ZoneInfo(data.get("timezone", "Asia/Shanghai")),
        workdays=tuple(int(d) for d in data.get("workdays", (1, 2, 3, 4, 5))),
        calendar=parse_calendar(data),
        visit=visit,
        parts=tuple(parts),
    )


@cache
def formula(path: Path = FORMULA_FILE) -> Formula:
    """The formula in force (read once per process)."""
    with path.open("rb") as f:
        return parse_formula(tomllib.load(f))
