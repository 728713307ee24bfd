"""Deterministic synthetic city for demos, tests and benchmarks.

The city is fictional: 江苏省示范市滨江区 with district code ``990101``. Province prefix 99 is
unused in GB/T 2260, so the code cannot be mistaken for a real county. The city is laid out in
metres in UTM zone 50N (EPSG:32650) with its south-west corner near 118.85 E, 31.95 N, and every
layer is returned in EPSG:4326.

Layout: a jittered grid of main roads (primary/secondary/tertiary) bounds blocks of about
250-600 m. Communities are snake-ordered runs of 1-3 blocks (some L-shaped), street offices are
rectangles of blocks, so both tile the district along road centrelines. Large blocks are split by
local residential/service roads into parcels; parcels become compounds ('towers', 'midrise',
'courtyard', 'villas') filled row by row with building footprints until the community's
household target is met, or facilities (community centre, shops, schools, parks). House numbers
run along each named road, odd on the left and even on the right, one pair per 10 m. Addresses
go down to the building: '江苏省示范市滨江区长江路128号阳光花园3栋' in compounds,
'江苏省示范市滨江区新民一巷12号' for courtyard houses on their lane.

Everything is drawn from ``numpy.random.default_rng(seed)``: the same size and seed give the same
city.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, MultiLineString, Point, Polygon

__all__ = ["SIZES", "SyntheticCity", "generate_city", "write_city"]

PROVINCE, CITY, DISTRICT_NAME, DISTRICT_CODE = "江苏省", "示范市", "滨江区", "990101"
ADDRESS_PREFIX = PROVINCE + CITY + DISTRICT_NAME
ORIGIN_LONLAT = (118.85, 31.95)
EPOCH = pd.Timestamp("2026-01-01T00:00Z")

# fmt: off
EW_ROAD_NAMES = (
    "长江路", "黄河路", "珠江路", "淮河路", "汉江路", "湘江路", "赣江路", "闽江路",
    "钱塘路", "秦淮路", "运河路", "太湖路", "巢湖路", "洪泽路",
)
NS_ROAD_NAMES = (
    "人民路", "建设路", "中山路", "解放路", "和平路", "新华路", "文化路", "学府路", "科技路",
    "创业路", "兴业路", "迎宾路", "青年路", "胜利路", "复兴路", "光明路", "幸福路", "富民路",
    "振兴路", "育才路",
)
LOCAL_PREFIXES = (
    "新民", "安康", "平安", "桂花", "梧桐", "紫荆", "丁香", "银杏", "玉兰", "海棠", "石榴",
    "柳荫", "竹林", "青石", "井台", "钟楼", "鼓楼", "书院", "文庙", "仓前", "米市", "盐仓",
    "绸布", "铁匠", "糖坊", "油坊", "菜园", "枣树", "槐树", "杏花",
)
NAME_VARIANTS = ("东{}", "西{}", "南{}", "北{}", "中{}", "新{}", "后{}", "前{}", "上{}", "下{}")
COMPOUND_PREFIXES = (
    "阳光", "翠竹", "金桂", "锦绣", "碧水", "春晖", "怡景", "嘉禾", "望江", "滨湖", "书香",
    "雅居", "丽都", "御景", "东方", "盛世", "明珠", "龙湾", "香樟", "枫林", "荷塘", "兰亭",
    "瑞园", "康乐", "欣悦", "泰和", "天悦", "锦华", "润泽", "聚福", "和美", "绿洲", "新城",
    "华庭", "银河", "晨曦", "观澜", "清溪", "凤栖", "景明",
)
COMPOUND_SUFFIXES = {
    "towers": ("花园", "华府", "公馆", "国际", "名苑"),
    "midrise": ("小区", "新村", "苑", "家园"),
    "courtyard": ("里", "坊", "大院", "老街"),
    "villas": ("山庄", "别墅", "墅", "庄园"),
}
PHASES = ("{}二期", "{}三期", "{}四期", "{}五期", "{}六期", "{}七期")
STREET_NAMES = ("江滨", "新城", "望江", "龙湖", "东山", "翠屏", "鹤鸣", "桃源", "凤凰", "锦城")
COMMUNITY_NAMES = (
    "翠竹", "阳光", "和平", "幸福", "友谊", "团结", "春江", "秋实", "朝阳", "东湖", "西苑",
    "南湖", "北园", "金桥", "银杏", "桂园", "梅园", "兰园", "菊园", "松林", "柏树", "樱花",
    "荷花", "莲池", "长乐", "永宁", "安居", "乐业", "康宁", "福润", "丰泽", "瑞祥", "华新",
    "恒盛", "广济", "文昌", "育英", "新桥", "石门", "清风", "明月", "白鹭", "凤鸣", "麒麟",
    "青龙", "玉泉", "金山", "银湖",
)
SHOP_NAMES = (
    "便民超市", "农贸市场", "生鲜超市", "社区菜场", "药房", "五金店", "餐饮楼", "商业中心",
    "邻里商业街", "早餐店",
)
SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
    "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
)
GIVEN_CHARS = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "建", "国", "志", "文",
    "红", "燕", "海", "峰", "晨", "欣", "宇", "婷", "浩", "琳",
)
PHONE_PREFIXES = ("138", "139", "158", "188")
STATION_SERVICES = {
    "党群服务中心": ("党员活动", "政务代办", "社保咨询", "法律咨询", "志愿服务", "议事协商"),
    "党群服务驿站": ("党员活动", "休息饮水", "手机充电", "志愿服务", "应急药箱"),
    "邻里中心": ("便民超市", "社区食堂", "文体活动", "托育服务", "养老照料", "政务代办"),
    "养老服务站": ("日间照料", "助餐", "助浴", "健康监测", "文娱活动"),
    "托育点": ("婴幼儿托管", "亲子活动", "育儿指导"),
    "社区卫生服务站": ("基本诊疗", "慢病管理", "预防接种", "健康档案"),
    "社区食堂": ("老年助餐", "堂食", "送餐上门"),
    "文体活动室": ("阅览室", "棋牌", "舞蹈排练", "书画"),
    "便民服务点": ("快递代收", "家电维修", "缝补", "理发", "开锁"),
}
OPENING_HOURS = ("08:30-17:30", "09:00-18:00", "08:00-20:00", "07:00-19:00", "09:00-21:00")
CASE_TEMPLATES = {
    "environment": (
        "{}门口垃圾堆放未及时清运", "{}附近绿化带积水、蚊蝇孳生", "{}有居民反映餐饮油烟扰民",
    ),
    "safety_hazard": (
        "{}楼道内电动车违规充电", "{}消防通道被杂物堵塞", "{}外墙瓷砖有脱落风险",
    ),
    "dispute": (
        "{}邻里因楼上漏水发生纠纷", "{}居民因停车位发生争执", "{}租户与房东因押金产生纠纷",
    ),
    "city_appearance": (
        "{}沿街店铺占道经营", "{}墙面乱张贴小广告", "{}附近共享单车乱停放",
    ),
    "public_facility": ("{}路灯损坏不亮", "{}窨井盖松动", "{}健身器材损坏"),
    "social_assistance": (
        "{}独居老人需要上门探访", "{}困难家庭申请临时救助", "{}残疾人需要协助办理补贴",
    ),
}
CHINESE_DIGITS = "零一二三四五六七八九"
# fmt: on

SIZES = {  # street offices, communities per street office, households per street office
    "community": {"streets": 1, "communities": (1, 1), "households": (2_300, 3_200)},
    "street": {"streets": 1, "communities": (6, 10), "households": (24_000, 32_000)},
    "district": {"streets": 8, "communities": (7, 10), "households": (27_000, 32_000)},
    # an old town: smaller blocks, many small communities (households per community, block m)
    "old_town": {"streets": 4, "communities": (9, 14), "households": (9_800, 10_300),
                 "community_households": (500, 1_200), "block": (220, 320),
                 "kind_weight": {"towers": 0, "midrise": 0.7, "courtyard": 0.2, "villas": 0.1}},
}  # fmt: skip

SETBACK = 15.0  # parcel edge to main-road centreline, m
LOCAL_GAP = 7.0  # parcel edge to local-road centreline, m
MARGIN = 4.0  # building to compound edge, m
STEP = 10.0  # frontage per pair of house numbers, m
COMMUNITY_MIN, COMMUNITY_MAX = 1_900, 4_600  # household target range of a community
KIND_CAPACITY = {"towers": 250, "midrise": 160, "courtyard": 100, "villas": 20}  # households/ha
KIND_WEIGHT = {"towers": 0.35, "midrise": 0.4, "courtyard": 0.15, "villas": 0.1}
DENSITY_MAX = 160  # households per hectare of blocks a community can hold
FORCED_HOUSEHOLDS = {"courtyard": (250, 700), "villas": (20, 50)}  # one per street
LAYOUT = {  # footprint depth, gap along a row, gap between rows, shortest footprint (m)
    "towers": {"depth": (17, 21), "gap": (18, 26), "row_gap": (42, 55), "min": 22},
    "midrise": {"depth": (11, 13), "gap": (10, 16), "row_gap": (22, 28), "min": 24},
    "villas": {"depth": (10, 14), "gap": (8, 12), "row_gap": (12, 18), "min": 12},
    "courtyard": {"depth": (11, 14), "gap": (2, 4), "min": 10},  # rows face 6 m lanes
}
FACILITIES = {  # width, depth, floors, OSM building=, name, how many
    "school": ((60, 80), (16, 18), (4, 5), "school", "{school}", (2, 2)),
    "civic": ((30, 40), (15, 18), (2, 4), "civic", "{community}党群服务中心", (1, 1)),
    "kindergarten": ((30, 40), (20, 25), (2, 3), "kindergarten", "{short}幼儿园", (1, 1)),
    "office": ((40, 60), (20, 25), (8, 20), "office", "{short}大厦", (1, 1)),
    "commercial": ((20, 45), (12, 20), (1, 3), "commercial", "{shop}", (1, 3)),
}
COLUMNS = {
    "districts": ("code", "name"),
    "streets": ("code", "name", "district_code"),
    "communities": ("code", "name", "street_code"),
    "compounds": ("compound_id", "name", "community_code", "kind", "address"),
    "buildings": ("building_id", "households", "households_estimated", "units", "floors",
                  "building_type", "compound", "community_code", "address", "name"),
    "roads": ("road_id", "name", "class", "from_no", "to_no"),
    "stations": ("station_id", "name", "type", "stars", "opening_hours", "services", "contact",
                 "address", "community_code"),
    "workers": ("worker_id", "name", "phone", "role", "community_code"),
    "cases": ("case_id", "category", "description", "reported_at"),
}  # fmt: skip


@dataclass(frozen=True)
class SyntheticCity:
    """All layers of a generated city (GeoDataFrames in EPSG:4326)."""

    districts: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    workers: pd.DataFrame
    cases: gpd.GeoDataFrame


def generate_city(*, size: str = "street", seed: int = 0) -> SyntheticCity:
    """Generate a synthetic city.

    Parameters
    ----------
    size : {'community', 'street', 'district', 'old_town'}
        One community (~2,300-3,200 households), one street office with 6-10 communities
        (~20,000-35,000 households), a district of 8 street offices (>= 200,000 households)
        or an old town: 4 street offices of 9-14 small communities (500-1,200 households on
        blocks of 220-320 m; mid-rise, courtyard houses and villas, no towers), ~35,000
        households.
    seed : int
        Seed for ``numpy.random.default_rng``; the same size and seed give identical frames.

    Returns
    -------
    SyntheticCity
    """
    if size not in SIZES:
        msg = f"unknown size {size!r}; expected one of {sorted(SIZES)}"
        raise ValueError(msg)
    return _Builder(size, seed).build()


def write_city(city: SyntheticCity, directory: Path) -> dict[str, Path]:
    """Write each layer as GeoJSON (workers as CSV) into ``directory``.

    Parameters
    ----------
    city : SyntheticCity
    directory : Path
        Created if missing; files are overwritten.

    Returns
    -------
    dict of str to Path
        Path of each written file by layer name.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in SyntheticCity.__dataclass_fields__:
        frame = getattr(city, name)
        if isinstance(frame, gpd.GeoDataFrame):
            paths[name] = directory / f"{name}.geojson"
            paths[name].unlink(missing_ok=True)
            frame.to_file(paths[name], driver="GeoJSON", engine="pyogrio")
        else:
            paths[name] = directory / f"{name}.csv"
            frame.to_csv(paths[name], index=False)
    return paths


def _rotate(geom, theta: float):
    """Rotate geometries by ``theta`` radians about the local origin."""
    c, s = math.cos(theta), math.sin(theta)
    matrix = np.array([[c, s], [-s, c]])  # row vectors: xy @ matrix
    return shapely.transform(geom, lambda xy: xy @ matrix)


def _split(total: float, weights: np.ndarray, high: np.ndarray, least=COMMUNITY_MIN) -> np.ndarray:
    """Share ``total`` in proportion to ``weights``, each share within [least, high]."""
    low = np.minimum(least, high)
    shares = np.full(len(weights), np.nan)
    for _ in range(len(weights)):
        free = np.isnan(shares)
        trial = (total - np.nansum(shares)) * weights / weights[free].sum()
        under, over = free & (trial < low), free & (trial > high)
        if not (under | over).any() or under.sum() + over.sum() == free.sum():
            break
        shares[under], shares[over] = low[under], high[over]
    free = np.isnan(shares)
    shares[free] = (total - np.nansum(shares)) * weights[free] / weights[free].sum()
    return np.clip(shares, low, high)


def _numeral(n: int) -> str:
    """Chinese numeral for 1 <= n < 100 (一, 十一, 二十三)."""
    tens, ones = divmod(n, 10)
    if not tens:
        return CHINESE_DIGITS[ones]
    return (
        (CHINESE_DIGITS[tens] if tens > 1 else "") + "十" + (CHINESE_DIGITS[ones] if ones else "")
    )


def _largest(geom):
    """The largest polygon (or longest line) part of ``geom``; None when empty."""
    if geom.is_empty:
        return None
    parts = list(getattr(geom, "geoms", [geom]))
    parts = [p for p in parts if p.geom_type in ("Polygon", "LineString")]
    return max(parts, key=lambda p: p.area or p.length) if parts else None


class _Pool:
    """Unique names drawn in shuffled order, then with variant patterns."""

    def __init__(self, rng, words, variants=NAME_VARIANTS):
        self.words = [words[i] for i in rng.permutation(len(words))]
        self.variants, self.n = ("{}", *variants), 0

    def take(self) -> str:
        i, self.n = self.n, self.n + 1
        round_, word = divmod(i, len(self.words))
        return self.variants[round_ % len(self.variants)].format(self.words[word])


class _Builder:
    """Holds the random state and the growing layers while a city is generated."""

    def __init__(self, size: str, seed: int):
        self.size, self.cfg = size, SIZES[size]
        self.rng = rng = np.random.default_rng(seed)
        self.roads: list[dict] = []
        self.compounds: list[dict] = []
        self.buildings: list[dict] = []
        self.local_names = _Pool(rng, LOCAL_PREFIXES)
        self.compound_names = {
            k: _Pool(rng, [p + s for p in COMPOUND_PREFIXES for s in v], PHASES)
            for k, v in COMPOUND_SUFFIXES.items()
        }
        self.community_names = _Pool(rng, COMMUNITY_NAMES)
        self.street_names = _Pool(rng, STREET_NAMES)
        self.schools = 0

    # ----------------------------------------------------------------- layout
    def build(self) -> SyntheticCity:
        tiles, nx, ny = self._tiles()
        rng = self.rng
        block = self.cfg.get("block", (320, 520))
        least, most = self.cfg.get("community_households", (COMMUNITY_MIN, COMMUNITY_MAX))
        xs = np.concatenate([[0.0], np.cumsum(rng.uniform(*block, nx))])
        ys = np.concatenate([[0.0], np.cumsum(rng.uniform(*block, ny))])
        nodes = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1)
        nodes += rng.uniform(-25, 25, nodes.shape)
        self.nodes = nodes
        self._main_roads(nx, ny)
        streets, communities = [], []
        for s, (i0, j0, w, h) in enumerate(tiles):
            runs = self._runs(i0, j0, w, h)
            areas = np.array([sum(self._quad(*b).area for b in run) for run in runs])
            total = rng.uniform(*self.cfg["households"])
            high = np.clip(areas * DENSITY_MAX / 1e4, least, most)
            targets = _split(total, areas * rng.uniform(0.75, 1.25, len(runs)), high, least)
            streets.append({"index": s, "blocks": [b for run in runs for b in run]})
            order = np.argsort(targets / areas)  # the sparsest get courtyards and villas
            forced = {int(order[0]): ["courtyard"]}
            forced.setdefault(int(order[min(1, len(runs) - 1)]), []).append("villas")
            school = int(np.argmax([len(run) for run in runs]))  # at least one school per street
            for n, (run, target) in enumerate(zip(runs, targets, strict=True)):
                communities.append(
                    {
                        "street": s,
                        "blocks": run,
                        "target": int(target),
                        "forced": forced.get(n, []),
                        "school": n == school or rng.random() < 0.25,
                    }
                )
        self._codes(streets, communities)
        for community in communities:
            self._fill(community)
        self._addresses()
        return self._frames(streets, communities)

    def _tiles(self):
        """Street-office rectangles (i0, j0, width, height) in block units and the grid size."""
        rng = self.rng
        if self.size == "community":
            w, h = (2, 1) if rng.random() < 0.5 else (1, 2)
            return [(0, 0, w, h)], w, h
        if self.size == "street":
            w, h = ((3, 4), (3, 5), (4, 3), (4, 4), (4, 5), (5, 3), (5, 4))[rng.integers(7)]
            return [(0, 0, w, h)], w, h
        ny, i0, tiles = int(rng.integers(8, 11)), 0, []
        for w in rng.integers(3, 5, self.cfg["streets"] // 2):  # two streets per column
            cut = int(rng.integers(4, ny - 3))
            tiles += [(i0, 0, int(w), cut), (i0, cut, int(w), ny - cut)]
            i0 += int(w)
        return tiles, i0, ny

    def _runs(self, i0, j0, w, h) -> list[list[tuple[int, int]]]:
        """Split a street's blocks into communities: snake order cut into runs of 1-3 blocks."""
        rng = self.rng
        if rng.random() < 0.5:
            cells = [(i0 + i, j0 + j) for j in range(h) for i in range(w)[:: 1 - 2 * (j % 2)]]
        else:
            cells = [(i0 + i, j0 + j) for i in range(w) for j in range(h)[:: 1 - 2 * (i % 2)]]
        n = len(cells)
        lo, hi = self.cfg["communities"]
        if n == 1 or hi == 1:
            return [cells]
        k = int(rng.integers(max(lo, math.ceil(n / 3)), min(hi, n - 2) + 1))
        parts = np.ones(k, dtype=int)
        parts[0] = 3  # one run of three blocks, turned into an L below
        for _ in range(n - k - 2):
            parts[rng.choice(np.flatnonzero(parts < 3))] += 1
        for _ in range(200):
            cuts = np.concatenate([[0], np.cumsum(rng.permutation(parts))])
            runs = [cells[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
            if any(len({i for i, _ in r}) > 1 and len({j for _, j in r}) > 1 for r in runs):
                break  # at least one L-shaped community
        return runs

    def _quad(self, i, j) -> Polygon:
        n = self.nodes
        return Polygon([n[i, j], n[i + 1, j], n[i + 1, j + 1], n[i, j + 1]])

    def _codes(self, streets, communities):
        """Code and name streets and communities west→east within north→south rows."""

        def key(blocks):
            top = max(j for _, j in blocks)
            return (-top, min(i for i, j in blocks if j == top))

        for s, street in enumerate(sorted(streets, key=lambda st: key(st["blocks"]))):
            street["code"] = f"{DISTRICT_CODE}{s + 1:03d}"
            street["name"] = self.street_names.take() + "街道"
            street["communities"] = 0
        by_index = {st["index"]: st for st in streets}
        for community in sorted(
            communities, key=lambda c: (by_index[c["street"]]["code"], key(c["blocks"]))
        ):
            street = by_index[community["street"]]
            street["communities"] += 1
            community["code"] = f"{street['code']}{street['communities']:03d}"
            community["street_code"] = street["code"]
            community["name"] = self.community_names.take() + "社区"

    # ------------------------------------------------------------------ roads
    def _road(self, name, cls, line, s0=0.0, lane=False) -> int:
        """Add one road row; named roads get the house-number range of their frontage."""
        row = {"name": name, "class": cls, "geometry": line, "lane": lane, "s0": s0}
        if name is not None:
            k0 = round(s0 / STEP)
            k1 = max(k0 + 1, round((s0 + line.length) / STEP))
            row.update(k0=k0, k1=k1, from_no=2 * k0 + 1, to_no=2 * k1)
        else:
            row.update(k0=0, k1=0, from_no=None, to_no=None)
        self.roads.append(row)
        return len(self.roads) - 1

    def _main_roads(self, nx, ny):
        """Main roads through the jittered nodes, one row per block edge."""
        rng, classes = self.rng, ("primary", "tertiary", "secondary", "tertiary")
        ns = _Pool(rng, NS_ROAD_NAMES)
        ew = _Pool(rng, EW_ROAD_NAMES)
        self.edges = {}
        for axis, count, pool in ((0, nx + 1, ns), (1, ny + 1, ew)):
            for c in range(count):
                pts = self.nodes[c, :] if axis == 0 else self.nodes[:, c]
                name, cls = pool.take(), classes[c % 4]
                s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
                for k in range(len(pts) - 1):
                    self.edges[axis, c, k] = self._road(name, cls, LineString(pts[k : k + 2]), s[k])

    def _extend(self, line: LineString, net) -> LineString:
        """Join both ends of a path to the block's road network when it is close."""
        coords = list(line.coords)
        for end in (0, -1):
            link = shapely.shortest_line(Point(coords[end]), net)
            if 0 < link.length < 30:
                if end == 0:
                    coords.insert(0, link.coords[1])
                else:
                    coords.append(link.coords[1])
        return LineString(coords)

    # ----------------------------------------------------------------- blocks
    def _block(self, i, j, lot_kind):
        """Parcels of one block (in the block's rotated frame) and its local roads."""
        rng, quad = self.rng, self._quad(i, j)
        bottom = self.nodes[i + 1, j] - self.nodes[i, j]
        theta = math.atan2(bottom[1], bottom[0])
        inner = _rotate(quad, -theta).buffer(-SETBACK, join_style="mitre")
        x0, y0, x1, y1 = inner.bounds
        edges = ((1, j, i), (1, j + 1, i), (0, i, j), (0, i + 1, j))
        net, cuts = [self.roads[self.edges[k]]["geometry"] for k in edges], []
        for lo, hi in ((x0, x1), (y0, y1)):
            span = hi - lo
            n = 1 if span < 300 or rng.random() < 0.15 else (2 if span < 470 else 3)
            cuts.append(lo + span * (np.arange(1, n) / n + rng.uniform(-0.06, 0.06, n - 1)))
        for axis, values in enumerate(cuts):
            for c in values:
                ends = [(c, y0 - 99), (c, y1 + 99)] if axis == 0 else [(x0 - 99, c), (x1 + 99, c)]
                line = _largest(_rotate(LineString(ends), theta).intersection(quad))
                if line is not None:
                    named = rng.random() < 0.5
                    name = self.local_names.take() + ("路" if axis else "街") if named else None
                    road = self._road(name, "residential" if named else "service", line)
                    net.append(self.roads[road]["geometry"])
        xe = [x0 - 1, *cuts[0], x1 + 1]
        ye = [y0 - 1, *cuts[1], y1 + 1]
        parcels = []
        for a in range(len(xe) - 1):
            for b in range(len(ye) - 1):
                g = LOCAL_GAP
                cell = shapely.box(
                    xe[a] + g * (a > 0),
                    ye[b] + g * (b > 0),
                    xe[a + 1] - g * (a < len(xe) - 2),
                    ye[b + 1] - g * (b < len(ye) - 2),
                )
                parcels.append(inner.intersection(cell))
        lots = []
        if lot_kind:  # a corner lot of about 70 x 50 m for the community centre or shops
            right, top = rng.integers(2, size=2)
            corner = ((x0, x1)[right], (y0, y1)[top])
            cx, cy = min(
                shapely.get_coordinates(inner.exterior), key=lambda v: math.dist(v, corner)
            )
            dx, dy = rng.uniform(60, 80) * (1 - 2 * right), rng.uniform(45, 60) * (1 - 2 * top)
            lot = shapely.box(
                min(cx, cx + dx), min(cy, cy + dy), max(cx, cx + dx), max(cy, cy + dy)
            )
            k = (len(xe) - 2) * right * (len(ye) - 1) + (len(ye) - 2) * top
            parcels[k] = parcels[k].difference(lot.buffer(5, join_style="mitre"))
            lots.append((lot_kind, lot.intersection(inner)))
        parcels = [("parcel", _largest(p)) for p in parcels] + [(k, _largest(p)) for k, p in lots]
        block_net = MultiLineString(net)
        return [
            (kind, p, theta, block_net) for kind, p in parcels if p is not None and p.area > 1500
        ]

    def _fill(self, community):
        """Fill a community's parcels with compounds up to its target, the rest with facilities."""
        rng, code = self.rng, community["code"]
        parcels = []
        for n, (i, j) in enumerate(community["blocks"]):
            lot = "civic" if n == 0 else ("commercial" if rng.random() < 0.4 else None)
            parcels += self._block(i, j, lot)
        forced, n = list(community["forced"]), 0
        homes = sorted((p for p in parcels if p[0] == "parcel"), key=lambda p: p[1].area)
        school = min(homes, key=lambda p: abs(p[1].area - 25_000), default=None)
        spare = sum(p[1].area for p in homes) - (school[1].area if school else 0)
        if community["school"] and len(homes) >= 3 and spare / 1e4 * 200 > community["target"]:
            homes.remove(school)  # a school ground of about 2.5 ha
            parcels.append(("school", *school[1:]))
        first, homes = homes[: len(forced)], homes[len(forced) :]  # smallest for forced kinds
        homes = first + [homes[k] for k in rng.permutation(len(homes))]
        remaining, leftovers = community["target"], [p for p in parcels if p[0] != "parcel"]
        while n < len(homes):
            parcel = homes[n]
            hectares = parcel[1].area / 1e4
            need = remaining / (sum(p[1].area for p in homes[n:]) / 1e4)  # households per ha
            budget = need * hectares * rng.uniform(0.7, 1.3)
            if forced and remaining > 400:
                kind = forced.pop(0)
                budget = rng.uniform(*FORCED_HOUSEHOLDS[kind])
            else:
                kind = self._kind(remaining, budget / hectares)
            if kind == "towers":
                budget = max(budget, 700)  # a few towers, not one
            budget = remaining if remaining - budget < 300 else min(budget, remaining)
            used, rest = self._compound(parcel, kind, budget, code) if kind else (0, None)
            if kind == "towers" and not used:  # the first tower did not fit the budget
                used, rest = self._compound(parcel, "midrise", budget, code)
            remaining -= used
            if used and rest is not None and rest.area > 10_000:
                homes.append((parcel[0], rest, *parcel[2:]))
            elif not used or (rest is not None and rest.area > 1500):
                leftovers.append(("facility", rest or parcel[1], *parcel[2:]))
            n += 1
        for kind, poly, theta, _ in leftovers:
            if kind == "facility":
                kind = rng.choice(
                    ["park", "commercial", "office", "kindergarten"], p=[0.4, 0.3, 0.1, 0.2]
                )
            self._facility(poly, str(kind), theta, community)

    def _kind(self, remaining, need) -> str | None:
        """Compound kind for the next parcel given the households still to place per hectare."""
        if remaining < 60:
            return None
        weight = self.cfg.get("kind_weight", KIND_WEIGHT)
        kinds = [k for k, cap in KIND_CAPACITY.items() if cap >= 1.15 * need and weight[k]]
        kinds = kinds or ["towers" if weight["towers"] else "midrise"]
        if remaining < 400:  # one tower may hold more
            kinds = [k for k in kinds if k != "towers"] or ["midrise"]
        weights = np.array([weight[k] for k in kinds])
        return str(self.rng.choice(kinds, p=weights / weights.sum()))

    # -------------------------------------------------------------- buildings
    def _sample(self, kind, n, c):
        """Lengths, units, floors and households of n buildings of a compound."""
        rng = self.rng
        ones = np.ones(n, dtype=np.int64)
        if kind == "towers":
            u, h = c["units"], c["hpuf"]
            lo, hi = max(18, math.ceil(100 / (u * h))), min(33, 400 // (u * h))
            floors = rng.integers(lo, hi + 1, n)
            return u * 11.0 + rng.uniform(0, 4, n), ones * u, floors, u * floors * h
        if kind == "midrise":
            units = rng.integers(2, 7, n)
            floors = rng.integers(6, 8, n)
            return units * 12.0 + rng.uniform(0, 3, n), units, floors, units * floors * 2
        if kind == "villas":
            return rng.uniform(12, 16, n), ones, rng.integers(2, 4, n), rng.integers(1, 3, n)
        return rng.uniform(10, 16, n), ones, rng.integers(1, 3, n), 1 + rng.binomial(7, 0.35, n)

    def _rows(self, poly, kind):
        """Rows of building candidates inside ``poly`` (rotated frame), bottom to top."""
        rng = self.rng
        inner = poly.buffer(-MARGIN, join_style="mitre")
        if inner.is_empty:
            return [], {}
        x0, y0, x1, y1 = inner.bounds
        c = {k: rng.uniform(*v) if isinstance(v, tuple) else v for k, v in LAYOUT[kind].items()}
        c.update(units=int(rng.integers(2, 5)), hpuf=int(rng.integers(2, 5)))  # towers
        depth, rows = c["depth"], []
        if kind == "courtyard":
            period = 2 * depth + 8  # lane 6 m + back gap 2 m
            lanes = y0 + depth + 3 + period * np.arange(int((y1 - y0) / period) + 1)
            bands = [(ly + dy, k) for k, ly in enumerate(lanes) for dy in (-3 - depth, 3)]
            c["lanes"] = lanes
        else:
            y, bands = y0 + rng.uniform(0, 4), []
            while y + depth <= y1:
                bands.append((y, None))
                y += depth + c["row_gap"]
        for y, lane in bands:
            n = int((x1 - x0) / (c["min"] + c["gap"])) + 2
            length, units, floors, hh = self._sample(kind, n, c)
            xs = (
                x0
                + rng.uniform(0, c["gap"])
                + np.concatenate([[0], np.cumsum(length + c["gap"])[:-1]])
            )
            boxes = shapely.box(xs, y, xs + length, y + depth)
            ok = shapely.contains(inner, boxes)
            if ok.any():
                rows.append(
                    {
                        "y": (y, y + depth),
                        "lane": lane,
                        "boxes": boxes[ok],
                        "units": units[ok],
                        "floors": floors[ok],
                        "hh": hh[ok],
                    }
                )
        return rows, c

    def _compound(self, parcel, kind, budget, code):
        """Lay out a compound in a parcel, keeping buildings while households fit ``budget``.

        Returns
        -------
        tuple of (int, Polygon or None)
            Households placed and the unused rest of the parcel (rotated frame).
        """
        _, poly, theta, net = parcel
        rows, c = self._rows(poly, kind)
        if not rows:
            return 0, None
        hh = np.concatenate([r["hh"] for r in rows])
        keep = int(np.searchsorted(np.cumsum(hh), budget, side="right"))
        if keep == 0:
            return 0, None
        kept, lanes, seen = [], {}, 0
        for row in rows:
            row["take"] = min(len(row["hh"]), keep - seen)
            seen += row["take"]
            kept += [row] if row["take"] else []
        rest = None
        if keep < len(hh):  # budget reached: the compound ends above its last kept row
            x0, y0, x1, y1 = poly.bounds
            cut = kept[-1]["y"][1] + 8
            rest = _largest(poly.intersection(shapely.box(x0, cut + 6, x1, y1)))
            poly = _largest(poly.intersection(shapely.box(x0, y0, x1, cut)))
        cid = f"C{len(self.compounds) + 1:04d}"
        self.compounds.append(
            {
                "compound_id": cid,
                "name": self.compound_names[kind].take(),
                "community_code": code,
                "kind": kind,
                "geometry": _rotate(poly, theta),
            }
        )
        if kind == "courtyard":
            prefix = self.local_names.take()
            used = sorted({r["lane"] for r in kept})
            x0, _, x1, _ = poly.bounds
            for n, k in enumerate(used):
                name = prefix + ("街" if len(used) == 1 else _numeral(n + 1) + "巷")
                ly = c["lanes"][k]
                line = _largest(LineString([(x0 - 1, ly), (x1 + 1, ly)]).intersection(poly))
                if line is not None:
                    line = self._extend(_rotate(line, theta), net)
                    lanes[k] = self._road(name, "residential", line, lane=True)
        else:
            x0, _, x1, _ = poly.bounds
            for a, b in list(zip(kept[:-1], kept[1:], strict=True))[::2]:
                y = (a["y"][1] + b["y"][0]) / 2
                line = _largest(LineString([(x0 - 1, y), (x1 + 1, y)]).intersection(poly))
                if line is not None and line.length > 30:
                    self._road(None, "footway", self._extend(_rotate(line, theta), net))
        btype = {"towers": "apartments", "midrise": "apartments"}
        number = 0
        for row in kept:
            t = row["take"]
            geoms = _rotate(row["boxes"][:t], theta)
            for g, u, f, h in zip(
                geoms, row["units"][:t], row["floors"][:t], row["hh"][:t], strict=True
            ):
                number += 1
                typ = (
                    btype.get(kind)
                    or {
                        "villas": "detached" if h == 1 else "semidetached_house",
                        "courtyard": "house" if h <= 2 else "residential",
                    }[kind]
                )
                self._building(
                    g,
                    code,
                    households=int(h),
                    units=int(u),
                    floors=int(f),
                    building_type=typ,
                    compound=cid,
                    seq=number,
                    lane=lanes.get(row["lane"]),
                )
        return int(hh[:keep].sum()), rest

    def _building(self, geometry, code, **attrs):
        self.buildings.append(
            {
                "building_id": f"B{len(self.buildings) + 1:06d}",
                "community_code": code,
                "geometry": geometry,
                "name": None,
                "compound": None,
                **attrs,
            }
        )

    def _facility(self, poly, kind, theta, community):
        """Non-residential buildings (households 0) placed near the middle of a parcel."""
        rng = self.rng
        if kind == "park":
            return
        if kind == "school":
            self.schools += 1
        width, depth, floors, btype, label, count = FACILITIES[kind]
        school = f"{CITY}{DISTRICT_NAME}第{self.schools}{'小学' if self.schools % 3 else '中学'}"
        specs = [
            (
                rng.uniform(*width),
                rng.uniform(*depth),
                int(rng.integers(floors[0], floors[1] + 1)),
                label.format(
                    school=school,
                    community=community["name"],
                    short=community["name"][:-2],
                    shop=rng.choice(SHOP_NAMES),
                ),
            )
            for _ in range(int(rng.integers(count[0], count[1] + 1)))
        ]
        inner = poly.buffer(-MARGIN, join_style="mitre")
        if inner.is_empty:
            return
        x0, y0, x1, y1 = inner.bounds
        gx, gy = np.meshgrid(np.arange(x0, x1, 5.0), np.arange(y0, y1, 5.0))
        gx, gy = gx.ravel(), gy.ravel()
        centre, taken = poly.centroid, shapely.Polygon()
        for w, d, floors, label in specs:
            boxes = shapely.box(gx, gy, gx + w, gy + d)
            ok = shapely.contains(inner, boxes) & ~shapely.intersects(taken, boxes)
            if not ok.any():
                continue
            dist = np.hypot(gx + w / 2 - centre.x, gy + d / 2 - centre.y)
            best = boxes[np.flatnonzero(ok)[np.argmin(dist[ok])]]
            taken = taken.union(best.buffer(8))
            self._building(
                _rotate(best, theta),
                community["code"],
                households=0,
                units=0,
                floors=floors,
                building_type=btype,
                name=label,
                seq=0,
                lane=None,
            )

    # -------------------------------------------------------------- addresses
    def _numbers(self, points, pieces) -> list[tuple[str, int]]:
        """Road name and house number of each point on its road piece (odd left, even right)."""
        roads, used = self.roads, self.used_numbers
        lines = np.array([roads[k]["geometry"] for k in pieces], dtype=object)
        t = shapely.line_locate_point(lines, points)
        a = shapely.line_interpolate_point(lines, t - 1)
        b = shapely.line_interpolate_point(lines, t + 1)
        foot = shapely.line_interpolate_point(lines, t)
        (ax, ay), (bx, by) = shapely.get_coordinates(a).T, shapely.get_coordinates(b).T
        (px, py), (fx, fy) = shapely.get_coordinates(points).T, shapely.get_coordinates(foot).T
        left = (bx - ax) * (py - fy) - (by - ay) * (px - fx) > 0
        out = []
        for piece, along, is_left in zip(pieces, t, left, strict=True):
            r, taken = roads[piece], used.setdefault(piece, set())
            slot = min(max(int((r["s0"] + along) // STEP), r["k0"]), r["k1"] - 1)
            no = 2 * slot + (1 if is_left else 2)
            if no in taken:  # nearest free number, same side first
                free = [n for n in range(r["from_no"], r["to_no"] + 1) if n not in taken] or [no]
                no = min(free, key=lambda n, no=no: ((n - no) % 2, abs(n - no)))
            taken.add(no)
            out.append((r["name"], no))
        return out

    def _addresses(self):
        """Address compounds and facilities on the nearest named road, courtyard houses on lanes."""
        roads, bld, comps = self.roads, self.buildings, self.compounds
        fronts = np.array([k for k, r in enumerate(roads) if r["name"] and not r["lane"]])
        tree = shapely.STRtree([roads[k]["geometry"] for k in fronts])
        self.used_numbers = {}

        def nearest(points):
            return fronts[tree.query_nearest(points, all_matches=False)[1]]

        points = shapely.centroid(np.array([c["geometry"] for c in comps], dtype=object))
        for comp, (road, no) in zip(comps, self._numbers(points, nearest(points)), strict=True):
            comp["address"], comp["place"] = f"{ADDRESS_PREFIX}{road}{no}号", comp["name"]
        centroids = shapely.centroid(np.array([b["geometry"] for b in bld], dtype=object))
        own = [i for i, b in enumerate(bld) if b["compound"] is None]
        on_lane = [i for i, b in enumerate(bld) if b["lane"] is not None]
        for idx, pieces in (
            (own, nearest(centroids[own])),
            (on_lane, [bld[i]["lane"] for i in on_lane]),
        ):
            for i, (road, no) in zip(idx, self._numbers(centroids[idx], pieces), strict=True):
                bld[i]["address"] = f"{ADDRESS_PREFIX}{road}{no}号"
                bld[i]["place"] = bld[i]["name"] or f"{road}{no}号"
        by_id = {c["compound_id"]: c for c in comps}
        for b in bld:
            if b["compound"] is not None and b["lane"] is None:
                comp = by_id[b["compound"]]
                b["address"] = f"{comp['address']}{comp['name']}{b['seq']}栋"
                b["place"] = comp["name"]

    # ----------------------------------------------------------------- people
    def _stations(self, community, members) -> list[dict]:
        """One 党群服务中心 (at the civic building) and 1-3 other stations at buildings."""
        rng, bld = self.rng, self.buildings
        civic = [n for n in members if bld[n]["building_type"] == "civic"]
        weights = np.array([5.0 if bld[n]["households"] == 0 else 1.0 for n in members])
        hosts = list(rng.choice(members, size=int(rng.integers(1, 4)), p=weights / weights.sum()))
        types = ["党群服务中心", *rng.choice(list(STATION_SERVICES)[1:], len(hosts), replace=False)]
        out = []
        for n, (kind, host) in enumerate(zip(types, [(civic or hosts)[0], *hosts], strict=True)):
            services = STATION_SERVICES[kind]
            chosen = rng.choice(
                len(services), min(len(services), int(rng.integers(3, 6))), replace=False
            )
            compound = bld[host]["compound"] and bld[host]["place"]
            out.append(
                {
                    "name": f"{compound or community['name']}{kind}",
                    "type": str(kind),
                    "stars": int(rng.integers(4 if n == 0 else 3, 6)),
                    "opening_hours": OPENING_HOURS[0] if n == 0 else str(rng.choice(OPENING_HOURS)),
                    "services": "；".join(services[k] for k in sorted(chosen)),
                    "contact": f"025-{int(rng.integers(5e7, 9e7))}",
                    "address": bld[host]["address"],
                    "community_code": community["code"],
                    "host": host,
                }
            )
        return out

    def _cases(self, members, households, outline) -> list[dict]:
        """About one sample case per 200 households, near buildings inside the community."""
        rng, bld = self.rng, self.buildings
        count = round(households / 200)
        weights = np.array([bld[n]["households"] + 1.0 for n in members])
        hosts = rng.choice(members, size=count, p=weights / weights.sum())
        offsets = rng.uniform(-15, 15, (count, 2))
        xy = shapely.get_coordinates(self.centroids[hosts]) + offsets
        outside = ~shapely.contains_xy(outline, *xy.T)
        xy[outside] -= offsets[outside]  # back to the building's centroid
        categories = rng.choice(list(CASE_TEMPLATES), count, p=[0.25, 0.15, 0.15, 0.2, 0.15, 0.1])
        seconds = rng.integers(1, 180 * 86_400, count)
        return [
            {
                "category": str(cat),
                "description": str(rng.choice(CASE_TEMPLATES[cat])).format(bld[host]["place"]),
                "reported_at": EPOCH - pd.Timedelta(seconds=int(sec)),
                "geometry": Point(x, y),
            }
            for host, cat, sec, (x, y) in zip(hosts, categories, seconds, xy, strict=True)
        ]

    def _workers(self, roles: list[tuple[str, str]]) -> pd.DataFrame:
        """Fictional names and unique mobile numbers for (community code, role) pairs."""
        rng, n = self.rng, len(roles)
        given = rng.choice(GIVEN_CHARS, (n, 2))
        short = rng.random(n) < 0.4
        names = [
            s + a + ("" if one else b)
            for s, (a, b), one in zip(rng.choice(SURNAMES, n), given, short, strict=True)
        ]
        suffixes = rng.choice(10**8, size=n, replace=False)
        phones = [
            f"{p}{x:08d}" for p, x in zip(rng.choice(PHONE_PREFIXES, n), suffixes, strict=True)
        ]
        return pd.DataFrame(
            {
                "worker_id": [f"W{k + 1:04d}" for k in range(n)],
                "name": names,
                "phone": phones,
                "role": [role for _, role in roles],
                "community_code": [code for code, _ in roles],
            }
        )

    # ----------------------------------------------------------------- frames
    def _frames(self, streets, communities) -> SyntheticCity:
        origin = self._origin()
        quads = {(i, j): self._quad(i, j) for st in streets for i, j in st["blocks"]}
        streets = sorted(streets, key=lambda s: s["code"])
        communities = sorted(communities, key=lambda c: c["code"])
        for comm in communities:
            comm["geometry"] = shapely.union_all([quads[b] for b in comm["blocks"]])
        bld = self.buildings
        self.centroids = shapely.centroid(np.array([b["geometry"] for b in bld], dtype=object))
        members: dict[str, list[int]] = {}
        for n, b in enumerate(bld):
            members.setdefault(b["community_code"], []).append(n)
        stations, cases, roles = [], [], []
        for comm in communities:
            code = comm["code"]
            households = sum(bld[n]["households"] for n in members[code])
            stations += self._stations(comm, members[code])
            cases += self._cases(members[code], households, comm["geometry"])
            grids = max(1, round(households / 400))  # one leader and one full-timer per grid
            part_time = int(self.rng.integers(grids, 3 * grids + 1))
            roles += [(code, "grid_leader")] * grids + [(code, "full_time")] * grids
            roles += [(code, "part_time")] * part_time

        def frame(name, records, **ids):
            df = pd.DataFrame(records, columns=COLUMNS[name])
            for column, pattern in ids.items():
                df[column] = [pattern.format(k + 1) for k in range(len(df))]
            geoms = np.array([r["geometry"] for r in records], dtype=object)
            geoms = shapely.transform(geoms, lambda xy: xy + origin)
            return gpd.GeoDataFrame(df, geometry=list(geoms), crs=32650).to_crs(4326)

        district = shapely.union_all(list(quads.values()))
        for street in streets:
            street["geometry"] = shapely.union_all([quads[b] for b in street["blocks"]])
            street["district_code"] = DISTRICT_CODE
        for station in stations:
            station["geometry"] = self.centroids[station["host"]]
        layers = {
            "districts": frame(
                "districts", [{"code": DISTRICT_CODE, "name": DISTRICT_NAME, "geometry": district}]
            ),
            "streets": frame("streets", streets),
            "communities": frame("communities", communities),
            "compounds": frame("compounds", self.compounds),
            "buildings": frame("buildings", [{**b, "households_estimated": False} for b in bld]),
            "roads": frame("roads", self.roads, road_id="R{:04d}"),
            "stations": frame("stations", stations, station_id="S{:04d}"),
            "workers": self._workers(roles),
            "cases": frame("cases", cases, case_id="K{:06d}"),
        }
        for layer, column, dtype in (
            ("buildings", "households", "int64"),
            ("buildings", "units", "int64"),
            ("buildings", "floors", "int64"),
            ("roads", "from_no", "Int64"),
            ("roads", "to_no", "Int64"),
            ("stations", "stars", "int64"),
        ):
            layers[layer][column] = layers[layer][column].astype(dtype)
        layers["cases"]["reported_at"] = pd.to_datetime(layers["cases"]["reported_at"], utc=True)
        return SyntheticCity(**layers)

    @staticmethod
    def _origin() -> np.ndarray:
        """UTM 50N coordinates of the south-west corner (118.85 E, 31.95 N)."""
        corner = gpd.GeoSeries([Point(ORIGIN_LONLAT)], crs=4326).to_crs(32650).iloc[0]
        return np.array([corner.x, corner.y])
