"""Roles and the principal: who is asking, with the area or department the account covers."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, PrivateAttr


class Role(StrEnum):
    public = "public"
    resident = "resident"
    grid_worker = "grid_worker"
    grid_leader = "grid_leader"
    community_admin = "community_admin"
    street_admin = "street_admin"
    department = "department"
    planner = "planner"
    admin = "admin"
    volunteer = "volunteer"  # 志愿者: takes residents' service orders in their grid


WORKER_ROLES = frozenset({Role.grid_worker, Role.grid_leader})
# roles that contact reporters and so see their name and phone; every other role (planner,
# department, resident, public, anonymous callers) gets them masked or absent
PERSONAL_DATA_ROLES = frozenset(
    {Role.grid_worker, Role.grid_leader, Role.community_admin, Role.street_admin, Role.admin}
)


class Principal(BaseModel):
    """Who is asking: the signed-in user's role and the area or department it covers."""

    username: str
    role: Role
    display_name: str | None = None
    worker_id: str | None = None
    grid_codes: list[str] = []
    community_code: str | None = None
    street_code: str | None = None
    department: str | None = None
    # the stored password hash, for tying access tokens to the password (never serialised)
    _password_hash: str | None = PrivateAttr(default=None)


def sees_personal_data(principal: Principal | None) -> bool:
    """Whether `principal` may see reporters' names and phone numbers (never when anonymous)."""
    return principal is not None and str(principal.role) in PERSONAL_DATA_ROLES
