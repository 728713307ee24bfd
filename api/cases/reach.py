"""Where a dispatch or reassign may send a case: only inside the caller's own area, and the
case's grid, micro-grid, community and street move together."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.cases.actors import SEES_ALL, Actor
from api.errors import ForbiddenError
from api.storage import models

G, Cm, St = models.Grid, models.Community, models.Street


def grid_place(session: Session, grid_code: str, case: Any) -> dict:
    """The area codes of a case routed to the current grid `grid_code`: its community, street
    and the grid's micro-grid under the case's point (None when none covers it)."""
    community, street = session.execute(
        select(Cm.code, St.code)
        .select_from(G)
        .outerjoin(Cm, Cm.id == G.community_id)
        .outerjoin(St, St.id == Cm.street_id)
        .where(G.code == grid_code, G.valid_to.is_(None))
    ).first() or (None, None)
    micro = None
    if case.geom is not None:
        micro = session.execute(
            select(G.code).where(
                G.parent_code == grid_code,
                G.level == "micro",
                G.valid_to.is_(None),
                func.ST_Covers(G.geom, case.geom),
            )
        ).scalar()
    return {"grid_code": grid_code, "micro_grid_code": micro,
            "community_code": community, "street_code": street}  # fmt: skip


def check_reach(actor: Actor, place: dict) -> None:
    """ForbiddenError unless the actor's area covers `place` (a grid_place answer)."""
    role = actor.role
    if role in SEES_ALL or role == "system":
        return
    ok = (
        (role == "street_admin" and place["street_code"] == actor.street_code)
        or (role == "community_admin" and place["community_code"] == actor.community_code)
        or (role in ("grid_leader", "grid_worker") and place["grid_code"] in actor.grid_codes)
    )
    if not ok:
        msg = (
            f"不能派往本辖区以外的网格 {place['grid_code']}（{place['community_code']} 社区）"
            f" / grid {place['grid_code']} is outside your area"
        )
        raise ForbiddenError(msg)


def worker_place(session: Session, worker_pk: int) -> dict:
    """The community and street of a worker without grids."""
    community, street = session.execute(
        select(Cm.code, St.code)
        .select_from(models.Worker)
        .outerjoin(Cm, Cm.id == models.Worker.community_id)
        .outerjoin(St, St.id == Cm.street_id)
        .where(models.Worker.id == worker_pk)
    ).first() or (None, None)
    return {"grid_code": None, "community_code": community, "street_code": street}
