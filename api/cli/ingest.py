"""`wangge ingest KIND FILE`: buildings, roads, boundaries, stations or OSM into PostGIS, or a
household register (楼栋台账) joined to the buildings already there."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.common import console, database_url, err, fail, print_problems, progress_bars


class Kind(StrEnum):
    buildings = "buildings"
    roads = "roads"
    boundaries = "boundaries"
    stations = "stations"
    osm = "osm"
    register = "register"


#: A register option naming the header of one field; the Chinese defaults are in the README.
Header = Annotated[
    str | None, typer.Option(help="Register (楼栋台账): the header of this field in the file.")
]


class Level(StrEnum):
    district = "district"
    street = "street"
    community = "community"
    compound = "compound"


def _print_result(result) -> None:
    table = Table(title=f"loaded from {result.source.name}")
    table.add_column("layer")
    for column in ("loaded", "rejected", "repaired", "households estimated"):
        table.add_column(column, justify="right")
    for r in result.reports:
        counts = (r.loaded, len(r.rejected), len(r.repaired), r.estimated)
        table.add_row(r.kind, *map(str, counts))
    console.print(table)
    for reason, count in result.skipped.items():
        console.print(f"skipped in the file: {count} × {reason}")
    for report in result.reports:
        print_problems(report.kind, report.rejected)
        print_problems(report.kind, report.repaired)


def ingest(
    kind: Annotated[
        Kind, typer.Argument(help="What the file holds; 'osm' loads buildings, roads and POIs.")
    ],
    path: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="GeoJSON, GeoPackage, Shapefile, CSV or .osm/.osm.pbf"
        ),
    ],
    level: Annotated[
        Level | None, typer.Option(help="For boundaries: district, street, community or compound.")
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            help="Load the good rows and report the bad ones (default: refuse the whole file)."
        ),
    ] = False,
    layer: Annotated[str | None, typer.Option(help="GeoPackage layer.")] = None,
    crs: Annotated[
        str | None, typer.Option(help="CRS of a file that declares none, e.g. EPSG:32650.")
    ] = None,
    lon_column: Annotated[str | None, typer.Option(help="CSV longitude column.")] = None,
    lat_column: Annotated[str | None, typer.Option(help="CSV latitude column.")] = None,
    dwelling_m2: Annotated[
        float, typer.Option(help="Gross floor area per dwelling for household estimates.")
    ] = 90.0,
    households_column: Header = None,
    address_column: Header = None,
    compound_column: Header = None,
    building_column: Header = None,
    id_column: Header = None,
    units_column: Header = None,
    floors_column: Header = None,
) -> None:
    """Load buildings, roads, boundaries or stations from a file into PostGIS, all or nothing;
    or join a household register (.xlsx/.csv) to the buildings and set their households."""
    if kind is Kind.register:
        columns = {
            "households": households_column,
            "address": address_column,
            "compound": compound_column,
            "building": building_column,
            "building_id": id_column,
            "units": units_column,
            "floors": floors_column,
            "lon": lon_column,
            "lat": lat_column,
        }
        _register(path, skip_invalid=skip_invalid, columns=columns)
        return
    from api.db import transaction
    from api.ingest.layers import IngestRejected, ingest_file
    from geo.errors import GeoError

    url = database_url()
    options = {"layer": layer, "crs": crs, "lon_column": lon_column, "lat_column": lat_column}
    try:
        with progress_bars() as progress_for, transaction(url) as session:
            result = ingest_file(
                session,
                path,
                kind=kind.value,
                level=level.value if level else None,
                skip_invalid=skip_invalid,
                dwelling_m2=dwelling_m2,
                progress_for=progress_for,
                **(
                    {k: v for k, v in options.items() if v is not None} if not _is_osm(path) else {}
                ),
            )
    except IngestRejected as exc:
        for layer_name, problems in exc.problems.items():
            for problem in problems[:50]:
                ident = f" ({problem.id})" if problem.id else ""
                err.print(
                    f"  {layer_name} row {problem.row}{ident}: {problem.reason}", highlight=False
                )
        raise fail(str(exc)) from None
    except (GeoError, ValueError) as exc:
        raise fail(str(exc)) from None
    _print_result(result)


def _register(path: Path, *, skip_invalid: bool, columns: dict[str, str | None]) -> None:
    from api.db import transaction
    from api.ingest.register import RegisterError, RegisterRejected, ingest_register

    url = database_url()
    try:
        with transaction(url) as session:
            report = ingest_register(session, path, skip_invalid=skip_invalid, columns=columns)
    except RegisterRejected as exc:
        _print_unmatched(exc.report, out=err)
        raise fail(escape(str(exc))) from None
    except RegisterError as exc:  # the message quotes the file's own text: no rich markup
        raise fail(escape(str(exc))) from None
    ways = {"id": "楼栋编号 id", "point": "坐标 point", "address": "地址 address"}
    by_way = "，".join(f"{ways[w]} {n}" for w, n in sorted(report.matched.items()))
    console.print(
        f"{path.name}：{report.rows} 行，对应到楼栋 {report.written} 行（{by_way or '无'}），"
        f"未对应 {len(report.problems)} 行 ({report.rows} rows, {report.written} joined and "
        f"written, {len(report.problems)} not joined)",
        highlight=False,
        markup=False,
    )
    _print_unmatched(report, out=console)


def _print_unmatched(report, *, out, limit: int = 50) -> None:
    for problem in report.problems[:limit]:
        shown = f"；候选 candidates: {' | '.join(problem.candidates)}" if problem.candidates else ""
        out.print(
            f"  第 {problem.row} 行 row {problem.row}: {problem.reason}{shown}",
            highlight=False,
            markup=False,
        )
    if len(report.problems) > limit:
        out.print(f"  … 另有 {len(report.problems) - limit} 行 (and more)", highlight=False)


def _is_osm(path: Path) -> bool:
    from api.ingest.layers import is_osm

    return is_osm(path)
