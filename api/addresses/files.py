"""File-mode geocoding (``wangge geocode``): an address base and a text file in, JSON Lines out."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from api.bulk.pool import Pool
from geo.address.batch import read_line_parts
from geo.errors import InputError
from geo.geocode import AddressIndex, Match, build_index, geocode_many
from geo.io import read_vector

__all__ = ["CRS_OUT", "geocode_file", "geocode_part", "load_index", "record"]

CRS_OUT = ("wgs84", "gcj02", "bd09")
#: Lines per partition: geocoded as one task (one Dask task with --workers).
PART_LINES = 2000


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


def geocode_part(index: AddressIndex, part: tuple[list[str], str]) -> tuple[str, dict[str, int]]:
    """One partition of lines geocoded: its JSON Lines text and the count per level."""
    lines, crs_out = part
    out, counts = [], {}
    for text, match in zip(lines, geocode_many(index, lines), strict=True):
        out.append(json.dumps(record(text, match, crs_out), ensure_ascii=False) + "\n")
        counts[match.level] = counts.get(match.level, 0) + 1
    return "".join(out), counts


def geocode_file(
    index: AddressIndex,
    src: Path,
    dst: Path,
    *,
    crs_out: str = "wgs84",
    on_progress: Callable[[int], None] | None = None,
    chunk: int = 0,
    pool: Pool | None = None,
) -> dict[str, int]:
    """Geocode every line of `src` and write one JSON object per line to `dst`.

    The file is read and geocoded in partitions of `chunk` lines, on `pool`'s workers when
    given (a few partitions in flight, the index sent to each worker once), and written in the
    input's order: the output is the same for any number of workers. It is written beside
    `dst` and moved there at the end, so a failed run leaves no half-written file.

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
        Lines per partition (and per progress call); default PART_LINES.
    pool
        Where partitions run (:func:`api.bulk.pool.open_pool`); this process when None.

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
    parts = ((lines, crs_out) for lines in read_line_parts(src, chunk or PART_LINES))
    done = (pool or Pool()).stream(geocode_part, parts, index)
    counts: dict[str, int] = {}
    dst = Path(dst)
    partial = dst.with_name(f".{dst.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as out:
            for text, part_counts in done:
                out.write(text)
                for level, n in part_counts.items():
                    counts[level] = counts.get(level, 0) + n
                if on_progress:
                    on_progress(sum(part_counts.values()))
        os.replace(partial, dst)
    except OSError as exc:
        msg = f"cannot write {dst}: {exc.strerror or exc}"
        raise InputError(msg) from None
    finally:
        partial.unlink(missing_ok=True)
    return counts
