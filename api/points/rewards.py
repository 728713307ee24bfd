"""The rewards a community lists for points: name, cost, stock, on offer or not."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts import audit
from api.accounts.roles import Principal
from api.errors import NotFoundError
from api.points.scope import check_community
from api.storage.models import PointReward
from geo.errors import InputError

FIELDS = ("name", "cost", "stock", "active")


def as_dict(reward: PointReward) -> dict:
    return {
        "id": reward.id,
        "community_code": reward.community_code,
        "name": reward.name,
        "cost": reward.cost,
        "stock": reward.stock,
        "active": reward.active,
    }


def _check(values: dict) -> None:
    name = values.get("name")
    if name is not None and (not name.strip() or len(name) > 100):
        raise InputError("奖品名称不能为空，最多 100 字 (a reward needs a name of 1–100 chars)")
    if values.get("cost") is not None and not 1 <= values["cost"] <= 100_000:
        raise InputError("所需积分应为 1–100000 (the cost must be 1–100000 points)")
    if values.get("stock") is not None and not 0 <= values["stock"] <= 100_000:
        raise InputError("库存应为 0–100000 (the stock must be 0–100000)")


def create_reward(
    session: Session, actor: Principal, *, community_code: str, name: str, cost: int, stock: int
) -> dict:
    check_community(session, actor, community_code)
    _check({"name": name, "cost": cost, "stock": stock})
    reward = PointReward(community_code=community_code, name=name.strip(), cost=cost, stock=stock)
    session.add(reward)
    session.flush()
    after = as_dict(reward) | {"active": True}
    audit.record(
        session, actor, "points.reward.create", "point_reward", reward.id, {"after": after}
    )
    return after


def update_reward(session: Session, actor: Principal, reward_id: int, changes: dict) -> dict:
    """Change a reward's name, cost, stock or whether it is on offer."""
    reward = session.get(PointReward, reward_id, with_for_update=True)
    if reward is None:
        raise NotFoundError(f"没有编号为 {reward_id} 的奖品 (no reward {reward_id})")
    check_community(session, actor, reward.community_code)
    changes = {k: v for k, v in changes.items() if k in FIELDS and v is not None}
    _check(changes)
    before = as_dict(reward)
    for key, value in changes.items():
        setattr(reward, key, value.strip() if key == "name" else value)
    session.flush()
    detail = {"before": before, "after": as_dict(reward)}
    audit.record(session, actor, "points.reward.update", "point_reward", reward_id, detail)
    return as_dict(reward)


def list_rewards(
    session: Session, communities: list[str] | None, *, only_active: bool = True
) -> list[dict]:
    """Rewards of `communities` (all when None), cheapest first."""
    query = select(PointReward).order_by(PointReward.cost, PointReward.id)
    if communities is not None:
        query = query.where(PointReward.community_code.in_(communities))
    if only_active:
        query = query.where(PointReward.active.is_(True))
    return [as_dict(r) for r in session.scalars(query.limit(200))]
