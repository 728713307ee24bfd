"""GET /api/health: the service and its PostGIS."""

from __future__ import annotations

import os

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import SessionDep
from api.storage.queries import postgis_version

router = APIRouter(prefix="/api", tags=["health"])


class Health(BaseModel):
    status: str
    postgis: str
    worker: int  # the answering process's id: several under `wangge serve --workers N`


@router.get("/health")
def health(session: SessionDep) -> Health:
    return Health(status="ok", postgis=postgis_version(session), worker=os.getpid())
