"""Accounts, roles and credentials: argon2 password hashes, short-lived JWT access tokens and
long-lived API tokens for other systems.

Every request loads its user from the database again (`principal_for`), so disabling an account
or changing its grids takes effect at once, even for tokens already issued. Access tokens are
HS256 JWTs signed with the settings' secret (`signing_secret`). API tokens are 43 random
characters after the prefix ``wg_``; only their SHA-256 is stored (a fast hash is enough for a
random secret of that length; passwords get argon2).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import warnings
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pydantic import BaseModel, PrivateAttr
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.errors import ConflictError, NotFoundError, UnauthorizedError
from api.settings import Settings, get_settings
from api.storage.models import ApiToken, Community, Grid, Street, User, Worker, WorkerGrid
from geo.errors import InputError


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


WORKER_ROLES = frozenset({Role.grid_worker, Role.grid_leader})
# roles that contact reporters and so see their name and phone; every other role (planner,
# department, resident, public, anonymous callers) gets them masked or absent
PERSONAL_DATA_ROLES = frozenset(
    {Role.grid_worker, Role.grid_leader, Role.community_admin, Role.street_admin, Role.admin}
)
API_TOKEN_PREFIX = "wg_"
USERNAME = re.compile(r"^[\w.@-]{2,64}$")
MIN_PASSWORD = 8
ALGORITHM = "HS256"


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
    from api import audit

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
    from api import audit

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
    from api import audit

    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user named {username!r}")
    problem = password_problem(password, username)
    if problem:
        raise InputError(problem)
    user.password_hash = hash_password(password)
    session.flush()
    audit.record(session, actor, "user.password", "user", username, None)


def authenticate(session: Session, username: str, password: str) -> Principal:
    """The Principal for a right username and password; UnauthorizedError otherwise."""
    user = session.scalar(select(User).where(User.username == username))
    if not verify_password(password, user.password_hash if user else None) or user.disabled:
        raise UnauthorizedError("wrong username or password, or the account is disabled")
    return _principal(session, user)


# -- access tokens (JWT) --------------------------------------------------------------------------

_generated: dict[Path, str] = {}


def signing_secret(settings: Settings | None = None) -> str:
    """WANGGE_SECRET_KEY, else a secret generated once into <state_dir>/secret_key (mode 0600).

    When the state directory cannot be written, a per-process secret is used (with a warning):
    tokens then stop working when the service restarts.
    """
    settings = settings or get_settings()
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.state_dir) / "secret_key"
    if path in _generated:
        return _generated[path]
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        secret = path.read_text().strip()
    except FileExistsError:
        secret = path.read_text().strip()
    except OSError as exc:
        msg = f"cannot keep the token secret in {path} ({exc}); tokens end with this process"
        warnings.warn(msg, stacklevel=2)
        secret = secrets.token_urlsafe(48)
    _generated[path] = secret
    return secret


def issue_token(
    principal: Principal, *, minutes: float | None = None, settings: Settings | None = None
) -> str:
    """A signed access token for `principal`, valid for `minutes` (WANGGE_TOKEN_MINUTES)."""
    settings = settings or get_settings()
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.token_minutes if minutes is None else minutes)
    claims = {
        "sub": principal.username,
        "role": principal.role.value,
        "iat": now,
        "exp": now + lifetime,
        "typ": "access",
    }
    secret = signing_secret(settings)
    if principal._password_hash:
        claims["pwd"] = _password_stamp(principal._password_hash, secret)
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _password_stamp(password_hash: str, secret: str) -> str:
    """A keyed fingerprint of the password hash: a new password makes earlier tokens invalid."""
    return hmac.new(secret.encode(), password_hash.encode(), hashlib.sha256).hexdigest()[:22]


def principal_from_token(session: Session, token: str, settings: Settings | None = None):
    """The Principal a Bearer token (access token or API token) stands for; 401 otherwise."""
    if token.startswith(API_TOKEN_PREFIX):
        return _principal_from_api_token(session, token)
    secret = signing_secret(settings)
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise UnauthorizedError("the access token has expired: sign in again") from None
    except jwt.InvalidTokenError:
        raise UnauthorizedError("invalid access token") from None
    if claims.get("typ") != "access":
        raise UnauthorizedError("invalid access token")
    principal = principal_for(session, str(claims["sub"]))
    stamp = claims.get("pwd")
    if stamp is not None and not (
        principal._password_hash
        and hmac.compare_digest(stamp, _password_stamp(principal._password_hash, secret))
    ):
        raise UnauthorizedError("the password has changed since this token was issued: sign in")
    return principal


# -- API tokens ----------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(
    session: Session,
    username: str,
    *,
    label: str = "api",
    days: int | None = None,
    actor: str | None = None,
) -> tuple[int, str]:
    """A new API token for `username`: (its id, the token, shown only this once)."""
    from api import audit

    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user named {username!r}")
    if user.disabled:
        raise ConflictError(f"the user {username!r} is disabled")
    if days is not None and days <= 0:
        raise InputError("days must be positive")
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    row = ApiToken(
        user_id=user.id,
        label=label[:100],
        token_hash=_token_hash(token),
        prefix=token[:10],
        expires_at=expires,
    )
    session.add(row)
    session.flush()
    detail = {"after": {"label": row.label, "prefix": row.prefix, "days": days}}
    audit.record(session, actor, "api_token.create", "user", username, detail)
    return row.id, token


def revoke_api_token(session: Session, token_id: int, *, actor: str | None = None) -> bool:
    """Revoke an API token by id; True when it was active. NotFoundError if unknown."""
    from api import audit

    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"no API token with id {token_id}")
    if row.revoked_at is not None:
        return False
    session.execute(
        update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=datetime.now(UTC))
    )
    username = session.scalar(select(User.username).where(User.id == row.user_id))
    detail = {"before": {"label": row.label, "prefix": row.prefix, "token_id": token_id}}
    audit.record(session, actor, "api_token.revoke", "user", username, detail)
    return True


def list_api_tokens(session: Session, username: str | None = None) -> list[dict]:
    """API tokens (never the secrets): id, user, label, prefix, created, expires, revoked."""
    query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
    if username is not None:
        query = query.where(User.username == username)
    rows = session.execute(query.order_by(ApiToken.id)).all()
    return [
        {
            "id": t.id,
            "username": name,
            "label": t.label,
            "prefix": t.prefix,
            "created_at": t.created_at,
            "expires_at": t.expires_at,
            "revoked_at": t.revoked_at,
        }
        for t, name in rows
    ]


def _principal_from_api_token(session: Session, token: str) -> Principal:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None:
        raise UnauthorizedError("unknown or revoked API token")
    if row.expires_at is not None and row.expires_at <= datetime.now(UTC):
        raise UnauthorizedError("the API token has expired")
    username = session.scalar(select(User.username).where(User.id == row.user_id))
    return principal_for(session, username)
