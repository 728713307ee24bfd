"""走访与月度考核 Household visits and the grid workers' monthly assessment.

POST /api/visits (a worker records a visit), GET /api/visits/mine, GET /api/assessment (JSON)
and GET /api/assessment/export (CSV or Excel), GET /api/assessment/formula."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.assessment import export, visits
from api.assessment.formula import formula
from api.assessment.monthly import Month as MonthSpan
from api.assessment.monthly import monthly_table, parse_month
from api.assessment.scope import scope_for
from api.deps import CurrentUser, SessionDep
from maps.assessment import build_assessment_page

router = APIRouter(tags=["assessment 走访与考核"])

MONTH_HELP = "月份 YYYY-MM（默认本月） / the month, YYYY-MM (this month by default)"
AREA_HELP = "区域编码：街道 9 位、社区 12 位、网格 15 位 / a street, community or grid code"
Month = Annotated[str | None, Query(description=MONTH_HELP, pattern=r"^\d{4}-\d{2}$")]
Area = Annotated[str | None, Query(description=AREA_HELP, pattern=r"^[0-9]{6,15}$")]
Level = Annotated[
    Literal["worker", "grid"], Query(description="按网格员或按网格 / per worker or per grid")
]


class VisitIn(BaseModel):
    """一次入户走访 / one household visit, with the phone's location (WGS-84)."""

    building_id: str = Field(min_length=1, max_length=64, description="楼栋编号 / building id")
    lon: float = Field(ge=-180, le=180, description="手机定位经度 / the phone's longitude")
    lat: float = Field(ge=-90, le=90, description="手机定位纬度 / the phone's latitude")
    accuracy_m: float | None = Field(None, ge=0, description="定位精度（米） / accuracy in m")
    households_seen: int = Field(0, ge=0, description="走访户数 / households seen")
    note: str | None = Field(None, max_length=1000, description="备注 / a short note")
    visited_at: datetime | None = Field(None, description="走访时间（默认现在） / default now")


class VisitOut(BaseModel):
    id: int
    building_id: str
    building_name: str | None = Field(
        description="楼栋名称（无名楼栋附近路名、网格内序号） / "
        "the building's title, with a hint for an unnamed one"
    )
    building_name_en: str | None = Field(description="the same title in English")
    building_lon: float | None = Field(description="楼栋位置经度 / the building's longitude")
    building_lat: float | None = Field(description="楼栋位置纬度 / the building's latitude")
    building_outline: dict | None = Field(
        description="楼栋轮廓（GeoJSON，无轮廓时为点） / outline (GeoJSON; a point without one)"
    )
    grid_code: str | None
    visited_at: datetime
    distance_m: float = Field(description="到楼栋轮廓的距离（米） / metres to the footprint")
    accuracy_m: float | None
    status: Literal["accepted", "flagged"]
    accepted: bool
    flag_reason: Literal["too_far", "low_accuracy"] | None
    message: str = Field(description="给网格员看的结果 / the answer shown on the phone")
    message_en: str = Field(description="the same answer in English")
    households_seen: int
    note: str | None


class Row(BaseModel):
    """One row: a worker (key = worker id) or a grid (key = grid code)."""

    key: str = Field(description="网格员编号或网格编码（明细） / worker id or grid code")
    name: str | None = Field(description="网格员姓名或网格名称 / the worker's or grid's name")
    community_code: str | None
    community: str | None = Field(description="社区名称 / the community's name")
    grid_name: str = Field(description="网格名称（社区 + 第N网格） / the grid's name, or names")
    grid_codes: list[str] = []
    households: int | None = None
    visits: int
    buildings: int
    households_seen: int
    reported: int
    handled: int
    median_hours: float | None
    due: int
    overdue: int
    overdue_share: float | None
    rating: float | None
    rated: int
    days_present: float
    workdays: int
    attendance: float | None
    workers: int
    score: float


class FormulaOut(BaseModel):
    words: list[str] = Field(description="计分公式（文字） / the formula in words")
    max_distance_m: float
    max_accuracy_m: float
    repeat_minutes: int


class TableOut(BaseModel):
    month: str
    level: Literal["worker", "grid"]
    area: str | None
    formula: FormulaOut
    rows: list[Row]


def _now() -> datetime:
    return datetime.now(UTC)


def _formula(month: MonthSpan | None = None) -> FormulaOut:
    """The formula in words; with a month, its working-day rule and holidays after it."""
    rules = formula()
    v = rules.visit
    days = [] if month is None else rules.calendar.words(month.first.year, month.first.month)
    return FormulaOut(
        words=[*rules.words(), *days],
        max_distance_m=v.max_distance_m,
        max_accuracy_m=v.max_accuracy_m,
        repeat_minutes=v.repeat_minutes,
    )


@router.post(
    "/api/visits",
    summary="记录走访 / record a household visit",
    response_model=VisitOut,
    status_code=201,
    responses={
        403: {"description": "不是网格员，或楼栋不在其网格内 / not a worker, or not their grid"},
        404: {"description": "没有这栋楼 / unknown building"},
        409: {"description": "几分钟内重复记录 / the same building again within minutes"},
        422: {"description": "时间在未来或太久以前、户数或备注不合规 / bad time, count or note"},
    },
)
def record_visit(session: SessionDep, user: CurrentUser, body: VisitIn) -> dict:
    """记录一次入户走访（网格员、网格长）。手机定位与楼栋轮廓比对：超出配置距离或定位精度太差的
    走访照样保存，但标记为 flagged、不计入考核，并立即告知距离。

    Record a visit (grid workers and leaders). The phone's location is checked against the
    building's footprint: too far, or a poor fix, is stored as flagged (not counted) and the
    answer says how far."""
    visit = visits.VisitIn(**body.model_dump())
    return visits.record_visit(session, user, visit, now=_now())


@router.get("/api/visits/mine", summary="我的走访 / my visits", response_model=list[VisitOut])
def my_visits(session: SessionDep, user: CurrentUser, month: Month = None) -> list[dict]:
    """我本月（或指定月份）的走访，最新在前 / my visits in the month, newest first."""
    span = parse_month(month, now=_now())
    return visits.my_visits(session, user, start=span.start, end=span.end)


@router.get(
    "/api/assessment/formula", summary="计分公式 / the score formula", response_model=FormulaOut
)
def assessment_formula(user: CurrentUser) -> FormulaOut:
    """计分公式与走访规则（data/assessment.toml） / the formula and the visit rules."""
    return _formula()


def _table(session, user, month: str | None, level: str, area: str | None):
    now = _now()
    span = parse_month(month, now=now)
    scope = scope_for(user, level=level, area=area)
    return span, monthly_table(session, month=span, level=level, scope=scope, now=now)


@router.get(
    "/api/assessment",
    summary="月度考核表 / the monthly assessment table",
    response_model=TableOut,
    responses={403: {"description": "角色或区域无权查看 / role or area not allowed"}},
)
def assessment(
    session: SessionDep, user: CurrentUser, month: Month = None, level: Level = "worker",
    area: Area = None,
) -> TableOut:  # fmt: skip
    """月度考核表：按网格员或按网格，含走访、信息报送、办结及时长、超期率、居民评价、出勤与得分。
    网格员只见本人，网格长见本网格的网格员，社区、街道管理员见本辖区，管理员见全部。不含居民个人信息。

    The monthly table per worker or per grid. A worker sees their own row, a grid leader their
    grids' workers, a community or street admin their area, the admin everything; no personal
    data of residents."""
    span, rows = _table(session, user, month, level, area)
    return TableOut(
        month=span.label, level=level, area=area, formula=_formula(span),
        rows=[Row(**r) for r in rows],
    )  # fmt: skip


@router.get(
    "/api/assessment/export",
    summary="导出考核表（CSV、Excel） / export the table",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {}, export.XLSX: {}},
            "description": "CSV（UTF-8，带 BOM）或 Excel / CSV (UTF-8 with BOM) or Excel",
        }
    },
)
def assessment_export(
    session: SessionDep, user: CurrentUser, month: Month = None, level: Level = "worker",
    area: Area = None, format: Literal["csv", "xlsx"] = "xlsx",  # noqa: A002
) -> Response:  # fmt: skip
    """导出月度考核表（与 /api/assessment 同样的行与权限） / the same table as a file."""
    span, rows = _table(session, user, month, level, area)
    name = f"assessment-{level}-{span.label}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        body = export.to_csv(rows, level=level)
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
    body = export.to_xlsx(rows, level=level, month=span.label)
    return Response(body, media_type=export.XLSX, headers=headers)


@router.get(
    "/map/assessment",
    summary="考核页面 / the assessment page",
    response_class=HTMLResponse,
    tags=["maps"],
)
def assessment_page(
    month: Month = None, lang: Annotated[str, Query(description="zh（默认）或 en")] = "zh"
) -> HTMLResponse:
    """网格员月度考核页面（街道、社区桌面端） / the monthly assessment page (desktop)."""
    label = parse_month(month, now=_now()).label
    return HTMLResponse(build_assessment_page(month=label, lang=lang))
