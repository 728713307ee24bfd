"""Service orders over HTTP (居民点单、社区派单、党员接单): the catalog per station and near a
point, placing and following an order, the volunteer's open orders, take, done, confirm and
rate, cancel."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from api.accounts import Principal, Role
from api.deps import CurrentUser, OptionalUser, SessionDep, SettingsDep, require_roles
from api.routes.cases import clean_text
from api.routes.reports import PRIVATE_PAGE
from api.service_orders import catalog, flow, lists, orders, rows, volunteers
from api.storage import map_data
from geo.coords import to_wgs84
from maps.messages import language
from maps.order import build_follow_page, build_order_page
from maps.volunteer import build_volunteer_page


class DocumentedRoute(APIRoute):
    """A route whose OpenAPI summary is its handler's first docstring line (中文 / English)."""

    def __init__(self, path: str, endpoint, **kwargs) -> None:
        if kwargs.get("summary") is None and endpoint.__doc__:
            kwargs["summary"] = endpoint.__doc__.strip().splitlines()[0].rstrip(".")
        super().__init__(path, endpoint, **kwargs)


router = APIRouter(
    prefix="/api/service-orders", tags=["service orders"], route_class=DocumentedRoute
)
pages = APIRouter(tags=["maps"], route_class=DocumentedRoute)
OrderId = Annotated[int, Path(ge=1, le=2**62, description="订单编号 / order id")]
Volunteer = Annotated[Principal, Depends(require_roles(Role.volunteer))]
RECEIPT = r"^[A-Za-z0-9_-]{8,64}$"


def free_text(name: str, max_chars: int):
    """Optional free text: stripped, no control characters, at most `max_chars`."""
    return Annotated[
        str | None, AfterValidator(lambda v: clean_text(v, name=name, max_chars=max_chars))
    ]


AddressText = free_text("address", 200)
NoteText = free_text("note", 500)
CommentText = free_text("comment", 500)


PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,30}$")


class ServiceOut(BaseModel):
    code: str
    name: str
    name_en: str
    description: str
    description_en: str
    skill: str


class StationOut(BaseModel):
    id: int
    code: str
    name: str
    type: str | None
    address: str | None
    opening_hours: str | None
    stars: int | None = Field(description="官方星级 3–5 / the official stars")
    resident_rating: float | None = Field(description="居民评价均分 / residents' average stars")
    ratings: int = Field(description="居民评价次数 / how many ratings")
    distance_m: float | None = None
    lon: float | None = None
    lat: float | None = None
    services: list[ServiceOut]


class OrderIn(BaseModel):
    """一份服务订单：服务、服务站、地点（经纬度或地址）、手机号（未登录时必填）。"""

    model_config = ConfigDict(extra="forbid")
    service: str = Field(min_length=1, max_length=32, description="服务代码 / a service code")
    station_id: int = Field(ge=1, le=2**31 - 1, description="服务站编号 / station id")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    address: AddressText = Field(None, description="地址（不点地图时） / an address instead")
    phone: str | None = Field(None, description="手机号 / phone (personal data)")
    note: NoteText = Field(None, description="需要什么帮助 / what is needed")

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        v = v.strip() if v else None
        if v and not PHONE.match(v):
            raise ValueError("手机号格式不对，请填写数字 (not a phone number)")
        return v


class StepOut(BaseModel):
    at: datetime
    action: str
    status: str
    text: str
    text_en: str


class OrderOut(BaseModel):
    id: int
    service: str
    service_name: str | None
    service_name_en: str | None
    station_id: int
    station_name: str | None
    address: str | None
    status: str
    status_text: str
    status_text_en: str
    created_at: datetime
    stars: int | None
    comment: str | None
    volunteer_name: str | None = Field(
        None, description="接单志愿者的称呼（不含账号、电话） / the taker's display name only"
    )
    steps: list[StepOut]
    allowed: list[str] = Field(description="居民现在可做的操作 / what the resident may do now")


class PlacedOut(OrderOut):
    receipt: str = Field(description="回执：凭它查看、确认、评价 / the key to follow and rate")
    volunteers: int = Field(description="收到派单的志愿者人数 / volunteers it was posted to")


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt: str = Field(pattern=RECEIPT)


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stars: int | None = Field(None, description="1–5 星 / stars")
    comment: CommentText = None


class ConfirmIn(RatingIn, ReceiptIn):
    pass


class ListedOut(BaseModel):
    id: int
    service: str
    service_name: str | None
    service_name_en: str | None
    skill: str | None
    station_id: int
    station_name: str | None
    address: str | None
    note: str | None
    grid_code: str
    status: str
    status_text: str
    status_text_en: str
    posted_to: str = Field(description="grid（本网格）或 community（已扩大到全社区）")
    created_at: datetime
    taken_at: datetime | None
    done_at: datetime | None
    stars: int | None
    lon: float
    lat: float
    distance_m: float | None = None
    resident_phone: str | None = Field(
        None, description="接单后、完成前才显示完整号码 / whole only while the order is taken"
    )
    amap: str | None = Field(None, description="高德地图导航链接 / a link for the map app")


class VolunteerOut(BaseModel):
    """志愿者本人：网格、类别、技能 / the volunteer's own card."""

    username: str
    skills: list[str]
    kind: str = Field(description="party_member（党员双报到）, building_lead（楼栋长）, volunteer")
    kind_name: str
    kind_name_en: str
    grid_name: str = Field(description="社区名 + 网格序号 / community name and grid number")
    grid_code: str
    community_code: str


class TakenOut(BaseModel):
    id: int
    status: str
    taken_by: str | None = None


@router.get("/catalog", response_model=list[StationOut])
def catalog_near(
    session: SessionDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84",
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> list[dict]:
    """附近服务站可点的服务 / the services of the stations nearest a point.

    最近的服务站在前，每站附官方星级和居民评价均分。Nearest first, each with its official
    stars and residents' average rating."""
    x, y = to_wgs84(lon, lat, crs=crs)
    return catalog.near(session, lon=float(x), lat=float(y), limit=limit)


@router.get("/catalog/{station_id}", response_model=StationOut)
def catalog_of_station(
    session: SessionDep, station_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> dict:
    """一个服务站的服务目录 / one station's catalog, stars and residents' rating."""
    return catalog.station(session, station_id)


@router.post("", response_model=PlacedOut, status_code=201)
def place(
    request: Request, session: SessionDep, settings: SettingsDep, body: OrderIn, user: OptionalUser
) -> dict:
    """居民下单 / place an order.

    派给该地点所在网格中具备所需技能的志愿者；返回回执。未登录须留手机号。Posted to the
    volunteers of the place's grid with the needed skill; answers the receipt. Without an
    account a phone number is required."""
    new = orders.NewOrder(**body.model_dump())
    return orders.place(
        session, new, resident=user, database_url=request.app.state.database_url,
        tolerance_m=settings.case_nearest_m,
    )  # fmt: skip


@router.post("/follow", response_model=OrderOut)
def follow(session: SessionDep, body: ReceiptIn) -> dict:
    """凭回执查看订单 / follow an order by its receipt (in the body, never in a URL)."""
    return orders.follow(session, rows.by_receipt(session, body.receipt))


@router.post("/confirm", response_model=OrderOut)
def confirm(session: SessionDep, body: ConfirmIn) -> dict:
    """确认完成并评价 / confirm done and rate (1–5 stars, a comment) by the receipt.

    评价后志愿者获得红色积分（同一事务）。The volunteer's red points are written in the same
    transaction."""
    order = rows.by_receipt(session, body.receipt, lock=True)
    return orders.confirm(session, order, stars=body.stars, comment=body.comment)


@router.post("/cancel", response_model=OrderOut)
def cancel(session: SessionDep, body: ReceiptIn) -> dict:
    """取消订单（未完成时） / cancel an order not yet done, by the receipt."""
    order = rows.by_receipt(session, body.receipt, lock=True)
    return orders.cancel(session, order, actor=order.resident or "resident")


@router.get("/mine", response_model=list[OrderOut])
def my_orders(session: SessionDep, user: CurrentUser) -> list[dict]:
    """我的服务单 / the signed-in resident's own orders, newest first.

    只列出本人账号下的订单（下单时由服务器按登录账号记录，不接受客户端传来的身份）；接单志愿者
    只显示称呼。Only the orders placed while signed in as this account (linked on the server,
    never from a client-sent id); of the volunteer only the display name."""
    return orders.mine(session, user)


@router.post("/{order_id}/confirm", response_model=OrderOut)
def confirm_mine(session: SessionDep, user: CurrentUser, order_id: OrderId, body: RatingIn) -> dict:
    """确认完成并评价（登录居民） / confirm done and rate one's own order, signed in.

    与凭回执确认相同，但凭登录账号：只能是本人的订单（他人的为 403）。As the receipt's
    confirm, by the account instead: only one's own order (403 for someone else's)."""
    order = orders.of_resident(session, user, order_id, lock=True)
    return orders.confirm(session, order, stars=body.stars, comment=body.comment)


@router.post("/{order_id}/cancel", response_model=OrderOut)
def cancel_mine(session: SessionDep, user: CurrentUser, order_id: OrderId) -> dict:
    """取消本人的订单（登录居民） / cancel one's own order not yet done, signed in."""
    order = orders.of_resident(session, user, order_id, lock=True)
    return orders.cancel(session, order, actor=user.username)


@router.get("/open", response_model=list[ListedOut])
def open_orders(
    session: SessionDep,
    user: Volunteer,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
) -> list[dict]:
    """志愿者附近的待接订单 / open orders posted to the signed-in volunteer.

    本网格的在前，再按距离（给出位置时离本人，否则离网格）。不含居民手机号。Their grid's
    first, then nearest; no phone numbers."""
    if (lon is None) != (lat is None):
        lon = lat = None
    return lists.open_for(session, user.username, lon=lon, lat=lat)


@router.get("/volunteer", response_model=VolunteerOut)
def volunteer_card(session: SessionDep, user: Volunteer) -> dict:
    """志愿者本人的网格、类别和技能 / the signed-in volunteer's grid, kind and skills."""
    return volunteers.profile(session, user.username)


@router.get("/taken", response_model=list[ListedOut])
def taken(session: SessionDep, user: Volunteer) -> list[dict]:
    """我接的订单 / the volunteer's own orders (the phone whole while taken, else masked)."""
    return lists.taken_by(session, user.username)


@router.get("/community", response_model=list[ListedOut])
def community(session: SessionDep, user: CurrentUser) -> list[dict]:
    """本社区的服务订单（社区管理员） / the community's orders, for its admin."""
    return lists.of_community(session, user)


@router.post("/{order_id}/take", response_model=TakenOut)
def take(session: SessionDep, user: Volunteer, order_id: OrderId) -> dict:
    """接单（先到先得，只能一人） / take an order: first come, exactly once (409 if late)."""
    return flow.take(session, order_id, user.username)


@router.post("/{order_id}/done", response_model=TakenOut)
def done(session: SessionDep, user: Volunteer, order_id: OrderId) -> dict:
    """标记完成 / mark a taken order done; the resident is asked to confirm and rate."""
    return flow.done(session, order_id, user.username)


@pages.get("/map/order", response_class=HTMLResponse)
def order_page(
    session: SessionDep, settings: SettingsDep, lang: Annotated[str, Query()] = "zh"
) -> HTMLResponse:
    """居民点单页（手机） / the resident's ordering page (phone first)."""
    codes = map_data.communities_of(session, street=None, community=None)
    view = {"tiles": settings.tile_url, "attribution": settings.tile_attribution,
            "bounds": map_data.extent(session, codes)}  # fmt: skip
    html = build_order_page(view, lang=language(lang))
    return HTMLResponse(html, headers=PRIVATE_PAGE)


@pages.get("/map/order/status", response_class=HTMLResponse)
def follow_page(lang: Annotated[str, Query()] = "zh") -> HTMLResponse:
    """订单进度页 / the order's status page (the receipt stays after #, never sent).

    回执在 # 之后，不发给服务器，也不进日志。"""
    return HTMLResponse(build_follow_page(lang=language(lang)), headers=PRIVATE_PAGE)


@pages.get("/map/volunteer", response_class=HTMLResponse)
def volunteer_page(lang: Annotated[str, Query()] = "zh") -> HTMLResponse:
    """志愿者接单页（手机） / the volunteer's phone page."""
    return HTMLResponse(build_volunteer_page(lang=language(lang)), headers=PRIVATE_PAGE)
