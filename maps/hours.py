"""Opening hours as a resident reads them: OSM's ``Mo-Fr 08:30-17:30; Sa 09:00-12:00`` becomes
``周一至周五 08:30–17:30；周六 09:00–12:00`` on the Chinese pages. Parts it does not know stay
as written."""

from __future__ import annotations

import re

DAYS = {
    "Mo": "周一",
    "Tu": "周二",
    "We": "周三",
    "Th": "周四",
    "Fr": "周五",
    "Sa": "周六",
    "Su": "周日",
}
WORDS = {"24/7": "全天开放", "off": "休息", "closed": "休息", "PH": "节假日", "SH": "学校假期"}
DAY_RANGE = re.compile(r"\b(Mo|Tu|We|Th|Fr|Sa|Su)-(Mo|Tu|We|Th|Fr|Sa|Su)\b")
DAY = re.compile(r"\b(Mo|Tu|We|Th|Fr|Sa|Su)\b")
TIME_RANGE = re.compile(r"\b(\d{1,2}:\d{2})-(\d{1,2}:\d{2})\b")


def readable_hours(value: str | None, lang: str = "zh") -> str | None:
    """``value`` in OSM's opening_hours syntax, for people reading ``lang``."""
    if not value or lang != "zh":
        return value
    rules = []
    for rule in str(value).split(";"):
        rule = rule.strip()
        if not rule:
            continue
        rule = DAY_RANGE.sub(lambda m: f"{DAYS[m[1]]}至{DAYS[m[2]]}", rule)
        rule = DAY.sub(lambda m: DAYS[m[1]], rule)
        rule = TIME_RANGE.sub(r"\1–\2", rule)
        rule = re.sub(r"(?<=[一二三四五六日]),(?=周)|(?<=\d),(?=\d)", "、", rule)
        for word, zh in WORDS.items():
            rule = re.sub(rf"(?<![\w/]){re.escape(word)}(?![\w/])", zh, rule)
        rules.append(rule)
    return "；".join(rules)
