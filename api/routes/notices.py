"""District notices (区域通知): send to an area, the notices of the signed-in person,
acknowledge with households reached, and a notice's progress as GeoJSON for the live map."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import AfterValidator, BaseModel, Field

from api import notices
from api.accounts import Principal
from api.deps import CurrentUser, SessionDep, SettingsDep, require_roles
from api.notices.area import SENDER_ROLES
from api.notices.progress import sent_by
from api.routes.grids import GeoJSONResponse
from api.storage import map_data
from api.validation import Line, Text, check_geojson_geometry
from maps.messages import language
from maps.notices import build_notices_map

router = APIRouter(prefix="/api/notices", tags=["notices"])
page_router = APIRouter(tags=["maps"])
Sender = Annotated[Principal, Depends(require_roles(*SENDER_ROLES))]
NoticeId = Annotated[int, Path(ge=1, le=2**62, description="通知编号 / notice id")]


def _polygon(value: dict | None):
    if value is None:
        return None
    try:
        return check_geojson_geometry(value, kinds=("Polygon", "MultiPolygon"))
    except ValueError as exc:
        raise ValueError(f"画出的范围无效，请重新画 ({exc})") from None


class AreaIn(BaseModel):
    """通知范围：以下各项的并集 / the area: the union of all parts given."""

    district: str | None = Field(None, pattern=r"^[0-9]{6}$", description="全区：区县编码")
    streets: list[Annotated[str, Field(pattern=r"^[0-9]{9}$")]] = Field(
        [], max_length=200, description="街道编码"
    )
    communities: list[Annotated[str, Field(pattern=r"^[0-9]{12}$")]] = Field(
        [], max_length=2000, description="社区编码"
    )
    grids: list[Annotated[str, Field(pattern=r"^[0-9]{15}$")]] = Field(
        [], max_length=20000, description="网格编码（网格级）"
    )
    polygon: Annotated[dict | None, AfterValidator(_polygon)] = Field(
        None, description="在地图上画出的范围：GeoJSON Polygon/MultiPolygon (WGS-84)"
    )


class NoticeIn(BaseModel):
    title: Annotated[Line, Field(max_length=100)] = Field(description="标题 / title")
    body: Annotated[Text, Field(min_length=1, max_length=2000)] = Field(description="正文")
    level: Literal["routine", "emergency"] = Field(description="routine 日常 / emergency 紧急")
    area: AreaIn
    confirm: bool = Field(False, description="紧急通知须为 true / must be true for emergencies")


class SentOut(BaseModel):
    id: int
    grids: int = Field(description="范围内的网格数")
    people: int = Field(description="收到通知的责任人数")
    sent_at: str


class AreaOut(BaseModel):
    area_code: str
    role: str
    households: int = Field(description="负责户数 / households answered for")
    note: str | None = Field(None, description="说明，如楼栋长未登记楼栋 / e.g. no building known")


class MyNoticeOut(BaseModel):
    id: int
    title: str
    body: str
    level: str
    sender: str
    sender_name: str = Field(description="发送人姓名（无则为账号） / the sender's display name")
    sent_at: datetime
    acknowledged: bool
    acknowledged_at: datetime | None
    households: int = Field(description="您负责的户数")
    households_reached: int | None
    areas: list[AreaOut]


class AckIn(BaseModel):
    households_reached: int = Field(ge=0, le=1_000_000, description="已通知到的户数")


class AckOut(BaseModel):
    notice_id: int
    households: int
    households_reached: int


class SentNoticeOut(BaseModel):
    id: int
    title: str
    level: str
    sender: str
    sent_at: datetime
    grids: int


@router.post("", status_code=201, response_model=SentOut)
def send(body: NoticeIn, session: SessionDep, user: Sender) -> SentOut:
    """发送通知：范围解析为网格，沿网格树逐级下发给每位责任人（社区管理员、网格长、网格员、
    楼栋长、志愿者），在同一事务中写入消息发件箱。街道管理员只能发本街道，管理员可发全区；
    紧急通知须 `confirm: true`。Send a notice down the grid tree to every responsible person."""
    area = notices.Area(
        district=body.area.district,
        streets=body.area.streets,
        communities=body.area.communities,
        grids=body.area.grids,
        polygon=body.area.polygon,
    )
    sent = notices.send_notice(
        session, user, title=body.title, body=body.body, level=body.level, area=area,
        confirm=body.confirm,
    )  # fmt: skip
    return SentOut(id=sent.id, grids=sent.grids, people=sent.people, sent_at=sent.sent_at)


@router.get("/mine", response_model=list[MyNoticeOut])
def mine(session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    """我的通知：未确认的在前（紧急优先），再按时间倒序；列出即记为已送达。
    The signed-in person's notices, unacknowledged first."""
    return notices.notices_for(session, user)


@router.post("/{notice_id}/ack", response_model=AckOut)
def acknowledge(notice_id: NoticeId, body: AckIn, session: SessionDep, user: CurrentUser):
    """确认收到，并填写已通知到的户数（不超过本人负责的户数）。
    Acknowledge with the households reached (at most those you answer for)."""
    return notices.acknowledge(session, user, notice_id, body.households_reached)


@router.get("/sent", response_model=list[SentNoticeOut])
def sent(session: SessionDep, user: Sender) -> list[dict[str, Any]]:
    """已发送的通知（管理员：全部），新的在前。The notices you sent, newest first."""
    return sent_by(session, user)


@router.get("/{notice_id}/progress", response_class=GeoJSONResponse)
def progress(notice_id: NoticeId, session: SessionDep, user: CurrentUser) -> GeoJSONResponse:
    """通知进度（GeoJSON）：每个网格的负责户数、已通知户数及比例、责任人与确认人数；
    `notice` 为总计和发送后经过的秒数，`pending` 为尚未确认的人。
    Progress per grid as GeoJSON, with totals and who has not acknowledged."""
    return GeoJSONResponse(notices.progress(session, user, notice_id))


@page_router.get("/map/notices", response_class=HTMLResponse)
def notices_page(
    session: SessionDep,
    settings: SettingsDep,
    lang: Annotated[str, Query(description="zh (default) or en")] = "zh",
) -> HTMLResponse:
    """街道办的区域通知页面（桌面）：撰写、选择范围、发送，并在地图上跟踪进度。
    The street office's notices page; everything after sign-in comes from the API."""
    areas = map_data.areas(session)
    codes = [a["code"] for a in areas]
    m = build_notices_map(
        areas=[{k: a[k] for k in ("code", "name", "street_code", "street_name")} for a in areas],
        bounds=map_data.extent(session, codes),
        lang=language(lang),
        tiles=settings.tile_url,
        attribution=settings.tile_attribution,
    )
    return HTMLResponse(m.get_root().render())
