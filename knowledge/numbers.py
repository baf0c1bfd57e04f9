"""Quantities the way people type them: ``80万美元``, ``八十萬``, ``1.2亿``, ``80w``, ``１２００平米``.

Public API:

* :class:`Unit` — ``CNY``, ``USD``, ``M2``, ``PERCENT``, ``COUNT``, and ``NONE`` (a bare number);
* :class:`Quantity` — ``value`` (:class:`~decimal.Decimal`), ``unit``, ``text`` (the matched span
  of the caller's *original* text);
* :class:`NumberError` — a :class:`ValueError` whose message is ``"中文 / English"`` (also
  available separately as ``.zh`` and ``.en``);
* :func:`parse_number` — one bare amount (a form field): returns a non-negative ``Decimal``;
* :func:`parse_quantity` — one amount with an optional unit, checked against an expected unit;
* :func:`find_quantities` — every quantity in a free sentence; never raises.

Values are canonical ``Decimal``: integral values have exponent 0 (``Decimal('800000')``), others
are normalised (``Decimal('0.5')``).  Percentages are in percent (``30%`` → ``30``).  Approximate
amounts (``80多万``, ``10余家``, ``约80万``, ``10家以上``) give their stated lower bound.

Chinese numerals: digits ``零〇一二两三…九`` and the financial forms ``壹贰叁…玖拾佰仟``, units
``十百千万亿`` (``万亿`` = 10¹²), ``零`` gaps (``二十万零五千``), ``点`` decimals (``三点五万``),
colloquial elision (``一万五`` = 15000, ``三千五`` = 3500), and mixtures with Arabic digits
(``3千万``, ``1亿2千万``, ``1万5``).  ``k``/``w`` after Arabic digits mean 千/万.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from enum import Enum
from typing import Final, TypeAlias

from knowledge.text import normalize_with_offsets
from knowledge.units import Unit

__all__ = [
    "MAX_VALUE",
    "NumberError",
    "Quantity",
    "Unit",
    "find_quantities",
    "parse_number",
    "parse_quantity",
]


@dataclass(frozen=True)
class Quantity:
    value: Decimal
    unit: Unit
    text: str


class NumberError(ValueError):
    """A user-facing parse error; ``str(err)`` is ``"<zh> / <en>"``."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


MAX_VALUE: Final = Decimal(10) ** 15

_UNIT_NAMES: Final[dict[Unit, tuple[str, str]]] = {
    Unit.USD: ("美元", "US dollars"),
    Unit.CNY: ("人民币", "yuan"),
    Unit.M2: ("平方米", "square metres"),
    Unit.PERCENT: ("百分比", "percent"),
    Unit.COUNT: ("个数（家/个/人/次）", "a count"),
    Unit.NONE: ("纯数字", "a plain number"),
}


# --------------------------------------------------------------------------------------------
# Lexing


class _K(Enum):
    NUM = "num"  # an Arabic number or one Chinese digit
    SMALL = "small"  # 十 百 千 (k)
    BIG = "big"  # 万 亿 万亿 (w)
    FRAC = "frac"  # 点 + Chinese digits
    APPROX = "approx"  # 多 / 余 ("80多万", "10余家")


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: _K
    start: int
    end: int
    value: Decimal
    arabic: bool = False
    single: bool = False  # a single digit (elision candidate: 一万五, 1万5)


_CDIGITS: Final[dict[str, int]] = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
    "九": 9, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9,
}  # fmt: skip
_SMALL_UNITS: Final[dict[str, int]] = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS: Final[dict[str, int]] = {"万": 10**4, "亿": 10**8}
_ASCII_DIGITS: Final = frozenset("0123456789")
_ASCII_LETTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyz")
_ARABIC_RE: Final = re.compile(r"[0-9]+(?:,[0-9]{3}(?![0-9]))*(?:\.[0-9]+)?")
_SCI_RE: Final = re.compile(r"e[+-]?[0-9]")
_MAX_TOKENS: Final = 48
_INF: Final = Decimal(10) ** 40
_TEN: Final = Decimal(10)


def _is_cjk(c: str) -> bool:
    o = ord(c)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3FFFF


_EN_MULTIPLIERS: Final = {
    "thousand": 1000,
    "million": 10**6,
    "mn": 10**6,
    "m": 10**6,
    "billion": 10**9,
    "bn": 10**9,
}
_EN_MAGNITUDE: Final = re.compile(r" ?(thousand|million|billion|mn|bn|m)(?![a-z0-9²])")


def _ascii_unit_at(s: str, j: int) -> bool:
    return any(s.startswith(a, j) for a in ("usd", "us$", "rmb", "cny"))


def _lex(s: str, i: int) -> list[_Tok]:
    """Number-ish tokens from ``s[i]`` on, greedily, stopping at the first other character."""
    toks: list[_Tok] = []
    n = len(s)
    j = i
    while j < n and len(toks) < _MAX_TOKENS:
        prev = toks[-1] if toks else None
        c = s[j]
        if c in _ASCII_DIGITS:
            if prev is not None and prev.kind in (_K.NUM, _K.FRAC, _K.APPROX):
                break
            m = _ARABIC_RE.match(s, j)
            assert m is not None
            raw = m.group().replace(",", "")
            toks.append(_Tok(_K.NUM, j, m.end(), Decimal(raw), arabic=True, single=len(raw) == 1))
            j = m.end()
        elif c in _CDIGITS:
            if prev is not None and (
                prev.kind in (_K.FRAC, _K.APPROX) or (prev.kind is _K.NUM and prev.arabic)
            ):
                break
            toks.append(_Tok(_K.NUM, j, j + 1, Decimal(_CDIGITS[c]), single=True))
            j += 1
        elif (
            c == "点"
            and prev is not None
            and j + 1 < n
            and s[j + 1] in _CDIGITS
            and ((prev.kind is _K.NUM and not prev.arabic) or prev.kind is _K.SMALL)
        ):
            k = j + 1
            while k < n and s[k] in _CDIGITS:
                k += 1
            frac = Decimal("0." + "".join(str(_CDIGITS[d]) for d in s[j + 1 : k]))
            toks.append(_Tok(_K.FRAC, j, k, frac))
            j = k
        elif c in _SMALL_UNITS:
            toks.append(_Tok(_K.SMALL, j, j + 1, Decimal(_SMALL_UNITS[c])))
            j += 1
        elif c in _BIG_UNITS:
            if c == "万" and s.startswith("亿", j + 1):
                toks.append(_Tok(_K.BIG, j, j + 2, Decimal(10) ** 12))
                j += 2
            else:
                toks.append(_Tok(_K.BIG, j, j + 1, Decimal(_BIG_UNITS[c])))
                j += 1
        elif (
            c in "kw"
            and prev is not None
            and prev.kind is _K.NUM
            and prev.arabic
            and (j + 1 >= n or s[j + 1] not in _ASCII_LETTERS or _ascii_unit_at(s, j + 1))
        ):
            kind, mult = (_K.SMALL, 1000) if c == "k" else (_K.BIG, 10**4)
            toks.append(_Tok(kind, j, j + 1, Decimal(mult)))
            j += 1
        elif prev is not None and prev.kind is _K.NUM and prev.arabic and (m := _EN_MAGNITUDE.match(s, j)):
            # English magnitudes after digits: "1.5 million", "2m", "300 thousand", "1bn".
            word = m.group(1)
            mult = _EN_MULTIPLIERS[word]
            toks.append(_Tok(_K.SMALL if mult < 10**4 else _K.BIG, j, m.end(), Decimal(mult)))
            j = m.end()
        elif (
            c in "多余"
            and prev is not None
            and prev.kind in (_K.NUM, _K.SMALL, _K.BIG)
            and not (j + 1 < n and s[j + 1] in "少样种数额")
        ):
            toks.append(_Tok(_K.APPROX, j, j + 1, Decimal(0)))
            j += 1
        elif (
            c == " "
            and prev is not None
            and prev.kind is _K.NUM
            and prev.arabic
            and j + 1 < n
            and s[j + 1] in "万亿千百"
        ):
            j += 1  # "80 万"
        else:
            break
    return toks


# --------------------------------------------------------------------------------------------
# Evaluation


@dataclass
class _Eval:
    value: Decimal = Decimal(0)
    consumed: int = 0  # tokens that form the number
    error: tuple[str, str] | None = None
    approx: bool = False
    chinese_only: bool = True
    has_units: bool = False  # any 十百千万亿kw
    positional: bool = False  # 二〇二四
    leading_bare: bool = False  # starts with 百/千 without a digit ("百万")
    tail: Decimal = Decimal(1)  # multiplier a bare range start inherits ("10-20万")


_MALFORMED: Final = ("无法识别的数字写法", "malformed number")
_AMBIGUOUS: Final = (
    "数字含糊（像是一个范围），请填写一个确切的数",
    "ambiguous number (looks like a range); enter one number",
)


def _elision_ok(s: str, j: int) -> bool:
    """May a digit ending at ``j`` be an elided lower place (一万五)? Not in 六十万一年."""
    if j >= len(s):
        return True
    c = s[j]
    if not _is_cjk(c) or c in "的左以多余上下约":
        return True
    m = _match_affix(s, j, _SUFFIXES)
    return m is not None and isinstance(m[0], Unit)


def _evaluate(toks: Sequence[_Tok], s: str) -> _Eval:
    n = len(toks)
    if n == 0:
        return _Eval(error=_MALFORMED)
    # Positional Chinese digits: 二〇二四, 一二〇〇, 三点一四 is handled below.
    if (
        n >= 2
        and toks[0].kind is _K.NUM
        and not toks[0].arabic
        and toks[1].kind is _K.NUM
        and not toks[1].arabic
    ):
        k = 0
        digits: list[str] = []
        while k < n and toks[k].kind is _K.NUM and not toks[k].arabic:
            digits.append(str(toks[k].value))
            k += 1
        value = Decimal("".join(digits))
        if k < n and toks[k].kind is _K.FRAC:
            value += toks[k].value
            k += 1
        if k < n and toks[k].kind in (_K.SMALL, _K.BIG, _K.APPROX):  # 一两万, 四五十万
            return _Eval(consumed=0, error=_AMBIGUOUS)
        return _Eval(value=value, consumed=k, positional=True)

    ev = _Eval()
    total = Decimal(0)
    sec = Decimal(0)
    num: Decimal | None = None
    last_small = _INF
    last_big = _INF
    prev: _Tok | None = None
    zero_gap = False
    atoms = 0
    units: list[_Tok] = []
    k = 0
    done = False
    provisional = False  # the last token is a digit taken only because a unit followed it
    was_provisional = False
    while k < n and not done:
        t = toks[k]
        nxt = toks[k + 1] if k + 1 < n else None
        was_provisional, provisional = provisional, False
        if prev is not None and prev.kind is _K.APPROX and t.kind is not _K.BIG:
            break
        if t.kind is _K.NUM:
            if num is not None:
                break
            if t.value == 0 and not t.arabic:  # 零 / 〇
                if prev is None:
                    num = Decimal(0)
                    atoms += 1
                elif (
                    prev.kind in (_K.SMALL, _K.BIG)
                    and nxt is not None
                    and (
                        (nxt.kind is _K.NUM and nxt.value != 0) or (nxt.kind is _K.SMALL and nxt.value == 10)
                    )
                ):
                    zero_gap = True  # 一百零五, 二十万零五千, 一千零十
                else:
                    break
                prev = t
                k += 1
                continue
            if prev is None or (prev.kind is _K.NUM and zero_gap):
                if (
                    prev is not None
                    and t.arabic
                    and not t.single
                    and (nxt is None or nxt.kind is not _K.SMALL)
                    and t.value >= units[-1].value / 10
                ):
                    break  # 一万零500: the part after 零 must stay below the unit before it
                num = t.value
            elif prev.kind in (_K.SMALL, _K.BIG):
                if nxt is not None and nxt.kind in (_K.SMALL, _K.BIG, _K.FRAC):
                    num = t.value  # 一万五千, 1亿2千万
                    provisional = True
                elif prev.value == 10:
                    if not t.single:
                        break
                    num = t.value  # 二十五
                elif t.arabic and not t.single:
                    if t.value >= prev.value or t.value != t.value.to_integral_value():
                        break
                    num = t.value  # 1万2000
                elif t.single and not zero_gap and _elision_ok(s, t.end):
                    num = t.value * prev.value / _TEN  # 一万五, 三千五, 1万5
                    done = True
                else:
                    break
            else:
                break
            atoms += 1
            if t.arabic:
                ev.chinese_only = False
        elif t.kind is _K.SMALL:
            m = t.value
            if m >= last_small:
                break
            if num is None:
                if prev is not None and not (zero_gap and m == 10):
                    break
                operand = Decimal(1)  # 十五; 百万 / 千万 (only with an explicit unit in free text)
                ev.leading_bare = prev is None and m != 10
            else:
                operand = num
                if (operand == 0 and (sec != 0 or total != 0)) or (sec != 0 and operand >= 10):
                    break
            sec += operand * m
            num = None
            last_small = m
            units.append(t)
        elif t.kind is _K.BIG:
            mult = t.value
            if mult >= last_big:
                break
            group = sec + (num if num is not None else Decimal(0))
            if (num is None and sec == 0) or group * mult >= last_big:
                break
            total += group * mult
            sec = Decimal(0)
            num = None
            last_small = _INF
            last_big = mult
            zero_gap = False
            units.append(t)
        elif t.kind is _K.FRAC:
            if prev is None or prev.kind not in (_K.NUM, _K.SMALL) or (prev.kind is _K.NUM and prev.arabic):
                break
            num = sec + (num if num is not None else Decimal(0)) + t.value
            sec = Decimal(0)
            last_small = _INF
        else:  # APPROX
            if prev is None or ev.approx:
                break
            ev.approx = True
        prev = t
        k += 1
    else:
        was_provisional = False
    if was_provisional and not done:
        # "80万90万": the 90 belonged to a 万 that could not be taken; end before it.
        return _evaluate(toks[: k - 1], s)

    if k == 0 or (atoms == 0 and not units):
        ev.error = _MALFORMED
        return ev
    ev.consumed = k
    ev.value = total + sec + (num if num is not None else Decimal(0))
    ev.has_units = bool(units)
    if units and toks[k - 1].kind in (_K.SMALL, _K.BIG, _K.APPROX) and not done:
        # "20万" → 10^4, "3千万" → 10^7, "五千" → 10^3; not the tens of "二十万".
        tail = Decimal(1)
        idx = len(units) - 1
        while idx >= 0 and units[idx].kind is _K.BIG:
            tail *= units[idx].value
            idx -= 1
        if idx >= 0 and units[idx].value >= 100:
            tail *= units[idx].value
        ev.tail = tail
    return ev


# --------------------------------------------------------------------------------------------
# Units


class _Other(Enum):
    CURRENCY = "currency"  # 欧元, 日元 … — a currency we do not handle
    MEASURE = "measure"  # 米, 公里, 公斤, 亩 …
    TIME = "time"  # 年, 月, 天 …
    ORDINAL = "ordinal"  # 条, 款, 号 …


_Kind: TypeAlias = Unit | _Other


def _words(spec: str) -> list[str]:
    return spec.split()


_SUFFIX_LIST: Final[list[tuple[str, _Kind]]] = [
    *[(a, Unit.USD) for a in _words("美元 美金 美刀 刀 usd us$ $ dollars dollar")],
    *[(a, Unit.CNY) for a in _words("元人民币 人民币 块钱 块 元 圆 rmb cny yuan ¥")],
    *[(a, Unit.M2) for a in _words("平方米 平方 平米 平 m2 sqm")],
    *[(a, Unit.PERCENT) for a in _words("% 个百分点 百分点 percent")],
    *[(a, Unit.COUNT) for a in _words("家 个 人次 人 次 名 户 笔 单 件")],
    *[
        (a, _Other.CURRENCY)
        for a in _words(
            "欧元 日元 港元 港币 英镑 澳元 加元 韩元 卢布 新台币 台币 泰铢 越南盾 € £ eur gbp jpy hkd"
        )
    ],
    *[
        (a, _Other.MEASURE)
        for a in _words("平方公里 平方千米 km2 公顷 亩 公里 千米 米 km cm mm kg 公斤 千克 吨 克")
    ],
    *[(a, _Other.TIME) for a in _words("年度 年 个月 月份 月 日 天 周 星期 季度 小时 分钟 秒 岁")],
    *[(a, _Other.ORDINAL) for a in _words("条 款 项 章 节 页 号 批 届")],
]
_SUFFIXES: Final = sorted(_SUFFIX_LIST, key=lambda p: -len(p[0]))
_PREFIXES: Final[list[tuple[str, _Kind]]] = sorted(
    [
        ("us$", Unit.USD), ("usd", Unit.USD), ("$", Unit.USD),
        ("¥", Unit.CNY), ("rmb", Unit.CNY), ("cny", Unit.CNY), ("人民币", Unit.CNY),
        ("€", _Other.CURRENCY), ("£", _Other.CURRENCY), ("eur", _Other.CURRENCY), ("hk$", _Other.CURRENCY),
        ("gbp", _Other.CURRENCY), ("jpy", _Other.CURRENCY), ("hkd", _Other.CURRENCY),
    ],
    key=lambda p: -len(p[0]),
)  # fmt: skip
_PING_FOLLOWERS: Final = frozenset("的左右以上下多仓库办公场地面积租房厂米")


def _affix_ok(s: str, alias: str, end: int) -> bool:
    nxt = s[end] if end < len(s) else ""
    if alias[-1].isascii() and alias[-1].isalnum() and nxt.isascii() and nxt.isalpha():
        return False  # "usd" in "usdt", "cny" in "cnyx"
    if alias == "平":  # 100平的仓库, but not 平台
        return not nxt or not _is_cjk(nxt) or nxt in _PING_FOLLOWERS
    if alias == "次":
        return nxt != "性"  # 一次性
    if alias == "单":
        return nxt not in ("位", "独", "价")
    return True


def _match_affix(s: str, j: int, table: Sequence[tuple[str, _Kind]]) -> tuple[_Kind, int] | None:
    for alias, kind in table:
        if s.startswith(alias, j) and _affix_ok(s, alias, j + len(alias)):
            return kind, j + len(alias)
    return None


def _skip_space(s: str, j: int) -> int:
    return j + 1 if j < len(s) and s[j] == " " else j


# --------------------------------------------------------------------------------------------
# Reading one quantity at a position


@dataclass
class _Read:
    start: int  # first character (prefix included)
    num_start: int
    num_end: int
    end: int  # after the unit suffix, if any
    extent: int  # how far a scanner should skip if this candidate is rejected
    value: Decimal = Decimal(0)
    unit: Unit | None = None  # explicit unit
    other: _Other | None = None  # an explicit unit we do not handle
    error: tuple[str, str] | None = None
    ev: _Eval = field(default_factory=_Eval)
    first_arabic: bool = False
    last_arabic: bool = False
    lone_one: bool = False  # just "一"
    single_char: bool = False  # one Chinese character ("三", "十")


def _starts_number(s: str, j: int) -> bool:
    return j < len(s) and (s[j] in _ASCII_DIGITS or s[j] in _CDIGITS or s[j] in _SMALL_UNITS)


def _read(s: str, i: int) -> _Read | None:
    """The quantity starting at ``s[i]`` (a currency prefix, 百分之, or a number), or None."""
    j = i
    prefix: _Kind | None = None
    pm = _match_affix(s, j, _PREFIXES)
    if pm is not None:
        if i > 0 and s[i - 1] in _ASCII_LETTERS and s[i].isascii() and s[i].isalpha():
            return None  # "xusd5"
        k = _skip_space(s, pm[1])
        if not _starts_number(s, k):
            return None
        prefix, j = pm[0], k
    elif s.startswith("百分之", j) and _starts_number(s, j + 3):
        prefix, j = Unit.PERCENT, j + 3
    if not _starts_number(s, j):
        return None
    toks = _lex(s, j)
    if not toks:
        return None
    extent = toks[-1].end
    with localcontext() as ctx:
        ctx.prec = 60
        ev = _evaluate(toks, s)
    if ev.consumed == 0:
        return _Read(i, j, extent, extent, extent, error=ev.error or _MALFORMED, ev=ev)
    used = toks[: ev.consumed]
    num_end = used[-1].end
    r = _Read(i, j, num_end, num_end, max(extent, num_end), value=ev.value, ev=ev)
    r.first_arabic = used[0].arabic
    r.last_arabic = used[-1].arabic
    r.lone_one = len(used) == 1 and s[j] == "一"
    r.single_char = len(used) == 1 and not used[0].arabic
    if r.last_arabic and (sci := _SCI_RE.match(s, num_end)):
        r.error = (
            "不支持科学计数法，请直接写出数字",
            "scientific notation is not supported; write the number out",
        )
        r.extent = max(r.extent, sci.end())
        return r
    if ev.value > MAX_VALUE:
        r.error = ("数值过大（上限 10^15）", "number too large (the limit is 10^15)")
        return r
    # Unit suffix.
    suffix: _Kind | None = None
    sm = _match_affix(s, _skip_space(s, num_end), _SUFFIXES)
    if sm is not None:
        suffix, r.end = sm
        r.extent = max(r.extent, r.end)
    kinds = [x for x in (prefix, suffix) if x is not None]
    if len(kinds) == 2 and kinds[0] != kinds[1]:
        r.error = ("单位前后矛盾", "conflicting units")
        return r
    if kinds:
        kind = kinds[0]
        if isinstance(kind, Unit):
            r.unit = kind
        else:
            r.other = kind
    return r


def _canonical(v: Decimal) -> Decimal:
    if v == v.to_integral_value():
        return v.quantize(Decimal(1))
    return v.normalize()


# --------------------------------------------------------------------------------------------
# Strict parsing (form fields)

_HEDGE_PREFIXES: Final = ("大约", "大概", "约为", "约", "+")
_HEDGE_SUFFIXES: Final = ("左右", "以上", "上下", "多")
_NEGATIVE_RE: Final = re.compile(
    r"(?<![0-9a-z%十百千万亿零〇一二两三四五六七八九])[-负] ?[0-9.零〇一二两三四五六七八九十]"
)
_NAN_WORDS: Final = frozenset({"nan", "inf", "infinity", "+inf", "∞", "null", "none"})


def _echo(text: str) -> str:
    t = text.strip()
    return repr(t if len(t) <= 40 else t[:40] + "…")


def _not_a_number(text: str) -> NumberError:
    return NumberError(f"无法识别的数字：{_echo(text)}", f"not a number: {_echo(text)}")


def _has_number_char(s: str) -> bool:
    return any(c in _ASCII_DIGITS or c in _CDIGITS for c in s)


def _parse_one(text: str) -> tuple[_Read, str, list[int], int, int]:
    """Read exactly one quantity filling ``text``; raise NumberError otherwise."""
    s, offs = normalize_with_offsets(text)
    lo, hi = 0, len(s)
    while lo < hi and s[lo] == " ":
        lo += 1
    while hi > lo and s[hi - 1] in " 。.!":
        hi -= 1
    body = s[lo:hi]
    if not body:
        raise NumberError("请填写一个数字（输入为空）", "please enter a number (the input is empty)")
    if body in _NAN_WORDS:
        raise _not_a_number(text)
    for h in _HEDGE_PREFIXES:
        if s.startswith(h, lo):
            lo = _skip_space(s, lo + len(h))
            break
    if _NEGATIVE_RE.search(s, lo, hi):
        raise NumberError(
            f"金额或数量不能为负数：{_echo(text)}", f"the number must not be negative: {_echo(text)}"
        )
    if lo < hi and s[lo] == "." and lo + 1 < hi and s[lo + 1] in _ASCII_DIGITS:  # ".5"
        s = s[:lo] + "0" + s[lo:]
        offs = [*offs[:lo], offs[lo], *offs[lo:]]
        hi += 1
    r = _read(s[:hi], lo)
    if r is None:
        if _has_number_char(s[lo:hi]):
            raise NumberError(
                f"无法识别的数字：{_echo(text)}（请只填写一个数，如 80万）",
                f"not a number: {_echo(text)} (enter a single number such as 800000 or 80万)",
            )
        raise _not_a_number(text)
    if r.error is not None and r.error not in (_MALFORMED,):
        zh, en = r.error
        raise NumberError(f"{zh}：{_echo(text)}", f"{en}: {_echo(text)}")
    if r.error is not None:
        raise NumberError(f"无法识别的数字写法：{_echo(text)}", f"malformed number: {_echo(text)}")
    # negative after a currency prefix: "$-50"
    rest_start = r.end
    for h in _HEDGE_SUFFIXES:
        k = _skip_space(s, rest_start)
        if s.startswith(h, k):
            rest_start = k + len(h)
            break
    rest = s[rest_start:hi].strip()
    if rest and (rest[0] in _SMALL_UNITS or rest[0] in _BIG_UNITS or rest[0] in "kw点"):
        raise NumberError(f"无法识别的数字写法：{_echo(text)}", f"malformed number: {_echo(text)}")
    if rest:
        if _has_number_char(rest):
            raise NumberError(
                f"只能填写一个数：{_echo(text)}", f"please enter only one number: {_echo(text)}"
            )
        raise NumberError(
            f"无法识别的内容 {rest[:20]!r}：{_echo(text)}", f"unexpected text {rest[:20]!r} in {_echo(text)}"
        )
    if r.ev.value < 0:  # cannot happen by construction; keep the contract explicit
        raise NumberError("金额或数量不能为负数", "the number must not be negative")
    return r, s, offs, lo, hi


def _raise_other(r: _Read, text: str) -> None:
    if r.other is _Other.CURRENCY:
        raise NumberError(
            f"只支持美元或人民币，请换算后填写：{_echo(text)}",
            f"only US dollars or yuan are supported; please convert: {_echo(text)}",
        )
    if r.other is not None:
        raise NumberError(f"无法识别的单位：{_echo(text)}", f"unsupported unit: {_echo(text)}")


def parse_number(text: str) -> Decimal:
    """One bare, non-negative amount: ``80``, ``80万``, ``八十万``, ``1.2亿``, ``80w``, ``1,200``…

    Raises :class:`NumberError` (a ``ValueError``) with a bilingual message for empty input,
    text, NaN/inf, scientific notation, negatives, values above 10^15, more than one number,
    or a unit (use :func:`parse_quantity` for amounts with units).
    """
    r, *_ = _parse_one(text)
    if r.unit is not None or r.other is not None:
        raise NumberError(
            f"这里只需填写数字，不要带单位：{_echo(text)}",
            f"enter just the number, without a unit: {_echo(text)}",
        )
    return _canonical(r.value)


def parse_quantity(text: str, *, expect: Unit | None = None) -> Quantity:
    """One amount with an optional unit (美元/元/万元/平米/%/家 …).

    With ``expect``, an explicit different unit raises :class:`NumberError` naming both
    units, and a missing unit takes ``expect``.  ``text`` of the result is the matched span of
    the input (number and unit, without hedges such as 约/左右).
    """
    r, _s, offs, _lo, _hi = _parse_one(text)
    _raise_other(r, text)
    unit = r.unit
    if expect is not None and unit is not None and unit != expect:
        ezh, een = _UNIT_NAMES[expect]
        gzh, gen = _UNIT_NAMES[unit]
        raise NumberError(f"这一项以{ezh}计，您填写的是{gzh}", f"this field is in {een}, you entered {gen}")
    if unit is None:
        unit = expect if expect is not None else Unit.NONE
    return Quantity(_canonical(r.value), unit, _span(text, offs, r.start, r.end))


def _span(text: str, offs: Sequence[int], start: int, end: int) -> str:
    if not offs or end <= start:
        return ""
    start = min(start, len(offs) - 1)
    end = min(end, len(offs))
    return text[offs[start] : offs[end - 1] + 1]


# --------------------------------------------------------------------------------------------
# Free text

_LABELS: Final = ("第", "措施", "条款", "附件", "附表", "编号", "序号", "文号", "no.", "no", "#",
                  "measure", "article", "item", "section")  # fmt: skip
_TEMPORAL: Final = ("截至", "截止", "在", "于", "从", "自")
_RANGE_SEPS: Final = frozenset("-~至到—")
_DATE_RE: Final = re.compile(r"(?:19|20)[0-9]{2}-(?:0?[1-9]|1[0-2])(?:-[0-9]{1,2})?(?![0-9])")
_NUMBERISH: Final = frozenset("0123456789%十百千万亿kw") | frozenset(_CDIGITS)


def _before(s: str, p: int) -> str:
    """Text before position ``p``, without one separating space."""
    return s[: p - 1] if p > 0 and s[p - 1] == " " else s[:p]


def _has_label(head: str) -> bool:
    for label in _LABELS:
        if head.endswith(label):
            k = len(head) - len(label)
            if not (label[0].isascii() and label[0].isalpha() and k > 0 and head[k - 1] in _ASCII_LETTERS):
                return True
    return False


def _is_year(r: _Read, s: str, unit: Unit | None) -> bool:
    raw = s[r.num_start : r.num_end]
    return (
        unit is None
        and not r.ev.has_units
        and len(raw) == 4
        and raw.isdigit()
        and 1990 <= int(raw) <= 2099
        and raw != "2000"
    )


def _is_list_marker(r: _Read, s: str, unit: Unit | None, inherited: bool) -> bool:
    """``1.支持…``, ``十一、…``, ``(3)``: small integers numbering a list item."""
    e = r.num_end
    if unit is not None or inherited or r.end != e or e >= len(s) or s[e] not in ".、)）":
        return False
    if s[e] == "." and e + 1 < len(s) and s[e + 1] in _ASCII_DIGITS:
        return False
    if r.value >= 100 or r.value != r.value.to_integral_value():
        return False
    return r.start == 0 or s[r.start - 1] in " (（[【"


def _rejected(r: _Read, s: str, unit: Unit | None, inherited: bool) -> bool:
    """Context rules: is this candidate not a quantity (ordinal, year, date, identifier…)?"""
    if r.error is not None or r.other is not None:
        return True
    ev = r.ev
    head = _before(s, r.start)
    if _has_label(head) or (head.endswith(_TEMPORAL) and _is_year(r, s, unit)):
        return True
    p = r.start
    if p > 0:
        c = s[p - 1]
        if c == "负":
            return True
        if c == "-" and (p < 2 or s[p - 2] not in _NUMBERISH):
            return True
        if r.first_arabic and r.start == r.num_start and c.isascii() and (c.isalnum() or c in ".:/"):
            return True  # b2b, v1.2, 10:30, 2024/1
    if r.last_arabic and r.end == r.num_end:
        e = r.num_end
        nxt = s[e] if e < len(s) else ""
        if nxt and nxt.isascii() and nxt.isalpha():
            return True  # 3c, 5g
        if nxt in (".", ":", "/") and e + 1 < len(s) and s[e + 1] in _ASCII_DIGITS:
            return True  # 2024.1.5, 10:30, 3/4
    if _is_year(r, s, unit):
        return True
    if (
        r.first_arabic
        and s[r.num_start] == "0"
        and r.num_start + 1 < len(s)
        and s[r.num_start + 1] in _ASCII_DIGITS
    ):
        return True  # 00002, 007: codes, not amounts
    if _is_list_marker(r, s, unit, inherited):
        return True
    if ev.chinese_only:
        e = r.num_end
        if unit is None and 0 < e < len(s) and s[e - 1] in _CDIGITS and s[e] in _CDIGITS:
            return True  # 十四五 (规划), 二十五六: a digit run that does not parse as one number
        if ev.positional:
            return True
        if inherited:
            return False  # 三到五万
        if ev.leading_bare and unit not in (Unit.USD, Unit.CNY, Unit.M2, Unit.PERCENT):
            return True  # 千万不要, 百万
        if r.lone_one and unit in (None, Unit.COUNT):
            return True  # 一个, 一次, 一家企业
        if r.single_char and unit is None:
            return True  # 十分, 三农
    return False


def _range_next(s: str, r: _Read) -> int | None:
    """Start of the second number of a range "10-20万" / "三到五万", or None."""
    j = _skip_space(s, r.end)
    if j < len(s) and s[j] in _RANGE_SEPS:
        k = _skip_space(s, j + 1)
        if _starts_number(s, k) or _match_affix(s, k, _PREFIXES) is not None:
            return k
    return None


def find_quantities(text: str) -> list[Quantity]:
    """Every quantity in a free sentence, in order; never raises.

    ``"仓库1200平米，一年租金60万"`` → ``[1200 M2, 600000 NONE]``.  Not reported: years
    (``2024年``, ``〔2024〕``, a bare ``2025``), durations and dates (``3年``, ``5月``), ordinals and
    labels (``第5条``, ``第五条``, ``措施5``, ``4号``, list markers ``1.`` / ``十一、``), identifiers
    (``b2b``, ``5g``, zero-padded ``00002``), negatives,
    scientific notation, other currencies and measures (``欧元``, ``公斤``), Chinese numerals
    that are words (``一个``, ``十分``, ``千万不要``, ``五一``).  A bare range start takes the
    magnitude and unit of its end: ``10-20万美元`` → ``[100000 USD, 200000 USD]``.
    """
    s, offs = normalize_with_offsets(text)
    out: list[Quantity] = []
    n = len(s)
    i = 0
    while i < n:
        r = _read(s, i)
        if r is None:
            i += 1
            continue
        value, unit, inherited, skip = r.value, r.unit, False, False
        if r.first_arabic and (date := _DATE_RE.match(s, r.num_start)):
            i = max(date.end(), i + 1)  # 2024-01-05, 2024-3
            continue
        if r.error is None and r.other is None and not r.ev.has_units and not r.ev.positional:
            k = _range_next(s, r)
            b = _read(s, k) if k is not None else None
            if b is not None and b.error is None:
                if b.other is not None:
                    skip = True  # 2024-2025年, 3-5天
                elif b.ev.has_units or b.unit is not None:
                    with localcontext() as ctx:
                        ctx.prec = 60
                        value = value * b.ev.tail
                    unit = unit or b.unit
                    inherited = True
        if not skip and not _rejected(r, s, unit, inherited) and value <= MAX_VALUE:
            out.append(Quantity(_canonical(value), unit or Unit.NONE, _span(text, offs, r.start, r.end)))
            i = max(r.end, i + 1)
        else:
            i = max(r.extent, i + 1)
    return out
