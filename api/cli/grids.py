"""`wangge grids generate|unify`: grid layers from files or the database, and 多格合一."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import (
    console,
    database_url,
    err,
    fail,
    print_problems,
    progress_bars,
    settle_imports,
)

app = typer.Typer(help="Grid (网格) and micro-grid (微网格) layers.", no_args_is_help=True)


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


@app.command("generate")
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
    workers: Annotated[
        int,
        typer.Option(
            help="Divide communities in parallel on a local Dask cluster of N processes "
            "(same result as 1).",
        ),
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Divide on an existing Dask cluster at this scheduler address "
            "(tcp://HOST:8786); its workers need wangge installed.",
        ),
    ] = None,
    part_households: Annotated[
        int | None,
        typer.Option(
            help="A boundary of more households is first cut into parts along barrier roads, "
            "rivers and rail, divided on their own (in parallel with --workers); default 20000.",
        ),
    ] = None,
) -> None:
    """Divide areas into grids from buildings and households.

    File mode (--buildings, --boundary, --out) reads files and writes a GeoJSON layer, no
    database. DB mode (--community, --street or --all) reads buildings and roads from PostGIS
    and stores the result as a new version of each community's layer, in one transaction.
    Limits the input already breaks (over 999 grids under one code, a boundary without
    buildings) are reported before any division.
    """
    from api.grids.generation import bounds_for

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
    if part_households is not None and part_households < 1:
        raise fail(
            f"--part-households 须至少为 1 (--part-households must be at least 1, "
            f"got {part_households})"
        )
    if part_households is not None:
        bounds = replace(bounds, cut_above=part_households)
    import api.grids.generation  # noqa: F401  the engine, imported before local workers fork
    from api.bulk.pool import open_pool
    from geo.errors import InputError

    settle_imports()

    with ExitStack() as stack:
        try:  # Dask is imported only for --workers > 1 or --scheduler
            pool = stack.enter_context(open_pool(workers, scheduler))
        except InputError as exc:
            raise fail(str(exc)) from None
        if any(db_mode.values()):
            _grids_generate_db(
                community or [], street or [], all_communities, chosen, bounds, force, report,
                pool,
            )  # fmt: skip
        else:
            _grids_generate_file(
                buildings, boundary, out, roads, chosen, bounds, report, skip_invalid, pool
            )


def _grids_generate_file(
    buildings, boundary, out, roads, level, bounds, report, skip_invalid, pool
):
    from shapely.errors import GEOSException

    from api.grids.generation import generate_file
    from geo.errors import GeoError

    def warn(breach) -> None:
        console.print(f"[yellow]注意 (note):[/] {breach.reason}", highlight=False)

    try:
        layer = generate_file(
            buildings, boundary, out, roads=roads, level=level, bounds=bounds,
            report=report, skip_invalid=skip_invalid, pool=pool, warn=warn,
        )  # fmt: skip
    except (GeoError, ValueError) as exc:
        problems = getattr(exc, "problems", [])
        print_problems("buildings", problems, out=err)
        raise fail(str(exc)) from None
    except GEOSException as exc:  # geometry the checks let through: say so, no traceback
        raise fail(f"几何运算出错 (geometry error): {exc}") from None
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


def _grids_generate_db(community, street, every, level, bounds, force, report, pool) -> None:
    import json
    import time

    from api.errors import NotFoundError
    from api.grids.generation import generate_db
    from geo.errors import GeoError

    url = database_url()
    t0 = time.perf_counter()
    try:
        with progress_bars() as progress_for:
            run = generate_db(
                url, community=community, street=street, every=every, level=level,
                bounds=bounds, force=force, progress_for=progress_for, pool=pool,
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


@app.command("unify")
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

    from api.grids.generation import bounds_for
    from api.grids.unify import parse_layer_options, parse_priority, unify_files
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
        print_problems("buildings", getattr(exc, "problems", []), out=err)
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
