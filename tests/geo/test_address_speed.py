"""The fast paths of the address parser give the parses of the code they replaced.

``address_parses.jsonl`` holds the parses (model and rules alone) of 300 generated addresses
and 22 hand-written ones, written by the parser at commit 8e1cf7b, before issue 19's speed
work; every later change must reproduce them exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geo.address import crf, parse
from geo.address.divisions import load_divisions
from geo.address.generate import generate_many
from geo.address.normalize import normalize
from geo.address.parse import _parse_normalized

SNAPSHOT = Path(__file__).with_name("address_parses.jsonl")
ROWS = [json.loads(line) for line in SNAPSHOT.read_text(encoding="utf-8").splitlines()]


def _spans(text: str, *, model: bool) -> list[list]:
    return [[c.label, c.start, c.end] for c in parse(text, model=model)]


@pytest.mark.skipif(not crf.model_available(), reason="no trained model")
def test_parses_as_before_with_the_model():
    changed = [row["text"] for row in ROWS if _spans(row["text"], model=True) != row["model"]]
    assert changed == []


def test_rule_parses_as_before():
    changed = [row["text"] for row in ROWS if _spans(row["text"], model=False) != row["rules"]]
    assert changed == []


@pytest.mark.skipif(not crf.model_available(), reason="no trained model")
def test_tagging_only_weighed_attributes_gives_the_tags_of_all_features():
    index = load_divisions()
    texts = ["".join(t for t, _ in p) for p in generate_many(200, seed=7)]
    texts += [row["text"] for row in ROWS[-22:]] + ["  ", "😀-A-1", "中" * 300]
    for text in texts:
        s = normalize(text).text
        spans = crf.tokens(s)
        rule = crf.token_rules(_parse_normalized(s, index), spans)
        assert crf.tag_tokens(s, spans, rule) == crf.tag(crf.features(s, spans, rule)), text


def test_model_attributes_read_from_the_model_file(tmp_path):
    known = crf._model_attributes(crf.MODEL_PATH)
    kinds = set(b"c p n pc cn pcn r rn rc".split())
    assert known and all(name.split(b"=")[0] in kinds for name in known)
    bad = tmp_path / "bad.model"
    bad.write_bytes(b"lCRF" + b"\0" * 40)
    assert crf._model_attributes(bad) is None


def test_repeated_lines_are_parsed_once_into_the_same_records():
    from geo.address.batch import parse_lines

    texts = [row["text"] for row in ROWS[:40]]
    lines = texts + texts[::-1] + texts[:5] * 3
    expected = [[[c.label, c.text, c.start, c.end] for c in parse(t)] for t in lines]
    for remember in (100_000, 3, 1):
        records = list(parse_lines(lines, remember=remember))
        assert [r["text"] for r in records] == lines
        got = [[[c["label"], c["text"], c["start"], c["end"]] for c in r["components"]]
               for r in records]  # fmt: skip
        assert got == expected
