"""Benchmark of the offline geocoder (geo.geocode) on messy addresses of synthetic cities.

    .venv/bin/python -m bench.geocode [--cities 13] [--queries 6000] [--no-append] [--quick]

**Address base.** ``--cities`` district-size synthetic cities (seeds 0, 1, …), each renamed to
a fictional district of its own (江苏省示范市滨江区, 江苏省示范市临湖区, … — the synthetic
generator always writes 滨江区, so its prefix is replaced) and shifted 0.3° east per seed so
that no two cities overlap. Every city gives its buildings, compounds (``name`` = compound
name), named roads (``address`` = district + road name, with ``from_no``/``to_no``) and
stations. 13 cities give about 108,000 places. Compound names repeat across cities (the
generator draws them from one pool), so many addresses without their district are ambiguous.

**Queries.** A sample of buildings (in compounds and courtyard houses on lanes); each address is
made messy by 1–3 random operations: drop province / province+city / all three admin levels,
drop the road and door number, one character of the compound or road name replaced by a
homophone (same toneless pinyin, from the characters of the base) or by a near-shape character
(a short list of classic confusables, used where the name has one), traditional characters
(OpenCC s2t), full-width digits, Chinese numerals (三栋, 七十九号), a trailing 旁边/对面/门口/
附近/楼下, the compound's alias (its stem + 小区/苑, where the compound has such a stem), extra
spaces. Plus non-existent places: a building number that the compound does not have, a made-up
compound name (checked to be more than one character away from every name and alias in the
base) on the real road and door or alone, a made-up road with a door number (alone or followed
by a real compound and building).

**Measured.**

* right building: share of building queries whose ``matched_id`` is the building, over the
  queries that name one building of the base unambiguously (computed from which levels the
  messy variant kept; variants whose kept levels fit several buildings are reported apart);
* confident wrong: answers at level houseno or finer with another building (target 0);
* non-existent places answered with a building (level houseno or finer; target 0);
* throughput: addresses per second of ``geocode_many`` over all queries (distinct texts) in
  this process, after building the index; baseline: rapidfuzz ``process.extractOne`` with
  ``fuzz.ratio`` over all full address strings of the base, on a sample, with its accuracy.

The numbers go to bench/RESULTS.md under "Geocoding" (replacing that section from an earlier
run) unless ``--no-append``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely import affinity

from data.synthetic import ADDRESS_PREFIX, generate_city
from geo.geocode import build_index, geocode_many
from geo.geocode.query import fuzzy_lookup
from geo.geocode.text import name_aliases, pinyin_key

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
PROV = "江苏省"
CITIES = ("示范市", "样板市", "模范市")
DISTRICTS = (
    "滨江区", "临湖区", "东城区", "西山区", "南港区", "北塘区", "新河区", "青峰区", "白沙区",
    "金水区", "长岭区", "石桥区", "云溪区", "松涛区", "梅岭区", "柳湾区",
)  # fmt: skip
NEAR_SHAPE = (
    "己已", "未末", "土士", "日曰", "人入", "干千", "天夭", "王玉", "禾木", "锦绵", "桂挂",
    "晴睛", "清请", "泰秦", "华毕", "园圆", "苑宛", "江汪", "河何", "湖糊", "路露", "阳阴",
    "新亲", "明朋", "光先", "和利", "景影", "春舂", "府付", "嘉喜", "福富", "康庚", "翠萃",
    "东车", "兰当", "名各", "国固", "欣钦", "盛威", "润涧",
)  # fmt: skip
ASSIST = ("旁边", "对面", "门口", "附近", "楼下")
MADE_UP_CHARS = "霞鸿琥珀翡翎瑶璇骐骥麓岚澜淞沅湄崇峦岱峤琨瑜骞鹭鸾凰麟璞"
BUILDING_LEVELS = ("houseno", "cellno", "roomno")


@dataclass
class Query:
    text: str
    kind: str  # "building" or a non-existent kind
    truth: str | None  # building id
    unique: bool = True


def build_base(cities: int, size: str = "district") -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The address base of `cities` synthetic cities and the structured building table."""
    frames, buildings = [], []
    for k in range(cities):
        city = generate_city(size=size, seed=k)
        prefix = PROV + CITIES[k % len(CITIES)] + DISTRICTS[k % len(DISTRICTS)]
        if k >= len(DISTRICTS):
            prefix = PROV + f"第{k}市" + DISTRICTS[k % len(DISTRICTS)]

        def fix(frame, id_col, k=k, prefix=prefix):
            out = frame.rename(columns={id_col: "id"}).copy()
            out["id"] = f"{k:02d}-" + out["id"].astype(str)
            out["address"] = out["address"].str.replace(ADDRESS_PREFIX, prefix, regex=False)
            out["geometry"] = out.geometry.apply(lambda g: affinity.translate(g, 0.3 * k, 0))
            return out

        roads = city.roads.dropna(subset=["name"]).copy()
        roads["address"] = ADDRESS_PREFIX + roads["name"]
        b = fix(city.buildings, "building_id")
        comps = fix(city.compounds, "compound_id")
        names = dict(zip(comps["id"], comps["name"], strict=True))
        b["compound_name"] = (f"{k:02d}-" + b["compound"].astype(str)).map(names)
        buildings.append(b[["id", "address"]])
        frames += [
            b[["id", "address", "name", "geometry"]],
            comps[["id", "address", "name", "geometry"]],
            fix(roads, "road_id")[["id", "address", "name", "from_no", "to_no", "geometry"]],
            fix(city.stations, "station_id")[["id", "address", "name", "geometry"]],
        ]
    base = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)
    return base, pd.concat(buildings, ignore_index=True)


_ADDR = re.compile(
    r"^(?P<prov>.+?省)(?P<city>.+?市)(?P<district>.+?区)(?P<road>.+?)(?P<no>[0-9]+)号"
    r"(?:(?P<poi>.+?)(?P<house>[0-9]+)栋)?$"
)


class Messer:
    """Makes messy variants of building addresses."""

    def __init__(self, base: gpd.GeoDataFrame, buildings: pd.DataFrame, rng: random.Random):
        import opencc

        self.rng = rng
        self.t2s = opencc.OpenCC("s2t")
        chars = {ch for a in base["address"] for ch in a if "\u4e00" <= ch <= "\u9fff"}
        self.homophones: dict[str, list[str]] = {}
        by_sound: dict[str, list[str]] = {}
        for ch in sorted(chars):
            by_sound.setdefault(pinyin_key(ch), []).append(ch)
        for group in by_sound.values():
            for ch in group:
                self.homophones[ch] = [o for o in group if o != ch]
        self.near = {}
        for a, b in NEAR_SHAPE:
            self.near[a], self.near[b] = b, a
        parts = buildings["address"].str.extract(_ADDR)
        self.table = pd.concat([buildings, parts], axis=1)
        key = ["district", "poi", "house"]
        self.count_dph = self.table.groupby(key, dropna=False).size().to_dict()
        self.count_ph = self.table.groupby(["poi", "house"], dropna=False).size().to_dict()
        self.count_rnph = (
            self.table.groupby(["road", "no", "poi", "house"], dropna=False).size().to_dict()
        )
        self.count_drn = self.table.groupby(["district", "road", "no"]).size().to_dict()
        self.count_rn = self.table.groupby(["road", "no"]).size().to_dict()
        self.aliases: dict[str, set[str]] = {}
        self.names = set(self.table["poi"].dropna())
        for name in self.names:
            self.aliases.setdefault(name, set()).add(name)
            for alias in name_aliases(name):
                self.aliases.setdefault(alias, set()).add(name)

    def typo(self, name: str) -> str:
        rng = self.rng
        spots = list(range(len(name) - 1)) or [0]
        rng.shuffle(spots)
        near_first = rng.random() < 0.5
        for i in spots:
            ch = name[i]
            options = ([self.near[ch]] if ch in self.near else []) if near_first else []
            options = (
                options
                or self.homophones.get(ch, [])
                or ([self.near[ch]] if ch in self.near else [])
            )
            if options:
                return name[:i] + rng.choice(options) + name[i + 1 :]
        return name

    def variant(self, row) -> Query:
        rng = self.rng
        prov, city, district = row["prov"], row["city"], row["district"]
        road, no, poi, house = row["road"], row["no"], row["poi"], row["house"]
        ops = rng.sample(
            ["admin", "road", "typo", "trad", "wide", "numeral", "assist", "alias", "space"],
            rng.randint(1, 3),
        )
        keep_admin = 3
        if "admin" in ops:
            keep_admin = rng.choice([0, 0, 1, 2])
        keep_road = not ("road" in ops and isinstance(poi, str))
        poi_text = poi if isinstance(poi, str) else ""
        pois = {poi} if poi_text else set()
        if "alias" in ops and poi_text:
            options = [
                a
                for a in name_aliases(poi_text)
                if a.endswith(("小区", "苑")) and a not in self.names
            ]
            if options:
                poi_text = rng.choice(options)
                pois = self.aliases.get(poi_text, {poi})
        road_text = road
        if "typo" in ops:
            if poi_text and rng.random() < 0.7:
                poi_text = self.typo(poi_text)
            else:
                road_text = self.typo(road)
        admin = [prov, city, district][3 - keep_admin :] if keep_admin else []
        house_text = f"{house}栋" if isinstance(house, str) else ""
        no_text = f"{no}号"
        if "numeral" in ops:
            house_text = f"{_chinese(int(house))}栋" if house_text else ""
            no_text = f"{_chinese(int(no))}号"
        pieces = [*admin]
        if keep_road:
            pieces += [road_text, no_text]
        pieces += [poi_text, house_text]
        text = " ".join(p for p in pieces if p) if "space" in ops else "".join(pieces)
        if "wide" in ops:
            text = text.translate({ord(d): chr(ord(d) + 0xFEE0) for d in "0123456789"})
        if "trad" in ops:
            text = self.t2s.convert(text)
        if "assist" in ops:
            text += rng.choice(ASSIST)
        if not poi_text and keep_admin:
            unique = self.count_drn.get((district, road, no), 0) == 1
        elif not poi_text:
            unique = self.count_rn.get((road, no), 0) == 1
        elif keep_road:
            unique = sum(self.count_rnph.get((road, no, p, house), 0) for p in pois) == 1
        elif keep_admin:
            unique = sum(self.count_dph.get((district, p, house), 0) for p in pois) == 1
        else:
            unique = sum(self.count_ph.get((p, house), 0) for p in pois) == 1
        return Query(text, "building", row["id"], unique)


def _chinese(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    return "".join(digits[int(d)] for d in str(n))


def made_up_name(index, rng: random.Random, suffixes=("花园", "小区", "苑", "家园")) -> str:
    while True:
        name = "".join(rng.sample(MADE_UP_CHARS, 2)) + rng.choice(suffixes)
        if not fuzzy_lookup(index, "poi", name) and not fuzzy_lookup(index, "road", name):
            return name


def non_existent(index, messer: Messer, n: int, rng: random.Random) -> list[Query]:
    table = messer.table.dropna(subset=["poi"])
    top = max(map(int, table["house"]))  # above every building number of the base
    out = []
    for k in range(n):
        row = table.iloc[rng.randrange(len(table))]
        admin = row["prov"] + row["city"] + row["district"]
        kind = ("no-such-building", "made-up-compound", "made-up-road")[k % 3]
        if kind == "no-such-building":
            house = top + rng.randint(1, 20)
            text = (admin if rng.random() < 0.5 else "") + f"{row['poi']}{house}栋"
            if rng.random() < 0.5:
                text = admin + f"{row['road']}{row['no']}号{row['poi']}{house}栋"
        elif kind == "made-up-compound":
            fake = made_up_name(index, rng)
            text = rng.choice(
                [
                    admin + f"{row['road']}{row['no']}号{fake}{row['house']}栋",
                    f"{fake}{row['house']}栋",
                    admin + f"{fake}{rng.randint(1, 9)}栋",
                ]
            )
        else:
            road = made_up_name(index, rng, suffixes=("路", "街", "大道"))
            text = admin + f"{road}{rng.randint(1, 300)}号"
            if rng.random() < 0.5:
                text += f"{row['poi']}{row['house']}栋"
        out.append(Query(text, kind, None))
    return out


def run(cities: int, queries: int, *, size: str = "district", seed: int = 7) -> dict:
    """Build the base, make the queries, geocode them and the baseline sample; the numbers."""
    rng = random.Random(seed)
    t0 = time.perf_counter()
    base, buildings = build_base(cities, size)
    t_generate = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = build_index(base)
    t_index = time.perf_counter() - t0
    messer = Messer(base, buildings, rng)
    sample = messer.table.sample(n=min(queries, len(messer.table)), random_state=seed)
    qs = [messer.variant(row) for _, row in sample.iterrows()]
    qs += non_existent(index, messer, max(30, queries // 10), rng)
    texts = [q.text for q in qs]
    t0 = time.perf_counter()
    matches = geocode_many(index, texts)
    t_geocode = time.perf_counter() - t0
    is_building = {i for i in base["id"] if "-B" in i}
    numbers: dict = {
        "places": len(base),
        "buildings": len(buildings),
        "cities": cities,
        "size": size,
        "t_generate": t_generate,
        "t_index": t_index,
        "queries": len(qs),
        "distinct": len(set(texts)),
        "rate": len(set(texts)) / t_geocode,
        "t_geocode": t_geocode,
        "levels": {},
    }
    rows = {"unique": [0, 0], "ambiguous": [0, 0]}
    wrong, fake, fake_n, fake_levels = 0, {}, {}, {}
    for q, m in zip(qs, matches, strict=True):
        confident = m.level in BUILDING_LEVELS or (
            m.level == "roadno" and m.matched_id in is_building
        )
        if q.kind == "building":
            group = rows["unique" if q.unique else "ambiguous"]
            group[0] += 1
            group[1] += m.matched_id == q.truth
            wrong += confident and m.matched_id != q.truth
            numbers["levels"][m.level] = numbers["levels"].get(m.level, 0) + 1
        else:
            fake_n[q.kind] = fake_n.get(q.kind, 0) + 1
            fake[q.kind] = fake.get(q.kind, 0) + (m.level in BUILDING_LEVELS)
            fake_levels.setdefault(q.kind, {})
            fake_levels[q.kind][m.level] = fake_levels[q.kind].get(m.level, 0) + 1
    numbers.update(rows=rows, wrong=wrong, fake=fake, fake_n=fake_n, fake_levels=fake_levels)
    numbers["examples"] = [
        (q.text, m.level, m.matched_id == q.truth)
        for q, m in zip(qs, matches, strict=True)
        if q.kind == "building" and q.unique and m.matched_id != q.truth
    ][:12]
    numbers["baseline"] = _baseline(base, qs, rng)
    return numbers


def _baseline(base, qs, rng, n: int = 200) -> dict:
    from rapidfuzz import fuzz, process

    addresses = base["address"].tolist()
    ids = base["id"].tolist()
    picks = [q for q in qs if q.kind == "building" and q.unique]
    picks = rng.sample(picks, min(n, len(picks)))
    t0 = time.perf_counter()
    hits = [process.extractOne(q.text, addresses, scorer=fuzz.ratio) for q in picks]
    elapsed = time.perf_counter() - t0
    right = sum(ids[h[2]] == q.truth for q, h in zip(picks, hits, strict=True))
    return {"n": len(picks), "rate": len(picks) / elapsed, "right": right}


def report(x: dict) -> str:
    u, a = x["rows"]["unique"], x["rows"]["ambiguous"]
    b = x["baseline"]
    fake_total = sum(x["fake"].values())
    lines = [
        "## Geocoding (issue 4, items 3 and 7c)",
        "",
        f"Recorded {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `bench/geocode.py` (see its"
        " docstring for the method). Python "
        f"{platform.python_version()}, nproc {os.cpu_count()}, one process, one core.",
        "",
        f"**Address base:** {x['cities']} {x['size']}-size synthetic cities, {x['places']:,} places"
        f" ({x['buildings']:,} buildings plus compounds, named road segments with door ranges and"
        f" stations). Generating them took {x['t_generate']:.1f} s, `build_index`"
        f" {x['t_index']:.1f} s.",
        "",
        f"**Queries:** {x['queries']:,} ({x['distinct']:,} distinct texts): messy variants of"
        f" {u[0] + a[0]:,} building addresses and {sum(x['fake_n'].values())} non-existent places.",
        "",
        "| measure | result | target |",
        "| --- | ---: | ---: |",
        f"| right building, building named unambiguously | {u[1]:,}/{u[0]:,} ="
        f" {u[1] / max(u[0], 1):.2%} | ≥ 98% |",
        f"| right building, kept levels fit several buildings | {a[1]:,}/{a[0]:,} | (reported) |",
        f"| confident wrong (houseno or finer, or a house's door, with another building) |"
        f" {x['wrong']} | 0 |",
        f"| non-existent places answered with a building | {fake_total}/"
        f"{sum(x['fake_n'].values())} | 0 |",
        f"| throughput, `geocode_many` | {x['rate']:,.0f} addresses/s | ≥ 2,000/s |",
        f"| baseline: rapidfuzz `extractOne(fuzz.ratio)` over all {x['places']:,} addresses"
        f" ({b['n']} unambiguous queries) | {b['rate']:,.1f} addresses/s, right building"
        f" {b['right']}/{b['n']}, wrong {b['n'] - b['right']} (it always answers) | |",
        "",
        "Levels of the building queries: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(x["levels"].items(), key=lambda t: -t[1]))
        + ".",
        "",
        "Non-existent places, answer levels: "
        + "; ".join(
            f"{kind}: " + ", ".join(f"{k} {v}" for k, v in sorted(lv.items(), key=lambda t: -t[1]))
            for kind, lv in x["fake_levels"].items()
        )
        + ".",
    ]
    lines += [
        "",
        "Notes. A compound name one character off that is not a homophone (怡影华府 for 怡景华府)"
        " is trusted only when the road and door number agree; without them the answer stays at"
        " the compound (poi) with a lower score, which is most of the misses below. A lane house"
        " whose lane name has a near-shape typo (车文庙二巷) is one character from several lanes"
        " (东/西/南文庙二巷), so the answer steps back to the district. Building queries that keep"
        " too little to single out one building (a compound name found in several districts, the"
        " district dropped) get none or a coarser level with candidates, never a building. The"
        " baseline returns its best full-address string whatever the score, so every miss of it"
        " is a confident wrong answer.",
    ]
    if x["examples"]:
        lines += ["", "Unambiguous building queries not resolved to the building (first ones):", ""]
        lines += [f"* `{t}` → {lv}" for t, lv, _ in x["examples"]]
    return "\n".join(lines) + "\n"


def append_results(text: str) -> None:
    """Replace the Geocoding section of RESULTS.md (or add it), leaving the others."""
    previous = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(r"\n## Geocoding.*?(?=\n## |\Z)", re.S)
    previous = pattern.sub("", previous)
    RESULTS.write_text(previous.rstrip("\n") + "\n\n" + text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", type=int, default=13)
    parser.add_argument("--queries", type=int, default=6000)
    parser.add_argument("--quick", action="store_true", help="one street city, few queries")
    parser.add_argument("--no-append", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args(argv)
    numbers = run(1, 300, size="street") if args.quick else run(args.cities, args.queries)
    text = report(numbers)
    print(text)
    if not args.no_append and not args.quick:
        append_results(text)


if __name__ == "__main__":
    main()
