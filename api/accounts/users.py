"""Accounts: argon2 password hashes, creating, listing, disabling users, signing in.

Every request loads its user from the database again (`principal_for`), so disabling an account
or changing its grids takes effect at once, even for tokens already issued.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.accounts import audit
from api.accounts.roles import WORKER_ROLES, Principal, Role
from api.errors import ConflictError, NotFoundError, UnauthorizedError
from api.storage.models import (
    ApiToken,
    AuditEntry,
    Community,
    Grid,
    Street,
    User,
    Worker,
    WorkerGrid,
)
from geo.errors import InputError

USERNAME = re.compile(r"^[\w.@-]{2,64}$")
MIN_PASSWORD = 8

# -- passwords ------------------------------------------------------------------------------------

# argon2id at OWASP's baseline (19 MiB, 2 passes, 1 lane): about 0.05 s per hash on one core
_hasher = PasswordHash((Argon2Hasher(time_cost=2, memory_cost=19456, parallelism=1),))


@cache
def _dummy_hash() -> str:
    return _hasher.hash("never a real password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    """True when `password` matches; always spends one argon2 verification (no timing hint)."""
    ok = _hasher.verify(password, hashed or _dummy_hash())
    return ok and hashed is not None


def password_problem(password: str | None, username: str = "") -> str | None:
    """Why `password` is too weak, or None: at least 8 characters, at least two kinds of
    characters (letters, digits, others), not containing the username."""
    if not password or not password.strip():
        return "the password is empty"
    if len(password) < MIN_PASSWORD:
        return f"the password is too short: at least {MIN_PASSWORD} characters"
    kinds = (
        any(c.isalpha() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    )
    if sum(kinds) < 2:
        return "the password is too weak: mix letters with digits or other characters"
    if username and username.lower() in password.lower():
        return "the password must not contain the username"
    return None


# -- users ------------------------------------------------------------------------------------


def _role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise InputError(f"unknown role {role!r}: expected one of {known}") from None


def _check_area(
    session: Session,
    role: Role,
    grid_codes: Sequence[str],
    community_code: str | None,
    street_code: str | None,
    department: str | None,
) -> None:
    if grid_codes and role not in WORKER_ROLES:
        raise InputError(f"--grid is for grid_worker and grid_leader accounts, not {role}")
    if role is Role.community_admin and not community_code:
        raise InputError("a community_admin account needs --community CODE")
    if role is Role.street_admin and not street_code:
        raise InputError("a street_admin account needs --street CODE")
    if role is Role.department and not (department and department.strip()):
        raise InputError("a department account needs --department NAME")
    if community_code is not None:
        found = session.scalar(select(Community.id).where(Community.code == community_code))
        if found is None:
            raise InputError(f"unknown community code {community_code!r}")
    if street_code is not None:
        found = session.scalar(select(Street.id).where(Street.code == street_code))
        if found is None:
            raise InputError(f"unknown street code {street_code!r}")
    if grid_codes:
        current = select(Grid.code).where(
            Grid.code.in_(grid_codes), Grid.level == "grid", Grid.valid_to.is_(None)
        )
        unknown = sorted(set(grid_codes) - set(session.scalars(current)))
        if unknown:
            msg = f"unknown grid code(s): {', '.join(unknown)} (no current grid-level grid)"
            raise InputError(msg)


def _link_worker(
    session: Session,
    worker_code: str,
    role: Role,
    display_name: str | None,
    grid_codes: Sequence[str],
    community_code: str | None,
) -> int:
    """The workers row (worker_id = `worker_code`) of a grid worker/leader, created if needed,
    with worker_grids rows for `grid_codes` added to its existing ones."""
    worker = session.scalar(select(Worker).where(Worker.worker_id == worker_code))
    if worker is None:
        community_id = None
        if community_code is not None:
            community_id = session.scalar(
                select(Community.id).where(Community.code == community_code)
            )
        elif grid_codes:
            community_id = session.scalar(
                select(Grid.community_id).where(Grid.code == grid_codes[0], Grid.valid_to.is_(None))
            )
        worker = Worker(
            worker_id=worker_code,
            name=display_name or worker_code,
            role="grid_leader" if role is Role.grid_leader else "full_time",
            community_id=community_id,
        )
        session.add(worker)
        session.flush()
    assigned = select(WorkerGrid.grid_code).where(WorkerGrid.worker_id == worker.id)
    have = set(session.scalars(assigned))
    for code in dict.fromkeys(grid_codes):
        if code not in have:
            session.add(WorkerGrid(worker_id=worker.id, grid_code=code))
    session.flush()
    return worker.id


def create_user(
    session: Session,
    username: str,
    role: str | Role,
    password: str | None,
    *,
    grid_codes: Iterable[str] = (),
    community_code: str | None = None,
    street_code: str | None = None,
    department: str | None = None,
    display_name: str | None = None,
    worker: str | None = None,
    actor: str | None = None,
) -> Principal:
    """Create an account (InputError for bad input, ConflictError for a taken name) and audit it.

    A grid worker or leader is linked to the workers row whose worker_id is `worker` (which must
    exist: a worker loaded with `wangge ingest`) or else the username (created when missing),
    and to worker_grids rows for `grid_codes` added to the row's own, so that dispatch and the
    account agree.
    """
    if not USERNAME.match(username or ""):
        raise InputError(
            f"invalid username {username!r}: 2–64 letters, digits or the characters . _ @ -"
        )
    role = _role(role)
    problem = password_problem(password, username)
    if problem:
        raise InputError(problem)
    grid_codes = list(dict.fromkeys(grid_codes))
    _check_area(session, role, grid_codes, community_code, street_code, department)
    if worker is not None:
        if role not in WORKER_ROLES:
            raise InputError(f"--worker is for grid_worker and grid_leader accounts, not {role}")
        if session.scalar(select(Worker.id).where(Worker.worker_id == worker)) is None:
            raise InputError(f"unknown worker id {worker!r}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ConflictError(f"a user named {username!r} already exists")
    worker_id = None
    if role in WORKER_ROLES:
        worker_id = _link_worker(
            session, worker or username, role, display_name, grid_codes, community_code
        )
    user = User(
        username=username,
        display_name=display_name,
        role=role.value,
        password_hash=hash_password(password),
        worker_id=worker_id,
        community_code=community_code,
        street_code=street_code,
        department=department.strip() if department else None,
    )
    session.add(user)
    session.flush()
    principal = principal_for(session, username)
    detail = {"after": principal.model_dump(mode="json")}
    audit.record(session, actor, "user.create", "user", username, detail)
    return principal


def principal_for(session: Session, username: str) -> Principal:
    """The enabled user `username` as a Principal; UnauthorizedError when missing or disabled."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.disabled:
        raise UnauthorizedError("the account does not exist or is disabled")
    return _principal(session, user)


def _principal(session: Session, user: User) -> Principal:
    worker_code, grid_codes, community_code = None, [], user.community_code
    if user.worker_id is not None:
        worker = session.get(Worker, user.worker_id)
        worker_code = worker.worker_id
        grid_codes = sorted(
            session.scalars(select(WorkerGrid.grid_code).where(WorkerGrid.worker_id == worker.id))
        )
        if community_code is None and worker.community_id is not None:
            community_code = session.scalar(
                select(Community.code).where(Community.id == worker.community_id)
            )
    principal = Principal(
        username=user.username,
        role=Role(user.role),
        display_name=user.display_name,
        worker_id=worker_code,
        grid_codes=grid_codes,
        community_code=community_code,
        street_code=user.street_code,
        department=user.department,
    )
    principal._password_hash = user.password_hash
    return principal


def list_users(session: Session) -> list[tuple[Principal, bool]]:
    """Every account (enabled or not) with its disabled flag, by username."""
    users = session.scalars(select(User).order_by(User.username)).all()
    return [(_principal(session, u), u.disabled) for u in users]


def set_disabled(session: Session, username: str, *, disabled: bool, actor: str | None) -> bool:
    """Disable (or enable) an account; True when the flag changed. NotFoundError if unknown."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user named {username!r}")
    if user.disabled == disabled:
        return False
    user.disabled = disabled
    session.flush()
    action = "user.disable" if disabled else "user.enable"
    audit.record(session, actor, action, "user", username, {"before": {"disabled": not disabled}})
    return True


def set_password(session: Session, username: str, password: str, *, actor: str | None) -> None:
    """Replace an account's password (same strength rules as create_user); audited."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user named {username!r}")
    problem = password_problem(password, username)
    if problem:
        raise InputError(problem)
    user.password_hash = hash_password(password)
    session.flush()
    # access tokens carry a stamp of the old hash and fail by themselves; API tokens do not,
    # so the ones issued before the change are revoked (the token table's own revoked_at)
    revoked = session.scalars(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(ApiToken.id)
    ).all()
    detail = {"after": {"api_tokens_revoked": sorted(revoked)}} if revoked else None
    audit.record(session, actor, "user.password", "user", username, detail)


def authenticate(session: Session, username: str, password: str) -> Principal:
    """The Principal for a right username and password; UnauthorizedError otherwise."""
    user = session.scalar(select(User).where(User.username == username))
    if not verify_password(password, user.password_hash if user else None) or user.disabled:
        raise UnauthorizedError("wrong username or password, or the account is disabled")
    return _principal(session, user)


def demo_accounts(session: Session) -> list[str]:
    """Usernames of the enabled accounts the demo made (audited with actor 'demo')."""
    made = select(AuditEntry.object_id).where(
        AuditEntry.actor == "demo", AuditEntry.action == "user.create"
    )
    names = select(User.username).where(User.username.in_(made), User.disabled.is_(False))
    return list(session.scalars(names.order_by(User.id)))
