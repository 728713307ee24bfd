"""Sign-in (OAuth2 password flow), the current user, and account administration (admins only):
users, disabling, API tokens for other systems."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from api import accounts
from api.accounts import Principal, Role, audit, throttle
from api.deps import CurrentUser, SessionDep, require_roles
from api.errors import UnauthorizedError

router = APIRouter(tags=["accounts"])
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
Username = Annotated[str, Path(min_length=1, max_length=64, description="login name")]


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds the access token stays valid")


class UserOut(Principal):
    disabled: bool = False


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    role: Role
    password: str = Field(max_length=200)
    display_name: str | None = Field(None, max_length=100)
    grid_codes: list[str] = Field([], max_length=500)
    community_code: str | None = Field(None, pattern=r"^[0-9]{12}$")
    street_code: str | None = Field(None, pattern=r"^[0-9]{9}$")
    department: str | None = Field(None, max_length=100)
    worker: str | None = Field(None, max_length=64, description="an existing worker id to link")


class ApiTokenIn(BaseModel):
    label: str = Field("api", min_length=1, max_length=100)
    days: int | None = Field(None, ge=1, le=3650, description="lifetime; none: until revoked")


class ApiTokenCreated(BaseModel):
    id: int
    username: str
    token: str = Field(description="shown only this once; only its SHA-256 is stored")


class ApiTokenOut(BaseModel):
    id: int
    username: str
    label: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@router.post(
    "/api/auth/token",
    response_model=TokenResponse,
    responses={429: {"description": "this account name is locked after failed sign-ins"}},
)
def sign_in(
    request: Request, session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenResponse | JSONResponse:
    """OAuth2 password flow: form fields `username` and `password` → a short-lived Bearer token.

    401 for a wrong username or password or a disabled account (the same answer for all three);
    after 5 failures in a row the account name is locked for 1 s, doubling up to 15 min
    (429 with Retry-After, answered before any password check).
    """
    from api.settings import get_settings

    wait = throttle.wait_seconds(session, form.username)
    if wait:
        return _locked(wait)
    try:
        principal = accounts.authenticate(session, form.username, form.password)
    except UnauthorizedError:
        with request.app.state.sessions() as own, own.begin():  # kept when this one rolls back
            throttle.failed(own, form.username)
        raise
    throttle.succeeded(session, form.username)
    # a day with a sign-in counts as present in the monthly assessment (api/assessment)
    audit.record(session, principal, "auth.sign_in", "sign_in", principal.username)
    minutes = get_settings().token_minutes
    return TokenResponse(access_token=accounts.issue_token(principal), expires_in=minutes * 60)


def _locked(wait: int) -> JSONResponse:
    detail = (
        f"登录失败次数过多，该账号已暂时锁定，请 {wait} 秒后再试 / too many failed sign-ins "
        f"for this account; try again in {wait} s"
    )
    return JSONResponse({"detail": detail}, status_code=429, headers={"Retry-After": str(wait)})


@router.get("/api/auth/me", response_model=Principal)
def me(user: CurrentUser) -> Principal:
    """The signed-in user: role, grids, community, street office, department."""
    return user


@router.get("/api/users", response_model=list[UserOut])
def list_users(session: SessionDep, admin: Admin) -> list[UserOut]:
    """Every account (admins only)."""
    return [
        UserOut(**p.model_dump(), disabled=disabled) for p, disabled in accounts.list_users(session)
    ]


@router.post("/api/users", response_model=Principal, status_code=201)
def create_user(session: SessionDep, admin: Admin, body: UserIn) -> Principal:
    """Create an account (admins only); 422 for a weak password or unknown codes, 409 if taken."""
    return accounts.create_user(
        session,
        body.username,
        body.role,
        body.password,
        grid_codes=body.grid_codes,
        community_code=body.community_code,
        street_code=body.street_code,
        department=body.department,
        display_name=body.display_name,
        worker=body.worker,
        actor=admin.username,
    )


@router.post("/api/users/{username}/disable", status_code=204)
def disable_user(session: SessionDep, admin: Admin, username: Username) -> Response:
    """Disable an account: its tokens stop working at once (admins only)."""
    accounts.set_disabled(session, username, disabled=True, actor=admin.username)
    return Response(status_code=204)


@router.post("/api/users/{username}/enable", status_code=204)
def enable_user(session: SessionDep, admin: Admin, username: Username) -> Response:
    """Enable a disabled account again (admins only)."""
    accounts.set_disabled(session, username, disabled=False, actor=admin.username)
    return Response(status_code=204)


@router.post("/api/users/{username}/tokens", response_model=ApiTokenCreated, status_code=201)
def create_api_token(
    session: SessionDep, admin: Admin, username: Username, body: ApiTokenIn
) -> ApiTokenCreated:
    """A long-lived API token acting as `username`, for another system (admins only)."""
    token_id, token = accounts.create_api_token(
        session, username, label=body.label, days=body.days, actor=admin.username
    )
    return ApiTokenCreated(id=token_id, username=username, token=token)


@router.get("/api/users/{username}/tokens", response_model=list[ApiTokenOut])
def list_api_tokens(session: SessionDep, admin: Admin, username: Username) -> list[ApiTokenOut]:
    """The user's API tokens, without their secrets (admins only)."""
    return [ApiTokenOut(**t) for t in accounts.list_api_tokens(session, username)]


@router.delete("/api/tokens/{token_id}", status_code=204)
def revoke_api_token(
    session: SessionDep, admin: Admin, token_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    """Revoke an API token (admins only)."""
    accounts.revoke_api_token(session, token_id, actor=admin.username)
    return Response(status_code=204)
