"""Parse a file of addresses, one per line, into JSON Lines (``wangge address parse``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from geo.address.divisions import load_divisions
from geo.address.parse import parse
from geo.errors import InputError

__all__ = ["count_lines", "parse_file", "parse_lines", "read_line_parts", "read_lines"]


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file, without their line endings.

    A byte-order mark is dropped, ``\\r\\n`` counts as one line end, and a final line end does
    not make an extra empty line.

    Raises
    ------
    InputError
        If the file is missing, is a folder, cannot be read or is not UTF-8.
    """
    return [line for part in read_line_parts(path, 65_536) for line in part]


def _open(path: Path):
    try:
        return Path(path).open("rb")
    except FileNotFoundError:
        msg = f"input file not found: {path}"
        raise InputError(msg) from None
    except IsADirectoryError:
        msg = f"expected a text file of addresses, got a folder: {path}"
        raise InputError(msg) from None
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or exc}"
        raise InputError(msg) from None


def count_lines(path: Path) -> int:
    """How many lines :func:`read_lines` would give, read in blocks (for progress bars)."""
    with _open(path) as f:
        n, last = 0, b"\n"
        while block := f.read(1 << 20):
            n += block.count(b"\n")
            last = block[-1:]
        return n + (last != b"\n")


def read_line_parts(path: Path, size: int) -> Iterator[list[str]]:
    """The lines of :func:`read_lines` in lists of `size`, read as they are needed (a file
    larger than memory streams through); the same errors, raised when the bad line is read."""
    with _open(path) as f:
        part: list[str] = []
        offset = 0
        for raw in f:
            try:
                line = raw.decode("utf-8-sig" if offset == 0 else "utf-8")
            except UnicodeDecodeError as exc:
                msg = f"{path} is not UTF-8 text (bad byte at offset {offset + exc.start})"
                raise InputError(msg) from None
            offset += len(raw)
            if not line:  # a file holding only its byte-order mark
                continue
            line = line[:-1] if line.endswith("\n") else line
            part.append(line[:-1] if line.endswith("\r") else line)
            if len(part) == size:
                yield part
                part = []
        if part:
            yield part


def parse_lines(lines: Iterable[str], *, remember: int = 100_000) -> Iterator[dict]:
    """One contract record ``{"text", "components": [...]}`` per address line; a line seen
    before (among the last `remember` distinct ones) is parsed once (the same components)."""
    seen: dict[str, list] = {}
    for line in lines:
        components = seen.get(line)
        if components is None:
            components = parse(line)
            if len(seen) >= remember:
                seen.clear()
            seen[line] = components
        yield {
            "text": line,
            "components": [
                {"label": c.label, "text": c.text, "start": c.start, "end": c.end}
                for c in components
            ],
        }


def parse_file(
    src: Path, dst: Path, *, on_progress: Callable[[int], None] | None = None, chunk: int = 1000
) -> int:
    """Parse every line of `src` and write one JSON object per line to `dst`.

    Parameters
    ----------
    src
        UTF-8 text, one address per line.
    dst
        Output JSON Lines file (UTF-8, not ASCII-escaped).
    on_progress
        Called with the number of lines done since the last call.
    chunk
        How many lines between progress calls.

    Returns
    -------
    int
        Number of lines written.

    Raises
    ------
    InputError
        If `src` cannot be read as UTF-8 text or `dst` cannot be written.
    """
    lines = read_lines(src)
    load_divisions()
    try:
        with Path(dst).open("w", encoding="utf-8", newline="\n") as out:
            done = 0
            for record in parse_lines(lines):
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                done += 1
                if on_progress and done % chunk == 0:
                    on_progress(chunk)
            if on_progress and done % chunk:
                on_progress(done % chunk)
    except OSError as exc:
        msg = f"cannot write {dst}: {exc.strerror or exc}"
        raise InputError(msg) from None
    return len(lines)
