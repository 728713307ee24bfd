"""`wangge demo`: start PostGIS, load a demo dataset, serve the app.

On the managed cluster the demo gets its own database, ``wangge_demo``, rebuilt on every run, so
it never touches the data in ``wangge``. With WANGGE_DATABASE_URL it loads into that database only
when it is empty (or when --reload is given, which wipes it first).

After loading, grids and micro-grids are built for every community with a polygon (see
build_grids), and each community's grid workers are assigned to its grids.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from api.db import get_engine, transaction
from api.demo.accounts import create_demo_accounts
from api.demo.cases import recent_reports, seed_cases
from api.demo.notices import seed_notices
from api.demo.points import seed_points
from api.demo.stations import xuanwu_stations
from api.demo.visits import seed_visits
from api.demo.volunteers import seed_volunteers
from api.demo.xuanwu_areas import approximate
from api.grids.generation import assign_workers, generate_communities
from api.settings import get_settings
from api.storage import grids as grid_store
from api.storage import ingest as store
from api.storage import migrate, models
from api.storage.launcher import Cluster, LauncherError, default_cluster
from api.storage.models import Base
from api.storage.queries import layer_counts
from data.catalogs import offered_by_type
from geo.households import estimate_households
from geo.osm import read_osm
from geo.osm_places import read_boundary, read_places
from geo.validate import validate_features

DEMO_DATABASE = "wangge_demo"
XUANWU_DIR = Path(__file__).resolve().parents[2] / "data" / "nanjing_xuanwu"
XUANWU_OSM = XUANWU_DIR / "nanjing_xuanwu_2021-06-12.osm"

Log = Callable[[str], None]


class DemoError(RuntimeError):
    """The demo could not be prepared."""


@dataclass
class Prepared:
    url: str
    cluster: Cluster | None
    started_cluster: bool

    def close(self) -> None:
        """Release connections and stop the cluster if the demo started it."""
        get_engine(self.url).dispose()
        if self.cluster is not None and self.started_cluster:
            self.cluster.stop()


def wipe(session: Session) -> None:
    """Empty every table of ours (TRUNCATE bypasses the append-only row trigger by design)."""
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def prepare(
    *, dataset: str, size: str = "street", reload: bool = False, log: Log = print
) -> Prepared:
    """Start the database, migrate it and load `dataset`; return what serve() needs."""
    external = get_settings().database_url
    cluster, started = None, False
    try:
        if external:
            url = external
        else:
            cluster = default_cluster()
            started = not cluster.status().running
            log("starting PostGIS…" if started else "PostGIS already running")
            cluster.start()
            cluster.drop_database(DEMO_DATABASE)
            cluster.ensure_database(DEMO_DATABASE)
            url = cluster.url(DEMO_DATABASE)
        migrate.upgrade(url)
        with transaction(url) as session:
            counts = layer_counts(session)
            if external and any(counts.values()):
                if not reload:
                    msg = (
                        "the database at WANGGE_DATABASE_URL already holds data; "
                        "pass --reload to wipe it and load the demo"
                    )
                    raise DemoError(msg)
                wipe(session)
            t0 = time.perf_counter()
            if dataset == "synthetic":
                load_synthetic(session, size=size, recent=True, log=log)
            elif dataset == "nanjing-xuanwu":
                load_xuanwu(session, log=log)
            else:
                msg = f"unknown dataset {dataset!r}: expected synthetic or nanjing-xuanwu"
                raise DemoError(msg)
            build_grids(session, log=log)
            # before the sample cases: dispatch then gives the demo grid worker some of them
            create_demo_accounts(session, log=log)
            seed_cases(session, log=log)
            seed_volunteers(session, log=log)
            seed_notices(session, log=log)  # after the volunteers: they get it too
            seed_points(session, log=log)
            seed_visits(session, log=log)
            build_station_circles(session, log=log)
            counts = layer_counts(session)
        log(f"loaded {dataset} in {time.perf_counter() - t0:.1f} s: " + _summary(counts))
    except (LauncherError, DemoError) as exc:
        if cluster is not None and started:
            cluster.stop()
        raise DemoError(str(exc)) from exc
    except BaseException:
        if cluster is not None and started:
            cluster.stop()
        raise
    return Prepared(url, cluster, started)


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{v:,} {k}" for k, v in counts.items() if v)


def _checked(frame: gpd.GeoDataFrame, kind: str, id_column: str) -> gpd.GeoDataFrame:
    result = validate_features(frame, kind=kind, id_column=id_column)
    if result.problems:
        first = result.problems[0]
        msg = f"demo {kind} failed validation: row {first.row} ({first.id}): {first.reason}"
        raise DemoError(msg)
    return result.frame


def load_synthetic(
    session: Session, *, size: str, seed: int = 0, recent: bool = False, log: Log = print
) -> None:
    """Generate the synthetic city and insert every layer; `recent` dates its reports over
    the last days (the demo) instead of the city's fixed dates (tests)."""
    from data.synthetic import generate_city

    t0 = time.perf_counter()
    city = generate_city(size=size, seed=seed)
    log(f"generated synthetic city ({size}) in {time.perf_counter() - t0:.1f} s")
    for level, frame in (
        ("district", city.districts),
        ("street", city.streets),
        ("community", city.communities),
    ):
        store.load_boundaries(session, _checked(frame, "boundaries", "code"), level=level)
    store.load_compounds(session, _checked(city.compounds, "boundaries", "compound_id"))
    store.load_buildings(session, _checked(city.buildings, "buildings", "building_id"))
    store.load_roads(session, _checked(city.roads, "roads", "road_id"))
    stations = _checked(city.stations, "stations", "station_id")
    if "phone" not in stations.columns:  # the synthetic desk numbers (025-…) are public phones
        stations = stations.assign(phone=stations["contact"])
    store.load_stations(session, stations, functions_by_type=offered_by_type())
    store.load_workers(session, city.workers)
    store.load_cases(session, recent_reports(city.cases, seed=seed) if recent else city.cases)


def build_grids(session: Session, *, log: Log = print) -> None:
    """Grids and micro-grids (level both, default bounds) for every community with a polygon,
    stored as version 1, and each community's workers assigned to its grids."""
    t0 = time.perf_counter()
    areas = grid_store.select_communities(session, every=True)
    run = generate_communities(session, areas, level="both")
    assigned = assign_workers(session, [a.id for a in areas])
    grids = sum(r.counts.get("grid", (0, 0))[0] for r in run.generated)
    micro = sum(r.counts.get("micro", (0, 0))[0] for r in run.generated)
    log(
        f"built {grids:,} grids and {micro:,} micro-grids in {len(run.generated)} communities "
        f"in {time.perf_counter() - t0:.1f} s; {assigned:,} worker-grid assignments"
    )
    reasons: dict[str, int] = {}
    for r in run.skipped:
        reasons[r.skipped] = reasons.get(r.skipped, 0) + 1
    for reason, n in reasons.items():
        log(f"  {n} communities without grids: {reason}")


def build_station_circles(session: Session, *, log: Log = print) -> None:
    """Every station's 5/10/15-minute walking circles on the loaded roads, stored."""
    from api.stations.circles import build_circles

    report = build_circles(session)
    methods = ", ".join(f"{n:,} {m}" for m, n in sorted(report.methods.items()))
    log(
        f"built {report.stored:,} walking circles for {report.stations:,} stations "
        f"({methods}) in {report.network_s + report.compute_s:.1f} s"
    )


def extract_area(buildings: gpd.GeoDataFrame, *, buffer_m: float = 50.0) -> shapely.Geometry:
    """The area an extract's buildings cover (EPSG:4326): the concave hull (ratio 0.3) of their
    footprints in the UTM zone, grown by `buffer_m` so that the outer buildings have some land.

    It is an outline of the data, not an administrative boundary: the Xuanwu demo cuts it by
    the district boundary the extract holds (api.demo.xuanwu_areas).
    """
    utm = buildings.estimate_utm_crs()
    footprints = shapely.union_all(buildings.to_crs(utm).geometry.to_numpy())
    hull = shapely.concave_hull(footprints, ratio=0.3).buffer(buffer_m)
    return gpd.GeoSeries([hull], crs=utm).to_crs(4326).iloc[0]


def xuanwu_divisions() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Xuanwu's real street offices and communities (NBS 2023 codes), without geometry."""
    streets = pd.read_csv(XUANWU_DIR / "xuanwu_streets.csv", dtype=str)
    communities = pd.read_csv(XUANWU_DIR / "xuanwu_communities.csv", dtype=str)
    return streets, communities


def load_xuanwu(session: Session, *, log: Log = print) -> None:
    """Load the Nanjing Xuanwu OpenStreetMap extract and the district's real divisions.

    The 8 street offices and 61 communities come with codes and names only. The communities
    that can be placed get approximate areas (api.demo.xuanwu_areas: seeds from OSM names,
    Voronoi cells snapped to major roads, inside the district's part of the extract), stored
    with boundary_source 'approximate', and so do their street offices (the union of their
    communities). The others keep no polygon and are listed in the log. Stations: OSM service
    places by the catalog's rules inside the district part, and an office per placed
    community (api.demo.stations). Household counts are estimates from footprints and floors.
    """
    streets, communities = xuanwu_divisions()
    communities = communities.rename(columns={"streetCode": "street_code"})
    t0 = time.perf_counter()
    osm = read_osm(XUANWU_OSM)
    buildings = estimate_households(
        _checked(osm.buildings, "buildings", "building_id"), landuse=osm.landuse, pois=osm.pois
    )
    boundary = read_boundary(XUANWU_OSM, name="玄武区")
    approx = approximate(
        communities,
        area=extract_area(buildings),
        boundary_lines=boundary.lines,
        label=boundary.label,
        places=read_places(XUANWU_OSM),
        roads=osm.network,
    )
    log(f"read {XUANWU_OSM.name} in {time.perf_counter() - t0:.1f} s")
    _log_approximation(approx, log)
    district = gpd.GeoDataFrame({"code": ["320102"], "name": ["玄武区"]}, geometry=[None], crs=4326)
    store.load_boundaries(session, district, level="district")
    for level, frame, shapes in (
        ("street", streets.rename(columns={"areaCode": "district_code"}), approx.streets),
        ("community", communities, approx.communities),
    ):
        geometry = frame["code"].map(shapes.set_index("code").geometry)
        rows = gpd.GeoDataFrame(frame, geometry=list(geometry.where(geometry.notna(), None)),
                                crs=4326)  # fmt: skip
        store.load_boundaries(session, rows, level=level)
        model = models.Street if level == "street" else models.Community
        session.execute(
            update(model)
            .where(model.code.in_(list(shapes["code"])))
            .values(boundary_source="approximate")
        )
    store.load_buildings(session, buildings)
    store.load_roads(session, _checked(osm.network, "roads", "road_id"))
    # water and rail: barriers to the grids, never walked (geo/osm_barriers.py)
    store.load_barriers(session, _checked(osm.barriers, "roads", "barrier_id"))
    pois = _checked(osm.pois, "pois", "poi_id")
    store.load_pois(session, pois)
    stations = xuanwu_stations(pois, approx.seeds, inside=approx.district)
    store.load_stations(session, stations)
    rules = ", ".join(f"{n} {r}" for r, n in stations["rule"].value_counts().items())
    log(f"stations: {len(stations)} of {len(pois):,} POIs and community seeds ({rules})")


def _log_approximation(approx, log: Log) -> None:
    log(
        f"approximate areas for {len(approx.communities)} communities and "
        f"{len(approx.streets)} street offices (boundary_source 'approximate'):"
    )
    for seed in approx.seeds.itertuples(index=False):
        log(f"  {seed.code} {seed.name}: seed by {seed.how} ({', '.join(seed.matched)})")
    log(
        f"  {len(approx.unplaced)} communities without a seed in the extract's Xuanwu part "
        f"keep no polygon: {'、'.join(approx.unplaced)}"
    )
