"""FastAPI dependencies: settings, a per-request database session and the signed-in user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from api.accounts import Principal, Role, principal_from_token
from api.accounts.access import GRID_EDIT_ROLES
from api.errors import ForbiddenError, UnauthorizedError
from api.settings import Settings, get_settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, in one transaction committed when the handler succeeds."""
    with request.app.state.sessions() as session, session.begin():
        yield session


# scope="function": the commit runs before the response is sent, so a failed commit is an
# error answer (503 when the database went away) and a 2xx always means "stored"
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]

# auto_error=False: a missing header is None here, so that OptionalUser can allow anonymous callers
bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


def optional_user(
    session: SessionDep, token: Annotated[str | None, Depends(bearer)]
) -> Principal | None:
    """None without an Authorization header; a bad, expired or disabled user's token is a 401."""
    if token is None:
        return None
    return principal_from_token(session, token)


def current_user(user: Annotated[Principal | None, Depends(optional_user)]) -> Principal:
    """The signed-in user; 401 without a valid Bearer token."""
    if user is None:
        raise UnauthorizedError("sign in first: Authorization: Bearer <token> is missing")
    return user


CurrentUser = Annotated[Principal, Depends(current_user)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]


def require_roles(*roles: Role | str):
    """A dependency returning the signed-in user when their role is one of `roles`, else 403."""
    allowed = frozenset(Role(r) for r in roles)

    def dependency(user: CurrentUser) -> Principal:
        if user.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise ForbiddenError(f"the role {user.role} may not do this (allowed: {names})")
        return user

    return dependency


grid_editor = require_roles(*GRID_EDIT_ROLES)
GridEditor = Annotated[Principal, Depends(grid_editor)]

# If-None-Match of a conditional GET (tiles, the station list): 304 when it names the answer's ETag
IfNoneMatch = Annotated[str | None, Header(description="an ETag from an earlier answer")]


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """`if_none_match` names `etag` (weak comparison) or is *: the client's copy is current."""
    if if_none_match is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags
