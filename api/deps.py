"""FastAPI dependencies: settings and a per-request database session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.settings import Settings, get_settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, in one transaction committed when the handler succeeds."""
    with request.app.state.sessions() as session, session.begin():
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
