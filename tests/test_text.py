"""Tests for knowledge.text: normalize, normalize_with_offsets, strip_punct."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge import text as text_mod
from knowledge.text import is_english, normalize, normalize_with_offsets, strip_punct

NORMALIZE_CASES: list[tuple[str, str]] = [
    # full-width → half-width
    ("１２００", "1200"),
    ("ＡＢＣ", "abc"),
    ("８０万美元", "80万美元"),
    ("３０％", "30%"),
    ("１，２００", "1,200"),
    ("（责任单位）：市商务局！", "(责任单位):市商务局!"),
    ("＄８０", "$80"),
    ("￥６０万", "¥60万"),
    # compatibility characters
    ("1200㎡", "1200m2"),
    ("100m²", "100m2"),
    # traditional → simplified (phrase-aware)
    ("八十萬美元", "八十万美元"),
    ("平方米", "平方米"),
    ("臺灣跨境電商", "台湾跨境电商"),
    ("兩千萬", "两千万"),
    ("三點五億", "三点五亿"),
    ("乾隆", "乾隆"),
    ("頭髮", "头发"),
    # lower-casing
    ("USD", "usd"),
    ("eBay Amazon", "ebay amazon"),
    ("80W", "80w"),
    # invisible characters
    ("80\u200b万", "80万"),
    ("\ufeff跨境电商", "跨境电商"),
    ("a\u200db\u200ec\u200fd", "abcd"),
    ("\u202e123\u202c", "123"),
    ("\u2066x\u2069", "x"),
    ("\u2060y", "y"),
    # whitespace
    ("  a \t\n b  ", "a b"),
    ("跨境\u3000电商", "跨境 电商"),
    ("a\u00a0b", "a b"),
    ("a\x00b", "a b"),
    ("", ""),
    ("   ", ""),
    # Chinese punctuation without an ASCII full-width twin is kept
    ("80。5月", "80。5月"),
    ("10、200", "10、200"),
    ("《若干措施》", "《若干措施》"),
    # minus signs
    ("\u221250万", "-50万"),
    ("\u201310", "-10"),
    # emoji survive normalisation
    ("😀😀", "😀😀"),
    # lone surrogates are dropped
    ("\ud800", ""),
    ("a\udfffb", "ab"),
    ("\ud83d\ude00", ""),
]


@pytest.mark.parametrize(("raw", "expected"), NORMALIZE_CASES)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_normalize_long_random_text() -> None:
    rng = random.Random(4)
    pool = "八十萬美元平方米１２３４５６７８９０abcABC ，。！？😀\u200b\ud800\t\n跨境電商衡陽%％㎡"
    raw = "".join(rng.choice(pool) for _ in range(10_000))
    out = normalize(raw)
    assert "\u200b" not in out
    assert "\ud800" not in out
    assert "  " not in out
    assert out == out.strip()
    assert "萬" not in out


def test_converter_is_a_singleton() -> None:
    assert text_mod._t2s() is text_mod._t2s()


@settings(derandomize=True, max_examples=300)
@given(st.text(max_size=10_000))
def test_normalize_never_raises_and_is_idempotent(raw: str) -> None:
    out = normalize(raw)
    assert isinstance(out, str)
    assert normalize(out) == out


@settings(derandomize=True, max_examples=300)
@given(
    st.text(
        alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.characters(), max_size=200
    )
)
def test_normalize_drops_any_surrogate(raw: str) -> None:
    out = normalize(raw)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in out)
    out.encode("utf-8")  # always encodable


@settings(derandomize=True, max_examples=300)
@given(st.text(max_size=2_000))
def test_offsets_map_back_into_the_input(raw: str) -> None:
    s, offs = normalize_with_offsets(raw)
    assert len(s) == len(offs)
    assert offs == sorted(offs)
    assert all(0 <= o < len(raw) for o in offs)
    # same characters as normalize, modulo whitespace collapsing (and NFKC composition
    # across characters, which per-character processing cannot do)
    if raw.isascii():
        assert " ".join(s.split()) == normalize(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("８０万美元", "80万美元"),
        ("八十萬 美元", "八十万 美元"),
        ("a\u200bb", "ab"),
        ("x\t\ny", "x  y"),
        ("1200㎡", "1200m2"),
    ],
)
def test_normalize_with_offsets_text(raw: str, expected: str) -> None:
    s, offs = normalize_with_offsets(raw)
    assert s == expected
    assert len(offs) == len(s)


def test_normalize_with_offsets_spans() -> None:
    raw = "仓库１２００㎡"
    s, offs = normalize_with_offsets(raw)
    assert s == "仓库1200m2"
    start, end = s.index("1200"), len(s)
    assert raw[offs[start] : offs[end - 1] + 1] == "１２００㎡"


STRIP_CASES: list[tuple[str, str]] = [
    ("我们，去年出口80万美元！", "我们 去年出口80万美元"),
    ("1,200件", "1,200件"),
    ("a,b", "a b"),
    ("1,b", "1 b"),
    (",1", "1"),
    ("1,", "1"),
    ("30%的补贴", "30%的补贴"),
    ("1.5亿", "1.5亿"),
    ("《若干措施》（试行）", "若干措施 试行"),
    ("😀😀", ""),
    ("❤️跨境", "跨境"),
    ("1️⃣号", "1 号"),
    ("emoji👍🏽ok", "emoji ok"),
    ("$80 + ¥60 = ?", "80 60"),
    ("café", "café"),
    ("", ""),
    ("   ", ""),
    ("a\tb\nc", "a b c"),
    ("〔2024〕4号", "2024 4号"),
    ("Ⅲ级 ½", "Ⅲ级 ½"),
]


@pytest.mark.parametrize(("raw", "expected"), STRIP_CASES)
def test_strip_punct(raw: str, expected: str) -> None:
    assert strip_punct(raw) == expected


@settings(derandomize=True, max_examples=300)
@given(st.text(max_size=2_000))
def test_strip_punct_never_raises(raw: str) -> None:
    out = strip_punct(raw)
    assert out == out.strip()
    assert "  " not in out


@pytest.mark.parametrize(
    ("text", "english"),
    [("Do you subsidise overseas warehouse rent?", True), ("海外仓 rent?", False), ("O2O", False), ("社保补贴", False)],
)
def test_is_english(text: str, english: bool) -> None:
    assert is_english(text) is english
