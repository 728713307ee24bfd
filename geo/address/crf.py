"""Linear-chain CRF tagger over the tokens of a normalised address (python-crfsuite).

Tokens are single characters, digit runs and Latin letter runs (a number is never split).
Features of each token: the token and its neighbours (digit runs by their length), bigrams and
the trigram around it, and the label the rule parser (:mod:`geo.address.parse`) gives it and
its successor (stacking; the rule parser carries the division dictionary's matches). The model
is trained only on the project's own synthetic addresses (:mod:`geo.address.generate`) by
``python -m geo.address.train``; it is a small file shipped in ``geo/address/data/``.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

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

_local = threading.local()


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


def features(s: str, spans: list[tuple[int, int]], rule: list[str]) -> list[list[str]]:
    """Feature strings per token of the normalised text `s`.

    Parameters
    ----------
    s
        Normalised address text.
    spans
        Its tokens (:func:`tokens`).
    rule
        Per character, the rule parser's tag (``B-road``, ``I-poi``, ``O``); the rule parser
        already carries the division dictionary's matches.
    """
    words = ["^"]
    rules = ["^"]
    for a, b in spans:
        ch = s[a]
        words.append(_shape(s[a:b]) if b - a > 1 or ch.isdigit() else ch)
        rules.append(rule[a])
    words.append("$")
    rules.append("$")
    out = []
    for i in range(len(spans)):
        p, c, n = words[i], words[i + 1], words[i + 2]
        r = rules[i + 1]
        out.append(
            [
                "c=" + c,
                "p=" + p,
                "n=" + n,
                "pc=" + p + c,
                "cn=" + c + n,
                "pcn=" + p + c + n,
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
