"""A household register (楼栋台账) of the synthetic city, written the messy way offices write it.

:func:`messy_register` gives the sheet's rows (title, merged group headings, header, data with
blank rows) and, per sheet row number, the building a data row stands for (None where no
building fits: those rows must be reported, not joined). The messes, drawn with a fixed seed:

* addresses with 号楼/幢/座 for 栋, without the province/city (or district) prefix, with
  full-width digits; some rows give 小区 + 楼栋 ("3号楼") and no address; houses on a road give
  only "路名+门牌";
* some rows give a building id (楼栋编号), some only a point (经度/纬度 inside the footprint);
* 户数 as "120", "120户" or full-width "１２０";
* rows for buildings that do not exist (a building number the compound does not have) and rows
  naming only the compound (several buildings: ambiguous).

:func:`write_register` saves the rows as .csv (UTF-8 with BOM, as Excel does) or .xlsx.
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import geopandas as gpd

HEADER = ["序号", "小区名称", "楼栋", "楼栋地址", "单元数", "层数", "住户数（户）", "楼栋编号"]
HEADER += ["经度", "纬度", "备注"]
TITLE = "滨江区楼栋台账（2026年第三季度）"
GROUPS = ["基本信息", None, None, None, None, None, "户籍信息", None, "位置", None, None]
_FULL = str.maketrans("0123456789", "０１２３４５６７８９")
_NUMBER = re.compile(r"(\d+)栋$")


def _households(value: int, rng: random.Random) -> str | int:
    kind = rng.random()
    if kind < 0.1:
        return str(value).translate(_FULL)
    if kind < 0.2:
        return f"{value}户"
    return value


def _address(address: str, rng: random.Random) -> str:
    text = address
    suffix = rng.choice(["栋", "栋", "号楼", "幢", "座"])
    text = _NUMBER.sub(lambda m: m.group(1) + suffix, text)
    cut = rng.random()
    if cut < 0.4:
        text = text.removeprefix("江苏省").removeprefix("示范市")
    elif cut < 0.7:
        text = re.sub(r"^.*?区", "", text)
    if rng.random() < 0.1:
        text = text.translate(_FULL)
    return text


def messy_register(
    buildings: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame,
    *,
    seed: int = 0,
    missing: int = 6,
    compound_only: int = 3,
) -> tuple[list[list], dict[int, str | None]]:
    """The sheet's rows and, by sheet row number (1-based), each data row's building id
    (None where the row must be reported rather than joined).

    Residential buildings (households > 0 and an address) each get one row; their households
    are changed by a few (the register is newer than the data) so that a write can be seen.
    """
    rng = random.Random(seed)
    names = dict(zip(compounds["compound_id"], compounds["name"], strict=True))
    homes = buildings[(buildings["households"] > 0) & buildings["address"].notna()]
    data: list[tuple[list, str | None]] = []
    for b in homes.itertuples():
        households = int(b.households) + rng.randint(-3, 3)
        households = max(households, 1)
        row = [None, None, None, None, b.units, b.floors, _households(households, rng), None]
        row += [None, None, None]
        way = rng.random()
        compound = names.get(b.compound) if isinstance(b.compound, str) else None
        number = _NUMBER.search(b.address)
        if way < 0.1:
            row[7] = b.building_id
        elif way < 0.2:
            point = b.geometry.representative_point()
            row[8], row[9] = round(point.x, 7), round(point.y, 7)
        elif way < 0.5 and compound and number:
            row[1] = compound
            row[2] = f"{number.group(1)}{rng.choice(['号楼', '栋', '幢'])}"
        else:
            row[3] = _address(b.address, rng)
        data.append((row, b.building_id))
    with_compound = homes[homes["compound"].notna()]
    for b in with_compound.sample(missing, random_state=seed).itertuples():
        row = [None, names[b.compound], "99号楼", None, None, None, rng.randint(20, 90), None]
        data.append((row + [None, None, "新建楼栋"], None))
    for b in with_compound.sample(compound_only, random_state=seed + 1).itertuples():
        row = [None, names[b.compound], None, None, None, None, rng.randint(20, 90), None]
        data.append((row + [None, None, "楼号待补"], None))
    rng.shuffle(data)
    rows: list[list] = [[TITLE] + [None] * (len(HEADER) - 1), GROUPS, HEADER]
    truth: dict[int, str | None] = {}
    for n, (row, building_id) in enumerate(data, start=1):
        row[0] = n
        rows.append(row)
        truth[len(rows)] = building_id
        if n % 17 == 0:
            rows.append([None] * len(HEADER))
    return rows, truth


def write_register(rows: list[list], path: str | Path) -> Path:
    """Save the rows as .csv (UTF-8 with BOM) or .xlsx (title cell merged across the sheet)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f).writerows([["" if v is None else v for v in row] for row in rows])
        return path
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "楼栋台账"
    for row in rows:
        sheet.append(row)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=6)
    book.save(path)
    return path
