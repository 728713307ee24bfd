"""The demo's accounts: one per role, all with the password DEMO_PASSWORD (listed in README.md).

Made after the grids and before the sample cases are routed and advanced. The grid worker and
the grid leader are the dataset's own full-time worker and leader of the grid holding the most
stored reports (by location; else the grid with the most households), so dispatch hands them
some of the sample cases and every grid keeps one leader; without such workers (Xuanwu) new
worker rows named after the accounts serve that grid (the leader: every grid of its community).
The community and street admins cover that community and its street office; the department
account is the department of the most cases, else 城市管理局.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from api import accounts
from api.storage import models

DEMO_PASSWORD = "Wangge-demo-2026"
FALLBACK_DEPARTMENT = "城市管理局"
# what the pages show for "已登录：…", senders and assignees (pages add the role themselves);
# a worker account linked to the dataset's own worker shows that worker's name instead
DISPLAY_NAMES = {
    "admin": "系统管理员",
    "planner": "张敏",
    "street_admin": "刘建华",
    "community_admin": "陈静",
    "department": "周涛",
    "grid_leader": "赵强",
    "grid_worker": "王芳",
    "resident": "李桂英",
    "public": "访客",
}


def _busiest_grid(session: Session) -> str | None:
    """The current grid-level grid containing the most stored reports, else the one with the
    most households (where generated sample reports most likely fall)."""
    found = session.execute(
        text(
            "SELECT g.code FROM grids g JOIN cases c ON ST_Contains(g.geom, c.geom) "
            "WHERE g.level = 'grid' AND g.valid_to IS NULL "
            "GROUP BY g.code ORDER BY count(*) DESC, g.code LIMIT 1"
        )
    ).scalar()
    if found is None:
        found = session.execute(
            text(
                "SELECT code FROM grids WHERE level = 'grid' AND valid_to IS NULL "
                "ORDER BY households DESC, code LIMIT 1"
            )
        ).scalar()
    return found


def _area(session: Session, grid: str | None) -> tuple[list[str], str | None, str | None]:
    """(grids of the community, community code, street code) around `grid`."""
    if grid is None:
        return [], None, None
    community, street = session.execute(
        text(
            "SELECT c.code, s.code FROM grids g JOIN communities c ON c.id = g.community_id "
            "LEFT JOIN streets s ON s.id = c.street_id WHERE g.code = :g AND g.valid_to IS NULL"
        ),
        {"g": grid},
    ).one()
    grids = session.execute(
        text(
            "SELECT code FROM grids WHERE level = 'grid' AND valid_to IS NULL "
            "AND substr(code, 1, 12) = :c ORDER BY code"
        ),
        {"c": community},
    ).scalars()
    if street is None:  # e.g. Xuanwu's stand-in area has no street office: take the first one
        street = session.execute(text("SELECT min(code) FROM streets")).scalar()
    return list(grids), community, street


def _existing_worker(session: Session, grid: str | None, role: str) -> str | None:
    """The worker id of the dataset's own worker of `role` serving `grid`, if any."""
    if grid is None:
        return None
    return session.execute(
        text(
            "SELECT w.worker_id FROM workers w JOIN worker_grids wg ON wg.worker_id = w.id "
            "WHERE wg.grid_code = :g AND w.role = :r ORDER BY w.worker_id LIMIT 1"
        ),
        {"g": grid, "r": role},
    ).scalar()


def _department(session: Session) -> str:
    column = getattr(models.Case, "department", None)
    if column is None:
        return FALLBACK_DEPARTMENT
    found = session.execute(
        text(
            "SELECT department FROM cases WHERE department IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        )
    ).scalar()
    return found or FALLBACK_DEPARTMENT


def _worker_link(session: Session, grid: str | None, role: str, grids: list[str]) -> dict:
    """Link to the dataset's own worker of that grid (keeping one leader per grid), else make a
    worker row named after the account serving `grids`."""
    existing = _existing_worker(session, grid, role)
    return {"worker": existing} if existing else {"grid_codes": grids}


def create_demo_accounts(session: Session, *, log: Callable[[str], None] = print) -> list[str]:
    """One account per role, named after the role; returns the usernames made."""
    grid = _busiest_grid(session)
    grids, community, street = _area(session, grid)
    specs: dict[str, dict] = {
        "admin": {},
        "planner": {},
        "street_admin": {"street_code": street},
        "community_admin": {"community_code": community},
        "department": {"department": _department(session)},
        "grid_leader": _worker_link(session, grid, "grid_leader", grids),
        "grid_worker": _worker_link(session, grid, "full_time", [grid] if grid else []),
        "resident": {},
        "public": {},
    }
    made = []
    for role, area in specs.items():
        if None in area.values():
            log(f"  no {role} demo account: the dataset has no area for it")
            continue
        name = DISPLAY_NAMES[role]
        if "worker" in area:
            name = session.scalar(
                text("SELECT name FROM workers WHERE worker_id = :w"), {"w": area["worker"]}
            )
        accounts.create_user(
            session, role, role, DEMO_PASSWORD, display_name=name, actor="demo", **area
        )
        made.append(role)
    log(
        f"demo accounts (password {DEMO_PASSWORD}): {', '.join(made)}; "
        f"grid_worker serves {grid}, community {community}, street {street}"
    )
    return made
