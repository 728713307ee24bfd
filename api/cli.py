"""The `wangge` command-line tool."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api import cli_db_backup, cli_isochrones
from api.cli_users import app as users_app
from api.settings import get_settings

app = typer.Typer(help="Wangge: community grid governance GIS.", no_args_is_help=True)
db_app = typer.Typer(
    help="The database: a managed local PostGIS unless WANGGE_DATABASE_URL is set."
)
app.add_typer(db_app, name="db")
cli_db_backup.register(db_app)  # wangge db dump / restore
cli_isochrones.register(app)  # wangge isochrones
app.add_typer(users_app, name="users")
console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def progress_bars() -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """A rich progress display; yields a factory of per-task advance callbacks."""
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


# -- db ----------------------------------------------------------------------------------


def _external() -> str | None:
    return get_settings().database_url


@db_app.command("start")
def db_start() -> None:
    """Start the managed PostGIS (initialising it on first use)."""
    from api.storage.launcher import LauncherError, default_cluster

    if _external():
        console.print("WANGGE_DATABASE_URL is set: using that database, nothing to start.")
        return
    cluster = default_cluster()
    try:
        cluster.start()
    except LauncherError as exc:
        raise fail(str(exc)) from None
    status = cluster.status()
    console.print(
        f"PostGIS running (pid {status.pid}) on 127.0.0.1:{status.port}, data in {status.data_dir}"
    )


@db_app.command("stop")
def db_stop() -> None:
    """Stop the managed PostGIS."""
    from api.storage.launcher import LauncherError, default_cluster

    if _external():
        console.print("WANGGE_DATABASE_URL is set: the external database is not ours to stop.")
        return
    try:
        stopped = default_cluster().stop()
    except LauncherError as exc:
        raise fail(str(exc)) from None
    console.print("PostGIS stopped." if stopped else "PostGIS was not running.")


@db_app.command("status")
def db_status() -> None:
    """Say whether the database is running; exit 3 when it is not."""
    from api.storage.launcher import default_cluster

    if url := _external():
        from sqlalchemy import create_engine, text

        try:
            with create_engine(url).connect() as conn:
                version = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            console.print(f"external database not reachable: {exc.__class__.__name__}")
            raise typer.Exit(3) from None
        console.print(f"external database reachable, PostGIS {version}")
        return
    status = default_cluster().status()
    if not status.initialized:
        console.print(f"not initialised ({status.data_dir}); 'wangge db start' creates it")
        raise typer.Exit(3)
    if not status.running:
        console.print(f"stopped (data in {status.data_dir}, port {status.port})")
        raise typer.Exit(3)
    console.print(
        f"running (pid {status.pid}) on 127.0.0.1:{status.port}, data in {status.data_dir}"
    )


@db_app.command("url")
def db_url() -> None:
    """Print the database URL (postgresql+psycopg://…)."""
    from api.storage.launcher import LauncherError, default_cluster

    if url := _external():
        print(url)
        return
    try:
        print(default_cluster().url())
    except LauncherError as exc:
        raise fail(str(exc)) from None


def _url() -> str:
    from api.storage.launcher import LauncherError, database_url

    try:
        return database_url(start=True)
    except LauncherError as exc:
        raise fail(str(exc)) from None


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the Alembic migrations up to REVISION (default: head)."""
    from api.storage import migrate

    url = _url()
    migrate.upgrade(url, revision)
    console.print(f"database at revision {migrate.current_revision(url)}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Revert the migrations down to REVISION ('base' removes every table)."""
    from api.storage import migrate

    url = _url()
    migrate.downgrade(url, revision)
    console.print(f"database at revision {migrate.current_revision(url) or 'base'}")


# -- ingest ------------------------------------------------------------------------------


class Kind(StrEnum):
    buildings = "buildings"
    roads = "roads"
    boundaries = "boundaries"
    stations = "stations"
    osm = "osm"


class Level(StrEnum):
    district = "district"
    street = "street"
    community = "community"
    compound = "compound"


def _print_problems(kind: str, problems, *, limit: int = 50, out: Console = console) -> None:
    for problem in problems[:limit]:
        ident = f" ({problem.id})" if problem.id else ""
        out.print(f"  {kind} row {problem.row}{ident}: {problem.reason}", highlight=False)
    if len(problems) > limit:
        out.print(f"  … and {len(problems) - limit} more")


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
        _print_problems(report.kind, report.rejected)
        _print_problems(report.kind, report.repaired)


@app.command()
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
) -> None:
    """Load buildings, roads, boundaries or stations from a file into PostGIS, all or nothing."""
    from api.db import transaction
    from api.ingest import IngestRejected, ingest_file
    from geo.errors import GeoError

    url = _url()
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


def _is_osm(path: Path) -> bool:
    from api.ingest import is_osm

    return is_osm(path)


# -- grids ------------------------------------------------------------------------------

grids_app = typer.Typer(help="Grid (网格) and micro-grid (微网格) layers.", no_args_is_help=True)
app.add_typer(grids_app, name="grids")


MinOption = Annotated[
    int | None,
    typer.Option("--min", help="Least households per grid (of --level; grids for both)."),
]
MaxOption = Annotated[int | None, typer.Option("--max", help="Most households per grid.")]
MicroMinOption = Annotated[
    int | None, typer.Option(help="Least households per micro-grid with --level both.")
]
MicroMaxOption = Annotated[
    int | None, typer.Option(help="Most households per micro-grid with --level both.")
]


class GridLevel(StrEnum):
    grid = "grid"
    micro = "micro"
    both = "both"


@grids_app.command("generate")
def grids_generate(
    buildings: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="File mode: building footprints or points (building_id, households …).",
        ),
    ] = None,
    boundary: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="File mode: polygons to divide, each on its own (optional 12-digit 'code').",
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="File mode: output GeoJSON layer.")] = None,
    roads: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="File mode: lines grids should not cross (property 'class').",
        ),
    ] = None,
    community: Annotated[
        list[str] | None,
        typer.Option(help="DB mode: regenerate this community (12-digit code; repeatable)."),
    ] = None,
    street: Annotated[
        list[str] | None,
        typer.Option(help="DB mode: regenerate every community of this street office (9 digits)."),
    ] = None,
    all_communities: Annotated[
        bool, typer.Option("--all", help="DB mode: regenerate every community.")
    ] = False,
    level: Annotated[
        GridLevel | None,
        typer.Option(
            help="grid, micro, or both (micro-grids nested in grids); "
            "default grid in file mode, both in DB mode."
        ),
    ] = None,
    min_households: MinOption = None,
    max_households: MaxOption = None,
    micro_min: MicroMinOption = None,
    micro_max: MicroMaxOption = None,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="File mode: leave out bad building rows instead of failing.")
    ] = False,
    force: Annotated[
        bool, typer.Option(help="DB mode: regenerate communities whose grids are locked too.")
    ] = False,
) -> None:
    """Divide areas into grids from buildings and households.

    File mode (--buildings, --boundary, --out) reads files and writes a GeoJSON layer, no
    database. DB mode (--community, --street or --all) reads buildings and roads from PostGIS
    and stores the result as a new version of each community's layer, in one transaction.
    """
    from api.grids import bounds_for

    file_mode = {"--buildings": buildings, "--boundary": boundary, "--out": out}
    file_only = {"--roads": roads, "--skip-invalid": skip_invalid or None}
    db_mode = {"--community": community, "--street": street, "--all": all_communities or None}
    given_file = [k for k, v in {**file_mode, **file_only}.items() if v]
    given_db = [k for k, v in {**db_mode, "--force": force or None}.items() if v]
    if given_file and given_db:
        raise fail(
            f"{', '.join(given_file)} (file mode) cannot be combined with {', '.join(given_db)} "
            "(DB mode): give --buildings/--boundary/--out, or --community/--street/--all"
        )
    missing = [k for k, v in file_mode.items() if v is None]
    if missing and not any(db_mode.values()):
        raise fail(
            f"missing {', '.join(missing)}: file mode needs --buildings, --boundary and "
            "--out; DB mode needs --community CODE, --street CODE or --all"
        )
    chosen = level.value if level else ("both" if any(db_mode.values()) else "grid")
    try:
        bounds = bounds_for(chosen, min_households, max_households, micro_min, micro_max)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if any(db_mode.values()):
        _grids_generate_db(
            community or [], street or [], all_communities, chosen, bounds, force, report
        )
    else:
        _grids_generate_file(buildings, boundary, out, roads, chosen, bounds, report, skip_invalid)


def _grids_generate_file(buildings, boundary, out, roads, level, bounds, report, skip_invalid):
    from api.grids import generate_file
    from geo.errors import GeoError

    try:
        layer = generate_file(
            buildings, boundary, out, roads=roads, level=level, bounds=bounds,
            report=report, skip_invalid=skip_invalid,
        )  # fmt: skip
    except (GeoError, ValueError) as exc:
        problems = getattr(exc, "problems", [])
        _print_problems("buildings", problems, out=err)
        raise fail(str(exc)) from None
    for lvl in ("grid", "micro"):
        if lvl in layer.report:
            r = layer.report[lvl]
            lo, hi = r["bounds"]
            console.print(
                f"{lvl}: {r['count']} polygons, {r['within_bounds']} within {lo}–{hi} households, "
                f"mean Polsby–Popper {r['polsby_popper_mean']:.2f}, "
                f"{len(r['infeasible'])} infeasible or out of bounds"
            )
            for item in r["infeasible"][:20]:
                console.print(f"  {item['code']}: {item['reason']}", highlight=False)
    console.print(f"wrote {out}")


def _grids_generate_db(community, street, every, level, bounds, force, report) -> None:
    import json
    import time

    from api.errors import NotFoundError
    from api.grids import generate_db
    from geo.errors import GeoError

    url = _url()
    t0 = time.perf_counter()
    try:
        with progress_bars() as progress_for:
            run = generate_db(
                url, community=community, street=street, every=every, level=level,
                bounds=bounds, force=force, progress_for=progress_for,
            )  # fmt: skip
    except (NotFoundError, GeoError, ValueError) as exc:
        raise fail(str(exc)) from None
    elapsed = time.perf_counter() - t0
    table = Table(title=f"grids generated (level {level})")
    for column in ("community", "name", "households", "version"):
        table.add_column(column, justify="right" if column in ("households", "version") else "left")
    for lvl in ("grid", "micro"):
        if level in (lvl, "both"):
            table.add_column(f"{lvl}s", justify="right")
            table.add_column("within bounds", justify="right")
    table.add_column("infeasible", justify="right")
    for r in run.generated:
        cells = [r.code, r.name, f"{r.households:,}", str(r.version)]
        for lvl in ("grid", "micro"):
            if lvl in r.counts:
                cells += [str(n) for n in r.counts[lvl]]
        table.add_row(*cells, str(len(r.infeasible)))
    if run.generated:
        console.print(table)
    for r in run.generated:
        for item in r.infeasible[:10]:
            console.print(f"  {item['code']}: {item['reason']}", highlight=False)
        if len(r.infeasible) > 10:
            console.print(f"  … and {len(r.infeasible) - 10} more in {r.code}")
        for code, share in r.trimmed.items():
            console.print(
                f"  {code}: the engine returned it in several parts; stored its largest, "
                f"{share:.1%} of its area left out of the layer",
                highlight=False,
            )
        if r.outside[0]:
            console.print(
                f"  {r.code}: {r.outside[0]} building(s) ({r.outside[1]:,} households) of this "
                "community lie outside its polygon and were left out",
                highlight=False,
            )
    for r in run.skipped:
        out = err if r.failed else console
        out.print(f"[yellow]skipped[/] {r.code} {r.name}: {r.skipped}", highlight=False)
    if report is not None:
        payload = {
            "valid_from": run.at.isoformat() if run.at else None,
            "communities": [
                {"code": r.code, "name": r.name, "skipped": r.skipped, "version": r.version,
                 "households": r.households, "trimmed": r.trimmed, "report": r.report}
                for r in run.results
            ],
        }  # fmt: skip
        report.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    console.print(
        f"{len(run.generated)} of {len(run.results)} communities regenerated in {elapsed:.1f} s"
        + (f" (version stamped {run.at:%Y-%m-%d %H:%M:%S %Z})" if run.generated else "")
    )
    if not run.generated:
        raise fail("no grids were generated")
    if any(r.failed for r in run.skipped):
        raise fail("generation failed for some communities; the others were stored")


@grids_app.command("unify")
def grids_unify(
    layer: Annotated[
        list[str],
        typer.Option(
            "--layer",
            help="A department's grid layer as NAME=PATH (repeat for each, e.g. 综治=a.geojson).",
        ),
    ],
    buildings: Annotated[
        Path,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Building footprints or points (building_id, households …).",
        ),
    ],
    boundary: Annotated[
        Path,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Polygons to cover, each on its own (optional 12-digit 'code').",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Output GeoJSON: the unified layer.")],
    roads: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="Lines new grids should not cross (property 'class')."
        ),
    ] = None,
    priority: Annotated[
        str | None,
        typer.Option(
            help="Layer names, most trusted first (NAME,NAME); default: grids more layers agree "
            "on first, trying each layer first as well."
        ),
    ] = None,
    level: Annotated[
        GridLevel,
        typer.Option(help="grid or micro (the layers' level), or both (micro-grids added)."),
    ] = GridLevel.grid,
    min_households: MinOption = None,
    max_households: MaxOption = None,
    micro_min: MicroMinOption = None,
    micro_max: MicroMaxOption = None,
    tolerance: Annotated[
        float, typer.Option(help="Metres: pieces narrower than this are drawing slivers.")
    ] = 1.0,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    findings: Annotated[
        Path | None,
        typer.Option(help="Write the comparison findings (overlaps, gaps, conflicts) here."),
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="Leave out bad building rows instead of failing.")
    ] = False,
) -> None:
    """多格合一: compare departments' grid layers and unify them into one (file mode)."""
    import time

    from api.grids import bounds_for
    from api.unify import parse_layer_options, parse_priority, unify_files
    from geo.errors import GeoError

    t0 = time.perf_counter()
    try:
        layers = parse_layer_options(layer)
        order = parse_priority(priority, list(layers))
        bounds = bounds_for(level.value, min_households, max_households, micro_min, micro_max)
        result = unify_files(
            layers, buildings, boundary, out, roads=roads, priority=order, level=level.value,
            grid_bounds=bounds.grid, micro_bounds=bounds.micro, tolerance_m=tolerance,
            report=report, findings=findings, skip_invalid=skip_invalid,
        )  # fmt: skip
    except (GeoError, ValueError) as exc:
        _print_problems("buildings", getattr(exc, "problems", []), out=err)
        raise fail(str(exc)) from None
    elapsed = time.perf_counter() - t0
    summary, r = result.summary, result.layer.report
    table = Table(title="comparison of the layers")
    table.add_column("layer")
    for kind in summary["kinds"]:
        table.add_column(kind, justify="right")
    for name, counts in summary["layers"].items():
        table.add_row(name, *(str(counts[k]) for k in summary["kinds"]))
    console.print(table)
    table = Table(title="unified layer: grids kept from each layer")
    for column in ("layer", "grids", "kept", "same as kept", "rejected", "given up"):
        table.add_column(column, justify="left" if column == "layer" else "right")
    for name, counts in r["layers"].items():
        cells = (counts["grids"], counts["kept"], counts["agrees"], counts["rejected"])
        table.add_row(name, *map(str, cells), str(counts["released"]))
    console.print(table)
    top = "micro" if level.value == "micro" else "grid"
    lo, hi = r[top]["bounds"]
    console.print(
        f"{r[top]['count']} {top}s: {r['kept']} kept, {r['new']} new "
        f"({r['kept_share']:.0%} kept), {r[top]['within_bounds']} within {lo}–{hi} households; "
        f"{r['internal_boundary_share']:.0%} of the inner boundaries follow a department's line"
    )
    for item in r["infeasible"][:20]:
        console.print(f"  {item['code']}: {item['reason']}", highlight=False)
    if len(r["infeasible"]) > 20:
        console.print(f"  … and {len(r['infeasible']) - 20} more (see the report)")
    written = [str(p) for p in (out, report, findings) if p is not None]
    console.print(f"wrote {', '.join(written)} in {elapsed:.1f} s")


# -- demo --------------------------------------------------------------------------------


class Dataset(StrEnum):
    synthetic = "synthetic"
    nanjing_xuanwu = "nanjing-xuanwu"


class Size(StrEnum):
    community = "community"
    street = "street"
    district = "district"


@app.command()
def demo(
    dataset: Annotated[Dataset, typer.Option(help="Which demo data to load.")] = Dataset.synthetic,
    size: Annotated[Size, typer.Option(help="Synthetic city size.")] = Size.street,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    serve: Annotated[
        bool, typer.Option(help="Serve the app after loading (--no-serve: load only).")
    ] = True,
    reload: Annotated[
        bool,
        typer.Option(
            help="With WANGGE_DATABASE_URL: wipe and reload a database that already holds data."
        ),
    ] = False,
) -> None:
    """Start PostGIS, load a demo dataset and serve the app; Ctrl-C stops both."""
    from api import demo as demo_module

    try:
        prepared = demo_module.prepare(
            dataset=dataset.value, size=size.value, reload=reload, log=console.print
        )
    except demo_module.DemoError as exc:
        raise fail(str(exc)) from None
    if not serve:
        prepared.close()
        return
    try:
        demo_module.serve(prepared, host=host, port=port, log=console.print)
    finally:
        prepared.close()
        console.print("stopped.")


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Serve the app on the configured database (migrating it first)."""
    import uvicorn

    from api.main import create_app
    from api.storage import migrate

    url = _url()
    migrate.upgrade(url)
    uvicorn.run(create_app(url), host=host, port=port)


# -- address ----------------------------------------------------------------------------

address_app = typer.Typer(help="Chinese addresses (地址), offline.", no_args_is_help=True)
app.add_typer(address_app, name="address")


@address_app.command("parse")
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


# -- geocode ----------------------------------------------------------------------------


class CrsOut(StrEnum):
    wgs84 = "wgs84"
    gcj02 = "gcj02"
    bd09 = "bd09"


@app.command("geocode")
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
) -> None:
    """Geocode addresses offline against a standard address base (a file, or the database)."""
    from api.geocoding import geocode_file, load_index
    from geo.address.batch import read_lines
    from geo.errors import InputError

    if (index is None) == (not db):
        raise fail("give the address base: --index PLACES or --db (not both)")
    try:
        total = len(read_lines(src))
        if db:
            from api.db import transaction
            from api.geocode_db import get_index

            url = _url()
            with transaction(url) as session:
                base = get_index(session, url)
        else:
            base = load_index(index)
        with progress_bars() as progress_for:
            counts = geocode_file(
                base, src, out, crs_out=crs_out.value, on_progress=progress_for("geocoding", total)
            )
    except InputError as exc:
        raise fail(str(exc)) from None
    summary = ", ".join(f"{level} {n}" for level, n in sorted(counts.items(), key=lambda t: -t[1]))
    err.print(f"{total} addresses geocoded into {out} ({summary or 'none'})", highlight=False)


from api.cli_stations import app as stations_app  # noqa: E402

app.add_typer(stations_app, name="stations")
app.add_typer(__import__("api.cli_cases", fromlist=["app"]).app, name="cases")  # wangge cases

if __name__ == "__main__":
    app()
