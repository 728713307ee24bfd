"""`wangge db …`: the managed local PostGIS (start, stop, status, url), migrations, backups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import console, database_url, fail

app = typer.Typer(help="The database: a managed local PostGIS unless WANGGE_DATABASE_URL is set.")


def _external() -> str | None:
    from api.settings import get_settings

    return get_settings().database_url


@app.command("dump")
def db_dump(
    file: Annotated[Path, typer.Argument(help="the backup file to write")],
) -> None:
    """Back up the database to FILE (pg_dump custom format)."""
    from sqlalchemy.engine import make_url

    from api.storage import backup

    url = make_url(database_url())
    try:
        size = backup.dump(url, file.absolute())
    except (backup.BackupError, OSError) as exc:
        raise fail(str(exc)) from None
    console.print(f"database {url.database} dumped to {file} ({size:,} bytes)")


@app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="a file written by 'wangge db dump'")],
    force: Annotated[
        bool, typer.Option("--force", help="replace the contents of a non-empty database")
    ] = False,
) -> None:
    """Restore FILE into the database (refuses a non-empty one unless --force)."""
    from sqlalchemy.engine import make_url

    from api.storage import backup

    url = make_url(database_url())
    try:
        backup.restore(url, file.absolute(), force=force)
    except (backup.BackupError, OSError) as exc:
        raise fail(str(exc)) from None
    console.print(f"{file} restored into database {url.database}")


@app.command("start")
def db_start() -> None:
    """Start the managed PostGIS (initialising it on first use)."""
    from api.storage.launcher import LauncherError, default_cluster

    if _external():
        console.print("WANGGE_DATABASE_URL is set: using that database, nothing to start.")
        return
    cluster = default_cluster()
    try:
        cluster.start()
    except LauncherError as exc:
        raise fail(str(exc)) from None
    status = cluster.status()
    console.print(
        f"PostGIS running (pid {status.pid}) on 127.0.0.1:{status.port}, data in {status.data_dir}"
    )


@app.command("stop")
def db_stop() -> None:
    """Stop the managed PostGIS."""
    from api.storage.launcher import LauncherError, default_cluster

    if _external():
        console.print("WANGGE_DATABASE_URL is set: the external database is not ours to stop.")
        return
    try:
        stopped = default_cluster().stop()
    except LauncherError as exc:
        raise fail(str(exc)) from None
    console.print("PostGIS stopped." if stopped else "PostGIS was not running.")


@app.command("status")
def db_status() -> None:
    """Say whether the database is running; exit 3 when it is not."""
    from api.storage.launcher import default_cluster

    if url := _external():
        from sqlalchemy import create_engine, text

        try:
            with create_engine(url).connect() as conn:
                version = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            console.print(f"external database not reachable: {exc.__class__.__name__}")
            raise typer.Exit(3) from None
        console.print(f"external database reachable, PostGIS {version}")
        return
    status = default_cluster().status()
    if not status.initialized:
        console.print(f"not initialised ({status.data_dir}); 'wangge db start' creates it")
        raise typer.Exit(3)
    if not status.running:
        console.print(f"stopped (data in {status.data_dir}, port {status.port})")
        raise typer.Exit(3)
    console.print(
        f"running (pid {status.pid}) on 127.0.0.1:{status.port}, data in {status.data_dir}"
    )


@app.command("url")
def db_url() -> None:
    """Print the database URL (postgresql+psycopg://…)."""
    from api.storage.launcher import LauncherError, default_cluster

    if url := _external():
        print(url)
        return
    try:
        print(default_cluster().url())
    except LauncherError as exc:
        raise fail(str(exc)) from None


@app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the Alembic migrations up to REVISION (default: head)."""
    from api.storage import migrate

    url = database_url()
    migrate.upgrade(url, revision)
    console.print(f"database at revision {migrate.current_revision(url)}")


@app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Revert the migrations down to REVISION ('base' removes every table)."""
    from api.storage import migrate

    url = database_url()
    migrate.downgrade(url, revision)
    console.print(f"database at revision {migrate.current_revision(url) or 'base'}")
