"""Least privilege: the service connects as a role that owns nothing. It may read and write
the tables' rows and use their sequences, but not change the schema, TRUNCATE, disable
triggers, or update or delete rows of the append-only tables. Migrations run as the owner.

The managed cluster (launcher.service_url) and `wangge db roles` for an external PostGIS run
the same statements, built here."""

from __future__ import annotations

import psycopg
from psycopg import sql

SERVICE_ROLE = "wangge_service"
# records of what happened; rows change only through the owner (cascades, migrations)
APPEND_ONLY = (
    "audit_log",
    "case_events",
    "points_entries",
    "service_order_events",
    "household_visits",
)
READ_ONLY = ("alembic_version", "spatial_ref_sys")


PLAIN = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"


def role_statement(
    role: str, password: str, *, exists: bool = False, demote: bool = True
) -> sql.Composed:
    """CREATE (or, when it `exists`, ALTER) `role`: LOGIN with `password`, no other attribute.
    An existing role that has none to lose is altered without `demote` (naming the attributes
    at all takes a superuser, which an external database's owner is not)."""
    verb = "ALTER" if exists else "CREATE"
    attributes = PLAIN if demote or not exists else ""
    stmt = sql.SQL(" ".join(p for p in (verb, "ROLE {} LOGIN", attributes, "PASSWORD {}") if p))
    return stmt.format(sql.Identifier(role), sql.Literal(password))


def grant_statements(
    role: str, database: str, tables: set[str] | None = None
) -> list[sql.Composed]:
    """The service's grants in `database`; the append-only and read-only tables among `tables`
    (all of them when None) lose the verbs they must not have."""
    r = sql.Identifier(role)
    db = sql.Identifier(database)
    out = [
        sql.SQL(stmt).format(db=db, r=r)
        for stmt in (
            "GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {r}",
            "GRANT USAGE ON SCHEMA public TO {r}",
            "REVOKE CREATE ON SCHEMA public FROM {r}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
        )
    ]
    for table in APPEND_ONLY + READ_ONLY:
        if tables is None or table in tables:
            verbs = "UPDATE, DELETE" if table in APPEND_ONLY else "INSERT, UPDATE, DELETE"
            stmt = sql.SQL("REVOKE " + verbs + ", TRUNCATE ON {t} FROM {r}")
            out.append(stmt.format(t=sql.Identifier(table), r=r))
    return out


def _privileged(conn: psycopg.Connection, role: str) -> bool | None:
    """Whether `role` has an attribute the service must not have; None when it does not exist."""
    row = conn.execute(
        "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls FROM pg_roles "
        "WHERE rolname = %s",
        (role,),
    ).fetchone()
    return None if row is None else bool(row[0])


def role_exists(conn: psycopg.Connection, role: str) -> bool:
    return _privileged(conn, role) is not None


def ensure_role(conn: psycopg.Connection, role: str, password: str) -> None:
    """Create `role` (LOGIN, no other attribute) or reset its password (and take away any
    other attribute it has); conn: a role's that may create roles (a superuser, or an owner
    with CREATEROLE)."""
    privileged = _privileged(conn, role)
    exists = privileged is not None
    conn.execute(role_statement(role, password, exists=exists, demote=bool(privileged)))


def grant(conn: psycopg.Connection, role: str) -> None:
    """The service's grants in the connected database (run after every migration)."""
    tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables")}
    for stmt in grant_statements(role, conn.info.dbname, tables):
        conn.execute(stmt)


ROLE_NAME = r"^[a-z_][a-z0-9_]{0,62}$"


def setup(owner_url: str, role: str = SERVICE_ROLE, password: str | None = None) -> str:
    """On an external PostGIS: create `role` (or keep it, resetting its password when one is
    given) and grant it in the owner's database, exactly as the managed cluster does.

    `owner_url` is the owner's (it ran the migrations and may create roles). A new role without
    a `password` gets a generated one. Returns the service's URL; its password is the one set,
    or ``KEPT`` when an existing role's password was left alone."""
    import secrets

    from sqlalchemy.engine import make_url

    url = make_url(owner_url)
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        if password is None and not role_exists(conn, role):
            password = secrets.token_urlsafe(18)
        if password is not None:
            ensure_role(conn, role, password)
        grant(conn, role)
    return url.set(username=role, password=password or KEPT).render_as_string(hide_password=False)


KEPT = "KEPT"
