"""Exchanging points for a reward: the earner asks, the reward's community confirms or refuses.

Points leave the ledger on confirmation; until then a request holds its cost, so the sum of
open requests never exceeds the balance. Every change to one account's points runs under that
account's lock (ledger.lock_account): two requests at once cannot both spend the same points.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.accounts import audit
from api.accounts.roles import Principal
from api.errors import ConflictError, NotFoundError
from api.points import ledger
from api.points.rules import rules
from api.points.scope import check_community, check_earner
from api.storage.models import PointExchange, PointReward


def as_dict(exchange: PointExchange, reward_name: str | None = None) -> dict:
    return {
        "id": exchange.id,
        "account": exchange.account,
        "reward_id": exchange.reward_id,
        "reward": reward_name,
        "community_code": exchange.community_code,
        "cost": exchange.cost,
        "status": exchange.status,
        "requested_at": exchange.requested_at.isoformat(),
        "decided_at": exchange.decided_at.isoformat() if exchange.decided_at else None,
        "note": exchange.note,
    }


def held(session: Session, account: str) -> tuple[int, int]:
    """(points held by open requests, how many are open)."""
    row = session.execute(
        select(func.coalesce(func.sum(PointExchange.cost), 0), func.count()).where(
            PointExchange.account == account, PointExchange.status == "requested"
        )
    ).one()
    return int(row[0]), int(row[1])


def available(session: Session, account: str) -> int:
    """The balance less what open requests hold."""
    return ledger.balance(session, account) - held(session, account)[0]


def request_exchange(session: Session, user: Principal, reward_id: int) -> dict:
    """An open request for the reward; ConflictError when the points (less open requests) or
    the stock do not cover it."""
    check_earner(user)
    reward = session.get(PointReward, reward_id)
    if reward is None or not reward.active:
        raise NotFoundError(f"没有可兑换的奖品 {reward_id} (no reward {reward_id} on offer)")
    ledger.lock_account(session, user.username)
    holds, open_count = held(session, user.username)
    if open_count >= rules().exchange_max_pending:
        msg = (
            f"已有 {open_count} 个兑换申请待确认，请等社区处理后再申请 "
            f"({open_count} requests are still waiting for the community)"
        )
        raise ConflictError(msg)
    spendable = ledger.balance(session, user.username) - holds
    if spendable < reward.cost:
        msg = (
            f"积分不足：可用 {spendable} 分，兑换需要 {reward.cost} 分 "
            f"(not enough points: {spendable} available, {reward.cost} needed)"
        )
        raise ConflictError(msg)
    if reward.stock <= 0:
        raise ConflictError(f"{reward.name} 已兑完 (out of stock)")
    exchange = PointExchange(
        account=user.username,
        reward_id=reward.id,
        community_code=reward.community_code,
        cost=reward.cost,
        status="requested",
    )
    session.add(exchange)
    session.flush()
    session.refresh(exchange)
    out = as_dict(exchange, reward.name)
    audit.record(
        session, user, "points.exchange.request", "point_exchange", exchange.id, {"after": out}
    )
    return out


def decide_exchange(
    session: Session, actor: Principal, exchange_id: int, *, confirm: bool, note: str | None = None
) -> dict:
    """Confirm (the points leave the ledger, the stock falls by one) or refuse an open request."""
    exchange = session.get(PointExchange, exchange_id, with_for_update=True)
    if exchange is None:
        raise NotFoundError(f"没有编号为 {exchange_id} 的兑换申请 (no exchange {exchange_id})")
    check_community(session, actor, exchange.community_code)
    if exchange.status != "requested":
        msg = f"该兑换申请已处理（{exchange.status}） (already {exchange.status})"
        raise ConflictError(msg)
    reward = session.get(PointReward, exchange.reward_id)
    if confirm:
        ledger.lock_account(session, exchange.account)
        if ledger.balance(session, exchange.account) < exchange.cost:
            raise ConflictError("积分不足，无法确认兑换 (the balance no longer covers it)")
        taken = session.execute(
            update(PointReward)
            .where(PointReward.id == exchange.reward_id, PointReward.stock > 0)
            .values(stock=PointReward.stock - 1)
            .returning(PointReward.id)
        ).scalar()
        if taken is None:
            raise ConflictError(f"{reward.name} 已兑完 (out of stock)")
        ledger.add_entry(
            session,
            account=exchange.account,
            points=-exchange.cost,
            kind="exchange",
            source=f"exchange:{exchange.id}",
            community_code=exchange.community_code,
            note=f"兑换 {reward.name}",
            created_by=actor.username,
        )
    exchange.status = "confirmed" if confirm else "refused"
    exchange.decided_at = session.scalar(select(func.now()))
    exchange.decided_by = actor.username
    exchange.note = (note or "").strip()[:500] or None
    session.flush()
    out = as_dict(exchange, reward.name)
    action = "points.exchange.confirm" if confirm else "points.exchange.refuse"
    audit.record(session, actor, action, "point_exchange", exchange.id, {"after": out})
    return out


def list_exchanges(
    session: Session,
    *,
    account: str | None = None,
    communities: list[str] | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[dict]:
    """Requests (of an account, or of communities), newest first, with the reward's name."""
    query = select(PointExchange, PointReward.name).join(
        PointReward, PointReward.id == PointExchange.reward_id
    )
    if account is not None:
        query = query.where(PointExchange.account == account)
    if communities is not None:
        query = query.where(PointExchange.community_code.in_(communities))
    if status is not None:
        query = query.where(PointExchange.status == status)
    query = query.order_by(PointExchange.requested_at.desc(), PointExchange.id.desc())
    return [as_dict(e, name) for e, name in session.execute(query.limit(limit))]
