"""Synthetic labelled addresses: the training data of the address tagger (:mod:`geo.address.crf`).

Every address is built piece by piece, each piece with its label, from the division dictionary
(:mod:`geo.address.divisions`: provinces, cities, counties, towns and the village names of
jionlp's file), name generators for roads, compounds and shops, number patterns (号, 栋/幢/号楼,
单元, 层/楼, 室), relative-position words, delivery notes, repeats and separators. The
conventions follow the element list of DOMAIN.md (Chinese address parsing practice). No piece of
any labelled corpus is used: names are drawn from the dictionary and from word lists written here.
The proportions (how often a floor ends an address, how long a road name runs …) were set by hand
after comparing aggregate label statistics with the tune half of the benchmark corpus
(bench/address_parse.py); its held-out half was not looked at.
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
    ("工业园", 3), ("科技园", 2), ("工业区", 5), ("工业园区", 2), ("园区", 2),
    ("产业园", 1), ("公司", 4), ("有限公司", 3),
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
_PLACE_KIND = ("银行", "支行", "邮局", "汽车站", "派出所", "供电所", "卫生院", "幼儿园", "加油站",
               "网吧", "饭店", "手机店", "美发店", "药店", "超市", "仓库", "物流", "快递",
               "营业厅", "营业部", "专卖店", "旅行社", "餐厅", "宾馆", "服务站", "办事处",
               "管委会", "市场", "中学", "小学", "医院", "门诊部", "农场", "车行")  # fmt: skip
_SUBPOI_FIXED = (
    "东区", "西区", "南区", "北区", "中区", "东门", "西门", "南门", "北门", "大门", "东楼", "西楼",
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
           ("院内", 1), ("东门", 1), ("北门", 1), ("出口", 1), ("往东", 1), ("左侧", 1),
           ("右侧", 1), ("左转", 1), ("左手边", 1))  # fmt: skip
_REDUNDANT_NOTE = ("电联", "电话联系", "请电联", "送货上门", "代收", "收", "转", "急", "谢谢",
                   "工号", "快递", "到了打电话", "地址")  # fmt: skip
_DEVZONE = (("经济开发区", 4), ("开发区", 8), ("高新区", 5), ("经济技术开发区", 3),
            ("高新技术产业开发区", 1), ("保税区", 1), ("工业园区", 1))  # fmt: skip
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


def _village(rng: random.Random, pools: _Pools) -> str:
    """A village or urban community: mostly two characters and 村 (下沈村, 南苑社区)."""
    name = rng.choice(pools.villages)[: rng.choice((2, 2, 2, 2, 3))]
    return name + _pick(rng, (("村", 12), ("社区", 4), ("", 2), ("居委会", 1), ("村委会", 1)))


def _road_name(rng: random.Random, pools: _Pools) -> str:
    roll = rng.random()
    if roll < 0.08:
        return (
            rng.choice(("", "东", "西", "南", "北"))
            + _num(rng, 1, 20, cn=0.8)
            + rng.choice(("路", "街", "环路", "环", "号路", "大道"))
        )
    body = _body(rng, pools)[: rng.choice((2, 2, 2, 2, 3))]
    if rng.random() < 0.15 and len(body) == 2:
        body += rng.choice("东西南北中")
    elif rng.random() < 0.05:
        body += rng.choice("一二三四五")
    if rng.random() < 0.05:  # 中关村大街, 周庄路: named after a village
        body = body[:2] + rng.choice("村庄桥")
    suffix = _pick(rng, _ROAD_SUFFIX)
    if len(body) + len(suffix) > 4 and rng.random() < 0.8:
        suffix = rng.choice("路路街")  # names run to three or four characters: 文三路, 幸福南路
    if suffix in ("路", "街", "大道") and rng.random() < 0.02:
        suffix += rng.choice("一二三四五") + "段"  # 人民南路四段: a numbered segment is the name
    return body + suffix


def _poi_name(rng: random.Random, pools: _Pools) -> str:
    roll = rng.random()
    if roll < 0.15:
        return _shop(rng, pools)
    if roll < 0.25:
        body = _body(rng, pools)[: rng.choice((0, 2, 2, 3, 4))]
        if rng.random() < 0.2:
            body = rng.choice(pools.places) + body
        return (body or rng.choice(pools.places)) + rng.choice(_PLACE_KIND)
    suffix = _pick(rng, _POI_SUFFIX)
    body = _body(rng, pools)[: rng.choice((2, 2, 2, 2, 3, 4))]
    if rng.random() < 0.12:
        body = rng.choice(pools.places) + body[: rng.choice((0, 2, 2, 3))]
    if suffix in ("公司", "有限公司") and rng.random() < 0.7:
        body += rng.choice(_COMPANY)
    if not suffix and rng.random() < 0.5:
        body += rng.choice(_NICE)
    return body + suffix


def _subpoi(rng: random.Random, pools: _Pools, *, section: bool = False) -> str:
    roll = rng.random() * (0.42 if section else 1)
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
    if roll < 0.12:
        return rng.choice(_SURNAMES) + "".join(
            rng.choice(_GIVEN) for _ in range(rng.choice((1, 2)))
        )
    if roll < 0.6:
        return _shop(rng, pools)
    if roll < 0.78:
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
    low = rng.random() < 0.27  # written from the street office or the road down
    if rng.random() < 0.01 and not low:
        out.append(("中国", "country"))
    has_prov = not low and prov is not None and not municipality and rng.random() < 0.57
    if has_prov:
        name = prov.name if rng.random() < 0.75 else _short(prov.name, "prov")
        out += [(name, "prov"), *_sep(rng, sep)]
    has_city = not low and rng.random() < (0.87 if has_prov else 0.55)
    if municipality and has_city:
        out += [(prov.name if rng.random() < 0.8 else prov.name[:-1], "city"), *_sep(rng, sep)]
    elif city is not None and has_city:
        if city.name in ("市辖区", "县") or "行政区划" in city.name:
            has_city = False
        else:
            name = city.name if rng.random() < 0.75 else _short(city.name, "city")
            out += [(name, "city"), *_sep(rng, sep)]
    if not low and (rng.random() < 0.9 or not out):
        name = district.name if rng.random() < 0.85 else _short(district.name, "district")
        if name == district.name and name[-1] in "区县市" and rng.random() < 0.06:
            name = name[:-1] + rng.choice("区县市")  # a former name: 奉化市 for 奉化区
        out += [(name, "district"), *_sep(rng, sep)]
    repeat = [p for p in out if p[1] in ("prov", "city", "district")]
    if rng.random() < 0.03 and out and out[-1][1] == "district":
        out.append(("城区", "redundant"))
    if rng.random() < (0.42 if out else 0.45) and pools.towns.get(district.id):
        name = index.divisions[rng.choice(pools.towns[district.id])].name
        short = _short(name, "town")
        if rng.random() < 0.22 and short[-1] not in "路街道巷弄":
            name = short
        out += [(name, "town"), *_sep(rng, sep)]
    if rng.random() < 0.5:
        repeat = [p for p in out if p[1] in ("prov", "city", "district", "town")]
    return out, repeat


def _house_text(rng: random.Random) -> str:
    n = rng.choice(("", "", "", "", "A", "B", "C", "D", "E"))
    kind = _pick(rng, (("栋", 8), ("幢", 6), ("号楼", 5), ("座", 2), ("号", 6), ("", 1)))
    if kind == "":
        return rng.choice("ABCDEFG") + _num(rng, 1, rng.choice((12, 12, 150)))
    if rng.random() < 0.06:  # B9幢, A3座
        return rng.choice("ABCDEFGJ") + _num(rng, 1, 20) + rng.choice(("栋", "幢", "座", "号楼"))
    text = (n or _house(rng, cn=0.2)) if kind in ("座", "栋", "幢") else _house(rng, cn=0.1)
    return text + kind


def _cell_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice("东西中") + "单元"
    if roll < 0.2:  # 7幢6号: the entrance numbered like a house
        return _num(rng, 1, 30) + "号"
    unit = _num(rng, 1, rng.choice((4, 6, 12)), cn=0.2)
    return unit + rng.choice(("单元", "单元", "单元", "梯"))


def _floor_text(rng: random.Random) -> str:
    if rng.random() < 0.05:
        return rng.choice(("负一层", "-1层", "B1", "地下一层"))
    return _num(rng, 1, 30, cn=0.25) + rng.choice(("楼", "层", "楼", "F"))


def _room_text(rng: random.Random) -> str:
    room = _room(rng)
    if rng.random() < 0.05:
        room = f"{room}-{_num(rng, 1, 9)}" if rng.random() < 0.5 else rng.choice("ABC") + room
    return room + _pick(rng, (("室", 10), ("", 10), ("号", 3), ("房", 1), ("办公室", 1)))


# What follows each number (and the end, "$"), as written in delivery addresses: a building is
# followed by its unit or the room, a unit by the room, a floor mostly ends the address or names
# the recipient on it.
_AFTER = {
    "houseno": (
        ("cellno", 37),
        ("roomno", 33),
        ("$", 15),
        ("floorno", 10),
        ("subpoi", 5),
        ("person", 3),
    ),
    "cellno": (("roomno", 73), ("$", 14), ("floorno", 8), ("person", 5)),
    "floorno": (("$", 52), ("person", 24), ("roomno", 16), ("subpoi", 4)),
    "roomno": (("$", 92), ("person", 8)),
}
_TEXT = {"houseno": _house_text, "cellno": _cell_text, "floorno": _floor_text,
         "roomno": _room_text}  # fmt: skip


def _assist(rng: random.Random) -> str:
    """A relative position: a word (对面), or a direction and a distance (向东500米)."""
    if rng.random() < 0.1:
        side = rng.choice(("向东", "往西", "往前", "往右", "向北", "东北", "西", ""))
        return side + str(rng.choice((20, 30, 50, 100, 150, 200, 300, 500))) + "米"
    return _pick(rng, _ASSIST)


def _numbers(
    rng: random.Random, pools: _Pools, has_poi: bool, first: str = "houseno"
) -> list[Piece]:
    """House, unit, floor and room numbers from `first` on, maybe the recipient after them."""
    if first == "houseno" and rng.random() < 0.22:  # 12-2-1203
        dash = rng.choice(("-", "-", "-", "-", "一", "#", " ", "--", "_"))
        out = [(_house(rng), "houseno"), (dash, "redundant")]
        if rng.random() < 0.7:
            out += [(_num(rng, 1, 12), "cellno"), (dash, "redundant")]
        return out + [(_room(rng), "roomno")]
    out: list[Piece] = []
    state = first
    while state in _TEXT:
        out.append((_TEXT[state](rng), state))
        state = _pick(rng, _AFTER[state])
    if state == "person" and has_poi:
        out += [*_sep(rng, 0.2), (_person(rng, pools), "person")]
    elif state == "subpoi" and has_poi:
        out.append((_shop(rng, pools), "subpoi"))
    return out


def _road_part(rng: random.Random, pools: _Pools) -> tuple[list[Piece], bool]:
    """A road and its number (or crossing); True when a place name may follow."""
    out: list[Piece] = [(_road_name(rng, pools), "road")]
    roll = rng.random()
    if roll < 0.03:  # 人民路与昌硕东路交叉口
        out += [(rng.choice(("与", "和", "交")), "assist"), (_road_name(rng, pools), "subroad")]
        out.append((rng.choice(("交叉口", "路口", "交界处", "口")), "assist"))
        return out, True
    if roll < 0.09:  # 机场路里街55号, 环城南路东段: a lane or a named segment of the road
        sub = _road_name(rng, pools) if rng.random() < 0.6 else rng.choice("东西南北中") + "段"
        if rng.random() < 0.3:
            sub = rng.choice(("一", "二", "三", "后", "前", "")) + rng.choice("巷街路")
        out.append((sub, "subroad"))
        if rng.random() < 0.65:
            out.append((_num(rng, 1, 999) + rng.choice(("号", "号", "")), "subroadno"))
        return out, rng.random() < 0.5
    if roll < 0.12:  # 鹿溪北路234栋7单元: the building right on the road
        building = _house(rng) + rng.choice(("栋", "幢", "号楼"))
        state = _pick(rng, _AFTER["houseno"])
        rest = _numbers(rng, pools, False, state) if state in _TEXT else []
        return [*out, (building, "houseno"), *rest], False
    if roll < 0.27:  # no number: a place follows, or nothing
        if rng.random() < 0.1:
            out.append((_assist(rng), "assist"))
        return out, rng.random() < 0.8
    no = _num(rng, 1, 1999)
    roll = rng.random()
    if roll < 0.05:
        out += [(no, "roadno"), ("-", "redundant"), (_num(rng, 1, 99) + "号", "houseno")]
    elif roll < 0.11:  # 虹江路888弄12号
        out += [(no + "弄", "subroad"), (_num(rng, 1, 199) + "号", "subroadno")]
        if rng.random() < 0.3:
            out += _numbers(rng, pools, False, rng.choice(("roomno", "houseno")))
    elif roll < 0.17:
        out.append((no, "roadno"))
    elif roll < 0.2:  # a range of numbers: 29-37号
        last = int(no) + rng.randint(1, 10)
        out.append((f"{no}-{last}" + rng.choice(("号", "号", "")), "roadno"))
    else:
        out.append((no + rng.choice(("号", "号", "号", "号院")), "roadno"))
    if rng.random() < 0.02:
        out.append((_assist(rng), "assist"))
    return out, True


def _poi_part(rng: random.Random, pools: _Pools) -> list[Piece]:
    """A place, maybe its section, numbers inside it and the recipient."""
    out: list[Piece] = []
    name = _poi_name(rng, pools)
    if rng.random() < 0.04:  # after a bare name the section is part of it (江南4区)
        name = _body(rng, pools)[: rng.choice((2, 3))] + _subpoi(rng, pools, section=True)
    if rng.random() < 0.02:  # 新湖新湖武林国际: a repeated name, the first copy is noise
        out.append((name[: rng.choice((2, len(name)))], "redundant"))
    out.append((name, "poi"))
    roll = rng.random()
    if roll < 0.18:
        out += [*_sep(rng, 0.1), (_subpoi(rng, pools), "subpoi")]
        roll = rng.random()
        if roll < 0.35:
            return out
        if roll < 0.65:
            return out + _numbers(rng, pools, True)
        if roll < 0.75:
            return out + _numbers(rng, pools, True, "floorno")
        if roll < 0.85:
            return out + [(_person(rng, pools), "person")]
        if roll < 0.92:
            return out + _numbers(rng, pools, True, "roomno")
        return out + [(_assist(rng), "assist")]
    if roll < 0.42:
        return out
    if roll < 0.75:
        return out + [*_sep(rng, 0.1), *_numbers(rng, pools, True)]
    if roll < 0.81:
        return out + _numbers(rng, pools, True, "floorno")
    if roll < 0.87:
        return out + _numbers(rng, pools, True, "roomno")
    if roll < 0.91:
        out.append((_assist(rng), "assist"))
        if rng.random() < 0.4:
            out.append((_subpoi(rng, pools), "subpoi"))
        return out
    if roll < 0.95:  # the place first, then its road: 九联工业区龙塘二路5号
        road, _ = _road_part(rng, pools)
        return out + road
    if roll < 0.96:
        return out + [(_person(rng, pools), "person")]
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
    elif repeat and roll < 0.14:  # 宁波宁波市, 杭州市杭州市: one level twice in a row
        k = rng.randrange(len(admin))
        text, label = admin[k]
        if label in ("prov", "city", "district"):
            short = _short(text, label)
            if rng.random() < 0.3 and short != text:  # the short form first is the noise
                admin = [*admin[:k], (short, "redundant"), *admin[k:]]
            else:  # the same name again: the second is the noise
                admin = [*admin[: k + 1], (text, "redundant"), *admin[k + 1 :]]
    if rng.random() < 0.03:
        out.append((rng.choice(("收货地址", "地址:", "详细地址")), "redundant"))
    out += admin
    has_town = any(label == "town" for _, label in admin)
    if rng.random() < 0.045:
        body = _body(rng, pools)[:4] if rng.random() < 0.8 else ""
        out += [(body + _pick(rng, _DEVZONE), "devzone"), *_sep(rng, 0.05)]
    if rng.random() < (0.27 if has_town else 0.07):
        out.append(
            (
                _village(rng, pools),
                "community",
            )
        )
        if rng.random() < 0.06:  # 西塘河村丁公村: a hamlet of the village
            out.append((rng.choice(pools.villages) + rng.choice(("村", "", "")), "poi"))
        roll = rng.random()
        if roll < 0.12:
            return _tail(rng, out)
        if roll < 0.3:  # a door number in the village, or a group
            if rng.random() < 0.3:
                out.append((rng.choice(pools.bodies)[: rng.choice((2, 3))], "poi"))
            if rng.random() < 0.15:
                out.append((_num(rng, 1, 12, cn=0.5) + "组", "road"))
            out.append((_num(rng, 1, 999) + rng.choice(("号", "号", "")), "roadno"))
            if rng.random() < 0.2:
                out += _numbers(rng, pools, False)
            return _tail(rng, out)
    has_poi = True
    if rng.random() < 0.62:
        if out and out[-1][1] in ("town", "district") and rng.random() < 0.07:
            # 仓头环村南路, 柯北梅林路: a bare locality name before the road
            bare = rng.choice(pools.villages)[:2]
            out.append((bare, "community" if out[-1][1] == "town" else "poi"))
        road, has_poi = _road_part(rng, pools)
        out += road + _sep(rng, 0.08)
        if out[-1][1] == "roadno" and has_poi:
            roll = rng.random()
            if roll < 0.45:
                has_poi = False
            elif roll < 0.5:
                out += _numbers(rng, pools, False, rng.choice(("houseno", "houseno", "floorno")))
                has_poi = False
        elif out[-1][1] in ("houseno", "subroadno") and rng.random() < 0.7:
            has_poi = False  # 17-123号, 88弄5号: the address usually ends there
    elif rng.random() < 0.04:  # 乌石工业区曙光冲件厂
        zone = rng.choice(("工业区", "工业园区", "工业园", "园区", "市场", "商城", "小区"))
        out += [(_body(rng, pools)[:3] + zone, "poi"), (_shop(rng, pools), "subpoi")]
        has_poi = False
    if has_poi:
        out += _poi_part(rng, pools)
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
