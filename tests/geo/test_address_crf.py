"""The CRF address tagger: the shipped model, its spans, bad input, the generator and training."""

from __future__ import annotations

import random

import pytest

from geo.address import LABELS, crf, parse
from geo.address.generate import generate, generate_many

pytestmark = pytest.mark.skipif(
    not crf.model_available(), reason="no trained model (python -m geo.address.train)"
)

ADDRESSES = [
    "浙江省杭州市西湖区文三路100号华星大厦A座1201室",
    "南京市玄武区中山路100号",
    "宁波市江北区人民路大时代B栋2034电联",
    "义乌市稠江街道新屋村76栋10号",
    "绍兴柯桥轻纺城北四区八楼1130号",
    "江干区景坛路135号庆春银泰负三楼桑语专柜",
    "臺北市大安區忠孝東路四段１２３號",
]


def check(text: str) -> list:
    comps = parse(text)
    last = 0
    for comp in comps:
        assert comp.label in LABELS
        assert 0 <= last <= comp.start < comp.end <= len(text)
        assert text[comp.start : comp.end] == comp.text
        last = comp.end
    return comps


@pytest.mark.parametrize("text", ADDRESSES)
def test_spans_valid_and_deterministic(text):
    first = check(text)
    assert first
    assert parse(text) == first


def test_model_changes_some_labels_and_keeps_easy_ones():
    easy = [(c.label, c.text) for c in parse("南京市玄武区中山路100号")]
    assert easy == [("city", "南京市"), ("district", "玄武区"), ("road", "中山路"),
                    ("roadno", "100号")]  # fmt: skip
    rules = [parse(t, model=False) for t in ADDRESSES]
    tagged = [parse(t) for t in ADDRESSES]
    assert all(r for r in rules)
    assert len(tagged) == len(rules)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "中" * 10_000,
        "浙江省杭州市" * 1700,
        "hello world 123",
        "Main Street 5, Springfield",
        "\x00\x01杭州\x07市\x1f西湖区\n文三路\t100号\r",
        "😀🏠📦",
        "-----",
        "1234567890" * 50,
    ],
)
def test_bad_input_gets_valid_spans(text):
    comps = check(text)
    if not text.strip():
        assert comps == []


def test_tokens_keep_digit_runs_whole():
    s = "12栋1203室AB5"
    assert [s[a:b] for a, b in crf.tokens(s)] == ["12", "栋", "1203", "室", "AB", "5"]


def test_spans_from_tags():
    spans = [(0, 2), (2, 3), (3, 4), (4, 5)]
    tags = ["B-houseno", "I-houseno", "O", "B-roomno"]
    assert crf.spans_from_tags(tags, spans) == [("houseno", 0, 3), ("roomno", 4, 5)]
    assert crf.spans_from_tags(["B-redundant", "B-redundant"], spans[:2]) == [
        ("redundant", 0, 2),
        ("redundant", 2, 3),
    ]
    plain = ["houseno", "houseno", "B-redundant", "roomno"]
    assert crf.spans_from_tags(plain, spans) == [
        ("houseno", 0, 3),
        ("redundant", 3, 4),
        ("roomno", 4, 5),
    ]
    assert crf.spans_from_tags(["poi", "I-redundant", "subpoi"], spans[:3]) == [
        ("poi", 0, 2),
        ("redundant", 2, 3),
        ("subpoi", 3, 4),
    ]


def test_generator_is_deterministic_and_labelled():
    assert generate_many(50, seed=3) == generate_many(50, seed=3)
    assert generate_many(20, seed=3) != generate_many(20, seed=4)
    for pieces in generate_many(200, seed=5):
        assert all(text for text, _ in pieces)
        assert {label for _, label in pieces} <= set(LABELS)
        assert any(label != "redundant" for _, label in pieces)
    assert generate(random.Random(1)) == generate(random.Random(1))


def test_training_writes_a_model_that_tags(tmp_path):
    from geo.address.train import train

    out = tmp_path / "tiny.model"
    summary = train(out, n=60, seed=1, iterations=5)
    assert out.exists() and summary["bytes"] > 0


def test_token_rules():
    comps = [["road", 0, 3], ["roadno", 3, 7], ["redundant", 7, 7], ["poi", 8, 10]]
    spans = [(0, 1), (1, 2), (2, 3), (3, 6), (6, 7), (7, 8), (8, 9), (9, 10)]
    assert crf.token_rules(comps, spans) == [
        "B-road", "I-road", "I-road", "B-roadno", "I-roadno", "O", "B-poi", "I-poi",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        "宁波市江北区人民路88号小林理发店",
        "杭州市西湖区文一路12号宏达科技",
        "义乌市稠城街道工人北路300号阿芳水果店",
    ],
)
def test_first_name_after_the_road_is_the_place(text):
    """A sub-place or recipient needs a place before it: a lone shop name is the place."""
    labels = [c.label for c in parse(text)]
    assert "poi" in labels
    assert labels.index("poi") > labels.index("roadno")
    assert "person" not in labels and "subpoi" not in labels


def test_structure_rule_relabels_only_an_orphan():
    from geo.address.tidy import structure as _structure

    comps = [["road", 0, 3], ["person", 3, 6], ["subpoi", 6, 8]]
    assert [c[0] for c in _structure([list(c) for c in comps])] == ["road", "poi", "subpoi"]
    kept = [["poi", 0, 3], ["floorno", 3, 5], ["person", 5, 8]]
    assert _structure([list(c) for c in kept]) == kept


@pytest.mark.parametrize(
    ("text", "district"),
    [("浙江省杭州市杭州市西湖区", "西湖区"), ("江苏省南京市南京市玄武区中山路1号", "玄武区")],
)
def test_repeated_city_is_noise_but_the_county_after_it_is_not(text, district):
    comps = [(c.label, c.text) for c in parse(text)]
    assert [label for label, _ in comps].count("city") == 1
    assert [label for label, _ in comps].count("redundant") == 1
    assert ("district", district) in comps


def test_unit_words_cut_from_their_number_join_it_again():
    from geo.address.tidy import units_whole as _units_whole

    s = "屠甸路1057栋三栋楼"
    tagged = [["road", 0, 3], ["roadno", 3, 7], ["redundant", 7, 8], ["houseno", 8, 10],
              ["cellno", 10, 11]]  # fmt: skip
    rules = [["road", 0, 3], ["houseno", 3, 8], ["houseno", 8, 11]]
    assert _units_whole(tagged, s, rules) == [["road", 0, 3], ["houseno", 3, 8], ["houseno", 8, 11]]
    # without a rule span over the whole, the word names the level
    assert _units_whole([["roomno", 0, 3], ["redundant", 3, 5]], "301单元", []) == [
        ["cellno", 0, 5]
    ]
    # a unit word after a name is left alone
    assert _units_whole([["poi", 0, 2], ["floorno", 2, 3]], "商场楼", []) == [
        ["poi", 0, 2], ["floorno", 2, 3]
    ]  # fmt: skip


def test_separators_at_the_ends_of_a_span_are_noise():
    from geo.address.tidy import trim_separators as _trim_separators

    s = "金华市-市辖区"
    assert _trim_separators([["city", 0, 4], ["district", 4, 7]], s) == [
        ["city", 0, 3], ["redundant", 3, 4], ["district", 4, 7]
    ]  # fmt: skip
    assert _trim_separators([["houseno", 0, 3]], "1-2") == [["houseno", 0, 3]]  # inside stays
    assert _trim_separators([["poi", 0, 2]], " -") == [["redundant", 0, 2]]


def test_rule_spans_of_sure_labels_replace_the_taggers():
    from geo.address.tidy import keep_rule_spans

    tagged = [["road", 0, 3], ["houseno", 3, 8], ["poi", 8, 12]]
    rules = [["road", 0, 3], ["roadno", 3, 7], ["poi", 7, 12]]
    # 1394 is the door number as the rules read it; the tagger's span keeps its part outside
    assert keep_rule_spans(tagged, rules, frozenset({"roadno"})) == [
        ["road", 0, 3], ["roadno", 3, 7], ["houseno", 7, 8], ["poi", 8, 12]
    ]  # fmt: skip
    assert keep_rule_spans(tagged, rules, frozenset({"floorno"})) == tagged
