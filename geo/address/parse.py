"""Parse a Chinese address into labelled components (prov … roomno) with spans on the input.

A rule, gazetteer and state parser: administrative levels are looked up in the division
dictionary (:mod:`geo.address.divisions`), numbers (门牌号, 栋, 单元, 层, 室) are read by pattern
from the normalised text and labelled by what came before them, roads by their suffixes, and the
name runs that remain become poi, subpoi or person by position. A linear-chain CRF
(:mod:`geo.address.crf`), trained only on the project's synthetic addresses, then relabels the
characters with the rule labels as one of its features.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from geo.address import crf, lexicon, tidy
from geo.address.divisions import DivisionIndex, load_divisions
from geo.address.normalize import normalize

__all__ = ["LABELS", "Component", "parse", "resolve_divisions"]

LABELS = (
    "country", "prov", "city", "district", "devzone", "town", "community", "road", "roadno",
    "subroad", "subroadno", "poi", "subpoi", "houseno", "cellno", "floorno", "roomno", "person",
    "assist", "redundant", "otherinfo",
)  # fmt: skip

ADMIN = frozenset({"country", "prov", "city", "district", "devzone", "town", "community"})
UNIT_LABELS = frozenset({"houseno", "cellno", "floorno", "roomno"})
_RANK = {"prov": 0, "city": 1, "district": 2, "town": 3}


@dataclass(frozen=True, slots=True)
class Component:
    """One labelled piece of an address; ``address[start:end] == text``."""

    label: str
    text: str
    start: int
    end: int


def _alt(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_HAN = r"\u4e00-\u9fff"
_SEP = re.compile(r"[\s\-_/\\,.;:!?()\[\]<>\"'|+*=&@$%^`~]+")
_NUM = r"(?:第)?(?:[A-Z]?[0-9]+[A-Z]?|[A-Z])"
_NUMBERS = (
    ("houseno", re.compile(rf"{_NUM}栋(?:楼(?![下上]))?")),  # 三栋楼 is one building
    ("cellno", re.compile(rf"{_NUM}单元")),
    ("floorno", re.compile(r"(?:第|负|地下|B|-)?[0-9]+(?:层|楼|F)")),
    ("roomno", re.compile(rf"{_NUM}(?:-[0-9]+)?(?:室|号房|号室|房)")),
    ("lane", re.compile(r"[0-9]+(?:-[0-9]+)?弄")),
    ("gate", re.compile(rf"{_NUM}号门")),
    ("hao", re.compile(rf"{_NUM}(?:-[0-9]+)*号(?:院)?(?!{_alt(lexicon.ROAD_SUFFIXES)})")),
    ("section", re.compile(rf"[东西南北中]?{_NUM}(?:期|区|街区|组团)")),
    ("group", re.compile(r"(?:第)?[0-9]+(?:组|队|社)")),
    ("phone", re.compile(r"1[3-9][0-9]{9}(?![0-9])")),
    ("bare", re.compile(r"[A-Z]?[0-9]+(?![0-9])[A-Z]*(?![A-Z" + _HAN + "])")),
)
_BARE_GROUP = re.compile(r"[ \-_/]+(?=[A-Z]?[0-9]+[A-Z]?(?:$|[ \-_/]|室|号))")
_ROAD = re.compile(
    rf"(?:[{_HAN}]|[0-9A-Z]){{1,7}}?(?:{_alt(lexicon.ROAD_SUFFIXES)})"
    r"(?![道办区口])(?:[0-9]+段)?(?P<segment>[东西南北中]段)?"
)
_TOWN = re.compile(rf"[{_HAN}]{{2,5}}?(?:{_alt(lexicon.TOWN_SUFFIXES)})")
_COMMUNITY = re.compile(rf"[{_HAN}0-9]{{2,6}}?(?:{_alt(lexicon.COMMUNITY_SUFFIXES)})")
# 苏州工业园区 is a zone, but a named 塘上工业园区 is mostly written as a place (poi)
_DEVZONE = re.compile(rf"[{_HAN}A-Z0-9]{{0,8}}?(?:{_alt(lexicon.DEVZONE_SUFFIXES)})|工业园区")
_ASSIST = re.compile(_alt(lexicon.ASSIST_WORDS))
_FORMER_COUNTY = re.compile(rf"[{_HAN}]{{2,3}}[县市](?=[{_HAN}]{{2,4}}?(?:镇|乡|街道))")
_ASSIST_CHAR = re.compile(rf"(?:{_alt(lexicon.ASSIST_CHARS)})(?=$|[\s\-_/,.;:()0-9])")
_REDUNDANT = re.compile(_alt(lexicon.REDUNDANT_WORDS))
_COUNTRY = re.compile(_alt(lexicon.COUNTRY_WORDS))
_OTHERINFO = re.compile(rf"(?:{_alt(lexicon.OTHERINFO_WORDS)})[^()\[\]]*")
_REMARK = re.compile(r"[(\[]([^()\[\]]*)[)\]]")
_CONTINUES = re.compile(
    rf"[东西南北中]?(?:{_alt(lexicon.ROAD_SUFFIXES)})|(?:{_alt(lexicon.POI_SUFFIXES)})"
    rf"|(?:{_alt(lexicon.COMMUNITY_SUFFIXES)})|(?:{_alt(lexicon.TOWN_SUFFIXES)})"
)
# 兴达路口: the road, then 口 (at its mouth); a bare 路口 or 三叉路口 is an assist word
_ROAD_MOUTH = re.compile(rf"[{_HAN}]{{2,6}}?路(?=口(?![村镇乡]))")
# 迎驾桥社区卫生服务站: a facility named after the community is a place
_AREA_SUFFIXES = lexicon.TOWN_SUFFIXES + lexicon.COMMUNITY_SUFFIXES
_COMMUNITY_FACILITY = re.compile(r"卫生|服务|医院|诊所|活动|食堂|幼儿园|学校|党群")
_ROAD_AHEAD = re.compile(rf"[东西南北中]?(?:{_alt(lexicon.ROAD_SUFFIXES)})(?![道办])")
_ADMIN_AHEAD = re.compile(r"[省市区县镇乡]")
# 向东500米, 西北150米: a direction and a distance (a bare 100米 too)
_DISTANCE_TEXT = r"(?:[往向朝][东西南北前后左右]|[东西南北]{1,2})?约?[0-9]+(?:米|公里|千米)"
_DISTANCE = re.compile(_DISTANCE_TEXT)
_BOUNDARY = re.compile(
    _DISTANCE_TEXT + "|"
    r"[\s\-_/\\,.;:!?()\[\]<>\"'|+*=&@]"
    r"|(?:第)?(?<![0-9A-Z])[0-9A-Z]+(?:栋|单元|层|楼|室|号|期|区|弄|组)|(?<![0-9])[0-9]+F"
    rf"|(?<=[{_HAN}])[A-Z][0-9]+(?![0-9A-Z{_HAN}])"
    r"|(?<![0-9])[0-9]+(?![0-9A-Z" + _HAN + "])"
    rf"|{_alt(lexicon.ASSIST_WORDS)}|{_alt(lexicon.REDUNDANT_WORDS)}"
    rf"|(?:{_alt(lexicon.ASSIST_CHARS)})(?=$|[\s\-_/,.;:()0-9])"
)
# the same at the start of a chunk, where a run may already be under way
_BOUNDARY_HERE = re.compile(re.sub(r"\(\?<!\[0-9(?:A-Z)?\]\)", "", _BOUNDARY.pattern))
# 春江景园龙祥园, 欧琳三期: a one-character ending then a second name, or any name then a section
_SECOND_NAME = re.compile(
    rf"[园苑城府居](?=[{_HAN}]{{2,5}}(?:{_alt(lexicon.POI_SUFFIXES)})$)"
    rf"|(?<=[{_HAN}]{{2}})(?=(?:[A-Z0-9一二三四五六七八九十]{{1,3}}[区期]|[东西南北中][区]|组团)$)"
)
_POI_END = re.compile(rf"(?:{_alt(lexicon.POI_SUFFIXES)})$")
# a split point, unless only an organisation's branch or form follows (人民银行文成支行)
_POI_SPLIT = re.compile(
    rf"(?:{_alt(lexicon.POI_SPLIT_SUFFIXES)})(?=[{_HAN}A-Z0-9]{{2,}})"
    rf"(?![{_HAN}]{{0,4}}(?:支行|分行|分理处|营业部|分公司|有限公司|有限责任公司)$)"
)


class _State:
    """What the parser has seen so far in one address."""

    __slots__ = ("admin_zone", "anchors", "comps", "last", "seen", "admin_ids")

    def __init__(self) -> None:
        self.comps: list[list] = []  # [label, start, end] on the normalised text
        self.seen: set[str] = set()
        self.last: str | None = None
        self.admin_zone = True
        self.anchors: list[list[int]] = []  # division candidates of each admin component
        self.admin_ids: list[int | None] = []  # index into comps, per anchor

    def emit(self, label: str, start: int, end: int) -> None:
        self.comps.append([label, start, end])
        if label != "redundant":
            self.seen.add(label)
            self.last = label
            if label not in ADMIN:
                self.admin_zone = False


def _consistent(index: DivisionIndex, ident: int, anchors: list[list[int]]) -> bool:
    """Whether division `ident` lies on one line of descent with a candidate of each anchor."""
    ancestors = index.ancestors
    mine = ancestors[ident]
    for anchor in anchors:
        for other in anchor:
            if other in mine or ident in ancestors[other]:
                break
        else:
            return False
    return True


def _full_name_at(index: DivisionIndex, s: str, pos: int) -> bool:
    """Whether the full name of a county or larger division starts at `pos`."""
    for length in index.lengths.get(s[pos : pos + 2], ()):
        for ident, short in index.by_name.get(s[pos : pos + length], ()):
            if not short and index.divisions[ident].level in ("prov", "city", "district"):
                return True
    return False


def _match_division(index: DivisionIndex, s: str, pos: int, state: _State):
    """Longest dictionary match at `pos`: (end, label, candidate ids) or None."""
    limit = len(s) - pos
    for length in index.lengths.get(s[pos : pos + 2], ()):
        if length > limit:
            continue
        entries = index.by_name.get(s[pos : pos + length])
        if not entries:
            continue
        end = pos + length
        if s[end - 1] == "市" and s.startswith("场", end):
            continue  # 马山市场路: a market, not 马山市
        follows_word = None
        good: list[int] = []
        consistent: list[int] = []
        for ident, short in entries:
            division = index.divisions[ident]
            within = bool(state.anchors) and _consistent(index, ident, state.anchors)
            if division.level == "town" and not within and (short or state.anchors):
                continue
            if short:
                if follows_word is None:
                    follows_word = (
                        _CONTINUES.match(s, end) is not None
                        or _ADMIN_AHEAD.match(s, end) is not None
                    ) and not _full_name_at(index, s, end)  # 台州路桥区: not 台州路
                if follows_word:
                    continue
                if division.level == "town" and _ROAD_AHEAD.search(division.name, 1, length + 1):
                    continue  # 花园路 short for 花园路街道 is read as the road
                if (
                    state.anchors
                    and (not within or any(a == [ident] for a in state.anchors))
                    and not _full_name_at(index, s, end)  # 浙江温州市: the chain again
                ):
                    continue  # 西湖区西湖文化广场: a short repeat or stray short name starts a name
            good.append(ident)
            if within:
                consistent.append(ident)
        if not good:
            continue
        pool = consistent or good
        best = min(_RANK[index.divisions[i].level] for i in pool)
        pool = [i for i in pool if _RANK[index.divisions[i].level] == best]
        level = index.divisions[pool[0]].level
        if level == "prov" and any(index.divisions[i].level == "city" for i, _ in entries):
            # a municipality (北京市 …): one name for the province and the city; call it city
            pool = [i for i, _ in entries if index.divisions[i].level == "city"]
            level = "city"
        return end, level, pool
    return None


def _admin(index: DivisionIndex, s: str, pos: int, state: _State) -> int | None:
    """Match an administrative element at `pos`; emit it and return its end, or None."""
    if state.last == "district" and s.startswith("城区", pos):
        state.emit("redundant", pos, pos + 2)  # 鄞州区城区: the county's town area, no level
        return pos + 2
    match = _COUNTRY.match(s, pos) if s[pos] in _COUNTRY_FIRST else None
    if match and not state.seen and _full_name_at(index, s, match.end()):  # 中国鞋都: a name
        state.emit("country", pos, match.end())
        return match.end()
    found = _match_division(index, s, pos, state)
    if found:
        end, level, pool = found
        state.anchors.append(pool)
        state.admin_ids.append(len(state.comps))
        state.emit(level, pos, end)
        return end
    match = None
    if not _COUNTY_ENDS.isdisjoint(s[pos + 2 : pos + 4]):
        match = _FORMER_COUNTY.match(s, pos)
    if match and "district" not in state.seen and "town" not in state.seen:
        state.emit("district", pos, match.end())  # 绍兴县柯岩街道: a county since renamed
        return match.end()
    for label, pattern in (("devzone", _DEVZONE), ("town", _TOWN), ("community", _COMMUNITY)):
        if label == "devzone":
            match = _devzone(s, pos)
        elif label == "town" and _TOWN_ENDS.isdisjoint(s[pos + 2 : pos + 6]):
            match = None  # every town ending starts 2 to 5 characters in
        else:
            match = pattern.match(s, pos)
        if match and _ROAD_AHEAD.match(s, match.end()):
            continue  # 中关村大街: the name of a road, not a village
        if match and label != "devzone" and _road_inside(s, pos, match):
            continue  # 华齐路迎驾桥社区: a road, then the community
        if match and match.group().endswith("社区") and _COMMUNITY_FACILITY.match(s, match.end()):
            continue
        if match and not (label == "community" and match.group().endswith("新村")):
            if label == "town" and "town" in state.seen:
                continue
            if label == "community" and "community" in state.seen:
                label = "poi"  # 西塘河村丁公村: a hamlet of the village
            state.emit(label, pos, match.end())
            return match.end()
    return None


def _road_inside(s: str, pos: int, match: re.Match) -> bool:
    """Whether a road name starts the matched town or community with a name of 2+ characters
    between the road and the suffix."""
    road = _ROAD.match(s, pos, match.end())
    word = match.group()
    suffix = max(len(x) for x in _AREA_SUFFIXES if word.endswith(x))
    return road is not None and match.end() - suffix - road.end() >= 2


def _bare_group(s: str, pos: int) -> list[tuple[int, int]]:
    """Spans of a run of bare numbers separated by -, space, _ or / (9-7-1453)."""
    spans = []
    number = _NUMBERS[-1][1]
    while True:
        match = number.match(s, pos)
        if not match:
            break
        spans.append(match.span())
        sep = _BARE_GROUP.match(s, match.end())
        if not sep:
            break
        pos = sep.end()
    return spans


def _label_hao(state: _State, digits: int) -> str:
    """Label of a number with 号 from what came before it."""
    last, seen = state.last, state.seen
    if last == "assist" and len(state.comps) > 1 and state.comps[-2][0] in ("road", "subroad"):
        last = state.comps[-2][0]  # 黄海大道西797号: the door number, on that side of the road
    if last == "subroad":
        return "subroadno"
    if last == "road" and "roadno" not in seen:
        return "roadno"
    if "poi" not in seen and "roadno" not in seen and last in ADMIN | {"road", None}:
        return "roadno"
    if "roadno" in seen and "poi" not in seen and "houseno" not in seen:
        return "houseno"
    if last == "poi" and "roadno" not in seen and not seen & UNIT_LABELS:
        # 临江工业区2308号: the place's door number (on its road, when that is not written)
        return "houseno" if "road" in seen else "roadno"
    if last == "houseno":
        return "cellno"  # 7幢6号: the entrance of the building
    if "houseno" in seen or "cellno" in seen or "floorno" in seen:
        return "roomno"
    return "houseno" if digits <= 2 else "roomno"


def _numbers(s: str, pos: int, state: _State) -> int | None:
    """Match a number element at `pos`; emit it and return its end, or None."""
    first = s[pos]
    if not ("0" <= first <= "9" or "A" <= first <= "Z" or first in "第负地-东西南北中"):
        return None  # every number element starts so (a quick test before eleven patterns)
    for kind, pattern in _NUMBERS:
        match = pattern.match(s, pos)
        if not match:
            continue
        end = match.end()
        if kind == "houseno" and state.last == "houseno":
            label = "cellno"  # 3栋B座: the wing of the building
        elif kind in ("houseno", "cellno", "floorno", "roomno"):
            label = kind
        elif kind == "lane":
            label = "subroad" if "road" in state.seen else "roadno"  # 虹江路888弄12号
        elif kind == "gate":
            label = "subpoi" if "poi" in state.seen else "poi"  # 8号门: a gate of the place
        elif kind == "hao":
            label = _label_hao(state, sum(ch.isdigit() for ch in match.group()))
        elif kind == "section":
            place = state.comps[-1] if state.comps else None
            if (
                place
                and place[0] == "poi"
                and place[2] == pos
                and place[2] - place[1] == 3
                and not _POI_END.search(s, place[1], place[2])
            ):
                place[2] = end  # 青岩刘A区: a three-character place and its section, one name
                return end
            label = "subpoi" if "poi" in state.seen else "poi"
        elif kind == "group":
            label = "road" if "road" not in state.seen else "subroad"
        elif kind == "phone":
            label = "redundant"
        else:
            _bare(s, pos, state)
            return state.comps[-1][2]
        if label in ("roadno", "subroadno"):
            _emit_door(s, pos, end, label, state)
        else:
            state.emit(label, pos, end)
        return end
    match = _DOOR_NUMBER.match(s, pos)
    if match and state.last in ("road", "subroad") and "roadno" not in state.seen:
        state.emit("subroadno" if state.last == "subroad" else "roadno", pos, match.end())
        return match.end()  # 沈家路574星火公寓: a door number written without 号
    return None


_POSTCODE = re.compile(r"[1-8][0-9]{5}")
_PAIR = re.compile(r"([0-9]+)-([0-9]+)(?:号)?")


def _emit_door(s: str, a: int, b: int, label: str, state: _State) -> None:
    """A door number on a road; N-M that is no short range (43-47号) is the door, then the
    house behind it (17-123号 → 17, -, 123号)."""
    pair = _PAIR.fullmatch(s, a, b)
    if pair and not int(pair.group(1)) < int(pair.group(2)) <= int(pair.group(1)) + 10:
        state.emit(label, a, pair.end(1))
        state.emit("redundant", pair.end(1), pair.start(2))
        state.emit("houseno", pair.start(2), b)
        return
    state.emit(label, a, b)


# 江东区兴宁路 (not 幸福小区北路: a 小区, 园区, 社区 … is a place)
_COUNTY_IN_ROAD = re.compile(
    rf"[{_HAN}]{{2,3}}(?<![小园社新城景校厂营矿发学军])[区县](?=[{_HAN}]{{3,}})"
)
_TOWN_IN_ROAD = re.compile(rf"[{_HAN}]{{2,4}}?(?:街道|镇|乡)(?=[{_HAN}]{{3,}})")
_DOOR_NUMBER = re.compile(r"[0-9]{1,5}(?![0-9])")


def _bare(s: str, pos: int, state: _State) -> None:
    """Label a run of bare numbers: door number after a road, else building-unit-room."""
    spans = _bare_group(s, pos)
    seen, last = state.seen, state.last
    if (
        len(spans) > 1
        and spans[-1][1] == len(s.rstrip())
        and _POSTCODE.fullmatch(s, *spans[-1])
        and s[spans[-1][0] - 1] == " "
    ):
        spans = spans[:-1]  # 1363 321200: the room, then the postcode (labelled on its own)
    if all(_POSTCODE.fullmatch(s, a, b) for a, b in spans) and spans[-1][1] == len(s.rstrip()):
        for a, b in spans:  # 257200 at the end: the postcode
            if state.comps and state.comps[-1][2] < a:
                state.emit("redundant", state.comps[-1][2], a)
            state.emit("redundant", a, b)
        return
    if (
        len(spans) <= 2
        and (last in ("road", "subroad") or last in ADMIN and "poi" not in seen)
        and ("roadno" not in seen or last == "subroad")
    ):
        label = "subroadno" if last == "subroad" else "roadno"
        _emit_door(s, spans[0][0], spans[-1][1], label, state)
        return
    if len(spans) == 4:
        slots = ["houseno", "cellno", "floorno", "roomno"]  # 2-6-5-1187
    elif len(spans) >= 3:
        slots = ["houseno", "cellno"] + ["roomno"] * (len(spans) - 2)
    elif len(spans) == 2:
        slots = ["cellno" if "houseno" in seen else "houseno", "roomno"]
    elif last == "houseno" and _NUMBERS[0][1].match(s, spans[0][1]) is None:
        slots = ["roomno"]
    else:
        slots = ["roomno"]
    for (a, b), label in zip(spans, slots, strict=False):
        if state.comps and state.comps[-1][2] < a:
            state.emit("redundant", state.comps[-1][2], a)
        state.emit(label, a, b)


def _name_label(state: _State) -> str:
    if state.seen & {"cellno", "floorno", "roomno"}:
        return "person"  # after a unit, floor or room: the recipient (after 12号 alone: a shop)
    return "subpoi" if "poi" in state.seen else "poi"


def _road(s: str, pos: int, state: _State) -> int | None:
    label = "subroad" if "road" in state.seen else "road"
    match = _ROAD.match(s, pos)
    if not match:
        mouth = _ROAD_MOUTH.match(s, pos)
        if mouth is None or _ASSIST.match(s, pos):
            return None
        state.emit(label, pos, mouth.end())
        state.emit("assist", mouth.end(), mouth.end() + 1)
        return mouth.end() + 1
    name = match.group()
    if _TOWN.fullmatch(name) or name.endswith(("街道", "新村")):
        return None
    for level, pattern in (("district", _COUNTY_IN_ROAD), ("town", _TOWN_IN_ROAD)):
        area = pattern.match(s, pos, match.end())
        if area and level not in state.seen and _ROAD.fullmatch(s, area.end(), match.end()):
            state.emit(level, pos, area.end())  # 江东区兴宁路: a county since merged away
            pos = area.end()
    if state.last == "town":
        pos = _place_before_road(s, pos, match, state)
    split = _POI_SPLIT.search(s, pos, match.end())
    if (
        split
        and "poi" not in state.seen
        and split.end() - pos >= 4
        and match.end() - split.end() >= 3
        and _ROAD.fullmatch(s, split.end(), match.end())
    ):
        state.emit("poi", pos, split.end())  # 塘上工业区金清大道: a place, then its road
        pos = split.end()
    segment = match.start("segment")
    if segment > pos:  # 环城南路东段: a named segment is written as a sub-road (人民南路4段 not)
        state.emit(label, pos, segment)
        label = "subroad"
        pos = segment
    end = match.end()
    state.emit(label, pos, end)
    if end + 1 < len(s) and s[end] in "东西南北" and s[end + 1].isdigit():
        state.emit("assist", end, end + 1)  # 黄海大道西797号: on the west side, number 797
        return end + 1
    return end


_ROAD_SUFFIX = re.compile(rf"[东西南北中]?(?:{_alt(lexicon.ROAD_SUFFIXES)})(?:[0-9]+段)?$")


def _place_before_road(s: str, pos: int, match: re.Match, state: _State) -> int:
    """Right after a town, a road name of four or more characters before its ending is a
    village or place, then a road of two (白水洋镇双港中和路 → 双港, 中和路); returns where
    the road starts."""
    ending = _ROAD_SUFFIX.search(s, pos, match.end())
    if ending is None or match.start("segment") > 0 or ending.start() - pos < 4:
        return pos
    cut = ending.start() - 2
    if not _HAN_RUN.fullmatch(s, pos, cut):
        return pos
    state.emit("community" if cut - pos <= 3 else "poi", pos, cut)
    return cut


_HAN_RUN = re.compile(rf"[{_HAN}]+")


def _next_boundary(s: str, pos: int) -> re.Match | None:
    """The first element boundary at or after `pos`.

    Its number patterns only start where a run of digits and letters starts (linear on long
    runs); a run already under way at `pos` is tried once there, as if it started at `pos`.
    """
    return _BOUNDARY_HERE.match(s, pos) or _BOUNDARY.search(s, pos + 1)


def _chunk(s: str, pos: int, state: _State) -> int:
    """A run of name characters up to the next element: poi, subpoi or person."""
    boundary = _next_boundary(s, pos + 1)
    end = boundary.start() if boundary else len(s)
    if s[end - 1] in "东西南北" and end - pos >= 4 and _POI_END.search(s, pos, end - 1):
        _chunk(s[: end - 1], pos, state)  # 聚宝电商园西: the place, then the side of it
        state.emit("assist", end - 1, end)
        return end
    half = (end - pos) // 2
    if half >= 2 and (end - pos) % 2 == 0 and s[pos : pos + half] == s[pos + half : end]:
        state.emit(_name_label(state), pos, pos + half)  # 燕语林森燕语林森: written twice
        state.emit("redundant", pos + half, end)
        return end
    split = _POI_SPLIT.search(s, pos, end) or _SECOND_NAME.search(s, pos + 2, end)
    if split and _name_label(state) == "poi" and split.end() < end:
        state.emit("poi", pos, split.end())
        if _ROAD.fullmatch(s, split.end(), end):  # 梧桐工业园区齐达路: the place, then its road
            return _road(s, split.end(), state) or end
        state.emit("subpoi", split.end(), end)
        return end
    state.emit(_name_label(state), pos, end)
    return end


def _function_words(s: str, pos: int, state: _State) -> int | None:
    """Delivery notes (redundant), relative positions (assist), 与 between roads, 的."""
    match = _REDUNDANT.match(s, pos)
    if match:
        state.emit("redundant", pos, match.end())
        return match.end()
    match = _ASSIST.match(s, pos)
    if not match and state.last not in (None, *ADMIN):
        match = _ASSIST_CHAR.match(s, pos)
    if match:
        state.emit("assist", pos, match.end())
        return match.end()
    if s[pos] in lexicon.ROAD_CONJUNCTIONS and state.last == "road" and _ROAD.match(s, pos + 1):
        state.emit("assist", pos, pos + 1)
        return pos + 1
    if s[pos] == "号" and state.comps and state.comps[-1][2] == pos and s[pos - 1] == "号":
        state.emit("redundant", pos, pos + 1)  # 46号号
        return pos + 1
    if s[pos] == "的" and state.last == "assist":
        state.emit("redundant", pos, pos + 1)
        return pos + 1
    return None


# Quick tests before patterns that cannot match at a position (the same matches, fewer calls)
_COUNTRY_FIRST = frozenset(word[0] for word in lexicon.COUNTRY_WORDS)
_OTHERINFO_FIRST = frozenset(word[0] for word in lexicon.OTHERINFO_WORDS)
_COUNTY_ENDS = frozenset("县市")  # _FORMER_COUNTY: the 3rd or 4th character
_TOWN_ENDS = frozenset(word[0] for word in lexicon.TOWN_SUFFIXES)
_DEVZONE_SPAN = 8 + max(map(len, lexicon.DEVZONE_SUFFIXES))  # every zone ends with 区
_SEPARATORS: dict[str, bool] = {}


def _is_separator(ch: str) -> bool:
    known = _SEPARATORS.get(ch)
    if known is None:
        known = _SEPARATORS[ch] = _SEP.match(ch) is not None
    return known


def _devzone(s: str, pos: int) -> re.Match | None:
    if s.find("区", pos, pos + _DEVZONE_SPAN) < 0:
        return None
    return _DEVZONE.match(s, pos)


def _parse_normalized(s: str, index: DivisionIndex) -> list[list]:
    state = _State()
    pos, n = 0, len(s)
    metres = "米" in s or "公里" in s  # every distance ends so (_DISTANCE)
    while pos < n:
        first = s[pos]
        remark = _REMARK.match(s, pos) if first in "([" else None
        if remark and _OTHERINFO.search(remark.group(1)):
            state.emit("redundant", pos, pos + 1)
            state.emit("otherinfo", pos + 1, remark.end() - 1)
            state.emit("redundant", remark.end() - 1, remark.end())
            pos = remark.end()
            continue
        match = _OTHERINFO.match(s, pos) if first in _OTHERINFO_FIRST else None
        if match:
            state.emit("otherinfo", pos, match.end())
            pos = match.end()
            continue
        match = _SEP.match(s, pos) if _is_separator(first) else None
        if match:
            if first == "-" and _NUMBERS[2][1].match(s, pos):  # -1层
                pos = _numbers(s, pos, state) or match.end()
                continue
            state.emit("redundant", pos, match.end())
            pos = match.end()
            continue
        if state.admin_zone:
            end = _admin(index, s, pos, state)
            if end is not None:
                pos = end
                continue
        elif "devzone" not in state.seen and (match := _devzone(s, pos)):
            state.emit("devzone", pos, match.end())
            pos = match.end()
            continue
        match = _DISTANCE.match(s, pos) if metres else None
        if match:
            state.emit("assist", pos, match.end())
            pos = match.end()
            continue
        end = _numbers(s, pos, state)
        if end is not None:
            pos = end
            continue
        end = _function_words(s, pos, state)
        if end is not None:
            pos = end
            continue
        end = _road(s, pos, state)
        if end is not None:
            pos = end
            continue
        pos = _chunk(s, pos, state)
    _mark_repeats(state, index)
    return state.comps


def _mark_repeats(state: _State, index: DivisionIndex) -> None:
    """Of two mentions of the same division one is noise. When the address starts over with its
    first division (浙江省杭州市上城区浙江省杭州市余杭区), everything before the restart is;
    otherwise the fuller mention is kept, the first of two alike (宁波市慈溪市宁波市慈溪市)."""
    comps = state.comps
    if len(comps) > 1 and comps[0][0] == "town" and comps[1][0] in ("prov", "city"):
        comps[0][0] = "redundant"  # 永茂镇湖南省…永茂镇: a town written before its province
    anchored = [(a[0], ci) for a, ci in zip(state.anchors, state.admin_ids, strict=True)
                if len(a) == 1 and comps[ci][0] != "redundant"]  # fmt: skip
    if anchored and comps[anchored[0][1]][0] in ("prov", "city"):
        top, top_at = anchored[0]
        again = next((ci for ident, ci in anchored[1:] if ident == top), None)
        if again is not None and again - top_at > 1:  # (宁波市宁波市: a name written twice)
            for comp in comps[top_at:again]:
                if comp[0] in ADMIN:
                    comp[0] = "redundant"
            anchored = [(ident, ci) for ident, ci in anchored if ci >= again]
    kept: dict[int, int] = {}  # division id → comps index
    for ident, ci in anchored:
        if ident not in kept:
            kept[ident] = ci
            continue
        first, second = comps[kept[ident]], comps[ci]
        if second[2] - second[1] > first[2] - first[1]:
            first[0] = "redundant"
            kept[ident] = ci
        else:
            second[0] = "redundant"


def _parse_tagged(s: str, index: DivisionIndex, *, model: bool = True) -> list[list]:
    """Rule components, relabelled by the CRF tagger where its model is installed."""
    comps = _parse_normalized(s, index)
    if not s or not model or not crf.model_available():
        return comps
    spans = crf.tokens(s)
    tags = crf.tag_tokens(s, spans, crf.token_rules(comps, spans))
    tagged = crf.components_from_tags(tags, spans)
    tagged = tidy.units_whole(tidy.lone_divisions(tagged, s, index), s, comps)
    tagged = tidy.keep_rule_spans(tagged, comps, _KEEP)
    return tidy.structure(tidy.trim_separators(tagged, s))


# a floor written with 楼/层/F and the door number right after a road are the rules' surest
# reading; the tagger changed them more often wrongly than rightly (tune half)
_KEEP = frozenset({"floorno", "roadno"})


def parse(text: str, *, index: DivisionIndex | None = None, model: bool = True) -> list[Component]:
    """Parse one address into labelled, non-overlapping components in input order.

    Parameters
    ----------
    text
        One address (any mix of simplified, traditional, full-width characters).
    index
        Division dictionary; the packaged one by default.
    model
        Relabel the rule parser's output with the CRF tagger (:mod:`geo.address.crf`, trained
        on synthetic addresses); False gives the rule parser alone.

    Returns
    -------
    list of Component
        ``text[c.start:c.end] == c.text`` for every component; labels from :data:`LABELS`.

    Examples
    --------
    >>> [(c.label, c.text) for c in parse("南京市玄武区中山路100号")]
    [('city', '南京市'), ('district', '玄武区'), ('road', '中山路'), ('roadno', '100号')]
    """
    if not text or text.isspace():
        return []
    normalized = normalize(text)
    comps = _parse_tagged(normalized.text, index or load_divisions(), model=model)
    out: list[Component] = []
    starts, ends, last = normalized.starts, normalized.ends, 0
    for label, start, end in comps:
        if start >= end:
            continue
        i, j = starts[start], ends[end - 1]  # normalized.span(start, end)
        if i < last:  # two pieces from one original character: merge
            i = last
            if i >= j:
                continue
        out.append(Component(label, text[i:j], i, j))
        last = j
    return out


def resolve_divisions(
    components: list[Component], *, index: DivisionIndex | None = None
) -> dict[str, dict[str, str | None] | None]:
    """Resolve the administrative components to divisions with their GB/T 2260 codes.

    Abbreviated names (南京 for 南京市) and missing levels are resolved through the dictionary:
    玄武区 alone gives 江苏省 / 南京市 / 玄武区; a municipality fills both prov and city.

    Parameters
    ----------
    components
        The output of :func:`parse`.
    index
        Division dictionary; the packaged one by default.

    Returns
    -------
    dict
        ``{"prov", "city", "district", "town"}`` → ``{"code", "name"}`` or None where unknown
        (towns have a name and, where the project knows it, a 9-digit code).
    """
    index = index or load_divisions()
    candidates: list[list[int]] = []
    for comp in components:
        if comp.label not in _RANK:
            continue
        name = normalize(comp.text).text
        ids = [i for i, _ in index.by_name.get(name, [])]
        if comp.label != "city":
            ids = [i for i in ids if index.divisions[i].level == comp.label] or ids
        if ids:
            candidates.append(ids)
    result: dict[str, dict[str, str | None] | None] = dict.fromkeys(_RANK)
    if not candidates:
        towns = [c.text for c in components if c.label == "town"]
        if towns:
            result["town"] = {"code": None, "name": towns[-1]}
        return result
    best, best_score = None, -1
    for ids in candidates:
        for ident in ids:
            score = sum(
                any(index.is_within(ident, o) or index.is_within(o, ident) for o in other)
                for other in candidates
            )
            deeper = (
                best is None
                or _RANK[index.divisions[ident].level] > _RANK[index.divisions[best].level]
            )
            if score > best_score or (score == best_score and deeper):
                best, best_score = ident, score
    for division in index.chain(best):
        result[division.level] = {"code": division.code, "name": division.name}
    towns = [c.text for c in components if c.label == "town"]
    if result["town"] is None and towns:
        result["town"] = {"code": None, "name": towns[-1]}
    return result
