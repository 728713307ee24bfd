"""`wangge isochrones --db` (and `wangge stations circles`): circles of the stored stations."""

from __future__ import annotations

from typer.testing import CliRunner

from api.cli import app
from api.db import transaction
from api.demo import datasets as demo
from api.stations import network as network_db
from tests.api.test_grids_db import rows

runner = CliRunner()


def test_db_mode_stores_and_replaces_circles(use_database):
    empty = runner.invoke(app, ["isochrones", "--db"])
    assert empty.exit_code == 1 and "no roads in the database" in empty.output
    with transaction(use_database) as session:
        demo.load_synthetic(session, size="community", log=lambda _: None)
    stations = rows(use_database, "SELECT count(*) FROM stations")[0][0]
    result = runner.invoke(app, ["isochrones", "--db", "--minutes", "5,10"])
    assert result.exit_code == 0, result.output
    assert f"{2 * stations} circles stored for {stations} stations" in result.output
    counts = dict(rows(use_database, "SELECT minutes, count(*) FROM isochrones GROUP BY 1"))
    assert counts == {5.0: stations, 10.0: stations}
    result = runner.invoke(app, ["stations", "circles", "--minutes", "15", "--speed-kmh", "4"])
    assert result.exit_code == 0, result.output
    stored = rows(use_database, "SELECT DISTINCT minutes, speed_kmh FROM isochrones")
    assert stored == [(15.0, 4.0)]  # the old rows were replaced
    bad = runner.invoke(app, ["isochrones", "--db", "--minutes", "0,5"])
    assert bad.exit_code == 1
    assert rows(use_database, "SELECT count(*) FROM isochrones")[0][0] == stations  # untouched
    mixed = runner.invoke(app, ["isochrones", "--db", "--out", "x.geojson"])
    assert mixed.exit_code == 1 and "--db takes stations and roads" in mixed.output
    network_db.invalidate(use_database)


def test_file_mode_still_needs_its_options():
    result = runner.invoke(app, ["isochrones", "--minutes", "5"])
    assert result.exit_code == 1 and "give --points, --network and --out" in result.output
