"""Credentials for requests: short-lived JWT access tokens and long-lived API tokens.

Access tokens are HS256 JWTs signed with the settings' secret (`signing_secret`). API tokens are
43 random characters after the prefix ``wg_``; only their SHA-256 is stored (a fast hash is enough
for a random secret of that length; passwords get argon2).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.accounts import audit
from api.accounts.roles import Principal
from api.accounts.users import principal_for
from api.errors import ConflictError, NotFoundError, UnauthorizedError
from api.settings import Settings, get_settings
from api.storage.models import ApiToken, User
from geo.errors import InputError

API_TOKEN_PREFIX = "wg_"
ALGORITHM = "HS256"

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
        if session.scalar(select(User.id).where(User.username == username)) is None:
            raise NotFoundError(f"没有名为 {username!r} 的用户 (no user named {username!r})")
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
