"""A self-managed local PostGIS cluster, used by the CLI, the demo and the tests alike.

Layout of the state directory::

    cluster.json   port, superuser name and password (mode 0600)
    pgdata/        the cluster (owned by the server's user)
    run/           unix socket
    log/postgres.log

When we are root the server runs as ``postgres`` (``runuser -u postgres --``), since PostgreSQL
refuses to run as root. It listens on 127.0.0.1 only, on a free non-default port chosen at
initdb time and changed at start if something else took it meanwhile.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

SUPERUSER = "wangge"
FIRST_PORT = 54330


class LauncherError(RuntimeError):
    """The local cluster could not be set up, started or stopped."""


@dataclass(frozen=True)
class ClusterStatus:
    running: bool
    pid: int | None
    port: int | None
    data_dir: Path
    initialized: bool


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def find_free_port(start: int = FIRST_PORT, tries: int = 200) -> int:
    """The first port from `start` on which nothing listens on 127.0.0.1."""
    for port in range(start, start + tries):
        if _port_free(port):
            return port
    msg = f"no free port in {start}..{start + tries - 1} on 127.0.0.1"
    raise LauncherError(msg)


class Cluster:
    """A PostgreSQL + PostGIS cluster in `state_dir`, created on first start.

    Parameters
    ----------
    state_dir
        Directory holding the cluster; created if missing. Must not be under /root when root.
    pg_bin
        Directory with initdb, pg_ctl and postgres (Debian: /usr/lib/postgresql/15/bin).
    database
        The application database, created with the postgis extension on start.
    fast
        Trade durability for speed (fsync off): for throwaway test clusters only.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        pg_bin: Path = Path("/usr/lib/postgresql/15/bin"),
        database: str = "wangge",
        fast: bool = False,
    ) -> None:
        self.state_dir = Path(state_dir).absolute()
        self.pg_bin = Path(pg_bin)
        self.database = database
        self.fast = fast
        self.data_dir = self.state_dir / "pgdata"
        self.run_dir = self.state_dir / "run"
        self.log_file = self.state_dir / "log" / "postgres.log"
        self.config_file = self.state_dir / "cluster.json"

    # -- running commands as the server's user -------------------------------------------

    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _owner(self) -> tuple[int, int]:
        if not self._as_root:
            return os.getuid(), os.getgid()
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            msg = "running as root needs the 'postgres' user (apt-get install postgresql-15)"
            raise LauncherError(msg) from None
        return pw.pw_uid, pw.pw_gid

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd="/", check=False)
        if check and proc.returncode != 0:
            msg = f"{' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.strip()}"
            raise LauncherError(msg)
        return proc

    def _bin(self, name: str) -> str:
        path = self.pg_bin / name
        if not path.exists():
            msg = f"{path} not found: install PostgreSQL 15 and PostGIS (postgresql-15-postgis-3)"
            raise LauncherError(msg)
        return str(path)

    # -- state ---------------------------------------------------------------------------

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists() and self.config_file.exists()

    def _config(self) -> dict:
        try:
            return json.loads(self.config_file.read_text())
        except FileNotFoundError:
            msg = f"cluster in {self.state_dir} is not initialised: run 'wangge db start'"
            raise LauncherError(msg) from None

    def _save_config(self, config: dict) -> None:
        tmp = self.config_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(config, indent=2))
        tmp.chmod(0o600)
        tmp.replace(self.config_file)

    def _check_location(self) -> None:
        root = Path("/root")
        if self._as_root and (self.state_dir == root or root in self.state_dir.parents):
            msg = f"state directory {self.state_dir} is under /root, which postgres cannot enter"
            raise LauncherError(msg)
        if self._as_root:
            for parent in self.state_dir.parents:
                if parent.exists() and not parent.stat().st_mode & 0o001:
                    mode = parent.stat().st_mode & 0o777
                    msg = f"postgres cannot enter {parent} (mode {mode:o}); "
                    msg += f"choose a state directory outside it or chmod o+x {parent}"
                    raise LauncherError(msg)

    # -- lifecycle -----------------------------------------------------------------------

    def init(self) -> None:
        """Run initdb once; a no-op on an initialised cluster."""
        if self.initialized:
            return
        self._check_location()
        uid, gid = self._owner()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o755)
        if self.data_dir.exists():  # a half-done earlier initdb
            shutil.rmtree(self.data_dir)
        for d in (self.data_dir, self.run_dir, self.log_file.parent):
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, uid, gid)
        self.data_dir.chmod(0o700)
        password = secrets.token_urlsafe(18)
        pwfile = self.run_dir / "initdb.pw"
        pwfile.write_text(password + "\n")
        os.chown(pwfile, uid, gid)
        pwfile.chmod(0o600)
        try:
            self._run(
                self._bin("initdb"),
                "-D", str(self.data_dir),
                "-U", SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=peer" if self._as_root else "--auth-local=trust",
                "-E", "UTF8",
                "--locale=C.UTF-8",
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)
        conf = [
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.run_dir}'",
            "max_connections = 200",
        ]
        if self.fast:
            conf += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with (self.data_dir / "postgresql.conf").open("a") as f:
            f.write("\n# wangge\n" + "\n".join(conf) + "\n")
        self._save_config({"port": find_free_port(), "user": SUPERUSER, "password": password})

    def _postmaster_pid(self) -> int | None:
        """PID of our server if it is alive; None otherwise (even with a stale pid file)."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError, PermissionError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return None
        args = [a.decode(errors="replace") for a in cmdline]
        if args and args[0].endswith("postgres") and str(self.data_dir) in args:
            return pid
        return None

    def status(self) -> ClusterStatus:
        pid = self._postmaster_pid() if self.initialized else None
        port = self._config()["port"] if self.initialized else None
        return ClusterStatus(pid is not None, pid, port, self.data_dir, self.initialized)

    def _recover(self) -> None:
        """Clear what a crashed or killed server left behind so that it can start."""
        pidfile = self.data_dir / "postmaster.pid"
        if pidfile.exists() and self._postmaster_pid() is None:
            pidfile.unlink()
        for lock in self.run_dir.glob(".s.PGSQL.*"):
            lock.unlink(missing_ok=True)

    def start(self, *, timeout: float = 60.0) -> str:
        """Start the server (initialising it first if needed) and return the database URL."""
        self.init()
        if self._postmaster_pid() is None:
            self._recover()
            config = self._config()
            if not _port_free(config["port"]):
                config["port"] = find_free_port(config["port"] + 1)
                self._save_config(config)
            deadline = time.monotonic() + timeout
            while True:
                proc = self._run(
                    self._bin("pg_ctl"), "start", "-w", "-t", str(int(timeout)),
                    "-D", str(self.data_dir), "-l", str(self.log_file),
                    "-o", f"-p {config['port']}",
                    check=False,
                )  # fmt: skip
                if proc.returncode == 0:
                    break
                # children of a killed postmaster may still hold shared memory for a moment
                if time.monotonic() > deadline:
                    msg = f"PostgreSQL did not start: {proc.stderr.strip()}\n{self._log_tail()}"
                    raise LauncherError(msg)
                time.sleep(0.5)
                self._recover()
                if not _port_free(config["port"]):  # taken meanwhile by another cluster
                    config["port"] = find_free_port(config["port"] + 1)
                    self._save_config(config)
        self.ensure_database(self.database)
        return self.url()

    def stop(self, *, mode: str = "fast") -> bool:
        """Stop the server; False when it was not running."""
        if not self.initialized or self._postmaster_pid() is None:
            self._recover() if self.initialized else None
            return False
        self._run(self._bin("pg_ctl"), "stop", "-w", "-m", mode, "-D", str(self.data_dir))
        return True

    def destroy(self) -> None:
        """Stop the server and delete the whole state directory."""
        self.stop(mode="immediate")
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- connections ---------------------------------------------------------------------

    def url(self, database: str | None = None, *, driver: str = "postgresql+psycopg") -> str:
        c = self._config()
        db = database or self.database
        return f"{driver}://{c['user']}:{c['password']}@127.0.0.1:{c['port']}/{db}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url(database, driver="postgresql"), autocommit=True)

    def ensure_database(self, name: str, *, template: str | None = None) -> None:
        """Create database `name` (from `template` if given) with PostGIS, if missing."""
        with self.connect() as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            exists = found.fetchone()
            if not exists:
                stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
                if template:
                    stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
                conn.execute(stmt)
        with self.connect(name) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    def service_url(self, database: str | None = None) -> str:
        """The URL of the service's own role (owns nothing, see roles.py) for `database`:
        the role is made on first use and granted what it needs in that database."""
        from api.storage import roles

        config = self._config()
        if "service_password" not in config:
            config["service_password"] = secrets.token_urlsafe(18)
            self._save_config(config)
        db = database or self.database
        with self.connect() as conn:
            roles.ensure_role(conn, roles.SERVICE_ROLE, config["service_password"])
        with self.connect(db) as conn:
            roles.grant(conn, roles.SERVICE_ROLE)
        password = config["service_password"]
        return (
            f"postgresql+psycopg://{roles.SERVICE_ROLE}:{password}@127.0.0.1:{config['port']}/{db}"
        )

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            stmt = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(stmt.format(sql.Identifier(name)))


def default_cluster() -> Cluster:
    """The cluster described by the settings (WANGGE_STATE_DIR, WANGGE_PG_BIN)."""
    from api.settings import get_settings

    s = get_settings()
    return Cluster(s.state_dir, pg_bin=s.pg_bin, database=s.pg_database)


def database_url(*, start: bool = True) -> str:
    """WANGGE_DATABASE_URL if set, else the managed cluster's URL (starting it if asked)."""
    from api.settings import get_settings

    s = get_settings()
    if s.database_url:
        return s.database_url
    cluster = default_cluster()
    return cluster.start() if start else cluster.url()
