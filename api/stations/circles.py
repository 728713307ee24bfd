"""Walking circles (5/10/15 minutes) of every station, computed on the database's network and
stored in `isochrones`, replacing the old rows in the caller's transaction."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from api.stations.network import get_network
from api.storage import stations as store
from geo.isochrones import isochrones, parse_minutes

DEFAULT_MINUTES = (5.0, 10.0, 15.0)


@dataclass
class CirclesReport:
    stations: int
    stored: int
    minutes: tuple[float, ...]
    speed_kmh: float
    methods: Counter = field(default_factory=Counter)
    empty: int = 0
    network_s: float = 0.0
    compute_s: float = 0.0


def build_circles(
    session: Session,
    *,
    minutes: Sequence[float] | str = DEFAULT_MINUTES,
    speed_kmh: float = 4.5,
) -> CirclesReport:
    """Compute every station's circles and replace the stored ones (one transaction: the
    caller's). A station off the network gets plain circles, flagged method 'buffer'."""
    values = parse_minutes(minutes)
    t0 = time.perf_counter()
    net = get_network(session)
    t1 = time.perf_counter()
    stations = store.station_frame(session)
    report = CirclesReport(len(stations), 0, values, speed_kmh, network_s=t1 - t0)
    if stations.empty:
        store.replace_isochrones(
            session, stations.assign(station_pk=[], minutes=[], method=[]), speed_kmh=speed_kmh
        )
        return report
    points = stations[["id", "geometry"]].rename(columns={"id": "station_pk"})
    circles = isochrones(net, points, minutes=values, speed_kmh=speed_kmh, id_column="station_pk")
    report.compute_s = time.perf_counter() - t1
    empty = circles.geometry.isna() | circles.geometry.is_empty
    report.empty = int(empty.sum())
    circles = circles[~empty].rename(columns={"id": "station_pk"})
    report.methods = Counter(circles["method"])
    report.stored = store.replace_isochrones(session, circles, speed_kmh=speed_kmh)
    return report
