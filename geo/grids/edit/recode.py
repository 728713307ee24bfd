"""Codes put right for repair_layer: a missing, malformed, duplicated or misplaced code gets the
next free number under its community (grids) or its grid (micro-grids); every good code stays."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.grids.edit.prepare import _text
from geo.grids.generate import NO_PARENT

DIGITS = {"grid": 15, "micro": 18}


def recode(grids: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict]:
    """`grids` (EPSG:4326) with bad codes replaced, micro-grids' parent codes following their
    grid (or naming the grid they lie in when theirs is missing or unknown); {old: new}.

    Of rows sharing a code, the one holding most micro-grids coded under it keeps it (else the
    first). Rows whose community cannot be told (no
    coded boundary polygon under them and no good code nearby) keep their code."""
    frame = grids.copy()
    frame["code"] = pd.Series([_text(c) for c in frame["code"]], index=frame.index, dtype=object)
    parents = frame["parent_code"] if "parent_code" in frame else [None] * len(frame)
    frame["parent_code"] = pd.Series([_text(c) for c in parents], index=frame.index, dtype=object)
    level = frame["level"].astype(str).to_numpy()
    top = "grid" if (level == "grid").any() else "micro"
    changed: dict[str, str] = {}
    top_rows = np.flatnonzero(level == top)
    community = _communities(frame.geometry.to_numpy()[top_rows], boundary, frame["code"])
    prefix = {
        int(r): (c + NO_PARENT if top == "micro" else c) if c else None
        for r, c in zip(top_rows, community, strict=True)
    }
    micro = np.flatnonzero(level == "micro") if top == "grid" else np.zeros(0, dtype=np.int64)
    geoms = frame.geometry.to_numpy()
    inside = _containing(geoms[micro], geoms[top_rows])
    where = np.where(inside >= 0, top_rows[np.maximum(inside, 0)], -1) if len(top_rows) else inside
    old = frame["code"].to_numpy().copy()
    # of rows sharing a code, the one holding the micro-grids coded under it keeps it
    held = [w >= 0 and old[w] is not None and (old[m] or "").startswith(old[w])
            for m, w in zip(micro, where, strict=True)]  # fmt: skip
    score = pd.Series(where[np.asarray(held, dtype=bool)]).value_counts()
    order = sorted(top_rows, key=lambda r: -int(score.get(r, 0)))
    _renumber(frame, order, prefix, DIGITS[top], changed)
    if len(micro):
        final = frame["code"].to_numpy()
        holders = pd.Series(top_rows).groupby(pd.Series(old[top_rows], dtype=object)).agg(list)
        parents = []
        for m, w in zip(micro, where, strict=True):
            named = holders.get(frame["parent_code"].iat[m], [])
            row = named[0] if len(named) == 1 else w
            parents.append(final[row] if row >= 0 else frame["parent_code"].iat[m])
        frame.loc[frame.index[micro], "parent_code"] = parents
        _renumber(frame, micro, dict(zip(micro.tolist(), parents, strict=True)), 18, changed)
    return frame, changed


def _renumber(frame, rows, prefix: dict[int, str | None], digits: int, changed: dict) -> None:
    """Rows of `rows` whose code is bad for their prefix (or taken by an earlier row of
    `rows`) get the next free number under it."""
    codes = frame["code"].to_numpy()
    seen: set[str] = set()
    bad = []
    for r in rows:
        code, want = codes[r], prefix[int(r)]
        good = (
            code is not None and len(code) == digits and code.isdigit()
            and (want is None or code.startswith(want)) and code not in seen
        )  # fmt: skip
        if good:
            seen.add(code)
        elif want is not None and len(want) == digits - 3 and want.isdigit():
            bad.append(r)
    used = {c for c in codes if c is not None}
    for r in bad:
        want = prefix[int(r)]
        n = 1 + max((int(c[-3:]) for c in used if c.startswith(want) and len(c) == digits
                     and c.isdigit()), default=0)  # fmt: skip
        new = f"{want}{n:03d}"
        changed[str(codes[r])] = new
        used.add(new)
        frame.iat[r, frame.columns.get_loc("code")] = new


def _communities(geoms, boundary: gpd.GeoDataFrame, codes: pd.Series) -> list[str | None]:
    """The 12-digit community code under each polygon; without a coded boundary, the prefix
    most good codes of the layer share."""
    out: list[str | None] = [None] * len(geoms)
    if "code" in boundary and len(geoms):
        area_codes = [_text(c) for c in boundary["code"]]
        tree = shapely.STRtree(boundary.to_crs(4326).geometry.to_numpy())
        hit_r, hit_a = tree.query(shapely.point_on_surface(geoms), predicate="intersects")
        for r, a in zip(hit_r, hit_a, strict=True):
            c = area_codes[a]
            if out[r] is None and c and len(c) == 12 and c.isdigit():
                out[r] = c
    prefixes = pd.Series([c[:12] for c in codes if c and c.isdigit() and len(c) >= 15])
    common = prefixes.mode().iloc[0] if len(prefixes) else None
    return [c or common for c in out]


def _containing(micro, grids) -> np.ndarray:
    """Index of the grid holding each micro-grid's inner point, -1 when none."""
    out = np.full(len(micro), -1)
    if not len(micro) or not len(grids):
        return out
    tree = shapely.STRtree(grids)
    hit_m, hit_g = tree.query(shapely.point_on_surface(micro), predicate="intersects")
    for m, g in zip(hit_m[::-1], hit_g[::-1], strict=True):
        out[m] = g
    return out
