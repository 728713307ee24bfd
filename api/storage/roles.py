"""Least privilege: the service connects as a role that owns nothing. It may read and write
the tables' rows and use their sequences, but not change the schema, TRUNCATE, disable
triggers, or update or delete rows of the append-only tables. Migrations run as the owner."""

from __future__ import annotations

import psycopg
from psycopg import sql

SERVICE_ROLE = "wangge_service"
APPEND_ONLY = ("audit_log", "case_events")
READ_ONLY = ("alembic_version", "spatial_ref_sys")


def ensure_role(conn: psycopg.Connection, role: str, password: str) -> None:
    """Create `role` (LOGIN, no other attribute) or reset its password; conn: a superuser's."""
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    stmt = sql.SQL(
        verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD {}"
    )
    conn.execute(stmt.format(sql.Identifier(role), sql.Literal(password)))


def grant(conn: psycopg.Connection, role: str) -> None:
    """The service's grants in the connected database (run after every migration)."""
    r = sql.Identifier(role)
    db = sql.Identifier(conn.info.dbname)
    for stmt in (
        "GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {r}",
        "GRANT USAGE ON SCHEMA public TO {r}",
        "REVOKE CREATE ON SCHEMA public FROM {r}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
    ):
        conn.execute(sql.SQL(stmt).format(db=db, r=r))
    tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables")}
    for table in APPEND_ONLY + READ_ONLY:
        if table in tables:
            verbs = "UPDATE, DELETE" if table in APPEND_ONLY else "INSERT, UPDATE, DELETE"
            stmt = sql.SQL("REVOKE " + verbs + ", TRUNCATE ON {t} FROM {r}")
            conn.execute(stmt.format(t=sql.Identifier(table), r=r))
