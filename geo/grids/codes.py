"""Unified grid codes: numbered west→east within rows taken north→south.

Grid code (15 digits) = 12-digit community code (6 county + 3 street + 3 community) + 3-digit
sequence; a micro-grid adds 3 digits to its grid's code.
"""

from __future__ import annotations

import numpy as np

PLACEHOLDER_PREFIX = "000000000"  # street part for areas without a community code


def area_code(code: object, index: int) -> str:
    """The 12-digit code of an area: its own if it has one, else a placeholder by position."""
    text = "" if code is None else str(code).strip()
    if len(text) == 12 and text.isdigit():
        return text
    return f"{PLACEHOLDER_PREFIX}{index + 1:03d}"


def reading_order(xy: np.ndarray, *, band: float | None = None) -> np.ndarray:
    """Indices of points in reading order: rows north→south of height `band`, then west→east.

    `band` defaults to the typical spacing: sqrt(bounding-box area / number of points).
    """
    xy = np.asarray(xy, dtype=float)
    if len(xy) == 0:
        return np.empty(0, dtype=int)
    if band is None:
        span = xy.max(axis=0) - xy.min(axis=0)
        band = max(float(np.sqrt(max(span[0], 1.0) * max(span[1], 1.0) / len(xy))), 1.0)
    row = np.floor((xy[:, 1].max() - xy[:, 1]) / band)
    return np.lexsort((xy[:, 0], row))


def sequence_codes(prefix: str, xy: np.ndarray, *, band: float | None = None) -> list[str]:
    """`prefix` + 3-digit sequence for each point, numbered in reading order."""
    if len(xy) > 999:
        msg = f"{len(xy)} grids under {prefix}: a 3-digit sequence holds at most 999"
        raise ValueError(msg)
    codes = [""] * len(xy)
    for seq, i in enumerate(reading_order(xy, band=band), start=1):
        codes[i] = f"{prefix}{seq:03d}"
    return codes
