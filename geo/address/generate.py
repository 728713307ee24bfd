"""Synthetic labelled addresses: the training data of the address tagger (:mod:`geo.address.crf`).

Every address is built piece by piece, each piece with its label, from the division dictionary
(:mod:`geo.address.divisions`: provinces, cities, counties, towns and the village names of
jionlp's file), name generators for roads, compounds and shops, number patterns (号, 栋/幢/号楼,
单元, 层/楼, 室), relative-position words, delivery notes, repeats and separators. The
conventions follow the element list of DOMAIN.md (Chinese address parsing practice). No piece of
any labelled corpus is used: names are drawn from the dictionary and from word lists written here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from geo.address.divisions import _location_text, load_divisions

__all__ = ["Piece", "generate", "generate_many"]

Piece = tuple[str, str]  # (text, label); label "" for nothing

_ROAD_SUFFIX = (("路", 60), ("街", 12), ("大道", 10), ("巷", 4), ("大街", 3), ("公路", 3),
                ("线", 1), ("道", 1), ("弄", 1), ("胡同", 1))  # fmt: skip
_POI_SUFFIX = (
    ("小区", 20), ("花园", 8), ("大厦", 8), ("公寓", 3), ("家园", 4), ("新村", 4), ("苑", 8),
    ("园", 5), ("城", 4), ("广场", 4), ("中心", 3), ("大楼", 2), ("商城", 2), ("市场", 4),
    ("工业园", 2), ("科技园", 2), ("工业区", 2), ("园区", 2), ("公司", 4), ("有限公司", 3),
    ("医院", 2), ("学校", 1), ("中学", 1), ("小学", 1), ("大学", 1), ("学院", 1), ("酒店", 1),
    ("宾馆", 1), ("超市", 1), ("厂", 2), ("府", 1), ("湾", 1), ("庄园", 1),
    ("山庄", 1), ("公馆", 1), ("商厦", 1), ("大院", 1), ("佳苑", 1), ("名苑", 1), ("新苑", 1),
    ("国际", 1), ("家具城", 1), ("物流园", 1), ("批发市场", 1), ("", 8),
)  # fmt: skip
_NICE = (
    "金华阳光新锦绣东方明珠翠苑景和平安泰康福瑞祥云龙凤凰天鹅湖海滨江南北星月城市帝豪"
    "绿洲香榭丽都御府君悦华庭世纪嘉禾盛丰宝利恒通达信诚万科碧桂保绿地中海融创银泰鸿运"
    "紫荆桂花兰梅竹松柏枫林玉泉清水山水蓝湾滨湖翡翠钻石黄金白银红星春秋夏冬东西南北中"
)
_COMPANY = ("科技", "电子", "服饰", "贸易", "机械", "电器", "五金", "纺织", "建材",
            "物流", "包装", "印刷", "塑料", "汽配", "家居", "文具", "食品", "医疗", "网络",
            "实业")  # fmt: skip
_SUBPOI_FIXED = (
    "东区", "西区", "南区", "北区", "东门", "西门", "南门", "北门", "大门", "东楼", "西楼",
    "南楼", "北楼", "主楼", "综合楼", "办公楼", "教学楼", "宿舍楼", "营业厅", "服务中心",
    "校区", "工地", "项目部", "门卫", "食堂", "研发中心", "写字楼", "商务楼", "裙楼", "新区",
    "老区", "生活区", "厂区",
)  # fmt: skip
_PERSON_TAIL = ("专柜", "前台", "收发室", "办公室", "丰巢", "快递柜", "门卫室", "服务台",
                "财务部", "行政部", "店", "商行", "经营部", "工作室", "窗口")  # fmt: skip
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅玉兰志强海燕小"
_ASSIST = (("旁边", 6), ("对面", 6), ("附近", 5), ("东侧", 2), ("西侧", 2), ("南侧", 2),
           ("北侧", 2), ("隔壁", 2), ("门口", 2), ("后面", 2), ("旁", 2), ("往里", 1),
           ("斜对面", 1), ("楼下", 1), ("交叉口", 2), ("路口", 1), ("东", 1), ("西", 1),
           ("南", 1), ("北", 1), ("内", 1), ("里面", 1), ("边上", 1), ("前面", 1),
           ("院内", 1), ("东门", 1), ("北门", 1), ("出口", 1), ("往东", 1))  # fmt: skip
_REDUNDANT_NOTE = ("电联", "电话联系", "请电联", "送货上门", "代收", "收", "转", "急", "谢谢",
                   "工号", "快递", "到了打电话", "地址")  # fmt: skip
_DEVZONE = (("经济开发区", 3), ("开发区", 6), ("高新区", 5), ("工业区", 2), ("工业园区", 1),
            ("经济技术开发区", 2), ("高新技术产业开发区", 1), ("园区", 2), ("新区", 2),
            ("工业园", 2), ("保税区", 1), ("科技园", 1), ("产业园", 1))  # fmt: skip
_SEPS = ((" ", 8), ("-", 2), (",", 2), ("，", 1), ("  ", 1), ("/", 1))
_CN = "零一二三四五六七八九"


def _pick(rng: random.Random, weighted) -> str:
    items, weights = zip(*weighted, strict=True)
    return rng.choices(items, weights)[0]


@dataclass(slots=True)
class _Pools:
    districts: list[int]
    towns: dict[int, list[int]]
    villages: list[str]
    bodies: list[str]
    places: list[str]  # short city and county names (杭州, 义乌) that start many names


@lru_cache(maxsize=1)
def _pools() -> _Pools:
    index = load_divisions()
    towns: dict[int, list[int]] = {}
    for d in index.divisions:
        if d.level == "town" and d.parent is not None:
            towns.setdefault(d.parent, []).append(d.id)
    districts = [d.id for d in index.divisions if d.level == "district"]
    villages: list[str] = []
    for raw in _location_text().split("\n"):
        if raw.startswith("\t\t\t\t"):
            name = raw.strip().split("\t")[0]
            for suffix in (
                "村民委员会",
                "社区居民委员会",
                "居民委员会",
                "村委会",
                "居委会",
                "社区",
                "村",
                "嘎查",
                "生活区",
                "小区",
            ):
                if name.endswith(suffix):
                    name = name[: -len(suffix)]
                    break
            if 2 <= len(name) <= 4:
                villages.append(name)
    bodies = sorted(
        {v for v in villages if v[-1] not in "路街道巷弄园苑城院区楼队组" and v.isalpha()}
    )
    places = sorted(
        {_short(d.name, d.level) for d in index.divisions if d.level in ("city", "district")}
    )
    return _Pools(districts, towns, bodies[::3], bodies, places)


def _short(name: str, level: str) -> str:
    suffixes = {
        "prov": ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市"),
        "city": ("市", "地区", "自治州", "盟"),
        "district": ("区", "县", "市", "旗"),
        "town": ("街道", "镇", "乡"),
    }[level]
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _num(rng: random.Random, lo: int, hi: int, *, cn: float = 0.0) -> str:
    value = rng.randint(lo, hi)
    if value < 10 and rng.random() < cn:
        return _CN[value]
    if 10 <= value < 20 and rng.random() < cn:
        return "十" + (_CN[value - 10] if value > 10 else "")
    return str(value)


def _house(rng: random.Random, *, cn: float = 0.0) -> str:
    return _num(rng, 1, rng.choice((9, 30, 30, 200)), cn=cn)


def _room(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.1:
        return _num(rng, 1, 99)
    if roll < 0.9:
        return str(rng.randint(1, 33) * 100 + rng.randint(1, 30))
    return _num(rng, 1001, 9999)


def _body(rng: random.Random, pools: _Pools) -> str:
    roll = rng.random()
    if roll < 0.55:
        return rng.choice(pools.bodies)
    if roll < 0.85:
        return "".join(rng.choice(_NICE) for _ in range(rng.choice((2, 2, 3, 4))))
    return rng.choice(pools.bodies)[:2] + "".join(rng.choice(_NICE) for _ in range(2))


def _road_name(rng: random.Random, pools: _Pools) -> str:
    roll = rng.random()
    if roll < 0.08:
        return (
            rng.choice(("", "东", "西", "南", "北"))
            + _num(rng, 1, 20, cn=0.8)
            + rng.choice(("路", "街", "环路", "环", "号路", "大道"))
        )
    body = _body(rng, pools)[: rng.choice((2, 2, 2, 3, 4))]
    if rng.random() < 0.15:
        body += rng.choice("东西南北中")
    if rng.random() < 0.05:
        body += rng.choice("一二三四五")
    return body + _pick(rng, _ROAD_SUFFIX)


def _poi_name(rng: random.Random, pools: _Pools) -> str:
    suffix = _pick(rng, _POI_SUFFIX)
    body = _body(rng, pools)
    if rng.random() < 0.12:
        body = rng.choice(pools.places) + body[: rng.choice((0, 2, 2, 3))]
    if suffix in ("公司", "有限公司") and rng.random() < 0.7:
        body += rng.choice(_COMPANY)
    if not suffix and len(body) < 3:
        body += rng.choice(_NICE)
    return body + suffix


def _subpoi(rng: random.Random, pools: _Pools) -> str:
    roll = rng.random()
    if roll < 0.3:
        return _num(rng, 1, 9, cn=0.6) + rng.choice(("期", "区", "期", "区", "组团", "街区"))
    if roll < 0.42:
        return rng.choice("ABCDEFGH") + "区"
    if roll < 0.7:
        return rng.choice(_SUBPOI_FIXED)
    if roll < 0.76:
        return _num(rng, 1, 9) + "号门"
    if roll < 0.85:
        return _shop(rng, pools)
    return _poi_name(rng, pools)


def _shop(rng: random.Random, pools: _Pools) -> str:
    body = _body(rng, pools)[: rng.choice((2, 3))] if rng.random() < 0.6 else ""
    if rng.random() < 0.15:
        body = rng.choice(pools.places) + body
    body += "".join(rng.choice(_NICE) for _ in range(rng.choice((0, 1, 2))))
    return (
        (body or rng.choice(_NICE) * 1)
        + rng.choice(_COMPANY)
        + _pick(
            rng,
            (("", 4), ("店", 2), ("公司", 2), ("有限公司", 2), ("厂", 1), ("商行", 1), ("中心", 1)),
        )
    )


def _person(rng: random.Random, pools: _Pools) -> str:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(_SURNAMES) + "".join(
            rng.choice(_GIVEN) for _ in range(rng.choice((1, 2)))
        )
    if roll < 0.6:
        return _shop(rng, pools)
    if roll < 0.85:
        return rng.choice(_PERSON_TAIL)
    return _body(rng, pools)[:2] + rng.choice(_PERSON_TAIL)


def _sep(rng: random.Random, p: float) -> list[Piece]:
    return [(_pick(rng, _SEPS), "redundant")] if rng.random() < p else []


def _admin(rng: random.Random, pools: _Pools) -> tuple[list[Piece], list[Piece]]:
    """Administrative pieces, and a copy of some for a repeat (written twice)."""
    index = load_divisions()
    district = index.divisions[rng.choice(pools.districts)]
    chain = {d.level: d for d in index.chain(district.id)}
    city, prov = chain.get("city"), chain.get("prov")
    municipality = prov is not None and prov.name in ("北京市", "上海市", "天津市", "重庆市")
    out: list[Piece] = []
    sep = 0.06
    if rng.random() < 0.01:
        out.append(("中国", "country"))
    if prov is not None and not municipality and rng.random() < 0.5:
        name = prov.name if rng.random() < 0.75 else _short(prov.name, "prov")
        out += [(name, "prov"), *_sep(rng, sep)]
    if municipality and rng.random() < 0.6:
        out += [(prov.name if rng.random() < 0.8 else prov.name[:-1], "city"), *_sep(rng, sep)]
    elif city is not None and rng.random() < 0.6:
        if city.name in ("市辖区", "县") or "行政区划" in city.name:
            pass
        else:
            name = city.name if rng.random() < 0.75 else _short(city.name, "city")
            out += [(name, "city"), *_sep(rng, sep)]
    if rng.random() < 0.75:
        name = district.name if rng.random() < 0.85 else _short(district.name, "district")
        out += [(name, "district"), *_sep(rng, sep)]
    repeat = [p for p in out if p[1] in ("prov", "city", "district")]
    if rng.random() < 0.03 and out and out[-1][1] == "district":
        out.append(("城区", "redundant"))
    if rng.random() < 0.42 and pools.towns.get(district.id):
        name = index.divisions[rng.choice(pools.towns[district.id])].name
        short = _short(name, "town")
        if rng.random() < 0.22 and short[-1] not in "路街道巷弄":
            name = short
        out += [(name, "town"), *_sep(rng, sep)]
    if rng.random() < 0.5:
        repeat = [p for p in out if p[1] in ("prov", "city", "district", "town")]
    return out, repeat


def _numbers(rng: random.Random, pools: _Pools, has_poi: bool) -> list[Piece]:
    out: list[Piece] = []
    roll = rng.random()
    if roll < 0.12:  # 12-2-1203
        dash = rng.choice(("-", "-", "-", "一", "#", " ", "--", "_"))
        out += [(_house(rng), "houseno"), (dash, "redundant"), (_num(rng, 1, 12), "cellno"),
                (dash, "redundant"), (_room(rng), "roomno")]  # fmt: skip
        return out
    if roll < 0.18:
        out += [(_house(rng), "houseno"), ("-", "redundant"), (_room(rng), "roomno")]
        return out
    if rng.random() < 0.75:
        n = rng.choice(("", "", "", "", "A", "B", "C", "D", "E"))
        kind = _pick(rng, (("栋", 8), ("幢", 6), ("号楼", 5), ("座", 2), ("号", 6), ("", 1)))
        if kind == "":
            text = rng.choice("ABCDEFG") + _num(rng, 1, 12)
        else:
            text = (n or _house(rng, cn=0.2)) if kind in ("座", "栋", "幢") else _house(rng, cn=0.1)
            text += kind
        out.append((text, "houseno"))
    if rng.random() < 0.35:
        unit = _num(rng, 1, rng.choice((4, 6, 12)), cn=0.2) + rng.choice(
            ("单元", "单元", "单元", "梯")
        )
        if rng.random() < 0.05:
            unit = rng.choice("东西中") + "单元"
        out.append((unit, "cellno"))
    if rng.random() < 0.3:
        floor = _num(rng, 1, 30, cn=0.25) + rng.choice(("楼", "层", "楼", "F"))
        if rng.random() < 0.05:
            floor = rng.choice(("负一层", "-1层", "B1", "地下一层"))
        out.append((floor, "floorno"))
    if rng.random() < 0.7 or not out:
        room = _room(rng)
        if rng.random() < 0.05:
            room = f"{room}-{_num(rng, 1, 9)}" if rng.random() < 0.5 else rng.choice("ABC") + room
        room += _pick(rng, (("室", 10), ("", 10), ("号", 3), ("房", 1), ("办公室", 1)))
        out.append((room, "roomno"))
    return out


def generate(rng: random.Random) -> list[Piece]:
    """One synthetic address as a list of (text, label) pieces (label ``redundant`` for noise)."""
    pools = _pools()
    admin, repeat = _admin(rng, pools)
    out: list[Piece] = []
    roll = rng.random()
    if repeat and roll < 0.05:  # the same divisions written twice: the first is noise
        out += [(t, "redundant") for t, _ in repeat]
    elif repeat and roll < 0.08:  # written again, shorter: the second copy is noise
        again = repeat[1:] if len(repeat) > 1 and rng.random() < 0.5 else repeat
        admin = admin + [(_short(t, "city") if rng.random() < 0.4 else t, "redundant")
                         for t, _ in again]  # fmt: skip
    elif repeat and roll < 0.1:  # the finest level repeated
        admin = admin + [(repeat[-1][0], "redundant")]
    if rng.random() < 0.03:
        out.append((rng.choice(("收货地址", "地址:", "详细地址")), "redundant"))
    out += admin
    if rng.random() < 0.07:
        body = _body(rng, pools)[:4] if rng.random() < 0.8 else ""
        out += [(body + _pick(rng, _DEVZONE), "devzone"), *_sep(rng, 0.05)]
    if rng.random() < 0.13:
        out.append(
            (
                rng.choice(pools.villages) + rng.choice(("村", "村", "社区", "社区", "居委会")),
                "community",
            )
        )
        if rng.random() < 0.1:
            out.append((_num(rng, 1, 12, cn=0.5) + "组", "road"))
        if rng.random() < 0.35:  # a hamlet of the village and its door number
            if rng.random() < 0.4:
                out.append((rng.choice(pools.bodies)[: rng.choice((2, 3))], "poi"))
            out.append((_num(rng, 1, 999) + rng.choice(("号", "号", "")), "roadno"))
            return _tail(rng, out + (_numbers(rng, _pools(), False) if rng.random() < 0.2 else []))
    has_road = rng.random() < 0.62
    has_poi = rng.random() < (0.6 if has_road else 0.85)
    poi_first = has_poi and has_road and rng.random() < 0.08
    if poi_first:
        out.append(
            (_body(rng, pools)[:3] + rng.choice(("工业区", "工业园区", "园区", "市场")), "poi")
        )
    if has_road:
        road = _road_name(rng, pools)
        out.append((road, "road"))
        if rng.random() < 0.06:
            out += [(rng.choice(("与", "和", "交")), "assist"), (_road_name(rng, pools), "subroad")]
            out.append((rng.choice(("交叉口", "路口", "交界处", "口")), "assist"))
        elif rng.random() < 0.8:
            no = _num(rng, 1, 1999)
            roll = rng.random()
            if roll < 0.07:
                out += [(no, "roadno"), ("-", "redundant"), (_num(rng, 1, 99) + "号", "houseno")]
            elif roll < 0.1:
                out += [(no + "弄", "roadno"), (_num(rng, 1, 99) + "号", "houseno")]
            elif roll < 0.16:
                out += [(no + "弄", "subroad"), (_num(rng, 1, 99) + "号", "subroadno")]
            elif roll < 0.2:
                out.append((no, "roadno"))
            else:
                out.append((no + rng.choice(("号", "号", "号", "号院")), "roadno"))
            if rng.random() < 0.05:
                sub = rng.choice((_num(rng, 1, 99) + "弄", _body(rng, pools)[:2] + "巷"))
                out += [(sub, "subroad"), (_num(rng, 1, 99) + "号", "subroadno")]
        out += _sep(rng, 0.08)
    if rng.random() < 0.08 and out:
        out.append((_pick(rng, _ASSIST), "assist"))
    if has_poi and not poi_first:
        name = _poi_name(rng, pools)
        if rng.random() < 0.06:
            name += rng.choice("ABCDEFG") + rng.choice(("", "", "1", "2")) + "区"
        if rng.random() < 0.02:  # 新湖新湖武林国际: a repeated name, the first copy is noise
            out.append((name[: rng.choice((2, len(name)))], "redundant"))
        out.append((name, "poi"))
        if rng.random() < 0.3:
            out += _sep(rng, 0.1)
            out.append((_subpoi(rng, pools), "subpoi"))
        if rng.random() < 0.06:
            out.append((_pick(rng, _ASSIST), "assist"))
            if rng.random() < 0.5:
                out.append((_person(rng, pools), "person"))
                return _tail(rng, out)
        out += _sep(rng, 0.12)
    elif poi_first and rng.random() < 0.5:
        out.append((_shop(rng, pools) if rng.random() < 0.6 else _poi_name(rng, pools), "subpoi"))
    elif not has_poi and not has_road and rng.random() < 0.3:  # 乌石工业区曙光冲件厂
        zone = rng.choice(("工业区", "工业园区", "工业园", "园区", "市场", "商城", "小区"))
        out += [(_body(rng, pools)[:3] + zone, "poi"), (_shop(rng, pools), "subpoi")]
    if rng.random() < (0.7 if has_poi else 0.3):
        out += _numbers(rng, pools, has_poi)
    if rng.random() < 0.1:
        out += _sep(rng, 0.4)
        out.append((_person(rng, pools), "person"))
    return _tail(rng, out)


def _tail(rng: random.Random, out: list[Piece]) -> list[Piece]:
    roll = rng.random()
    if roll < 0.03:
        out += [
            (" ", "redundant"),
            (
                rng.choice(("1", "1")) + "".join(rng.choice("0123456789") for _ in range(10)),
                "redundant",
            ),
        ]
    elif roll < 0.06:
        out.append((rng.choice(_REDUNDANT_NOTE), "redundant"))
    elif roll < 0.07:
        out.append(("".join(rng.choice("0123456789") for _ in range(6)), "redundant"))
    elif roll < 0.08:
        note = rng.choice(("工作日送货", "周末送货", "上午送", "工作日放门卫", "节假日不送"))
        if rng.random() < 0.5:
            out += [("(", "redundant"), (note, "otherinfo"), (")", "redundant")]
        else:
            out.append((note, "otherinfo"))
    return [p for p in out if p[0]]


def generate_many(n: int, *, seed: int = 0) -> list[list[Piece]]:
    """`n` synthetic addresses, the same for the same seed."""
    rng = random.Random(seed)
    out: list[list[Piece]] = []
    while len(out) < n:
        pieces = generate(rng)
        if any(label != "redundant" for _, label in pieces):
            out.append(pieces)
    return out
