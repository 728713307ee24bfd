"""The red-points rules as data: api/points/rules.toml, read once."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

RULES_FILE = Path(__file__).with_name("rules.toml")


@dataclass(frozen=True)
class Rules:
    points_by_stars: tuple[int, ...]  # index 0 is one star
    activity_default: int
    activity_max: int
    activity_max_participants: int
    case_report: int
    exchange_max_pending: int
    timezone: str = "Asia/Shanghai"

    def order_points(self, stars: int) -> int:
        """Points for an order rated `stars` (1–5); ValueError outside that range."""
        if not 1 <= stars <= len(self.points_by_stars):
            msg = f"星级应为 1–{len(self.points_by_stars)} (stars must be 1–5), got {stars!r}"
            raise ValueError(msg)
        return self.points_by_stars[stars - 1]


def parse_rules(data: dict) -> Rules:
    """Rules from the TOML's tables (KeyError for a missing one)."""
    stars = tuple(int(p) for p in data["order"]["points_by_stars"])
    if len(stars) != 5 or any(p < 0 for p in stars):
        msg = "order.points_by_stars needs five numbers ≥ 0 (one per star)"
        raise ValueError(msg)
    activity = data["activity"]
    return Rules(
        points_by_stars=stars,
        activity_default=int(activity["default_points"]),
        activity_max=int(activity["max_points"]),
        activity_max_participants=int(activity["max_participants"]),
        case_report=int(data["case_report"]["points"]),
        exchange_max_pending=int(data["exchange"]["max_pending"]),
        timezone=str(data.get("timezone", "Asia/Shanghai")),
    )


@cache
def rules(path: Path = RULES_FILE) -> Rules:
    """The rules in force (read once per process)."""
    with path.open("rb") as f:
        return parse_rules(tomllib.load(f))
