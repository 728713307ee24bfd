"""`wangge address parse` and `wangge geocode`: Chinese addresses, offline."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import (
    SchedulerOption,
    WorkersOption,
    bulk_pool,
    database_url,
    err,
    fail,
    progress_bars,
)

app = typer.Typer(help="Chinese addresses (地址), offline.", no_args_is_help=True)


@app.command("parse")
def address_parse(
    src: Annotated[
        Path, typer.Option("--in", help="UTF-8 text, one address per line.", show_default=False)
    ],
    out: Annotated[
        Path, typer.Option("--out", help="JSON Lines output, one object per input line.")
    ],
) -> None:
    """Split each address into labelled components (prov, city, …, roomno) with spans."""
    from geo.address.batch import parse_file, read_lines
    from geo.errors import InputError

    try:
        total = len(read_lines(src))
        if total >= 2_000:
            with progress_bars() as progress_for:
                count = parse_file(src, out, on_progress=progress_for("parsing", total))
        else:
            count = parse_file(src, out)
    except InputError as exc:
        raise fail(str(exc)) from None
    err.print(f"{count} addresses parsed into {out}", highlight=False)


class CrsOut(StrEnum):
    wgs84 = "wgs84"
    gcj02 = "gcj02"
    bd09 = "bd09"


def geocode_cmd(
    src: Annotated[
        Path, typer.Option("--in", help="UTF-8 text, one address per line.", show_default=False)
    ],
    out: Annotated[Path, typer.Option("--out", help="JSON Lines output, one object per line.")],
    index: Annotated[
        Path | None,
        typer.Option(
            "--index", help="Address base: features with 'id' and 'address' (optional 'name')."
        ),
    ] = None,
    db: Annotated[
        bool,
        typer.Option(
            "--db",
            help="Use the database's address base (buildings, compounds, roads, stations) "
            "instead of --index.",
        ),
    ] = False,
    crs_out: Annotated[
        CrsOut, typer.Option("--crs-out", help="Datum of the output coordinates.")
    ] = CrsOut.wgs84,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
) -> None:
    """Geocode addresses offline against a standard address base (a file, or the database).

    The input is read and geocoded in partitions, in parallel with --workers N or
    --scheduler ADDRESS, and written in its own order: the same output as one worker."""
    from api.addresses.files import geocode_file, load_index
    from geo.address.batch import count_lines
    from geo.errors import InputError

    if (index is None) == (not db):
        raise fail("give the address base: --index PLACES or --db (not both)")
    try:
        total = count_lines(src)
        if db:
            from api.addresses.geocode import get_index
            from api.db import transaction

            url = database_url()
            with transaction(url) as session:
                base = get_index(session, url)
        else:
            base = load_index(index)
        with bulk_pool(workers, scheduler) as pool, progress_bars() as progress_for:
            counts = geocode_file(
                base, src, out, crs_out=crs_out.value, pool=pool,
                on_progress=progress_for("geocoding", total),
            )  # fmt: skip
    except InputError as exc:
        raise fail(str(exc)) from None
    summary = ", ".join(f"{level} {n}" for level, n in sorted(counts.items(), key=lambda t: -t[1]))
    err.print(f"{total} addresses geocoded into {out} ({summary or 'none'})", highlight=False)
