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
    "spans_from_tags",
    "tag",
    "token_rules",
    "tokens",
    "use_model",
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
        Per token, the rule parser's tag (``B-road``, ``I-poi``, ``O``; :func:`token_rules`);
        the rule parser already carries the division dictionary's matches.
    """
    words = ["^"]
    for a, b in spans:
        if b - a > 1:
            words.append(_shape(s[a:b]))
        else:
            ch = s[a]
            words.append("0" if ch.isdigit() else ch)
    words.append("$")
    rules = ["^", *rule, "$"]
    return [
        [
            f"c={c}",
            f"p={p}",
            f"n={n}",
            f"pc={p}{c}",
            f"cn={c}{n}",
            f"pcn={p}{c}{n}",
            f"r={r}",
            f"rn={rn}",
            f"rc={r}{c}",
        ]
        for p, c, n, r, rn in zip(words, words[1:], words[2:], rule, rules[2:], strict=False)
    ]


def spans_from_tags(tags: list[str], spans: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """Tags of tokens → ``(label, start, end)`` character spans.

    ``B-x`` always starts a span and ``I-x`` continues one of the same label; a plain label
    (``roomno``, no B/I) continues a span of the same label on the previous token.
    """
    out: list[list] = []
    previous = -1
    for i, tag in enumerate(tags):
        if tag == "O":
            continue
        label, start = _SPLIT_TAG.get(tag) or _split_tag(tag)
        if not start and previous == i - 1 and out and out[-1][0] == label:
            out[-1][2] = spans[i][1]
        else:
            out.append([label, *spans[i]])
        previous = i
    return [(a, b, c) for a, b, c in out]


_SPLIT_TAG: dict[str, tuple[str, bool]] = {}


def _split_tag(tag: str) -> tuple[str, bool]:
    bio = tag[1:2] == "-" and tag[0] in "BI"
    split = (tag[2:], tag[0] == "B") if bio else (tag, False)
    _SPLIT_TAG[tag] = split
    return split


def model_available() -> bool:
    """Whether the model file is installed (checked once per path)."""
    known = getattr(_local, "available", None)
    if known is None or known[0] != MODEL_PATH:
        known = (MODEL_PATH, MODEL_PATH.exists())
        _local.available = known
    return known[1]


def use_model(path: Path) -> Path:
    """Tag with the model file at `path` from now on; returns the previous path (benchmarks)."""
    global MODEL_PATH
    previous, MODEL_PATH = MODEL_PATH, Path(path)
    _local.__dict__.clear()
    return previous


def _tagger():
    tagger = getattr(_local, "tagger", None)
    if tagger is None:
        import pycrfsuite

        tagger = pycrfsuite.Tagger()
        tagger.open(str(MODEL_PATH))
        _local.tagger = tagger
    return tagger


def tag(features: list[list[str]]) -> list[str]:
    """Most likely tag per token."""
    if not features:
        return []
    return _tagger().tag(features)


def token_rules(comps: list[list], spans: list[tuple[int, int]]) -> list[str]:
    """Per token, the rule parser's BIO tag at its first character (``B-road``, ``I-poi``,
    ``O``), from non-overlapping components ``[label, start, end]``."""
    if not spans:
        return []
    at = ["O"] * spans[-1][1]
    for label, a, b in comps:
        if a < b:
            at[a] = "B-" + label
            if b - a > 1:
                at[a + 1 : b] = ["I-" + label] * (b - a - 1)
    return [at[a] for a, _ in spans]
