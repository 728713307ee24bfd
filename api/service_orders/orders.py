"""The resident's side (居民点单): placing an order at a place, following it by its receipt,
confirming it done and rating it, cancelling it. Queries never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from api.accounts.roles import Principal
from api.addresses.geocode import reverse
from api.cases import dispatch
from api.cases.intake import NewCase, locate
from api.errors import ConflictError, ForbiddenError
from api.service_orders import catalog, rows, volunteers
from api.storage.models import SRID, ServiceOrder, Station, User
from geo.errors import InputError


@dataclass
class NewOrder:
    """An order as it arrives: a service of a station, a place (lon/lat or an address), and
    the resident: a signed-in account or a phone number."""

    service: str
    station_id: int
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    address: str | None = None
    phone: str | None = None
    note: str | None = None


def _place(session: Session, order: NewOrder, database_url: str | None) -> tuple[float, float]:
    if (order.lon is None) != (order.lat is None):
        raise InputError("请同时给出经度和纬度 (give both lon and lat)")
    if order.lon is None and not order.address:
        raise InputError("请在地图上点选服务地点，或填写地址 (tap the map or type an address)")
    located = NewCase(category=order.service, lon=order.lon, lat=order.lat, crs=order.crs,
                      address=None if order.lon is not None else order.address)  # fmt: skip
    try:
        lon, lat, _ = locate(session, located, database_url=database_url)
    except InputError as exc:
        raise InputError(f"无法确定服务地点 (the place could not be found): {exc}") from None
    return lon, lat


def place(
    session: Session,
    order: NewOrder,
    *,
    resident: Principal | None,
    database_url: str | None,
    tolerance_m: float,
) -> dict:
    """Store the order and post it to its grid's volunteers with the skill; return the order
    with its receipt (the resident's key to follow, confirm and rate it)."""
    spec = catalog.service(order.service)
    station = session.get(Station, order.station_id)
    if station is None:
        raise InputError(f"没有编号为 {order.station_id} 的服务站 (no such station)")
    if spec["code"] not in {s["code"] for s in catalog.offered(station.functions)}:
        msg = f"{station.name} 不提供“{spec['name']}” (the station does not offer this service)"
        raise InputError(msg)
    who = resident.username if resident is not None else None
    if who is None and not order.phone:
        raise InputError("请留下手机号，或先登录 (leave a phone number or sign in)")
    lon, lat = _place(session, order, database_url)
    route = dispatch.route_point(session, lon, lat, tolerance_m=tolerance_m)
    if route.grid_code is None or route.community_code is None:
        msg = f"该地点不在任何网格内，无法派单 (the point {lon:.6f}, {lat:.6f} is in no grid)"
        raise InputError(msg)
    at = rows.now(session)
    values = {
        "service": spec["code"], "station_id": station.id,
        "address": order.address or _nearby_address(session, lon, lat),
        "note": order.note, "grid_code": route.grid_code, "community_code": route.community_code,
        "resident": who, "resident_phone": order.phone, "status": "open", "posted_to": "grid",
        "receipt": rows.new_receipt(), "created_at": at, "updated_at": at,
        "repost_at": at + timedelta(minutes=spec["repost_minutes"]),
        "expires_at": at + timedelta(minutes=spec["expire_minutes"]),
        "geom": func.ST_SetSRID(func.ST_MakePoint(lon, lat), SRID),
    }  # fmt: skip
    order_id = session.execute(insert(ServiceOrder).values(**values).returning(ServiceOrder.id))
    order_id = order_id.scalar_one()
    posted = volunteers.recipients(session, grid_code=route.grid_code,
                                   community_code=route.community_code, skill=spec["skill"],
                                   posted_to="grid")  # fmt: skip
    data = {"grid_code": route.grid_code, "posted_to": "grid", "volunteers": len(posted)}
    rows.event(session, order_id, actor=who or "resident", before=None, after="open",
               action="place", data=data)  # fmt: skip
    return follow(session, rows.load(session, order_id)) | {"receipt": values["receipt"],
                                                             "volunteers": len(posted)}  # fmt: skip


def _nearby_address(session: Session, lon: float, lat: float) -> str | None:
    """For a tapped point: the nearest building's address, marked as near (the volunteer's
    way there)."""
    near = reverse(session, lon, lat).address
    return f"{near}（地图选点附近）" if near else None


def follow(session: Session, order: ServiceOrder) -> dict:
    """What the resident sees: the service and station, the status in words, the steps with
    their times, the rating, and of the volunteer who took it only the display name; no
    usernames, no phone numbers."""
    spec = catalog.services().get(order.service, {})
    station = session.get(Station, order.station_id)
    zh, en = rows.STATUS_TEXT[order.status]
    taker = order.taken_by and session.scalar(
        select(User.display_name).where(User.username == order.taken_by)
    )
    return {
        "id": order.id, "service": order.service, "service_name": spec.get("name"),
        "service_name_en": spec.get("name_en"), "station_id": order.station_id,
        "station_name": station.name if station else None, "address": order.address,
        "status": order.status, "status_text": zh, "status_text_en": en,
        "created_at": order.created_at, "stars": order.stars, "comment": order.comment,
        "volunteer_name": taker or None, "steps": rows.events(session, order.id),
        "allowed": _allowed(order.status),
    }  # fmt: skip


def _allowed(status: str) -> list[str]:
    return {"open": ["cancel"], "taken": ["cancel"], "done": ["confirm"],
            "confirmed": ["rate"]}.get(status, [])  # fmt: skip


def _check_owner(order: ServiceOrder, resident: Principal | None) -> None:
    """A signed-in resident may act on their own orders without the receipt."""
    if resident is None or order.resident != resident.username:
        raise ForbiddenError("这不是您的订单 (not your order)")


def confirm(
    session: Session, order: ServiceOrder, *, stars: int | None, comment: str | None
) -> dict:
    """Confirm a done order and, with `stars` (1–5), rate it; rating a confirmed order later
    is allowed once. The volunteer's points are written in the same transaction."""
    if stars is not None and not 1 <= stars <= 5:
        raise InputError("评分须为 1 到 5 星 (stars must be 1–5)")
    allowed = ("done", "confirmed") if stars is not None else ("done",)
    if order.status not in allowed:
        zh, _ = rows.STATUS_TEXT[order.status]
        raise ConflictError(f"订单当前状态为“{zh}”，不能确认或评价 (order is {order.status})")
    at, before = rows.now(session), order.status
    if before == "done":
        order.status, order.closed_at, order.updated_at = "confirmed", at, at
        rows.event(session, order.id, actor=order.resident or "resident", before="done",
                   after="confirmed", action="confirm")  # fmt: skip
    if stars is not None:
        order.status, order.stars, order.comment, order.updated_at = "rated", stars, comment, at
        rows.event(session, order.id, actor=order.resident or "resident", before="confirmed",
                   after="rated", action="rate", data={"stars": stars})  # fmt: skip
        _award(session, order, stars)
    session.flush()
    return follow(session, order)


def _award(session: Session, order: ServiceOrder, stars: int) -> None:
    from api.points.ledger import award_for_order

    award_for_order(session, order_id=order.id, username=order.taken_by, stars=stars,
                    grid_code=order.grid_code)  # fmt: skip


def cancel(session: Session, order: ServiceOrder, *, actor: str) -> dict:
    """The resident withdraws an order nobody has finished yet."""
    if order.status not in rows.OPEN_STATES:
        zh, _ = rows.STATUS_TEXT[order.status]
        raise ConflictError(f"订单当前状态为“{zh}”，不能取消 (order is {order.status})")
    before, at = order.status, rows.now(session)
    order.status, order.closed_at, order.updated_at = "cancelled", at, at
    rows.event(session, order.id, actor=actor, before=before, after="cancelled", action="cancel")
    session.flush()
    return follow(session, order)


def of_resident(session: Session, resident: Principal, order_id: int, *, lock: bool = False):
    """The signed-in resident's own order `order_id` (404 unknown, 403 someone else's)."""
    order = rows.load(session, order_id, lock=lock)
    _check_owner(order, resident)
    return order


def mine(session: Session, resident: Principal) -> list[dict]:
    """A signed-in resident's orders, newest first."""
    query = select(ServiceOrder).where(ServiceOrder.resident == resident.username)
    found = session.scalars(query.order_by(ServiceOrder.id.desc()).limit(50))
    return [follow(session, o) for o in found]
