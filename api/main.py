"""The FastAPI application: create_app() with a lifespan that opens the database."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from api.db import get_engine, session_factory
from api.errors import register_errors
from api.middleware import add_limits
from api.routes import assessment as assessment_routes
from api.routes import audit as audit_routes
from api.routes import auth as auth_routes
from api.routes import buildings as building_routes
from api.routes import cases as case_routes
from api.routes import coverage as coverage_routes
from api.routes import docs as docs_routes
from api.routes import geocode, grid_edits, grid_files, grids, health, open311, pages
from api.routes import maps as map_routes
from api.routes import notices as notice_routes
from api.routes import points as points_routes
from api.routes import reports as report_routes
from api.routes import service_orders as service_order_routes
from api.routes import stations as station_routes
from api.routes import tiles as tile_routes
from api.routes import worker_app as worker_routes
from api.service_orders import job as service_order_job
from api.settings import get_settings
from api.validation import register_validation_errors


def notification_job(sessions) -> asyncio.Task | None:
    """The outbox sender (reporters hear back), one per process, unless switched off."""
    from api.notifications import job, senders

    settings = get_settings()
    if not settings.notify_job:
        return None
    return asyncio.create_task(job.run(sessions, senders.senders_from(settings), settings))


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the app; without `database_url`, use WANGGE_DATABASE_URL or the managed cluster."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from api.storage.launcher import database_url as resolve_url

        url = database_url or resolve_url(start=True)
        app.state.database_url = url
        app.state.sessions = session_factory(url)
        sender_job = notification_job(app.state.sessions)
        sweeper = asyncio.create_task(service_order_job.run(app.state.sessions))
        # what start-up made lives as long as the app: the collector stops walking it (each
        # full collection took ~150-200 ms on the ~300,000 objects; issue 16, edit speed)
        gc.freeze()
        yield
        gc.unfreeze()
        sweeper.cancel()
        with suppress(asyncio.CancelledError):
            await sweeper
        if sender_job is not None:
            sender_job.cancel()
            with suppress(asyncio.CancelledError):
                await sender_job
        get_engine(url).dispose()

    # /docs from the app's own Swagger UI (api/routes/docs.py); ReDoc would need a CDN
    app = FastAPI(title="Wangge", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    register_errors(app)
    add_limits(app, get_settings())
    register_validation_errors(app)
    # pages and JSON over 1 KB; streamed bodies are compressed as they go, and answers that
    # already carry a Content-Encoding (or are images) pass untouched
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    app.include_router(health.router)
    # before grids: its GET /api/grids/{code} would otherwise catch GET /api/grids/history
    app.include_router(grid_edits.router)
    app.include_router(grid_files.router)
    app.include_router(grids.router)
    app.include_router(geocode.router)
    app.include_router(station_routes.router)
    app.include_router(coverage_routes.router)
    app.include_router(pages.router)
    app.include_router(docs_routes.router)
    app.include_router(map_routes.router)
    app.include_router(worker_routes.router)
    app.include_router(tile_routes.router)
    app.include_router(building_routes.router)
    map_routes.mount_static(app)
    report_routes.redact_access_log()
    app.include_router(report_routes.router)  # before cases: /api/cases/nearby
    app.include_router(service_order_routes.router)
    app.include_router(service_order_routes.pages)
    app.include_router(case_routes.router)
    app.include_router(open311.router)
    app.include_router(auth_routes.router)
    app.include_router(audit_routes.router)
    app.include_router(notice_routes.router)
    app.include_router(notice_routes.page_router)
    app.include_router(points_routes.router)
    app.include_router(points_routes.pages)
    app.include_router(assessment_routes.router)
    return app
