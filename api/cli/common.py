"""What the `wangge` command groups share: consoles, errors, progress bars, the database URL."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console

# soft_wrap: messages are never broken at the terminal's width (none without a TTY), so what
# a script or a test reads does not depend on where the command runs
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def settle_imports() -> None:
    """What was imported so far lives as long as the process: the collector stops walking it,
    in the run's collections and at exit (0.1-0.2 s of a grid job). Later objects are
    collected as usual, so their finalisers still run; forked workers share more pages."""
    gc.freeze()


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def progress_bars() -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """A rich progress display; yields a factory of per-task advance callbacks."""
    from rich.progress import (  # only for the commands that show one (~0.015 s to import)
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False) as progress:

        def progress_for(label: str, total: int) -> Callable[[int], None]:
            task = progress.add_task(label, total=total)
            return lambda n: progress.advance(task, n)

        yield progress_for


WorkersOption = Annotated[
    int,
    typer.Option(
        help="Run in partitions on a local Dask cluster of N processes (same result as 1)."
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        help="Run on an existing Dask cluster at this scheduler address (tcp://HOST:8786); "
        "its workers need wangge installed."
    ),
]


@contextmanager
def bulk_pool(workers: int, scheduler: str | None) -> Iterator[Any]:
    """The pool of --workers/--scheduler (api.bulk.pool); Dask is imported only when asked."""
    from api.bulk.pool import open_pool
    from geo.errors import InputError

    with ExitStack() as stack:
        try:
            pool = stack.enter_context(open_pool(workers, scheduler))
        except InputError as exc:
            raise fail(str(exc)) from None
        yield pool


def database_url() -> str:
    """The database URL (WANGGE_DATABASE_URL, or the managed cluster, started when needed)."""
    from api.storage.launcher import LauncherError
    from api.storage.launcher import database_url as resolve

    try:
        return resolve(start=True)
    except LauncherError as exc:
        raise fail(str(exc)) from None


def uvicorn_options() -> dict:
    """Proxy headers for uvicorn: honoured only from WANGGE_TRUSTED_PROXIES (none by default)."""
    from api.settings import get_settings

    trusted = get_settings().trusted_proxies.strip()
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}


def print_problems(kind: str, problems, *, limit: int = 50, out: Console = console) -> None:
    """The rejected or repaired rows of a file, at most `limit` of them."""
    for problem in problems[:limit]:
        ident = f" ({problem.id})" if problem.id else ""
        out.print(f"  {kind} row {problem.row}{ident}: {problem.reason}", highlight=False)
    if len(problems) > limit:
        out.print(f"  … and {len(problems) - limit} more")
