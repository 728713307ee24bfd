"""The administrative division dictionary (GB/T 2260 codes) used by the address parser.

The divisions come from the data file that the jionlp package ships
(``jionlp/dictionary/china_location.zip``, Apache-2.0; provinces, prefectures and counties with
their 6-digit codes and short names, and the towns and street offices of each county by name).
The file is read as data; jionlp itself is never imported. Towns carry no code in that file;
where the project has official 9-digit street codes (the Xuanwu demo data) they are added.
"""

from __future__ import annotations

import csv
import importlib.util
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from geo.errors import InputError

__all__ = ["Division", "DivisionIndex", "load_divisions"]

LEVELS = ("prov", "city", "district", "town")

#: Suffixes stripped from town names to get the short forms people write (坎墩 for 坎墩街道).
TOWN_SUFFIXES = ("街道办事处", "街道办", "办事处", "街道", "地区", "苏木", "镇", "乡")

_XUANWU_STREETS = (
    Path(__file__).resolve().parents[2] / "data" / "nanjing_xuanwu" / "xuanwu_streets.csv"
)


@dataclass(frozen=True, slots=True)
class Division:
    """One administrative division.

    Attributes
    ----------
    id
        Index in :attr:`DivisionIndex.divisions`.
    level
        ``prov``, ``city``, ``district`` or ``town``.
    name
        Full name (南京市, 玄武区, 玄武门街道).
    code
        GB/T 2260 code (6 digits; 9 for the towns that have one) or None.
    parent
        Id of the parent division, or None for a province.
    """

    id: int
    level: str
    name: str
    code: str | None
    parent: int | None


@dataclass(slots=True)
class DivisionIndex:
    """Divisions with look-ups by full and short name.

    Attributes
    ----------
    divisions
        Every division, indexed by id.
    by_name
        Full or short name → list of ``(division id, is_short)``.
    max_name
        Length of the longest name.
    ancestors
        Per division, the ids of itself and its ancestors (filled by :meth:`finish`).
    lengths
        First two characters of a name → lengths of the names that start with them, longest
        first (filled by :meth:`finish`).
    """

    divisions: list[Division] = field(default_factory=list)
    by_name: dict[str, list[tuple[int, bool]]] = field(default_factory=dict)
    max_name: int = 0
    lengths: dict[str, tuple[int, ...]] = field(default_factory=dict)
    ancestors: list[frozenset[int]] = field(default_factory=list)

    def finish(self) -> None:
        """Build :attr:`lengths` and :attr:`ancestors` once every division and name is in."""
        self.ancestors = [
            frozenset(d.id for d in self.chain(i)) for i in range(len(self.divisions))
        ]
        lengths: dict[str, set[int]] = {}
        for name in self.by_name:
            lengths.setdefault(name[:2], set()).add(len(name))
        self.lengths = {k: tuple(sorted(v, reverse=True)) for k, v in lengths.items()}

    def add(self, level: str, name: str, code: str | None, parent: int | None, short: str) -> int:
        """Add a division and index its names; return its id."""
        ident = len(self.divisions)
        self.divisions.append(Division(ident, level, name, code, parent))
        self.by_name.setdefault(name, []).append((ident, False))
        if short and short != name and len(short) >= 2:
            self.by_name.setdefault(short, []).append((ident, True))
        self.max_name = max(self.max_name, len(name))
        return ident

    def chain(self, ident: int) -> list[Division]:
        """The division and its ancestors, finest first."""
        out = []
        current: int | None = ident
        while current is not None:
            division = self.divisions[current]
            out.append(division)
            current = division.parent
        return out

    def is_within(self, ident: int, ancestor: int) -> bool:
        """Whether division `ident` is `ancestor` or lies inside it."""
        if self.ancestors:
            return ancestor in self.ancestors[ident]
        current: int | None = ident
        while current is not None:
            if current == ancestor:
                return True
            current = self.divisions[current].parent
        return False


def _dictionary_dir() -> Path:
    spec = importlib.util.find_spec("jionlp")
    if spec is None or not spec.submodule_search_locations:
        msg = "the division dictionary needs the jionlp package (pip install jionlp)"
        raise InputError(msg)
    return Path(next(iter(spec.submodule_search_locations))) / "dictionary"


def _location_text() -> str:
    with zipfile.ZipFile(_dictionary_dir() / "china_location.zip") as archive:
        return archive.read("china_location.txt").decode("utf-8")


def _add_former_names(index: DivisionIndex) -> None:
    """Index former county and prefecture names (下城区 → 拱墅区) from jionlp's change list."""
    path = _dictionary_dir() / "china_location_change.txt"
    if not path.exists():
        return
    current = {
        tuple(d.name for d in reversed(index.chain(d.id))): d.id
        for d in index.divisions
        if d.level in ("city", "district")
    }
    for line in path.read_text(encoding="utf-8").splitlines():
        old, _, new = line.partition("=>")
        old_fields, new_fields = old.split("\t")[2:], new.split("\t")
        if len(old_fields) not in (4, 6) or len(new_fields) != len(old_fields) // 2:
            continue
        target = current.get(tuple(new_fields))
        name, short = old_fields[-2], old_fields[-1]
        if target is None or name in index.by_name:
            continue
        index.by_name[name] = [(target, False)]
        if short and short not in index.by_name:
            index.by_name[short] = [(target, True)]


def _add_county_variants(index: DivisionIndex) -> None:
    """Index a county under the other county suffixes (奉化市 for 奉化区, 玉环县 for 玉环市):
    counties are turned into county-level cities and districts often, and people keep writing
    the old name."""
    for d in index.divisions:
        if d.level != "district" or d.name[-1] not in "区县市" or len(d.name) < 3:
            continue
        stem = d.name[:-1]
        for suffix in "区县市":
            variant = stem + suffix
            if variant not in index.by_name:
                index.by_name[variant] = [(d.id, False)]


def _town_short(name: str) -> str:
    for suffix in TOWN_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return ""


def _street_codes() -> dict[tuple[str, str], str]:
    """Official street-office codes the project ships: (county code, name) → 9-digit code."""
    if not _XUANWU_STREETS.exists():
        return {}
    with _XUANWU_STREETS.open(encoding="utf-8") as handle:
        return {(row["areaCode"], row["name"]): row["code"] for row in csv.DictReader(handle)}


@lru_cache(maxsize=1)
def load_divisions() -> DivisionIndex:
    """Load the division dictionary (cached; about half a second the first time).

    Returns
    -------
    DivisionIndex

    Raises
    ------
    InputError
        If the jionlp data file is not installed.
    """
    index = DivisionIndex()
    street_codes = _street_codes()
    parents: list[int | None] = [None, None, None, None]
    for raw in _location_text().split("\n"):
        if raw.startswith("\t\t\t\t"):
            continue  # villages and neighbourhood committees: not indexed
        depth = len(raw) - len(raw.lstrip("\t"))
        fields = raw.strip().split("\t")
        if not fields or not fields[0]:
            continue
        name = fields[0]
        code = fields[1] if len(fields) > 1 and fields[1] else None
        short = fields[2] if len(fields) > 2 else ""
        parent = parents[depth - 1] if depth else None
        if depth == 3:
            county = index.divisions[parent].code if parent is not None else None
            code = street_codes.get((county or "", name))
            short = _town_short(name)
        ident = index.add(LEVELS[depth], name, code, parent, short)
        parents[depth] = ident
    _add_former_names(index)
    _add_county_variants(index)
    index.finish()
    return index
