"""`wangge demo` (load a demo dataset and serve it) and `wangge serve` (a loaded database)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from api.cli.common import console, database_url, fail, uvicorn_options


class Dataset(StrEnum):
    synthetic = "synthetic"
    nanjing_xuanwu = "nanjing-xuanwu"


class Size(StrEnum):
    community = "community"
    street = "street"
    district = "district"


def demo(
    dataset: Annotated[Dataset, typer.Option(help="Which demo data to load.")] = Dataset.synthetic,
    size: Annotated[Size, typer.Option(help="Synthetic city size.")] = Size.street,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    serve: Annotated[
        bool, typer.Option(help="Serve the app after loading (--no-serve: load only).")
    ] = True,
    reload: Annotated[
        bool,
        typer.Option(
            help="With WANGGE_DATABASE_URL: wipe and reload a database that already holds data."
        ),
    ] = False,
) -> None:
    """Start PostGIS, load a demo dataset and serve the app; Ctrl-C stops both."""
    from api.demo import datasets as demo_module

    try:
        prepared = demo_module.prepare(
            dataset=dataset.value, size=size.value, reload=reload, log=console.print
        )
    except demo_module.DemoError as exc:
        raise fail(str(exc)) from None
    if not serve:
        prepared.close()
        return
    try:
        _serve(prepared.url, host=host, port=port)
    finally:
        prepared.close()
        console.print("stopped.")


WORKER_PING_S = 60


def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Worker processes (rate limits and sign-in throttles hold across them)."
        ),
    ] = 1,
) -> None:
    """Serve the app on the configured database (migrating it first)."""
    import os

    import uvicorn

    from api.main import create_app
    from api.storage import migrate

    url = database_url()
    migrate.upgrade(url)
    service = _service_url(url)
    if workers == 1:
        uvicorn.run(create_app(service), host=host, port=port, **uvicorn_options())
        return
    # each worker process builds its own app from the factory, on the service's URL
    os.environ["WANGGE_DATABASE_URL"] = service
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        workers=workers,
        # the supervisor kills a worker that does not answer its ping in time: a loaded host
        # importing the GIS stack can take longer than uvicorn's 5 s to start one
        timeout_worker_healthcheck=WORKER_PING_S,
        host=host,
        port=port,
        **uvicorn_options(),
    )


def _service_url(url: str) -> str:
    """What the app connects with: on the managed cluster its own role that owns nothing (the
    migrations ran as the owner); WANGGE_DATABASE_URL as it is."""
    from sqlalchemy.engine import make_url

    from api.settings import get_settings
    from api.storage.launcher import default_cluster

    if get_settings().database_url:
        return url
    return default_cluster().service_url(make_url(url).database)


def _serve(url: str, *, host: str, port: int) -> None:
    """Serve the app under uvicorn until Ctrl-C."""
    import uvicorn

    from api.main import create_app

    console.print(f"serving on http://{host}:{port}/  (Ctrl-C stops the service and the database)")
    app = create_app(_service_url(url))
    uvicorn.run(app, host=host, port=port, log_level="info", **uvicorn_options())
