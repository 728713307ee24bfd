"""The monthly table as CSV (UTF-8 with BOM, for Excel) and as an .xlsx workbook."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook

from api.assessment.formula import formula

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# (key, Chinese header / English header); names first, the code last (a detail)
FIRST = {
    "worker": (("name", "网格员 / worker"), ("community", "社区 / community"),
               ("grid_name", "网格 / grids")),
    "grid": (("grid_name", "网格 / grid"), ("community", "社区 / community"),
             ("households", "户数 / households")),
}  # fmt: skip
LAST = {"worker": ("key", "网格员编号 / worker id"), "grid": ("key", "网格编码 / grid code")}
COLUMNS = (
    ("visits", "走访次数 / visits"),
    ("buildings", "走访楼栋 / buildings visited"),
    ("households_seen", "走访户数 / households seen"),
    ("reported", "信息报送 / cases reported"),
    ("handled", "办结事件 / cases handled"),
    ("median_hours", "办理时长中位数（小时） / median handling hours"),
    ("due", "到期事件 / cases due"),
    ("overdue", "超期事件 / overdue"),
    ("overdue_share", "超期率 / overdue share"),
    ("rating", "居民评价均分 / residents' rating"),
    ("rated", "评价数 / ratings"),
    ("days_present", "出勤天数 / days present"),
    ("workdays", "工作日 / working days"),
    ("attendance", "出勤率 / attendance"),
    ("score", "得分 / score"),
)


def _header(level: str) -> list[tuple[str, str]]:
    return [*FIRST[level], *COLUMNS, LAST[level]]


def _cell(value):
    if isinstance(value, list):
        return "、".join(value)
    return "" if value is None else value


def _safe(value):
    """Text that a spreadsheet would read as a formula is written as plain text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(rows: list[dict], *, level: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    header = _header(level)
    writer.writerow([title for _, title in header])
    for row in rows:
        writer.writerow([_safe(_cell(row.get(key))) for key, _ in header])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict], *, level: str, month: str) -> bytes:
    """A workbook: the table on the first sheet, the formula in words on the second."""
    book = Workbook()
    sheet = book.active
    sheet.title = f"考核 {month}"
    header = _header(level)
    sheet.append([title for _, title in header])
    for row in rows:
        sheet.append([_safe(_cell(row.get(key))) for key, _ in header])
    sheet.freeze_panes = "B2"
    rules = book.create_sheet("计分公式 formula")
    calendar = formula().calendar.words(int(month[:4]), int(month[5:7]))
    for line in (*formula().words(), *calendar):
        rules.append([line])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
