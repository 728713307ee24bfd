"""Read queries shared by routes and the CLI. They never commit."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from api.storage import models

COUNTED = {
    "districts": models.District,
    "streets": models.Street,
    "communities": models.Community,
    "compounds": models.Compound,
    "buildings": models.Building,
    "roads": models.Road,
    "pois": models.Poi,
    "stations": models.Station,
    "workers": models.Worker,
    "cases": models.Case,
}


def postgis_version(session: Session) -> str:
    return session.execute(text("SELECT postgis_lib_version()")).scalar_one()


def layer_counts(session: Session) -> dict[str, int]:
    """Rows per table, plus current grids and micro-grids and the household total."""
    counts = {
        name: session.execute(select(func.count()).select_from(model)).scalar_one()
        for name, model in COUNTED.items()
    }
    current = select(models.Grid.level, func.count()).where(models.Grid.valid_to.is_(None))
    levels = dict(session.execute(current.group_by(models.Grid.level)).all())
    counts["grids"] = levels.get("grid", 0)
    counts["micro_grids"] = levels.get("micro", 0)
    total = select(func.coalesce(func.sum(models.Building.households), 0))
    counts["households"] = int(session.execute(total).scalar_one())
    return counts
