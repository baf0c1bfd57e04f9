"""Tests for knowledge.numbers: parse_number, parse_quantity, find_quantities."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.numbers import NumberError, Quantity, find_quantities, parse_number, parse_quantity
from knowledge.units import Unit

D = Decimal

# --------------------------------------------------------------------------------------------
# parse_number

PARSE_NUMBER_CASES: list[tuple[str, str]] = [
    # Arabic
    ("80", "80"),
    ("0", "0"),
    ("0.5", "0.5"),
    (".5", "0.5"),
    ("1,200", "1200"),
    ("1，200", "1200"),
    ("1,234,567.89", "1234567.89"),
    ("１２００", "1200"),
    ("１，２００", "1200"),
    ("０.５", "0.5"),
    ("  80  ", "80"),
    ("80.", "80"),
    ("+50", "50"),
    ("007", "7"),
    # Arabic with magnitudes
    ("80万", "800000"),
    ("80 万", "800000"),
    ("1.2亿", "120000000"),
    ("80w", "800000"),
    ("80W", "800000"),
    ("８０Ｗ", "800000"),
    ("8k", "8000"),
    ("8K", "8000"),
    ("1.5k", "1500"),
    ("5000万", "50000000"),
    ("1.5千万", "15000000"),
    ("3千万", "30000000"),
    ("1亿2千万", "120000000"),
    ("1亿2000万", "120000000"),
    ("2千5百万", "25000000"),
    ("1万2000", "12000"),
    ("1万5", "15000"),
    ("3千5", "3500"),
    ("0.5万", "5000"),
    ("80萬", "800000"),
    ("1.2億", "120000000"),
    # Chinese numerals
    ("十", "10"),
    ("十五", "15"),
    ("二十", "20"),
    ("八十万", "800000"),
    ("八十萬", "800000"),
    ("六十万", "600000"),
    ("一千二百", "1200"),
    ("一千二", "1200"),
    ("一千零二十", "1020"),
    ("一百零五", "105"),
    ("一千零十", "1010"),
    ("一千零一十", "1010"),
    ("十万零十", "100010"),
    ("两千万", "20000000"),
    ("兩千萬", "20000000"),
    ("两百五", "250"),
    ("三点五万", "35000"),
    ("三點五萬", "35000"),
    ("十二点五万", "125000"),
    ("零点五", "0.5"),
    ("三点一四", "3.14"),
    ("二十万零五千", "205000"),
    ("一万五", "15000"),
    ("一万五千", "15000"),
    ("十万五", "105000"),
    ("三千五", "3500"),
    ("一亿零五百万", "105000000"),
    ("一亿二千万", "120000000"),
    ("一亿两千万", "120000000"),
    ("十二亿", "1200000000"),
    ("一万亿", "1000000000000"),
    ("一千万亿", "1000000000000000"),
    ("一百二十三万四千五百六十七", "1234567"),
    ("零", "0"),
    ("〇", "0"),
    ("二〇二四", "2024"),
    ("一二〇〇", "1200"),
    ("壹万贰仟", "12000"),
    ("伍拾", "50"),
    ("百万", "1000000"),
    ("千万", "10000000"),
    # approximate: the stated lower bound
    ("80多万", "800000"),
    ("十多万", "100000"),
    ("约80万", "800000"),
    ("大约 80万", "800000"),
    ("80万左右", "800000"),
    ("80万以上", "800000"),
    # upper bound
    ("1000000000000000", "1000000000000000"),
    ("999999999999999.99", "999999999999999.99"),
]


@pytest.mark.parametrize(("raw", "expected"), PARSE_NUMBER_CASES)
def test_parse_number(raw: str, expected: str) -> None:
    got = parse_number(raw)
    assert got == D(expected)
    assert isinstance(got, Decimal)


def test_parse_number_canonical_form() -> None:
    assert str(parse_number("1.5千万")) == "15000000"
    assert str(parse_number("80万")) == "800000"
    assert str(parse_number("0.50")) == "0.5"
    assert parse_number("1.2亿").as_tuple().exponent == 0


PARSE_NUMBER_ERRORS: list[tuple[str, str]] = [
    ("", "empty"),
    ("   ", "empty"),
    ("空字符串", "not a number"),
    ("abc", "not a number"),
    ("😀😀", "not a number"),
    ("NaN", "not a number"),
    ("nan", "not a number"),
    ("inf", "not a number"),
    ("Infinity", "not a number"),
    ("∞", "not a number"),
    ("1e999", "scientific"),
    ("1E5", "scientific"),
    ("2.5e6", "scientific"),
    ("1e-3", "scientific"),
    ("-50万", "negative"),
    ("-0", "negative"),
    ("−50", "negative"),  # U+2212 MINUS SIGN
    ("－５０", "negative"),  # full-width hyphen-minus
    ("负五十万", "negative"),
    ("约-5", "negative"),
    ("10000000000000000", "too large"),
    ("1000000000000000.01", "too large"),
    ("一亿亿", "malformed"),
    ("十百", "malformed"),
    ("9" * 400, "too large"),
    ("80 90", "one number"),
    ("80万90万", "one number"),
    ("80万和90万", "one number"),
    ("10-20万", "one number"),
    ("1,2345", "one number"),
    ("1.2.3", "one number"),
    ("１２３abc", "unexpected text"),
    ("80万元", "without a unit"),
    ("$80", "without a unit"),
    ("30%", "without a unit"),
    ("百分之三十", "without a unit"),
    ("一两万", "ambiguous"),
    ("四五十万", "ambiguous"),
    ("万", "not a number"),
    ("abc123", "not a number"),
]


@pytest.mark.parametrize(("raw", "fragment"), PARSE_NUMBER_ERRORS)
def test_parse_number_errors(raw: str, fragment: str) -> None:
    with pytest.raises(NumberError) as info:
        parse_number(raw)
    err = info.value
    assert isinstance(err, ValueError)
    assert fragment in str(err)
    assert " / " in str(err)  # zh / en
    assert err.zh
    assert err.en
    assert any("\u4e00" <= c <= "\u9fff" for c in err.zh)


def test_parse_number_error_messages_are_human() -> None:
    with pytest.raises(NumberError, match=r"无法识别的数字.* / not a number: 'abc'"):
        parse_number("abc")
    with pytest.raises(NumberError, match="不能为负数"):
        parse_number("负五十万")
    with pytest.raises(NumberError, match="must not be negative"):
        parse_number("-50万")


def test_parse_number_echo_is_truncated() -> None:
    with pytest.raises(NumberError) as info:
        parse_number("x" * 10_000)
    assert len(str(info.value)) < 200


# --------------------------------------------------------------------------------------------
# parse_quantity

PARSE_QUANTITY_CASES: list[tuple[str, Unit | None, str, Unit, str]] = [
    # raw, expect, value, unit, text
    ("80万美元", None, "800000", Unit.USD, "80万美元"),
    ("八十萬美元", None, "800000", Unit.USD, "八十萬美元"),
    ("80万美金", None, "800000", Unit.USD, "80万美金"),
    ("80w刀", None, "800000", Unit.USD, "80w刀"),
    ("80万 USD", None, "800000", Unit.USD, "80万 USD"),
    ("$800,000", None, "800000", Unit.USD, "$800,000"),
    ("US$ 1.2亿", None, "120000000", Unit.USD, "US$ 1.2亿"),
    ("usd80w", None, "800000", Unit.USD, "usd80w"),
    ("60万元", None, "600000", Unit.CNY, "60万元"),
    ("万元", None, "", Unit.NONE, ""),  # placeholder, checked in the error table instead
    ("60万块", None, "600000", Unit.CNY, "60万块"),
    ("3000块钱", None, "3000", Unit.CNY, "3000块钱"),
    ("50万人民币", None, "500000", Unit.CNY, "50万人民币"),
    ("人民币50万元", None, "500000", Unit.CNY, "人民币50万元"),
    ("RMB 50万", None, "500000", Unit.CNY, "RMB 50万"),
    ("50万cny", None, "500000", Unit.CNY, "50万cny"),
    ("¥60万", None, "600000", Unit.CNY, "¥60万"),
    ("￥60万", None, "600000", Unit.CNY, "￥60万"),
    ("1200平米", None, "1200", Unit.M2, "1200平米"),
    ("1200平方米", None, "1200", Unit.M2, "1200平方米"),
    ("1200平方", None, "1200", Unit.M2, "1200平方"),
    ("1200㎡", None, "1200", Unit.M2, "1200㎡"),
    ("1200m2", None, "1200", Unit.M2, "1200m2"),
    ("1200m²", None, "1200", Unit.M2, "1200m²"),
    ("1200 sqm", None, "1200", Unit.M2, "1200 sqm"),
    ("100平", None, "100", Unit.M2, "100平"),
    ("一千二百平方米", None, "1200", Unit.M2, "一千二百平方米"),
    ("30%", None, "30", Unit.PERCENT, "30%"),
    ("３０％", None, "30", Unit.PERCENT, "３０％"),
    ("百分之三十", None, "30", Unit.PERCENT, "百分之三十"),
    ("百分之30", None, "30", Unit.PERCENT, "百分之30"),
    ("百分之百", None, "100", Unit.PERCENT, "百分之百"),
    ("10家", None, "10", Unit.COUNT, "10家"),
    ("10家以上", None, "10", Unit.COUNT, "10家"),
    ("二十个", None, "20", Unit.COUNT, "二十个"),
    ("50人", None, "50", Unit.COUNT, "50人"),
    ("3次", None, "3", Unit.COUNT, "3次"),
    ("80", None, "80", Unit.NONE, "80"),
    ("80万", None, "800000", Unit.NONE, "80万"),
    # expect fills a missing unit
    ("80万", Unit.USD, "800000", Unit.USD, "80万"),
    ("八十万", Unit.CNY, "800000", Unit.CNY, "八十万"),
    ("1200", Unit.M2, "1200", Unit.M2, "1200"),
    ("30", Unit.PERCENT, "30", Unit.PERCENT, "30"),
    ("10", Unit.COUNT, "10", Unit.COUNT, "10"),
    # explicit matching unit
    ("80万美元", Unit.USD, "800000", Unit.USD, "80万美元"),
    ("60万元", Unit.CNY, "600000", Unit.CNY, "60万元"),
    # whitespace and hedges do not end up in text
    ("  约 80万美元左右 ", None, "800000", Unit.USD, "80万美元"),
]


@pytest.mark.parametrize(
    ("raw", "expect", "value", "unit", "span"),
    [c for c in PARSE_QUANTITY_CASES if c[0] != "万元"],
)
def test_parse_quantity(raw: str, expect: Unit | None, value: str, unit: Unit, span: str) -> None:
    q = parse_quantity(raw, expect=expect)
    assert q == Quantity(D(value), unit, span)


PARSE_QUANTITY_ERRORS: list[tuple[str, Unit | None, str]] = [
    ("80万元", Unit.USD, "这一项以美元计，您填写的是人民币 / this field is in US dollars, you entered yuan"),
    ("80万美元", Unit.CNY, "这一项以人民币计，您填写的是美元"),
    ("1200平米", Unit.USD, "this field is in US dollars, you entered square metres"),
    ("30%", Unit.COUNT, "you entered percent"),
    ("10家", Unit.M2, "this field is in square metres"),
    ("80万美元", Unit.NONE, "plain number"),
    ("80欧元", None, "only US dollars or yuan"),
    ("€80", None, "only US dollars or yuan"),
    ("5kg", None, "unsupported unit"),
    ("3年", None, "unsupported unit"),
    ("100米", None, "unsupported unit"),
    ("$80万元", None, "conflicting units"),
    ("万元", None, "not a number"),
    ("", None, "empty"),
    ("-50万美元", Unit.USD, "negative"),
    ("$-50", Unit.USD, "negative"),
    ("80万美元和90万美元", None, "one number"),
    ("1e999美元", None, "scientific"),
    ("NaN", Unit.USD, "not a number"),
    ("八十万美元abc", None, "unexpected text"),
]


@pytest.mark.parametrize(("raw", "expect", "fragment"), PARSE_QUANTITY_ERRORS)
def test_parse_quantity_errors(raw: str, expect: Unit | None, fragment: str) -> None:
    with pytest.raises(NumberError) as info:
        parse_quantity(raw, expect=expect)
    assert fragment in str(info.value)


def test_unit_is_str_enum() -> None:
    assert Unit.USD == "USD"
    assert {u.value for u in Unit} == {"CNY", "USD", "m2", "percent", "count", "none"}


def test_quantity_is_frozen() -> None:
    q = Quantity(D(1), Unit.NONE, "1")
    with pytest.raises(AttributeError):
        q.value = D(2)  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# find_quantities

Q = tuple[str, Unit, str]

FIND_CASES: list[tuple[str, list[Q]]] = [
    ("我们去年跨境出口80万美元能拿多少", [("800000", Unit.USD, "80万美元")]),
    ("仓库1200平米，一年租金60万", [("1200", Unit.M2, "1200平米"), ("600000", Unit.NONE, "60万")]),
    ("社保一年交了六十万", [("600000", Unit.NONE, "六十万")]),
    ("2024年新入驻10家以上", [("10", Unit.COUNT, "10家")]),
    ("2024年", []),
    ("2025", []),
    ("2025年的政策", []),
    ("衡政发〔2024〕4号", []),
    ("第5条", []),
    ("第五条", []),
    ("第 5 条", []),
    ("措施5", []),
    ("措施 5 的补贴", []),
    ("第十六条措施", []),
    ("16条措施", []),
    ("我们去年跨境出口八十萬美元", [("800000", Unit.USD, "八十萬美元")]),
    ("仓库１２００平方米", [("1200", Unit.M2, "１２００平方米")]),
    ("出口额８０万ＵＳＤ", [("800000", Unit.USD, "８０万ＵＳＤ")]),
    ("租金1,200元每月", [("1200", Unit.CNY, "1,200元")]),
    ("按投入费用的50%给予补贴", [("50", Unit.PERCENT, "50%")]),
    ("补贴百分之三十", [("30", Unit.PERCENT, "百分之三十")]),
    ("孵化了十家企业", [("10", Unit.COUNT, "十家")]),
    ("两家企业", [("2", Unit.COUNT, "两家")]),
    ("有50人", [("50", Unit.COUNT, "50人")]),
    ("1.2亿美元", [("120000000", Unit.USD, "1.2亿美元")]),
    ("营收80w", [("800000", Unit.NONE, "80w")]),
    ("营收 $80w", [("800000", Unit.USD, "$80w")]),
    ("1亿2千万", [("120000000", Unit.NONE, "1亿2千万")]),
    ("一万五的租金", [("15000", Unit.NONE, "一万五")]),
    ("六十万一年", [("600000", Unit.NONE, "六十万")]),
    ("80多万美元", [("800000", Unit.USD, "80多万美元")]),
    ("10余家", [("10", Unit.COUNT, "10余家")]),
    (
        "超过 10 家且跨境电商进出口总额达到 2000 万美元，最高给予一次性奖励 50 万元",
        [("10", Unit.COUNT, "10 家"), ("20000000", Unit.USD, "2000 万美元"), ("500000", Unit.CNY, "50 万元")],
    ),
    ("实际租赁面积100平方米以上", [("100", Unit.M2, "100平方米")]),
    ("10-20万美元", [("100000", Unit.USD, "10"), ("200000", Unit.USD, "20万美元")]),
    ("三到五万", [("30000", Unit.NONE, "三"), ("50000", Unit.NONE, "五万")]),
    ("2000-3000平米", [("2000", Unit.M2, "2000"), ("3000", Unit.M2, "3000平米")]),
    ("80万90万", [("800000", Unit.NONE, "80万"), ("900000", Unit.NONE, "90万")]),
    ("百万美元", [("1000000", Unit.USD, "百万美元")]),
    ("租金2000", [("2000", Unit.NONE, "2000")]),
    # not quantities
    ("2024-2025年", []),
    ("2024-01-05", []),
    ("2024/1/5", []),
    ("2024.1.5", []),
    ("3月5日", []),
    ("满3年", []),
    ("10:30开会", []),
    ("b2b b2c o2o", []),
    ("5g 3c", []),
    ("v1.2.3", []),
    ("-50万", []),
    ("亏损-5万", []),
    ("负五十万", []),
    ("1e5", []),
    ("1e999", []),
    ("80欧元", []),
    ("5公斤", []),
    ("我有一个问题", []),
    ("一次性奖励", []),
    ("一家企业", []),
    ("十分感谢", []),
    ("千万不要", []),
    ("十四五规划", []),
    ("五一假期", []),
    ("统一、唯一、万一", []),
    ("零售", []),
    ("平台", []),
    ("", []),
    ("😀😀", []),
    ("NaN inf", []),
    ("HYCR—2024—00002", []),
    ("1.支持跨境电子商务产业园建设", []),
    ("十一、其他", []),
    ("（3）租金", []),
    ("租金（60万）", [("600000", Unit.NONE, "60万")]),
    ("3.5万", [("35000", Unit.NONE, "3.5万")]),
]


@pytest.mark.parametrize(("raw", "expected"), FIND_CASES)
def test_find_quantities(raw: str, expected: list[Q]) -> None:
    got = find_quantities(raw)
    assert got == [Quantity(D(v), u, t) for v, u, t in expected]


def test_find_quantities_in_policy_text() -> None:
    sentence = (
        "对当年跨境电商出口总额破零的，最高给予一次性奖励 2 万元；超过 50 万美元的，"
        "最高给予一次性奖励 10 万元；超过 100 万美元的，最高给予一次性奖励 50 万元"
    )
    got = [(q.value, q.unit) for q in find_quantities(sentence)]
    assert got == [
        (D(20000), Unit.CNY),
        (D(500000), Unit.USD),
        (D(100000), Unit.CNY),
        (D(1000000), Unit.USD),
        (D(500000), Unit.CNY),
    ]


def test_find_quantities_spans_point_into_the_original() -> None:
    raw = "去年出口\u200b８０萬美元，倉庫１２００㎡"
    for q in find_quantities(raw):
        assert q.text in raw
    assert [q.text for q in find_quantities(raw)] == ["８０萬美元", "１２００㎡"]


def test_find_quantities_long_random_text() -> None:
    rng = random.Random(2024)
    pool = "0123456789.,-~%万亿千百十零一二两三四五六七八九点多余kw元美平方米家个人次年第条 ，。😀abc\ud800"
    raw = "".join(rng.choice(pool) for _ in range(10_000))
    got = find_quantities(raw)
    assert all(isinstance(q.value, Decimal) and q.value >= 0 for q in got)
    assert all(q.value <= D(10) ** 15 for q in got)


# --------------------------------------------------------------------------------------------
# Properties

NUMBERISH = st.text(
    alphabet=st.sampled_from(
        list("0123456789.,，-−+eE%万亿千百十零〇一二两三四五六七八九点多余kKwW元美平方米家年第 负$¥萬億")
    ),
    max_size=40,
)


@settings(derandomize=True, max_examples=300)
@given(st.text(max_size=10_000))
def test_find_quantities_never_raises(raw: str) -> None:
    for q in find_quantities(raw):
        assert isinstance(q, Quantity)
        assert q.value >= 0
        assert q.value.is_finite()


@settings(derandomize=True, max_examples=300)
@given(NUMBERISH)
def test_find_quantities_never_raises_on_numberish_text(raw: str) -> None:
    for q in find_quantities(raw):
        assert q.value >= 0
        assert q.text


def _parse_or_error(raw: str) -> None:
    try:
        value = parse_number(raw)
    except NumberError:
        return
    assert isinstance(value, Decimal)
    assert value.is_finite()
    assert value >= 0
    assert value <= D(10) ** 15


@settings(derandomize=True, max_examples=300)
@given(st.text(max_size=200))
def test_parse_number_returns_decimal_or_number_error(raw: str) -> None:
    _parse_or_error(raw)


@settings(derandomize=True, max_examples=300)
@given(NUMBERISH)
def test_parse_number_returns_decimal_or_number_error_numberish(raw: str) -> None:
    _parse_or_error(raw)
    try:
        q = parse_quantity(raw, expect=Unit.USD)
    except NumberError:
        return
    assert q.unit is Unit.USD
    assert q.value >= 0


@settings(derandomize=True, max_examples=300)
@given(st.integers(min_value=0, max_value=10**12))
def test_round_trip_integers(n: int) -> None:
    assert parse_number(str(n)) == n
    assert parse_number(f"{n:,}") == n
    assert parse_number(str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))) == n
    if n % 10_000 == 0:
        assert parse_number(f"{n // 10_000}万") == n
        assert parse_number(f"{n // 10_000}w") == n
    if n % 1_000 == 0:
        assert parse_number(f"{n // 1_000}k") == n


@settings(derandomize=True, max_examples=300)
@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=4))
def test_round_trip_decimals(n: int, places: int) -> None:
    value = D(n).scaleb(-places)
    assert parse_number(str(value)) == value


_DIGITS = "零一二三四五六七八九"


def _section(n: int) -> str:
    """0 < n < 10000 in standard Chinese numerals."""
    out = ""
    pending_zero = False
    for place, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // place % 10
        if d == 0:
            pending_zero = bool(out)
            continue
        if pending_zero:
            out += "零"
            pending_zero = False
        out += _DIGITS[d] + unit
    return out


def to_chinese(n: int) -> str:
    """Standard Chinese numerals for 0 <= n < 10^12 (一千零五, 二十万零五千, 一亿零五百万)."""
    if n == 0:
        return "零"
    groups = [(n // 10**8, "亿"), (n // 10**4 % 10**4, "万"), (n % 10**4, "")]
    out = ""
    gap = False
    prev = 0
    for g, unit in groups:
        if g == 0:
            gap = bool(out)
            continue
        if out and (gap or g < 1000 or prev % 10 == 0):
            out += "零"
        out += _section(g) + unit
        gap = False
        prev = g
    return out


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1005, "一千零五"),
        (205000, "二十万零五千"),
        (215000, "二十一万五千"),
        (105000000, "一亿零五百万"),
        (100001000, "一亿零一千"),
        (10, "一十"),
        (0, "零"),
    ],
)
def test_to_chinese_helper(n: int, text: str) -> None:
    assert to_chinese(n) == text


@settings(derandomize=True, max_examples=300)
@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_round_trip_chinese_numerals(n: int) -> None:
    assert parse_number(to_chinese(n)) == n
    if n % 10_000 == 0 and n:
        assert parse_number(f"{n // 10_000}万") == n


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("how much for 1.5 million USD exports?", Decimal(1_500_000), Unit.USD),
        ("we exported $2m last year", Decimal(2_000_000), Unit.USD),
        ("300 thousand yuan rent", Decimal(300_000), Unit.CNY),
        ("1200m2 warehouse", Decimal(1200), Unit.M2),
    ],
)
def test_english_magnitudes(text: str, value: Decimal, unit: Unit) -> None:
    (quantity,) = find_quantities(text)
    assert (quantity.value, quantity.unit) == (value, unit)
