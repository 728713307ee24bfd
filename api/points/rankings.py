"""Rankings by points earned (exchanges do not lower a rank): volunteers per grid, residents per
community. A ranking shows the name and the points only."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.points import people
from api.points.ledger import volunteer_grid
from api.storage.models import PointsEntry, User


def ranking(session: Session, community_code: str, *, top: int = 20) -> dict:
    """{"grids": [{"grid_code", "grid_name", "people": [{"rank", "name", "points"}]}],
    "residents": [...]} from the points earned in the community."""
    earned = func.sum(PointsEntry.points).filter(PointsEntry.points > 0)
    rows = session.execute(
        select(PointsEntry.account, User.role, earned)
        .join(User, User.username == PointsEntry.account)
        .where(PointsEntry.community_code == community_code)
        .group_by(PointsEntry.account, User.role)
        .having(earned > 0)
    ).all()
    names = people.display_names(session, [r.account for r in rows])
    by_grid: dict[str, list[tuple[int, str]]] = {}
    residents: list[tuple[int, str]] = []
    for account, role, points in rows:
        item = (int(points), names.get(account, account))
        if role == "volunteer":
            by_grid.setdefault(volunteer_grid(session, account) or "", []).append(item)
        else:
            residents.append(item)
    named = people.grid_names(session, [g or None for g in by_grid])
    grids = [
        {"grid_code": grid or None, "grid_name": named[grid or None], "people": _ranked(items, top)}
        for grid, items in sorted(by_grid.items())
    ]
    return {"community_code": community_code, "grids": grids, "residents": _ranked(residents, top)}


def _ranked(items: list[tuple[int, str]], top: int) -> list[dict]:
    """Highest first; equal points share a rank (1, 2, 2, 4)."""
    items = sorted(items, key=lambda i: (-i[0], i[1]))[:top]
    out, rank = [], 0
    for n, (points, name) in enumerate(items, start=1):
        if n == 1 or points != items[n - 2][0]:
            rank = n
        out.append({"rank": rank, "name": name, "points": points})
    return out
