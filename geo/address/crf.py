"""Linear-chain CRF tagger over the characters of a normalised address (python-crfsuite).

Features of each character: the character and its neighbours (digits folded to ``0``), bigrams
and trigrams, the character class, the longest division-dictionary match it lies in, and the
label the rule parser (:mod:`geo.address.parse`) gives it (stacking). The model is trained only
on the project's own synthetic addresses (:mod:`geo.address.generate`) by
``python -m geo.address.train``; it is a small file shipped in ``geo/address/data/``.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from geo.address.divisions import DivisionIndex

__all__ = [
    "MODEL_PATH",
    "features",
    "model_available",
    "rule_tags",
    "spans_from_tags",
    "tag",
    "tokens",
]

MODEL_PATH = Path(__file__).resolve().parent / "data" / "address_crf.model"

_HAN_LO, _HAN_HI = "\u4e00", "\u9fff"
_local = threading.local()
_LEVEL = {"prov": "P", "city": "C", "district": "D", "town": "T"}


_TOKEN = re.compile(r"[0-9]+|[A-Z]+|.", re.DOTALL)


def tokens(s: str) -> list[tuple[int, int]]:
    """Token spans of the normalised text: digit runs, Latin letter runs, single characters."""
    return [m.span() for m in _TOKEN.finditer(s)]


def _shape(token: str) -> str:
    if token[0].isdigit():
        return "0" * min(len(token), 5)
    if "A" <= token[0] <= "Z" and len(token) > 2:
        return "A" * min(len(token), 4)
    return token


def _klass(ch: str) -> str:
    if _HAN_LO <= ch <= _HAN_HI:
        return "H"
    if ch.isdigit():
        return "D"
    if "A" <= ch <= "Z":
        return "L"
    if ch == " ":
        return "S"
    return "P"


def _dictionary_marks(s: str, index: DivisionIndex) -> list[str]:
    """Per character: ``B``/``I`` + level letters of the longest division name over it."""
    marks = [""] * len(s)
    n = len(s)
    pos = 0
    while pos < n - 1:
        found = 0
        for length in index.lengths.get(s[pos : pos + 2], ()):
            if pos + length <= n and (entries := index.by_name.get(s[pos : pos + length])):
                levels = "".join(sorted({_LEVEL[index.divisions[i].level] for i, _ in entries}))
                short = "s" if all(sh for _, sh in entries) else ""
                marks[pos] = "B" + levels + short
                for k in range(pos + 1, pos + length):
                    marks[k] = "I" + levels + short
                found = length
                break
        pos += found or 1
    return marks


def features(
    s: str, spans: list[tuple[int, int]], rule: list[str], index: DivisionIndex
) -> list[list[str]]:
    """Feature strings per token of the normalised text `s`.

    Parameters
    ----------
    s
        Normalised address text.
    spans
        Its tokens (:func:`tokens`).
    rule
        Per character, the rule parser's tag (``B-road``, ``I-poi``, ``O``).
    index
        Division dictionary.
    """
    n = len(spans)
    words = ["^", "^"] + [_shape(s[a:b]) for a, b in spans] + ["$", "$"]
    kinds = ["^", "^"] + [_klass(s[a]) for a, _ in spans] + ["$", "$"]
    marks = _dictionary_marks(s, index)
    rules = ["^"] + [rule[a] for a, _ in spans] + ["$"]
    out = []
    for i in range(n):
        k = i + 2
        p1, c, n1 = words[k - 1 : k + 2]
        r = rules[i + 1]
        out.append(
            [
                "c=" + c,
                "p=" + p1,
                "n=" + n1,
                "pc=" + p1 + c,
                "cn=" + c + n1,
                "pcn=" + p1 + c + n1,
                "k=" + kinds[k - 1] + kinds[k] + kinds[k + 1],
                "d=" + marks[spans[i][0]],
                "r=" + r,
                "rn=" + rules[i + 2],
                "rc=" + r + c,
            ]
        )
    return out


def spans_from_tags(tags: list[str], spans: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """BIO tags of tokens → ``(label, start, end)`` character spans."""
    out: list[list] = []
    previous = -1
    for i, tag in enumerate(tags):
        if tag == "O":
            continue
        label = tag[2:]
        if tag[0] == "I" and out and out[-1][0] == label and previous == i - 1:
            out[-1][2] = spans[i][1]
        else:
            out.append([label, spans[i][0], spans[i][1]])
        previous = i
    return [(a, b, c) for a, b, c in out]


def model_available() -> bool:
    return MODEL_PATH.exists()


def _tagger():
    tagger = getattr(_local, "tagger", None)
    if tagger is None:
        import pycrfsuite

        tagger = pycrfsuite.Tagger()
        tagger.open(str(MODEL_PATH))
        _local.tagger = tagger
    return tagger


def tag(features: list[list[str]]) -> list[str]:
    """Most likely BIO tag per character."""
    if not features:
        return []
    return _tagger().tag(features)


def rule_tags(comps: list[list], n: int) -> list[str]:
    """The rule parser's components (``[label, start, end]``) as one BIO tag per character."""
    tags = ["O"] * n
    for label, start, end in comps:
        if start < end:
            tags[start] = "B-" + label
            for k in range(start + 1, end):
                tags[k] = "I-" + label
    return tags
