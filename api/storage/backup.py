"""Database backups with pg_dump -Fc / pg_restore (`wangge db dump FILE`, `wangge db restore FILE`).

Both work on the managed cluster and on WANGGE_DATABASE_URL. The client programs come from
WANGGE_PG_BIN and, when we are root, run as ``postgres`` like the launcher's server; the
backup file is read and written by this process, so it may live anywhere we can write.
A restore runs in one transaction: when it fails, the target is left as it was.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL

# tables that PostGIS itself owns; a database holding only these counts as empty
POSTGIS_TABLES = {"spatial_ref_sys"}


class BackupError(RuntimeError):
    """pg_dump or pg_restore failed, or the target is not fit for a restore."""


def _client(name: str, url: URL) -> tuple[list[str], dict[str, str]]:
    """The command prefix and environment for a libpq client program against `url`."""
    from api.settings import get_settings

    path = get_settings().pg_bin / name
    if not path.exists():
        msg = f"{path} not found: install PostgreSQL 15 client programs (postgresql-client-15)"
        raise BackupError(msg)
    env = {**os.environ, "PGPASSWORD": url.password or "", "PGCONNECT_TIMEOUT": "10"}
    cmd = [str(path), "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)]
    cmd += ["-U", url.username or "postgres"]
    if os.geteuid() == 0:  # runuser keeps the environment (PGPASSWORD stays out of argv)
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return cmd, env


def _run(
    program: str, cmd: list[str], env: dict[str, str], **kwargs
) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, cwd="/", check=False, **kwargs)
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace") if proc.stderr else ""
        msg = f"{program} failed ({proc.returncode}): {stderr.strip()[-2000:]}"
        raise BackupError(msg)
    return proc


def dump(url: URL, out: Path) -> int:
    """Write the database at `url` to `out` (pg_dump custom format); returns its size."""
    cmd, env = _client("pg_dump", url)
    cmd += ["-Fc", "--no-owner", "--no-privileges", "-d", url.database or "postgres"]
    tmp = out.with_name(out.name + ".partial")
    try:
        with tmp.open("wb") as f:
            _run("pg_dump", cmd, env, stdout=f, stderr=subprocess.PIPE)
        tmp.replace(out)  # a failed dump never leaves a truncated FILE behind
    finally:
        tmp.unlink(missing_ok=True)
    return out.stat().st_size


def user_tables(url: URL) -> list[str]:
    """Tables in the target other than PostGIS's own (schema-qualified)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as conn:
            names = conn.execute(
                text(
                    "SELECT schemaname || '.' || tablename, tablename FROM pg_tables "
                    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'topology', "
                    "'tiger', 'tiger_data') ORDER BY 1"
                )
            ).all()
    finally:
        engine.dispose()
    return [qualified for qualified, table in names if table not in POSTGIS_TABLES]


def restore(url: URL, source: Path, *, force: bool = False) -> None:
    """Load `source` (a `wangge db dump` file) into the database at `url`, in one transaction.

    Refuses a target that already has tables unless `force`, which drops and replaces the
    objects the backup holds.
    """
    if not source.is_file():
        msg = f"{source}: no such backup file"
        raise BackupError(msg)
    with source.open("rb") as f:
        if f.read(5) != b"PGDMP":
            msg = f"{source} is not a pg_dump custom-format file (made by 'wangge db dump')"
            raise BackupError(msg)
    tables = user_tables(url)
    if tables and not force:
        shown = ", ".join(tables[:5]) + (" …" if len(tables) > 5 else "")
        msg = (
            f"database {url.database} is not empty ({len(tables)} tables: {shown}); "
            "restore into an empty database, or pass --force to replace its contents"
        )
        raise BackupError(msg)
    cmd, env = _client("pg_restore", url)
    cmd += ["--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
    if force and tables:
        cmd += ["--clean", "--if-exists"]
    cmd += ["-d", url.database or "postgres"]
    with source.open("rb") as f:
        _run("pg_restore", cmd, env, stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
