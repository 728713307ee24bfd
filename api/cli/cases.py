"""`wangge cases import FILE`: bulk load of cases, routed and assigned like single intake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import (
    SchedulerOption,
    WorkersOption,
    bulk_pool,
    console,
    database_url,
    err,
    fail,
    progress_bars,
)

app = typer.Typer(help="Cases (事件): bulk import.", no_args_is_help=True)


@app.command("import")
def import_cmd(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="CSV with lon/lat columns, or GeoJSON points"
        ),
    ],
    skip_invalid: Annotated[
        bool,
        typer.Option(help="Load the good rows and report the bad ones (default: refuse the file)."),
    ] = False,
    crs: Annotated[
        str, typer.Option(help="Datum of CSV coordinates: wgs84, gcj02 or bd09.")
    ] = "wgs84",
    lon_column: Annotated[str, typer.Option(help="CSV longitude column.")] = "lon",
    lat_column: Annotated[str, typer.Option(help="CSV latitude column.")] = "lat",
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
) -> None:
    """Load cases from a file in one transaction. Columns: category (a code of the catalog),
    description, optional address, external_id (or case_id), reported_at (ISO 8601).

    Rows are checked and routed in partitions, in parallel with --workers N or --scheduler
    ADDRESS; workers are assigned in the file's order, so the result is the same as one worker."""
    from rich.table import Table

    from api.cases.imports import ImportRejected, import_cases, read_cases
    from api.db import transaction
    from api.settings import get_settings
    from geo.errors import GeoError

    if crs not in ("wgs84", "gcj02", "bd09"):
        raise fail(f"unknown --crs {crs!r}: expected wgs84, gcj02 or bd09")
    settings = get_settings()
    try:
        with bulk_pool(workers, scheduler) as pool:  # local workers forked before the file is read
            frame = read_cases(path, lon_column=lon_column, lat_column=lat_column, crs=crs)
            with (
                progress_bars() as progress_for,
                transaction(database_url()) as session,
            ):
                report = import_cases(
                    session,
                    frame,
                    skip_invalid=skip_invalid,
                    tolerance_m=settings.case_nearest_m,
                    max_chars=settings.case_text_max_chars,
                    advance=progress_for("cases", len(frame)),
                    pool=pool,
                )
    except ImportRejected as exc:
        for p in exc.problems[:50]:
            err.print(f"  {_row(p)}: {p.reason}", highlight=False)
        if len(exc.problems) > 50:
            err.print(f"  …另有 {len(exc.problems) - 50} 行 (and {len(exc.problems) - 50} more)")
        raise fail(str(exc)) from None
    except (GeoError, ValueError) as exc:
        raise fail(str(exc)) from None
    table = Table(title=f"cases from {path.name}")
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_row("rows", f"{report.rows:,}")
    table.add_row("loaded", f"{report.loaded:,}")
    table.add_row("rejected", f"{len(report.rejected):,}")
    for status, n in sorted(report.by_status.items()):
        table.add_row(f"status {status}", f"{n:,}")
    for routing, n in sorted(report.by_routing.items()):
        table.add_row(f"routing {routing}", f"{n:,}")
    console.print(table)
    for p in report.rejected[:50]:
        console.print(f"  未导入 (rejected) {_row(p)}: {p.reason}", highlight=False)


def _row(problem) -> str:
    """Which row: 第 N 条 (the N-th data row), with the file's line where each row is one."""
    ident = f", {problem.id}" if problem.id else ""
    if problem.line is None:
        return f"第 {problem.row} 条 (row {problem.row}{ident})"
    where = f"line {problem.line}, row {problem.row}{ident}"
    return f"文件第 {problem.line} 行，第 {problem.row} 条 ({where})"
