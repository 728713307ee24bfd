"""Residential or not: the classifier of geo/households.py against a labelled Xuanwu sample.

    .venv/bin/python -m bench.households

Input: ``tests/data/xuanwu_residential_sample.csv`` (298 buildings labelled by hand, see the
``.md`` next to it) and the Xuanwu OSM extract. Two classifiers call a building residential
when its residential share is above 0:

* **wangge**: :func:`geo.households.classify_buildings` with the extract's land-use areas and
  POIs;
* **baseline**: the building type alone, as estimates were made before (residential types 1,
  untyped 0.5, every other type 0).

Printed: precision and recall of "residential" for both, the rows wangge gets wrong, and the
households the Xuanwu estimate gives to the buildings named in issue 15.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd

from geo.households import (
    RESIDENTIAL_SHARE_BY_TYPE,
    UNKNOWN_TYPES,
    classify_buildings,
    estimate_households,
)
from geo.osm import read_osm
from geo.validate import validate_features

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "xuanwu_residential_sample.csv"
XUANWU = ROOT / "data" / "nanjing_xuanwu" / "nanjing_xuanwu_2021-06-12.osm"
NAMED_IN_ISSUE = ("新华大厦", "全民健身中心", "德基广场", "南京图书馆", "新街口", "天安国际大厦")


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def read_sample(path: Path = SAMPLE) -> dict[str, bool]:
    """building_id → labelled residential."""
    with path.open(encoding="utf-8", newline="") as f:
        return {row["building_id"]: row["residential"] == "yes" for row in csv.DictReader(f)}


def _score(truth: dict[str, bool], predicted: dict[str, bool]) -> Score:
    pairs = [(truth[b], predicted[b]) for b in truth]
    return Score(
        tp=sum(t and p for t, p in pairs),
        fp=sum(p and not t for t, p in pairs),
        fn=sum(t and not p for t, p in pairs),
        tn=sum(not t and not p for t, p in pairs),
    )


def classified_xuanwu() -> gpd.GeoDataFrame:
    """The extract's buildings with residential_share and households_rule."""
    osm = read_osm(XUANWU)
    buildings = validate_features(osm.buildings, kind="buildings").frame
    return classify_buildings(buildings, landuse=osm.landuse, pois=osm.pois)


def measure(sample: Path = SAMPLE) -> tuple[Score, Score, list[tuple]]:
    """wangge's score, the baseline's score and wangge's wrong rows (id, name, label, rule)."""
    truth = read_sample(sample)
    frame = classified_xuanwu().set_index("building_id")
    missing = set(truth) - set(frame.index)
    if missing:
        msg = f"sample ids not in the extract: {sorted(missing)[:5]}"
        raise SystemExit(msg)
    rows = frame.loc[list(truth)]
    ours = {b: share > 0 for b, share in rows["residential_share"].items()}
    types = rows["building_type"].fillna("yes").str.lower()
    base = {
        b: RESIDENTIAL_SHARE_BY_TYPE.get(t, 0) > 0 or t in UNKNOWN_TYPES for b, t in types.items()
    }
    wrong = [
        (b, rows.at[b, "name"], truth[b], rows.at[b, "households_rule"])
        for b in truth
        if ours[b] != truth[b]
    ]
    return _score(truth, ours), _score(truth, base), wrong


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    args = parser.parse_args(argv)
    ours, base, wrong = measure(args.sample)
    print(
        f"sample: {args.sample.name}, {ours.tp + ours.fn} residential of {sum(vars(ours).values())}"
    )
    for label, s in (("wangge", ours), ("baseline (type only)", base)):
        print(
            f"{label}: precision {s.precision:.3f}, recall {s.recall:.3f} "
            f"(tp {s.tp}, fp {s.fp}, fn {s.fn}, tn {s.tn})"
        )
    for b, name, label, rule in wrong:
        print(f"  wrong: {b} {name or ''} labelled {'yes' if label else 'no'}, rule {rule}")
    osm = read_osm(XUANWU)
    buildings = validate_features(osm.buildings, kind="buildings").frame
    before = estimate_households(buildings.assign(residential_share=_type_share(buildings)))
    after = estimate_households(buildings, landuse=osm.landuse, pois=osm.pois)
    print(
        f"Xuanwu estimated households: before {before.households.sum():,}, "
        f"after {after.households.sum():,}"
    )
    for name in NAMED_IN_ISSUE:
        was = before.loc[before["name"] == name, "households"].tolist()
        now = after.loc[after["name"] == name, "households"].tolist()
        print(f"  {name}: before {was}, after {now}")


def _type_share(buildings: gpd.GeoDataFrame) -> list[float]:
    types = buildings["building_type"].fillna("yes").str.lower()
    return [RESIDENTIAL_SHARE_BY_TYPE.get(t, 0.5 if t in UNKNOWN_TYPES else 0.0) for t in types]


if __name__ == "__main__":
    main()
