"""The service's exceptions and the one table mapping them to HTTP statuses."""

from __future__ import annotations

import logging

import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from geo.errors import CRSMismatchError, InputError

log = logging.getLogger("wangge.errors")


class WanggeError(Exception):
    """Base class of the service's own errors."""


class NotFoundError(WanggeError):
    """The requested object does not exist (or is not visible to the caller)."""


class ConflictError(WanggeError):
    """The request conflicts with the stored state (stale version, illegal transition)."""


class UnauthorizedError(WanggeError):
    """No valid credentials: a missing, malformed or expired token, or a disabled account."""

    headers = {"WWW-Authenticate": "Bearer"}


class ForbiddenError(WanggeError):
    """Signed in, but the role (or area) may not do this."""


class DatabaseUnavailableError(WanggeError):
    """PostGIS could not be reached."""


class BusyError(WanggeError):
    """The service is busy with heavy work the request needs: retry after `retry_after` s."""

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


STATUS_BY_EXCEPTION: dict[type[Exception], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    UnauthorizedError: 401,
    ForbiddenError: 403,
    InputError: 422,
    CRSMismatchError: 422,
    DatabaseUnavailableError: 503,
    BusyError: 503,
}


def register_errors(app: FastAPI) -> None:
    """Answer each exception in the table with its status and {"detail": message}.

    An exception with an `extra` dict (JSON-ready) adds its items to the body, such as the
    problems of a rejected grid layer.
    """

    for exc_class, status in STATUS_BY_EXCEPTION.items():

        async def handler(request: Request, exc: Exception, status: int = status) -> JSONResponse:
            content = {"detail": str(exc), **(getattr(exc, "extra", None) or {})}
            headers = getattr(exc, "headers", None)
            return JSONResponse(status_code=status, content=content, headers=headers)

        app.add_exception_handler(exc_class, handler)

    for driver_error in DRIVER_UNAVAILABLE:
        app.add_exception_handler(driver_error, _database_unavailable)
    app.add_exception_handler(sqlalchemy.exc.DataError, _data_refused)


# driver errors that mean "the database cannot be reached right now" (stopped, restarting,
# connection lost, pool exhausted) rather than a fault of the request
DRIVER_UNAVAILABLE: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


DATABASE_UNAVAILABLE = (
    "数据库暂时不可用，未做任何更改，请稍后重试 "
    "(the database is unavailable; nothing was changed, retry in a moment)"
)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 for a lost or refused database connection; the request may be retried.

    The driver's message names the database host and port: it goes to the log, never to the
    client."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [cause.__class__.__name__])[0]
    log.warning(
        "database unavailable on %s %s: %s: %s",
        request.method, request.url.path, cause.__class__.__name__, first[:500],
    )  # fmt: skip
    return JSONResponse(
        status_code=503, content={"detail": DATABASE_UNAVAILABLE}, headers={"Retry-After": "5"}
    )


async def _data_refused(request: Request, exc: Exception) -> JSONResponse:
    """422 for a value the database cannot hold (number out of range, text too long …): a
    safety net behind the request models, which should have refused it already."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [cause.__class__.__name__])[0]
    return JSONResponse(
        status_code=422, content={"detail": f"a value does not fit the database: {first[:200]}"}
    )
