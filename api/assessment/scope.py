"""Who sees which rows of the assessment: a worker their own, a grid leader their grids'
workers, a community or street admin their area, the admin everything (optionally one area)."""

from __future__ import annotations

from dataclasses import dataclass

from api.accounts.roles import Principal, Role
from api.errors import ForbiddenError

READERS = (
    Role.grid_worker, Role.grid_leader, Role.community_admin, Role.street_admin, Role.admin,
)  # fmt: skip


@dataclass(frozen=True)
class Scope:
    """Rows allowed: all, a worker (by worker_id), grids by code, or areas by code prefix."""

    everything: bool = False
    worker: str | None = None
    grids: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()

    def params(self) -> dict:
        return {
            "everything": self.everything,
            "self_worker": self.worker,
            "grids": list(self.grids),
            "prefixes": list(self.prefixes),
        }


def _outside() -> ForbiddenError:
    return ForbiddenError("该区域不在您的管辖范围内 / that area is outside yours")


def scope_for(principal: Principal, *, level: str, area: str | None = None) -> Scope:
    """The rows `principal` may see at `level` ('worker' or 'grid'), narrowed to `area` (a
    street, community or grid code); ForbiddenError for other roles or an area outside."""
    role = principal.role
    if role not in READERS:
        raise ForbiddenError(f"角色 {role} 不能查看考核表 / the role {role} may not see it")
    if role == Role.admin:
        return Scope(prefixes=(area,)) if area else Scope(everything=True)
    if role in (Role.street_admin, Role.community_admin):
        base = principal.street_code if role == Role.street_admin else principal.community_code
        if not base:
            raise _outside()
        if area and not area.startswith(base):
            raise _outside()
        return Scope(prefixes=(area or base,))
    grids = tuple(principal.grid_codes)
    if area:
        grids = tuple(g for g in grids if g.startswith(area) or area.startswith(g))
        if not grids:
            raise _outside()
    if role == Role.grid_worker and level == "worker":
        return Scope(worker=principal.worker_id or "")
    return Scope(grids=grids)
