"""The `wangge` command-line tool: one module per command group, each calling the domain
packages' services (the same ones the HTTP routes call)."""

from __future__ import annotations

import typer

from api.cli import addresses, cases, db, demo, grids, ingest, stations, users

app = typer.Typer(help="Wangge: community grid governance GIS.", no_args_is_help=True)
app.add_typer(db.app, name="db")
app.command("isochrones")(stations.isochrones_cmd)
app.add_typer(users.app, name="users")
app.command("ingest")(ingest.ingest)
app.add_typer(grids.app, name="grids")
app.command("demo")(demo.demo)
app.command("serve")(demo.serve)
app.add_typer(addresses.app, name="address")
app.command("geocode")(addresses.geocode_cmd)
app.add_typer(stations.app, name="stations")
app.add_typer(cases.app, name="cases")
