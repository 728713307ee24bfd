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
import struct
import threading
from itertools import accumulate
from pathlib import Path

__all__ = [
    "components_from_tags",
    "MODEL_PATH",
    "features",
    "model_available",
    "spans_from_tags",
    "tag",
    "tag_tokens",
    "token_rules",
    "tokens",
    "use_model",
]

MODEL_PATH = Path(__file__).resolve().parent / "data" / "address_crf.model"

_local = threading.local()


_TOKEN = re.compile(r"[0-9]+|[A-Z]+|.", re.DOTALL)


def tokens(s: str) -> list[tuple[int, int]]:
    """Token spans of the normalised text: digit runs, Latin letter runs, single characters."""
    ends = list(accumulate(map(len, _TOKEN.findall(s))))  # the tokens cover the text
    return list(zip([0, *ends], ends, strict=False))


def _shape(token: str) -> str:
    if token[0].isdigit():
        return "0" * min(len(token), 5)
    if "A" <= token[0] <= "Z" and len(token) > 2:
        return "A" * min(len(token), 4)
    return token


def _words(s: str, spans: list[tuple[int, int]]) -> list[str]:
    words = ["^"]
    for a, b in spans:
        token = s[a:b]
        word = _WORD.get(token)
        if word is None:
            word = _shape(token)
            if len(_WORD) < 100_000:
                _WORD[token] = word
        words.append(word)
    words.append("$")
    return words


_WORD: dict[str, str] = {}  # token → its shape (a digit run by its length)


def _contexts(s: str, spans: list[tuple[int, int]], rule: list[str]):
    """Per token, what its features are made of: (previous, this, next, rule, next rule)."""
    words = _words(s, spans)
    return zip(words, words[1:], words[2:], rule, ["^", *rule, "$"][2:], strict=False)


def _attributes(p: str, c: str, n: str, r: str, rn: str) -> list[str]:
    return [f"c={c}", f"p={p}", f"n={n}", f"pc={p}{c}", f"cn={c}{n}", f"pcn={p}{c}{n}",
            f"r={r}", f"rn={rn}", f"rc={r}{c}"]  # fmt: skip


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
    return [_attributes(*context) for context in _contexts(s, spans, rule)]


def spans_from_tags(tags: list[str], spans: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """Tags of tokens → ``(label, start, end)`` character spans.

    ``B-x`` always starts a span and ``I-x`` continues one of the same label; a plain label
    (``roomno``, no B/I) continues a span of the same label on the previous token.
    """
    return [(a, b, c) for a, b, c in components_from_tags(tags, spans)]


def components_from_tags(tags: list[str], spans: list[tuple[int, int]]) -> list[list]:
    """:func:`spans_from_tags` as new ``[label, start, end]`` lists (the parser edits them)."""
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
    return out


_SPLIT_TAG: dict[str, tuple[str, bool]] = {}


def _split_tag(tag: str) -> tuple[str, bool]:
    bio = tag[1:2] == "-" and tag[0] in "BI"
    split = (tag[2:], tag[0] == "B") if bio else (tag, False)
    _SPLIT_TAG[tag] = split
    return split


def model_available() -> bool:
    """Whether the model file is installed (checked once per path)."""
    known = getattr(_local, "available", None)
    if known is None or known[0] is not MODEL_PATH:
        known = (MODEL_PATH, MODEL_PATH.exists())
        _local.available = known
    return known[1]


def use_model(path: Path) -> Path:
    """Tag with the model file at `path` from now on; returns the previous path (benchmarks)."""
    global MODEL_PATH
    previous, MODEL_PATH = MODEL_PATH, Path(path)
    _local.__dict__.clear()
    return previous


def _model_attributes(path: Path) -> frozenset[bytes] | None:
    """The attribute names that a crfsuite model file weighs (its attribute dictionary, a
    CQDB: records of id, length, name at the offsets of its backward array); None where the
    file does not read so."""
    data = path.read_bytes()
    try:
        magic, _, _, version, _, _, n_attrs, _, _, base = struct.unpack_from("<4sI4s7I", data)
        chunk, _, _, order, size, offset = struct.unpack_from("<4s5I", data, base)
        if (magic, version, chunk, order, size) != (b"lCRF", 100, b"CQDB", 0x62445371, n_attrs):
            return None
        names = set()
        for at in struct.unpack_from(f"<{size}I", data, base + offset):
            (length,) = struct.unpack_from("<I", data, base + at + 4)
            names.add(data[base + at + 8 : base + at + 7 + length])  # without its NUL
    except struct.error:
        return None
    return frozenset(names)


class _Model:
    """The open tagger and, per kind of feature (``pc``), the values its model has weights
    for (``路1``) with their attribute names (``b"pc=路1"``)."""

    __slots__ = ("kinds", "tagger")

    def __init__(self, path: Path) -> None:
        import pycrfsuite

        self.tagger = pycrfsuite.Tagger()
        self.tagger.open(str(path))
        known = _model_attributes(path)
        self.kinds: list[dict[str, bytes]] | None = None
        if known is not None:  # names as bytes: crfsuite takes them without encoding
            by_kind: dict[str, dict[str, bytes]] = {kind: {} for kind in _KINDS}
            for name in known:
                kind, _, value = name.decode().partition("=")
                by_kind.setdefault(kind, {})[value] = name
            self.kinds = [by_kind[kind] for kind in _KINDS]

    def features(self, s: str, spans: list[tuple[int, int]], rule: list[str]) -> list[list]:
        """:func:`features` less the attributes the model has no weight for (crfsuite skips
        those, at a cost), in the same order; each attribute is looked up, never formatted."""
        if self.kinds is None:
            return features(s, spans, rule)
        kc, kp, kn, kpc, kcn, kpcn, kr, krn, krc = self.kinds
        out = []
        for p, c, n, r, rn in _contexts(s, spans, rule):
            row = []
            for name in (kc.get(c), kp.get(p), kn.get(n), kpc.get(p + c), kcn.get(c + n),
                         kpcn.get(p + c + n), kr.get(r), krn.get(rn), krc.get(r + c)):  # fmt: skip
                if name is not None:
                    row.append(name)
            out.append(row)
        return out


_KINDS = ("c", "p", "n", "pc", "cn", "pcn", "r", "rn", "rc")  # in the order of _attributes


def _model() -> _Model:
    model = getattr(_local, "model", None)
    if model is None:
        model = _local.model = _Model(MODEL_PATH)
    return model


def tag(features: list[list[str]]) -> list[str]:
    """Most likely tag per token."""
    if not features:
        return []
    return _model().tagger.tag(features)


def tag_tokens(s: str, spans: list[tuple[int, int]], rule: list[str]) -> list[str]:
    """Most likely tag per token of `s`: :func:`tag` of :func:`features`, handing crfsuite
    only the attributes its model has weights for (the same tags, sooner)."""
    if not spans:
        return []
    model = _model()
    return model.tagger.tag(model.features(s, spans, rule))


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
