"""`wangge users add|list|disable|enable|token|tokens|revoke`: accounts from the command line.

Changes are audited with the actor ``cli:<login name>``.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import console, database_url, err, fail

# kept in step with api.accounts.Role (not imported: the CLI starts without loading the models)
ROLES = (
    "public, resident, grid_worker, grid_leader, community_admin, street_admin, department, "
    "planner, admin, volunteer"
)
app = typer.Typer(help="Accounts: add, list, disable; API tokens for other systems.")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _run(work):
    """Run `work(session)` in one transaction on the configured database; errors exit 1."""
    from api.db import transaction
    from api.errors import WanggeError
    from geo.errors import InputError

    url = _accounts_database()
    try:
        with transaction(url) as session:
            return work(session)
    except (InputError, WanggeError) as exc:
        raise fail(str(exc)) from None


def _accounts_database() -> str:
    """The configured database; on the managed cluster, while its default database has no
    tables yet, the demo's (wangge_demo) when that one is loaded; else a clear error."""
    from sqlalchemy.exc import OperationalError

    from api.settings import get_settings
    from api.storage import migrate
    from api.storage.launcher import default_cluster

    url = database_url()
    if migrate.current_revision(url):
        return url
    if not get_settings().database_url:
        from api.demo.datasets import DEMO_DATABASE  # the geo stack: only on this rare path

        demo = default_cluster().url(DEMO_DATABASE)
        try:
            if migrate.current_revision(demo):
                err.print(f"使用演示数据库 / using the demo database: {DEMO_DATABASE}")
                return demo
        except OperationalError:  # no demo database
            pass
    msg = (
        "数据库还没有表：请先运行 `wangge db upgrade`（或 `wangge demo` 加载演示数据） / "
        "the database has no tables yet: run `wangge db upgrade` (or `wangge demo`) first"
    )
    raise fail(msg)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[str, typer.Option(help=f"one of: {ROLES}")],
    password: Annotated[
        str | None, typer.Option(help="at least 8 characters, letters with digits or others")
    ] = None,
    grid: Annotated[
        list[str] | None, typer.Option("--grid", help="grid code served (grid workers; repeat)")
    ] = None,
    community: Annotated[str | None, typer.Option(help="community code (community_admin)")] = None,
    street: Annotated[str | None, typer.Option(help="street office code (street_admin)")] = None,
    department: Annotated[str | None, typer.Option(help="department name (department)")] = None,
    display_name: Annotated[str | None, typer.Option(help="name shown to others")] = None,
    worker: Annotated[
        str | None, typer.Option(help="link to this existing worker id (default: the name)")
    ] = None,
    kind: Annotated[
        str, typer.Option(help="volunteer: party_member (党员), building_lead (楼栋长), volunteer")
    ] = "volunteer",
    skills: Annotated[
        str | None, typer.Option(help="volunteer: skills, comma-separated (助老,维修,陪诊 …)")
    ] = None,
    building: Annotated[
        list[str] | None,
        typer.Option(
            "--building",
            help="building lead (volunteer kind building_lead, or a part-time grid_worker): "
            "a building id or address in their grid (repeat)",
        ),
    ] = None,
) -> None:
    """Create an account. Grid workers and leaders are linked to a workers row and its grids;
    a volunteer to its one grid (--grid), kind and skills."""
    from api import accounts

    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if building and role not in ("volunteer", "grid_worker"):
        msg = "--building 只用于楼栋长（志愿者或兼职网格员） (for building leads only)"
        raise fail(msg)
    if role == "volunteer":
        from api.service_orders import volunteers

        principal = _run(
            lambda s: volunteers.create_volunteer(
                s, name, password, grid_codes=grid or (), kind=kind,
                skills=(skills or "").replace("，", ",").split(","),
                display_name=display_name, actor=_actor(), buildings=building or (),
            )
        )  # fmt: skip
    else:

        def create(s):
            made = accounts.create_user(
                s,
                name,
                role,
                password,
                grid_codes=grid or (),
                community_code=community,
                street_code=street,
                department=department,
                display_name=display_name,
                worker=worker,
                actor=_actor(),
            )
            if building:  # a part-time worker who leads buildings (楼栋长)
                from api.notices.leads import set_worker_buildings

                set_worker_buildings(s, made.worker_id, building, actor=_actor())
            return made

        principal = _run(create)
    where = ", ".join(principal.grid_codes) or principal.community_code or principal.street_code
    suffix = f" ({where})" if where else ""
    console.print(f"created {principal.role} {principal.username}{suffix}", highlight=False)


@app.command("list")
def list_users() -> None:
    """Every account with its role, area and state."""
    from api import accounts

    users = _run(accounts.list_users)
    # plain columns (no table): one line per account, easy to grep
    print(f"{'name':<20} {'role':<16} {'state':<8} area")
    for p, disabled in users:
        area = [
            " ".join(p.grid_codes),
            p.community_code or "",
            p.street_code or "",
            p.department or "",
        ]
        state = "disabled" if disabled else "active"
        print(f"{p.username:<20} {p.role.value:<16} {state:<8} {' / '.join(a for a in area if a)}")
    console.print(f"{len(users)} accounts", highlight=False)


@app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="login name")]) -> None:
    """Disable an account: sign-in and every token of it stop working at once."""
    from api import accounts

    changed = _run(lambda s: accounts.set_disabled(s, name, disabled=True, actor=_actor()))
    console.print(f"{name} disabled" if changed else f"{name} was already disabled")


@app.command("enable")
def enable(name: Annotated[str, typer.Argument(help="login name")]) -> None:
    """Enable a disabled account again."""
    from api import accounts

    changed = _run(lambda s: accounts.set_disabled(s, name, disabled=False, actor=_actor()))
    console.print(f"{name} enabled" if changed else f"{name} was already enabled")


@app.command("passwd")
def passwd(
    name: Annotated[str, typer.Argument(help="login name")],
    password: Annotated[str | None, typer.Option(help="the new password (else prompted)")] = None,
) -> None:
    """Set a new password for an account (tokens already issued stay valid until they expire)."""
    from api import accounts

    if password is None:
        password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    _run(lambda s: accounts.set_password(s, name, password, actor=_actor()))
    console.print(f"password of {name} changed")


@app.command("token")
def token(
    name: Annotated[str, typer.Argument(help="login name the token acts as")],
    label: Annotated[str, typer.Option(help="what the token is for")] = "api",
    days: Annotated[int | None, typer.Option(min=1, help="lifetime; default until revoked")] = None,
) -> None:
    """Create an API token for another system; it is printed once (only its hash is kept)."""
    from api import accounts

    token_id, secret = _run(
        lambda s: accounts.create_api_token(s, name, label=label, days=days, actor=_actor())
    )
    err.print(f"API token {token_id} for {name} (store it now, it is not shown again):")
    print(secret)


@app.command("tokens")
def tokens(name: Annotated[str | None, typer.Argument(help="only this user's")] = None) -> None:
    """API tokens (without their secrets)."""
    from api import accounts

    rows = _run(lambda s: accounts.list_api_tokens(s, name))
    table = Table("id", "user", "label", "prefix", "created", "expires", "revoked")
    for t in rows:
        table.add_row(
            str(t["id"]),
            t["username"],
            t["label"],
            t["prefix"] + "…",
            f"{t['created_at']:%Y-%m-%d %H:%M}",
            f"{t['expires_at']:%Y-%m-%d}" if t["expires_at"] else "",
            f"{t['revoked_at']:%Y-%m-%d %H:%M}" if t["revoked_at"] else "",
        )
    console.print(table)


@app.command("revoke")
def revoke(token_id: Annotated[int, typer.Argument(help="API token id (see `users tokens`)")]):
    """Revoke an API token."""
    from api import accounts

    changed = _run(lambda s: accounts.revoke_api_token(s, token_id, actor=_actor()))
    console.print(f"token {token_id} revoked" if changed else f"token {token_id} already revoked")
