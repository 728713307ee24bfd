"""The household register (楼栋台账): a street office's spreadsheet of buildings and their
households, joined to the buildings in the database.

Each row is joined by the first way that works: its building id (楼栋编号), its point (经度/纬度:
the footprint containing it, else the only building within :data:`POINT_TOLERANCE_M`), or its
address (地址, else 小区 + 楼栋) through the geocoder of the database's address base, accepted
only at the level of one building and without a rival reading as good. Matched rows set the
building's households (source 'register', not estimated) and, where given, units and floors.

A register is all or nothing: with a bad, unmatched or ambiguous row nothing is written
(:class:`RegisterRejected`) unless the caller asks to skip those rows, which are then reported
by their row number in the sheet, with the best candidates.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from api.storage import models

#: Register files larger than this are refused before reading.
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
MAX_COLUMNS = 60
#: Rows before the header that may hold a title or merged group headings.
HEADER_SEARCH_ROWS = 10
#: A point joins the building containing it, else the only one this close (metres).
POINT_TOLERANCE_M = 5.0
#: An address match is accepted from this score, with no other building within RIVAL_MARGIN.
MIN_SCORE = 0.9
RIVAL_MARGIN = 0.05
BUILDING_LEVELS = ("houseno", "cellno", "roomno")

#: field → header texts recognised (compared after NFKC, spaces and bracketed units removed).
HEADERS: dict[str, tuple[str, ...]] = {
    "households": ("户数", "住户数", "总户数", "户籍户数", "实有户数", "households"),
    "units": ("单元", "单元数", "units"),
    "floors": ("层数", "楼层", "楼层数", "floors"),
    "address": ("地址", "楼栋地址", "详细地址", "门牌地址", "address"),
    "compound": ("小区", "小区名称", "小区名", "compound"),
    "building": ("楼栋", "楼号", "楼栋号", "楼栋名称", "幢号", "栋号"),
    "building_id": ("楼栋编号", "楼栋ID", "楼栋id", "建筑编号", "building_id"),
    "lon": ("经度", "lon", "longitude"),
    "lat": ("纬度", "lat", "latitude"),
}
OPTIONAL_INT = ("units", "floors")
_UNIT = re.compile(r"[（(][^）)]*[）)]")
_WHOLE = re.compile(r"^(\d+)\s*(?:户|个|层|单元)?$")


class RegisterError(ValueError):
    """The register file cannot be read (not a table, too large, no households column)."""


@dataclass(frozen=True)
class RegisterRow:
    """One data row of the sheet; ``row`` is its number as the spreadsheet shows it."""

    row: int
    households: int | None = None
    units: int | None = None
    floors: int | None = None
    address: str | None = None
    compound: str | None = None
    building: str | None = None
    building_id: str | None = None
    lon: float | None = None
    lat: float | None = None
    problem: str | None = None

    @property
    def address_text(self) -> str | None:
        """The address to geocode: 地址, else 小区 + 楼栋."""
        if self.address:
            return self.address
        parts = [p for p in (self.compound, self.building) if p]
        return "".join(parts) or None


@dataclass(frozen=True)
class RowMatch:
    """How one row was joined: ``building_id`` and ``way`` ('id', 'point', 'address'), or the
    ``reason`` it was not, with the best ``candidates`` (building ids or addresses)."""

    row: int
    building_id: str | None = None
    way: str | None = None
    reason: str | None = None
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegisterReport:
    """What a register did: data rows read, rows joined by each way, buildings written (0 when
    refused) and the rows not joined, in sheet order."""

    source: Path
    rows: int
    matched: Counter[str]
    written: int
    problems: tuple[RowMatch, ...]


class RegisterRejected(Exception):
    """Rows were bad, unmatched or ambiguous; nothing was written."""

    def __init__(self, report: RegisterReport) -> None:
        self.report = report
        n = len(report.problems)
        msg = (
            f"{report.source.name}：{n} 行无法对应到楼栋，未写入任何数据；修正后重试，"
            f"或加 --skip-invalid 只写入其余各行 ({n} row(s) not joined to a building, nothing "
            "written; fix them or pass --skip-invalid to write the others)"
        )
        super().__init__(msg)


# -- reading ----------------------------------------------------------------------------------


def _plain(value: object) -> str:
    """A cell as text: NFKC (full-width digits and letters to ASCII), trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _header_key(cell: object) -> str:
    return re.sub(r"\s+", "", _UNIT.sub("", _plain(cell))).lower()


def _read_cells(path: Path) -> list[list[object]]:
    if not path.is_file():
        msg = f"{path}：文件不存在 (file not found)"
        raise RegisterError(msg)
    size = path.stat().st_size
    if size > MAX_BYTES:
        msg = f"{path.name}：文件过大（{size:,} 字节，上限 {MAX_BYTES:,}）(file too large)"
        raise RegisterError(msg)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    msg = (
        f"{path.name}：只能读取 .xlsx 或 .csv（.xls 请另存为 .xlsx）"
        f"(only .xlsx or .csv registers can be read, got {suffix or 'no suffix'})"
    )
    raise RegisterError(msg)


def _read_csv(path: Path) -> list[list[object]]:
    raw = path.read_bytes()
    if b"\x00" in raw:
        msg = f"{path.name}：不是文本表格 (not a text CSV file)"
        raise RegisterError(msg)
    for encoding in ("utf-8-sig", "gb18030"):  # offices save CSV from Excel as GBK
        try:
            decoded = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string without NUL
        msg = f"{path.name}：无法识别文字编码 (unknown text encoding)"
        raise RegisterError(msg)
    rows: list[list[object]] = []
    try:
        for record in csv.reader(io.StringIO(decoded, newline="")):
            rows.append(record[:MAX_COLUMNS])
            if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                break
    except csv.Error as exc:
        msg = f"{path.name}：第 {len(rows) + 1} 行无法按 CSV 读取 (malformed CSV: {exc})"
        raise RegisterError(msg) from exc
    return rows


def _read_xlsx(path: Path) -> list[list[object]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        msg = f"{path.name}：无法作为 Excel 文件读取 (cannot read as an .xlsx workbook: {exc})"
        raise RegisterError(msg) from exc
    try:
        sheet = book.worksheets[0]
        rows = []
        for values in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            rows.append(list(values))
            if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                break
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        msg = f"{path.name}：工作表损坏 (the worksheet is damaged: {exc})"
        raise RegisterError(msg) from exc
    finally:
        book.close()
    return rows


def _columns(header: list[object], overrides: dict[str, str]) -> dict[str, int]:
    keys = [_header_key(c) for c in header]
    found: dict[str, int] = {}
    for name, aliases in HEADERS.items():
        wanted = [_header_key(overrides[name])] if overrides.get(name) else list(aliases)
        wanted = [w.lower() for w in wanted]
        position = next((i for i, k in enumerate(keys) if k and k in wanted), None)
        if position is not None:
            found[name] = position
        elif overrides.get(name):
            msg = (
                f"表头中没有“{overrides[name]}”列；表头为 {[_plain(c) for c in header if c]} "
                f"(column {overrides[name]!r} not in the header)"
            )
            raise RegisterError(msg)
    return found


def _find_header(cells: list[list[object]], overrides: dict[str, str]) -> tuple[int, dict]:
    for position, row in enumerate(cells[:HEADER_SEARCH_ROWS]):
        columns = _columns(row, overrides)
        if "households" in columns:
            return position, columns
    want = overrides.get("households") or "户数/住户数"
    msg = (
        f"前 {HEADER_SEARCH_ROWS} 行中找不到含“{want}”的表头；可用 --households-column 指定 "
        f"(no header row with a households column in the first {HEADER_SEARCH_ROWS} rows)"
    )
    raise RegisterError(msg)


def _whole(text: str, what: str) -> tuple[int | None, str | None]:
    if not text:
        return None, None
    match = _WHOLE.match(text.replace(",", ""))
    if match is None:
        try:
            number = float(text)
        except ValueError:
            return None, f"{what}“{text}”不是整数 ({what} is not a whole number)"
        if not number.is_integer() or number < 0:
            return None, f"{what}“{text}”不是非负整数 ({what} is not a whole number >= 0)"
        return int(number), None
    return int(match.group(1)), None


def _coordinate(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value else None  # NaN


def _row(number: int, cells: list[object], columns: dict[str, int]) -> RegisterRow:
    def cell(name: str) -> str:
        i = columns.get(name)
        return _plain(cells[i]) if i is not None and i < len(cells) else ""

    households, problem = _whole(cell("households"), "户数")
    if households is None and problem is None:
        problem = "缺少户数 (households missing)"
    extra = {}
    for name in OPTIONAL_INT:
        value, bad = _whole(cell(name), {"units": "单元数", "floors": "层数"}[name])
        extra[name] = value
        problem = problem or bad
    lon, lat = _coordinate(cell("lon")), _coordinate(cell("lat"))
    if (lon is None) != (lat is None) or (
        lon is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90)
    ):
        problem = (
            problem or "经纬度不完整或超出范围 (longitude/latitude incomplete or out of range)"
        )
        lon = lat = None
    return RegisterRow(
        row=number,
        households=households,
        address=cell("address") or None,
        compound=cell("compound") or None,
        building=cell("building") or None,
        building_id=cell("building_id") or None,
        lon=lon,
        lat=lat,
        problem=problem,
        **extra,
    )


def read_register(path: str | Path, *, columns: dict[str, str] | None = None) -> list[RegisterRow]:
    """Read a register (.xlsx first sheet, or .csv in UTF-8 or GBK) into rows.

    Title rows and merged group headings above the header are skipped: the header is the first
    row (of :data:`HEADER_SEARCH_ROWS`) naming a households column. Blank rows are dropped.
    `columns` overrides header texts by field (households, units, floors, address, compound,
    building, building_id, lon, lat). Raises RegisterError for a file that cannot be used.
    """
    path = Path(path)
    cells = _read_cells(path)
    start, found = _find_header(cells, {k: v for k, v in (columns or {}).items() if v})
    rows = []
    for offset, values in enumerate(cells[start + 1 :], start=start + 2):
        if not any(_plain(v) for v in values):
            continue
        rows.append(_row(offset, values, found))
    if len(rows) > MAX_ROWS:
        msg = f"{path.name}：超过 {MAX_ROWS:,} 行 (more than {MAX_ROWS:,} rows)"
        raise RegisterError(msg)
    if not rows:
        msg = f"{path.name}：表头下没有数据行 (no data rows under the header)"
        raise RegisterError(msg)
    return rows


# -- joining ----------------------------------------------------------------------------------


def _by_id(session: Session, rows: list[RegisterRow]) -> set[str]:
    ids = sorted({r.building_id for r in rows if r.building_id})
    if not ids:
        return set()
    query = select(models.Building.building_id).where(models.Building.building_id.in_(ids))
    return set(session.execute(query).scalars())


def _by_point(session: Session, row: RegisterRow) -> RowMatch:
    point = func.ST_SetSRID(func.ST_MakePoint(row.lon, row.lat), models.SRID)
    shape = func.coalesce(models.Building.footprint, models.Building.location)
    inside = func.coalesce(func.ST_Contains(models.Building.footprint, point), False)
    distance = func.ST_Distance(func.geography(shape), func.geography(point))
    query = (
        select(models.Building.building_id, inside, distance)
        .where(
            # the location's GiST index first (0.005° ≈ 500 m), then metres on the sphere
            func.ST_DWithin(models.Building.location, point, 0.005),
            func.ST_DWithin(func.geography(shape), func.geography(point), POINT_TOLERANCE_M),
        )
        .order_by(inside.desc(), distance)
        .limit(3)
    )
    near = session.execute(query).all()
    containing = [b for b, is_inside, _ in near if is_inside]
    if len(containing) == 1 or (not containing and len(near) == 1):
        return RowMatch(row.row, (containing or [near[0][0]])[0], "point")
    if not near:
        reason = (
            f"坐标 {POINT_TOLERANCE_M:g} 米内没有楼栋 (no building within {POINT_TOLERANCE_M:g} m)"
        )
        return RowMatch(row.row, reason=reason)
    reason = "坐标附近有多栋楼，无法确定 (several buildings at the point)"
    return RowMatch(row.row, reason=reason, candidates=tuple(b for b, _, _ in near))


def _building(matched_id: str | None) -> str | None:
    if matched_id and matched_id.startswith("building:"):
        return matched_id.removeprefix("building:")
    return None


def _by_address(row: RegisterRow, match) -> RowMatch:
    """Accept a geocoder answer only at one building's level with no equally good rival."""
    best = _building(match.matched_id)
    level_ok = match.level in BUILDING_LEVELS or (
        match.level == "roadno" and re.search(r"\d号$", match.matched_address or "")
    )
    rivals = [
        c
        for c in match.candidates
        if _building(c.matched_id) not in (None, best)
        and c.level == match.level
        and c.score >= match.score - RIVAL_MARGIN
    ]
    shown = tuple(
        f"{_building(c.matched_id) or c.matched_id} {c.matched_address}"
        for c in match.candidates[:3]
    )
    if best and level_ok and match.score >= MIN_SCORE and not rivals:
        return RowMatch(row.row, best, "address")
    if rivals and best and level_ok:
        reason = f"地址“{row.address_text}”可对应多栋楼 (ambiguous address)"
    elif match.level == "none":
        reason = f"地址“{row.address_text}”找不到 (address not found)"
    else:
        reason = (
            f"地址“{row.address_text}”只对应到{match.level}一级，未到楼栋 "
            f"(address matched at level {match.level}, not one building)"
        )
    return RowMatch(row.row, reason=reason, candidates=shown)


_BUILDING_NO = re.compile(r"(\d+)(?:号楼|号|栋|幢|座)$")
_SPLITS = "省市区县号"


def address_key(text: str) -> str:
    """An address as offices write it, compared: NFKC, no spaces, a closing 号楼/幢/座/号 as 栋."""
    plain = re.sub(r"\s+", "", _plain(text))
    return _BUILDING_NO.sub(r"\1栋", plain)


def _address_index(session: Session) -> dict[str, set[str]]:
    """Each building's address key and its tails after 省/市/区/县/号 → building ids, so that
    "滨江区…" or "荷塘花园1号楼" finds "江苏省示范市滨江区柳荫路79号荷塘花园1栋"."""
    index: dict[str, set[str]] = {}
    query = select(models.Building.building_id, models.Building.address).where(
        models.Building.address.is_not(None)
    )
    for building_id, address in session.execute(query):
        key = address_key(address)
        tails = {key} | {key[i + 1 :] for i, ch in enumerate(key) if ch in _SPLITS}
        for tail in tails:
            if len(tail) >= 4:
                index.setdefault(tail, set()).add(building_id)
    return index


def _by_key(row: RegisterRow, index: dict[str, set[str]]) -> RowMatch | None:
    """The one building whose address ends as the row's does; ambiguous when several do;
    None (try the geocoder) when none does."""
    found = index.get(address_key(row.address_text or ""), set())
    if len(found) == 1:
        return RowMatch(row.row, next(iter(found)), "address")
    if found:
        reason = f"地址“{row.address_text}”可对应多栋楼 (ambiguous address)"
        return RowMatch(row.row, reason=reason, candidates=tuple(sorted(found))[:3])
    return None


def match_rows(session: Session, url: str, rows: list[RegisterRow]) -> list[RowMatch]:
    """Join every row to a building (or say why not), in row order: by id, by point, by the
    address as written (exact after :func:`address_key`), else by the geocoder."""
    from api.addresses.geocode import geocode_many_db

    known = _by_id(session, rows)
    keys = _address_index(session) if any(r.address_text for r in rows) else {}
    out: dict[int, RowMatch] = {}
    to_geocode: list[RegisterRow] = []
    for row in rows:
        if row.problem:
            out[row.row] = RowMatch(row.row, reason=row.problem)
        elif row.building_id and row.building_id in known:
            out[row.row] = RowMatch(row.row, row.building_id, "id")
        elif row.lon is not None:
            out[row.row] = _by_point(session, row)
        elif row.address_text:
            exact = _by_key(row, keys)
            if exact is None:
                to_geocode.append(row)
            else:
                out[row.row] = exact
        elif row.building_id:
            reason = f"楼栋编号 {row.building_id} 不存在 (unknown building id)"
            out[row.row] = RowMatch(row.row, reason=reason)
        else:
            reason = "没有楼栋编号、坐标或地址 (no building id, point or address)"
            out[row.row] = RowMatch(row.row, reason=reason)
    if to_geocode:
        matches = geocode_many_db(session, url, [r.address_text for r in to_geocode])
        for row, match in zip(to_geocode, matches, strict=True):
            out[row.row] = _by_address(row, match)
    return _no_repeats([out[r.row] for r in rows])


def _no_repeats(matches: list[RowMatch]) -> list[RowMatch]:
    """A building named by two rows keeps the first; the later ones are problems."""
    first: dict[str, int] = {}
    out = []
    for m in matches:
        if m.building_id and m.building_id in first:
            reason = (
                f"与第 {first[m.building_id]} 行是同一楼栋 {m.building_id} "
                f"(same building as row {first[m.building_id]})"
            )
            m = RowMatch(m.row, reason=reason, candidates=(m.building_id,))
        elif m.building_id:
            first[m.building_id] = m.row
        out.append(m)
    return out


# -- writing ----------------------------------------------------------------------------------


def ingest_register(
    session: Session,
    path: str | Path,
    *,
    skip_invalid: bool = False,
    columns: dict[str, str] | None = None,
) -> RegisterReport:
    """Read, join and write a register in the session's transaction (the caller commits).

    Raises RegisterError for an unusable file and RegisterRejected (nothing written) when a row
    cannot be joined and `skip_invalid` is false.
    """
    path = Path(path)
    rows = read_register(path, columns=columns)
    url = session.get_bind().url.render_as_string(hide_password=False)
    matches = match_rows(session, url, rows)
    problems = tuple(m for m in matches if m.building_id is None)
    matched = Counter(m.way for m in matches if m.building_id)
    if problems and not skip_invalid:
        raise RegisterRejected(RegisterReport(path, len(rows), matched, 0, problems))
    by_row = {r.row: r for r in rows}
    values = [
        {
            "b_id": m.building_id,
            "b_households": by_row[m.row].households,
            "b_units": by_row[m.row].units,
            "b_floors": by_row[m.row].floors,
        }
        for m in matches
        if m.building_id
    ]
    if values:
        b = models.Building
        statement = (
            update(b)
            .where(b.building_id == bindparam("b_id"))
            .values(
                households=bindparam("b_households"),
                households_estimated=False,
                households_source="register",
                households_rule=None,
                units=func.coalesce(bindparam("b_units"), b.units),
                floors=func.coalesce(bindparam("b_floors"), b.floors),
            )
        )
        session.connection().execute(statement, values)
    return RegisterReport(path, len(rows), matched, len(values), problems)
