"""红色积分 Red points: my balance and history, rewards, exchanges; the community's activities,
confirmations, rewards and ranking. Thin handlers over api/points."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.accounts import Principal
from api.deps import CurrentUser, SessionDep, require_roles
from api.points import activities, exchanges, ledger, people, rankings, rewards, scope
from api.points.rules import rules
from api.routes.reports import PRIVATE_PAGE
from api.validation import Identifier, Line, Text
from maps.messages import language
from maps.points import build_community_points_page, build_points_page

router = APIRouter(prefix="/api/points", tags=["points 红色积分"])
pages = APIRouter(tags=["maps"])
Staff = Annotated[Principal, Depends(require_roles(*scope.STAFF))]
Community = Annotated[str, Query(pattern=r"^[0-9]{12}$", description="社区编码 community code")]
MAX_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]


class EntryOut(BaseModel):
    id: int
    points: int = Field(description="积分，兑换为负 (signed: an exchange is negative)")
    kind: str = Field(description="order 服务订单 / activity 活动 / case_report 反映问题属实 / "
                                  "exchange 兑换 / adjustment 调整")  # fmt: skip
    note: str | None
    created_at: str


class MineOut(BaseModel):
    username: str
    balance: int = Field(description="余额 (the sum of the ledger)")
    available: int = Field(description="可用：余额减去待确认的兑换 (less open requests)")
    entries: list[EntryOut]
    exchanges: list[dict]


class RewardIn(BaseModel):
    community_code: str = Field(pattern=r"^[0-9]{12}$")
    name: Line = Field(max_length=100)
    cost: int = Field(ge=1, le=100_000, description="所需积分 points needed")
    stock: int = Field(ge=0, le=100_000, description="库存 how many are left")


class RewardPatch(BaseModel):
    name: Line | None = Field(None, max_length=100)
    cost: int | None = Field(None, ge=1, le=100_000)
    stock: int | None = Field(None, ge=0, le=100_000)
    active: bool | None = Field(None, description="是否可兑换 on offer")


class ExchangeIn(BaseModel):
    reward_id: int = Field(ge=1, le=MAX_ID)


class DecisionIn(BaseModel):
    confirm: bool = Field(description="true 确认（扣除积分）/ false 拒绝 (confirm or refuse)")
    note: Text | None = Field(None, max_length=500)


class ParticipantIn(BaseModel):
    username: Identifier
    points: int | None = Field(None, ge=1, le=1000, description="不填则按规则默认 (rules default)")


class ActivityIn(BaseModel):
    community_code: str = Field(pattern=r"^[0-9]{12}$")
    name: Line = Field(max_length=100)
    held_on: date
    participants: list[ParticipantIn] = Field(min_length=1, max_length=500)


@router.get("/me", response_model=MineOut, summary="我的积分 My balance and history")
def my_points(session: SessionDep, user: CurrentUser) -> MineOut:
    """我的余额、最近 100 条积分记录和兑换申请；每人只能看到自己的。
    My balance, my latest 100 entries and my exchange requests (only one's own)."""
    entries = [
        EntryOut(id=e.id, points=e.points, kind=e.kind, note=e.note,
                 created_at=e.created_at.isoformat())
        for e in ledger.history(session, user.username)
    ]  # fmt: skip
    return MineOut(
        username=user.username,
        balance=ledger.balance(session, user.username),
        available=exchanges.available(session, user.username),
        entries=entries,
        exchanges=exchanges.list_exchanges(session, account=user.username, limit=20),
    )


@router.get("/rewards", summary="可兑换的奖品 Rewards on offer")
def list_rewards(
    session: SessionDep, user: CurrentUser, community: Community | None = None
) -> list[dict]:
    """某社区正在提供的奖品：名称、所需积分、库存；不指定社区时，为本人所在或得过积分的社区
    （都没有则全部）。The rewards on offer in one community; without one, in the communities
    the account belongs to or earned points in (all when none)."""
    if community:
        return rewards.list_rewards(session, [community])
    return rewards.list_rewards(
        session, people.communities_of_account(session, user.username) or None
    )


@router.post("/exchanges", status_code=201, summary="申请兑换 Request an exchange")
def request_exchange(session: SessionDep, user: CurrentUser, body: ExchangeIn) -> dict:
    """居民或志愿者申请用积分兑换奖品；社区确认后才扣分。可用积分不足、库存为零时 409。
    A resident or volunteer asks for a reward; points leave on the community's confirmation.
    409 when the available points or the stock do not cover it."""
    return exchanges.request_exchange(session, user, body.reward_id)


@router.get("/community/exchanges", summary="社区：兑换申请 The community's requests")
def community_exchanges(
    session: SessionDep,
    user: Staff,
    community: Community,
    status: Annotated[str | None, Query(pattern="^(requested|confirmed|refused)$")] = None,
) -> list[dict]:
    """本社区的兑换申请（社区管理员本社区，街道管理员本街道）。申请人以姓名显示。
    The community's exchange requests (community admins: their own; street admins: their
    street's); the account is shown with its display name."""
    scope.check_community(session, user, community)
    out = exchanges.list_exchanges(session, communities=[community], status=status)
    names = people.display_names(session, sorted({e["account"] for e in out}))
    return [e | {"name": names.get(e["account"], e["account"])} for e in out]


@router.post("/exchanges/{exchange_id}/decision", summary="社区：确认或拒绝兑换 Decide")
def decide_exchange(session: SessionDep, user: Staff, exchange_id: RowId, body: DecisionIn) -> dict:
    """确认（扣除积分、库存减一）或拒绝一个待确认的兑换申请；已处理的 409。
    Confirm (the points leave the ledger, the stock falls by one) or refuse an open request;
    409 when it was already decided."""
    return exchanges.decide_exchange(
        session, user, exchange_id, confirm=body.confirm, note=body.note
    )


@router.post("/rewards", status_code=201, summary="社区：新增奖品 Add a reward")
def create_reward(session: SessionDep, user: Staff, body: RewardIn) -> dict:
    """在本社区上架一个奖品。Lists a reward of the community."""
    return rewards.create_reward(
        session, user, community_code=body.community_code, name=body.name, cost=body.cost,
        stock=body.stock,
    )  # fmt: skip


@router.patch("/rewards/{reward_id}", summary="社区：修改奖品 Change a reward")
def update_reward(session: SessionDep, user: Staff, reward_id: RowId, body: RewardPatch) -> dict:
    """改名称、所需积分、库存或下架。Name, cost, stock, or take it off offer."""
    return rewards.update_reward(session, user, reward_id, body.model_dump(exclude_none=True))


@router.get("/community/rewards", summary="社区：全部奖品 All the community's rewards")
def community_rewards(session: SessionDep, user: Staff, community: Community) -> list[dict]:
    """本社区的奖品，含已下架的。The community's rewards, off-offer ones included."""
    scope.check_community(session, user, community)
    return rewards.list_rewards(session, [community], only_active=False)


@router.post("/activities", status_code=201, summary="社区：登记活动 Record an activity")
def record_activity(session: SessionDep, user: Staff, body: ActivityIn) -> dict:
    """登记一次活动和参加人，每人得分（不填按规则默认）。参加人须为居民或志愿者账号；
    有一个不对则整单不写入。Records an activity and its participants' points (the rules'
    default where none is given); nothing is written when any participant is unknown."""
    participants = [activities.Participant(p.username, p.points) for p in body.participants]
    activity_id = activities.record_activity(
        session, user, community_code=body.community_code, name=body.name,
        held_on=body.held_on, participants=participants,
    )  # fmt: skip
    return {"id": activity_id, "participants": len(participants)}


@router.get("/activities", summary="社区：活动记录 The community's activities")
def list_activities(session: SessionDep, user: Staff, community: Community) -> list[dict]:
    """本社区的活动，最近的在前，含参加人姓名和得分。Newest first, with names and points."""
    scope.check_community(session, user, community)
    return activities.list_activities(session, community)


@router.get("/community/people", summary="社区：居民和志愿者 Who may take part")
def community_people(session: SessionDep, user: Staff, community: Community) -> list[dict]:
    """本社区的居民和志愿者账号（登记活动时选择参加人）。Residents and volunteers of the
    community, to pick participants from."""
    scope.check_community(session, user, community)
    return people.of_community(session, community)


@router.get("/ranking", summary="积分排行 Ranking per grid")
def ranking(session: SessionDep, user: Staff, community: Community) -> dict:
    """按获得的积分排行（兑换不降低名次）：志愿者按所在网格，居民按社区；只显示姓名和积分。
    Ranked by points earned: volunteers per grid, residents per community; name and points
    only."""
    scope.check_community(session, user, community)
    return rankings.ranking(session, community)


@router.get("/communities", summary="我管理的社区 My communities")
def my_communities(session: SessionDep, user: Staff) -> list[dict]:
    """社区管理员：本社区；街道管理员：本街道各社区；管理员：全部。"""
    return scope.communities_of(session, user)


@pages.get("/map/points", response_class=HTMLResponse)
def points_page(lang: Annotated[str, Query()] = "zh") -> HTMLResponse:
    """我的积分（手机） / my red points (phone first)."""
    return HTMLResponse(build_points_page(lang=language(lang)), headers=PRIVATE_PAGE)


@pages.get("/map/points/community", response_class=HTMLResponse)
def community_points_page(lang: Annotated[str, Query()] = "zh") -> HTMLResponse:
    """社区积分管理（电脑） / the community's red-points desk."""
    html = build_community_points_page(lang=language(lang), default_points=rules().activity_default)
    return HTMLResponse(html, headers=PRIVATE_PAGE)
