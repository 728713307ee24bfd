"""`wangge stations …` (walking circles of the stored stations, coverage in the terminal) and
`wangge isochrones` (walking circles of points on a network file, or of the stored stations)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import console, database_url, err, fail
from api.stations.isochrone_files import (
    DEFAULT_MAX_SNAP_M,
    DEFAULT_SPEED_KMH,
    DEFAULT_WIDTH_M,
)

app = typer.Typer(help="Service stations (服务站点): circles and coverage.", no_args_is_help=True)


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
    from api.db import transaction
    from api.errors import NotFoundError
    from api.stations.circles import build_circles
    from geo.errors import GeoError

    try:
        with transaction(database_url()) as session:
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
    from api.db import transaction
    from api.errors import NotFoundError
    from api.stations.coverage import coverage
    from data.catalogs import function_names
    from geo.errors import GeoError

    try:
        with transaction(database_url()) as session:
            result = coverage(
                session,
                community=community,
                street=street,
                minutes=minutes,
                bounded_by_budget=False,  # no request to answer in time: let it run
            )
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


def isochrones_cmd(
    points: Annotated[
        Path | None,
        typer.Option("--points", help="GeoJSON/GeoPackage points with an 'id' property."),
    ] = None,
    network: Annotated[
        Path | None,
        typer.Option(
            "--network", help="Walkable lines: GeoJSON/GeoPackage lines, or an .osm/.osm.pbf file."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="GeoJSON output, one feature per point and minute value."),
    ] = None,
    minutes: Annotated[
        str, typer.Option("--minutes", help="Minute values, comma-separated.")
    ] = "5,10,15",
    speed_kmh: Annotated[
        float, typer.Option("--speed-kmh", help="Walking speed.")
    ] = DEFAULT_SPEED_KMH,
    width_m: Annotated[
        float,
        typer.Option(
            "--width-m", help="Longest straight walk from the streets to a reached place, metres."
        ),
    ] = DEFAULT_WIDTH_M,
    max_snap_m: Annotated[
        float,
        typer.Option("--max-snap-m", help="Points farther from the network get a plain circle."),
    ] = DEFAULT_MAX_SNAP_M,
    db: Annotated[
        bool,
        typer.Option(
            "--db",
            help="Database mode: every stored station's circles on the database's roads, "
            "stored in the isochrones table (old rows replaced in one transaction).",
        ),
    ] = False,
) -> None:
    """Walking isochrones (5/10/15-minute service circles) of points on a network file."""
    import numpy as np

    from geo.errors import InputError
    from geo.io import write_geojson
    from geo.isochrones import parse_minutes
    from geo.network import read_walk_network

    if db:  # database mode, also `wangge stations circles`
        if points or network or out:
            raise fail(
                "--db takes stations and roads from the database: no --points/--network/--out"
            )
        store_circles(minutes, speed_kmh)
        return
    if points is None or network is None or out is None:
        raise fail("give --points, --network and --out (or --db for the database's stations)")
    started = time.perf_counter()
    try:
        values = parse_minutes(minutes)
        if not (np.isfinite(speed_kmh) and speed_kmh > 0):
            msg = f"--speed-kmh must be a positive number, got {speed_kmh}"
            raise InputError(msg)
        from api.stations.isochrone_files import file_isochrones, read_points

        pts = read_points(points)
        net = read_walk_network(network, max_snap_m=max_snap_m)
        frame = file_isochrones(pts, net, minutes=values, speed_kmh=speed_kmh, width_m=width_m)
        if out.parent and not out.parent.exists():
            msg = f"{out}: the output directory {out.parent} does not exist"
            raise InputError(msg)
        write_geojson(frame, out)
    except (InputError, ValueError) as exc:
        raise fail(str(exc)) from None
    info = net.summary()
    off = int((frame["method"] == "buffer").sum() // max(len(values), 1))
    err.print(
        f"{len(pts)} points × {len(values)} minute values → {len(frame)} polygons in {out} "
        f"({off} off the network: plain circles); network {info['edges']} edges, "
        f"{info['components']} components; {time.perf_counter() - started:.1f} s",
        highlight=False,
    )
