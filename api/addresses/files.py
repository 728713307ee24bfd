"""File-mode geocoding (``wangge geocode``): an address base and a text file in, JSON Lines out."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from geo.address.batch import read_lines
from geo.errors import InputError
from geo.geocode import AddressIndex, Match, build_index, geocode_many
from geo.io import read_vector

__all__ = ["CRS_OUT", "geocode_file", "load_index", "record"]

CRS_OUT = ("wgs84", "gcj02", "bd09")


def load_index(path: Path) -> AddressIndex:
    """Read the address base (GeoJSON/GeoPackage/… with ``id`` and ``address``) and index it.

    Raises
    ------
    InputError
        If the file cannot be read or lacks the ``id``/``address`` properties.
    """
    path = Path(path)
    if not path.exists():
        msg = f"address base not found: {path}"
        raise InputError(msg)
    try:
        places = read_vector(path)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - GDAL and JSON errors alike: unreadable file
        msg = f"cannot read the address base {path}: {exc}"
        raise InputError(msg) from None
    return build_index(places)


def record(text: str, match: Match, crs_out: str = "wgs84") -> dict:
    """The contract's output object for one address."""
    lon, lat = match.lon, match.lat
    if lon is not None and crs_out != "wgs84":
        from geo.coords import convert

        lon, lat = convert(lon, lat, src="wgs84", dst=crs_out)
    return {
        "text": text,
        "lon": None if lon is None else round(float(lon), 7),
        "lat": None if lat is None else round(float(lat), 7),
        "level": match.level,
        "score": match.score,
        "matched_id": match.matched_id,
        "matched_address": match.matched_address,
    }


def geocode_file(
    index: AddressIndex,
    src: Path,
    dst: Path,
    *,
    crs_out: str = "wgs84",
    on_progress: Callable[[int], None] | None = None,
    chunk: int = 1000,
) -> dict[str, int]:
    """Geocode every line of `src` and write one JSON object per line to `dst`.

    Parameters
    ----------
    index
        The address base (:func:`load_index`).
    src
        UTF-8 text, one address per line.
    dst
        JSON Lines output (UTF-8, not ASCII-escaped).
    crs_out
        Datum of the output coordinates: ``wgs84`` (default), ``gcj02`` or ``bd09``.
    on_progress
        Called with the number of lines done since the last call.
    chunk
        Lines per batch (and per progress call).

    Returns
    -------
    dict
        Number of output lines per level.

    Raises
    ------
    InputError
        If `src` cannot be read, `dst` cannot be written or `crs_out` is unknown.
    """
    if crs_out not in CRS_OUT:
        msg = f"--crs-out must be one of {', '.join(CRS_OUT)}, got {crs_out!r}"
        raise InputError(msg)
    lines = read_lines(src)
    counts: dict[str, int] = {}
    try:
        with Path(dst).open("w", encoding="utf-8", newline="\n") as out:
            for start in range(0, len(lines), chunk):
                batch = lines[start : start + chunk]
                for text, match in zip(batch, geocode_many(index, batch), strict=True):
                    out.write(json.dumps(record(text, match, crs_out), ensure_ascii=False) + "\n")
                    counts[match.level] = counts.get(match.level, 0) + 1
                if on_progress:
                    on_progress(len(batch))
    except OSError as exc:
        msg = f"cannot write {dst}: {exc.strerror or exc}"
        raise InputError(msg) from None
    return counts
