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


@app.command("roles")
def db_roles(
    service_role: Annotated[
        str, typer.Option("--service-role", help="the role the service connects as")
    ] = "wangge_service",
    password: Annotated[
        str | None,
        typer.Option(
            envvar="WANGGE_SERVICE_PASSWORD",
            help="its password (default: generated for a new role, kept for an existing one)",
        ),
    ] = None,
    print_sql: Annotated[
        bool, typer.Option("--sql", help="print the statements for psql instead of running them")
    ] = False,
) -> None:
    """Create the service's role on the database and grant it only what it needs (run as the
    owner after every 'wangge db upgrade'); prints the service's WANGGE_DATABASE_URL."""
    import re
    import secrets

    import psycopg
    from sqlalchemy.engine import make_url

    from api.storage import roles

    if not re.match(roles.ROLE_NAME, service_role):
        msg = (
            f"角色名 {service_role!r} 不合规：小写字母、数字或下划线，最长 63 个字符 (the role "
            "name must be lower-case letters, digits or underscores, at most 63 characters)"
        )
        raise fail(msg)
    url = make_url(database_url())
    if print_sql:
        secret = password or secrets.token_urlsafe(18)
        print(f"-- as a role that may create roles, then in database {url.database} as its owner")
        print(roles.role_statement(service_role, secret).as_string(None) + ";")
        for stmt in roles.grant_statements(service_role, url.database):
            print(stmt.as_string(None) + ";")
        return
    try:
        service = roles.setup(url.render_as_string(hide_password=False), service_role, password)
    except psycopg.errors.InsufficientPrivilege as exc:
        msg = (
            f"权限不足：{url.username} 不能创建角色或授权，请以拥有 CREATEROLE 的数据库属主运行 "
            f"(insufficient privilege: run as the database's owner with CREATEROLE): {exc}"
        )
        raise fail(msg) from None
    except psycopg.OperationalError as exc:
        raise fail(f"无法连接数据库 (cannot connect to the database): {exc}") from None
    kept = service.count(f":{roles.KEPT}@") == 1
    console.print(
        f"服务角色 {service_role} 已授权于数据库 {url.database}"
        + ("（密码未变 password kept）" if kept else "")
        + f" (service role {service_role} granted in database {url.database})"
    )
    print(f"WANGGE_DATABASE_URL={service}")
