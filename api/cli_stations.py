"""`wangge stations …`: walking circles of the stored stations, and coverage in the terminal."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Service stations (服务站点): circles and coverage.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _url() -> str:
    from api.cli import _url as url

    return url()


@app.command("circles")
def circles(
    minutes: Annotated[str, typer.Option(help="Minute values, comma-separated.")] = "5,10,15",
    speed_kmh: Annotated[float, typer.Option(help="Walking speed.")] = 4.5,
) -> None:
    """Compute every station's walking circles on the roads of the database and store them
    (old circles replaced in one transaction); same as `wangge isochrones --db`."""
    store_circles(minutes, speed_kmh)


def store_circles(minutes: str, speed_kmh: float) -> None:
    """Build and store the circles, printing a summary; exit 1 with the reason on failure."""
    from api.circles import build_circles
    from api.db import transaction
    from api.errors import NotFoundError
    from geo.errors import GeoError

    try:
        with transaction(_url()) as session:
            report = build_circles(session, minutes=minutes, speed_kmh=speed_kmh)
    except (GeoError, NotFoundError, ValueError) as exc:
        err.print(f"error: {exc}", highlight=False)
        raise typer.Exit(1) from None
    methods = ", ".join(f"{n} {m}" for m, n in sorted(report.methods.items())) or "none"
    console.print(
        f"{report.stored} circles stored for {report.stations} stations at "
        f"{', '.join(f'{m:g}' for m in report.minutes)} min, {report.speed_kmh:g} km/h "
        f"({methods}; {report.empty} empty); network {report.network_s:.1f} s, "
        f"circles {report.compute_s:.1f} s",
        highlight=False,
    )


@app.command("coverage")
def coverage_cmd(
    community: Annotated[str | None, typer.Option(help="12-digit community code.")] = None,
    street: Annotated[str | None, typer.Option(help="9-digit street-office code.")] = None,
    minutes: Annotated[float, typer.Option(help="Minutes for the uncovered count.")] = 15.0,
) -> None:
    """Share of households within 5/10/15 minutes of each function (whole area)."""
    from api.coverage import coverage
    from api.db import transaction
    from api.errors import NotFoundError
    from data.catalogs import function_names
    from geo.errors import GeoError

    try:
        with transaction(_url()) as session:
            result = coverage(session, community=community, street=street, minutes=minutes)
    except (GeoError, NotFoundError, ValueError) as exc:
        err.print(f"error: {exc}", highlight=False)
        raise typer.Exit(1) from None
    total = result.table[result.table["level"] == "total"]
    names = {**function_names(), "any": "任一站点", "all": "六项齐全"}
    table = Table(title="households within walking minutes")
    table.add_column("function")
    thresholds = sorted(total["minutes"].unique())
    for t in thresholds:
        table.add_column(f"≤ {t:g} min", justify="right")
    for function, rows in total.groupby("function", sort=False):
        shares = rows.set_index("minutes")["share"]
        table.add_row(
            f"{names.get(function, function)} ({function})",
            *(f"{shares[t]:.1%}" if shares[t] == shares[t] else "–" for t in thresholds),
        )
    console.print(table)
    console.print(
        f"{int(result.uncovered.sum())} buildings have no station within {minutes:g} min; "
        f"{len(result.gaps)} gap areas"
    )
