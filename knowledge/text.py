"""Text normalisation shared by search, number parsing and answer matching.

``normalize`` folds the many ways the same question can be typed into one form:

* Unicode NFKC: full-width letters/digits/punctuation become ASCII (``１２００`` → ``1200``,
  ``，`` → ``,``), compatibility characters are expanded (``㎡`` → ``m2``);
* traditional → simplified Chinese with OpenCC ``t2s`` (phrase-aware, so ``乾隆`` stays);
* Latin (and other cased scripts) lower-cased;
* invisible characters (zero-width, bidi controls, BOM, soft hyphen) and lone UTF-16
  surrogates dropped, other control characters turned into spaces;
* whitespace collapsed to single spaces and trimmed.

Chinese punctuation with no ASCII full-width twin (``。``, ``、``, ``《》``, ``【】``) is kept as
is: mapping ``。`` to ``.`` or ``、`` to ``,`` would turn ``80。5月`` into a decimal and
``10、200`` into a thousands group.

``normalize_with_offsets`` performs the same character mapping without collapsing whitespace
and reports, for every output character, the index of the input character it came from, so
callers (``knowledge.numbers``) can report matched spans in the user's original text.

Neither function raises for any ``str`` input.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Final, Protocol

__all__ = ["normalize", "normalize_with_offsets", "strip_punct"]


class _Converter(Protocol):
    def convert(self, text: str) -> str: ...


_converter: _Converter | None = None
_converter_lock: Final = threading.Lock()


def _t2s() -> _Converter:
    """The process-wide OpenCC traditional→simplified converter, built on first use."""
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    return _converter


# Characters removed outright: zero-width space/joiners, LRM/RLM, bidi embeddings and
# overrides (U+202A–U+202E), word joiner and invisible operators/isolates (U+2060–U+2069),
# BOM / zero-width no-break space, and the soft hyphen.
_INVISIBLE: Final[frozenset[int]] = frozenset(
    [*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x206A), 0xFEFF, 0x00AD]
)

# Full-width-ish punctuation that NFKC leaves alone but that has an unambiguous ASCII twin.
# Minus signs and hyphens matter for numbers ("−50万" must be seen as negative).
_EXTRA_MAP: Final[dict[str, str]] = {
    "\u2212": "-",  # MINUS SIGN
    "\u2010": "-",  # HYPHEN
    "\u2011": "-",  # NON-BREAKING HYPHEN
    "\u2012": "-",  # FIGURE DASH
    "\u2013": "-",  # EN DASH
    "\ufe63": "-",  # SMALL HYPHEN-MINUS (NFKC does this one too, kept for clarity)
    "\u301c": "~",  # WAVE DASH (Japanese IME "～")
}

_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")
_WS_RE: Final = re.compile(r"\s+")


def _is_control(ch: str) -> bool:
    o = ord(ch)
    return o < 0x20 or 0x7F <= o < 0xA0


def _map_char(ch: str) -> str:
    """NFKC + punctuation/invisible/control mapping + lower-casing of one character."""
    o = ord(ch)
    if o < 0x80:
        if _is_control(ch):
            return " "
        return ch.lower()
    if 0xD800 <= o <= 0xDFFF or o in _INVISIBLE:
        return ""
    if _is_control(ch):
        return " "
    out = unicodedata.normalize("NFKC", ch)
    if len(out) == 1:
        out = _EXTRA_MAP.get(out, out)
    else:
        out = "".join(_EXTRA_MAP.get(c, c) for c in out if ord(c) not in _INVISIBLE)
    return out.lower()


def _simplify(text: str) -> str:
    if text.isascii():
        return text
    return _t2s().convert(text)


def normalize(text: str) -> str:
    """Canonical form of ``text`` for matching and parsing; see the module docstring."""
    if not text:
        return ""
    if _SURROGATE_RE.search(text):
        text = _SURROGATE_RE.sub("", text)
    text = "".join(ch for ch in text if ord(ch) not in _INVISIBLE)
    text = unicodedata.normalize("NFKC", text)
    # NFKC can, in principle, decompose into invisible characters; map everything else per char.
    text = "".join(_map_char(ch) for ch in text) if not text.isascii() else _ascii_fold(text)
    text = _simplify(text)
    return _WS_RE.sub(" ", text).strip()


def _ascii_fold(text: str) -> str:
    return "".join(" " if _is_control(ch) else ch for ch in text).lower()


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """Normalise ``text`` character by character, keeping a map back to the input.

    Returns ``(s, offsets)`` with ``len(offsets) == len(s)``; ``offsets[k]`` is the index in
    ``text`` of the character that produced ``s[k]``.  The mapping is the one ``normalize``
    applies, except that whitespace is neither collapsed nor trimmed (every whitespace or
    control character becomes one space), so positions stay meaningful.
    """
    pieces: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        out = _map_char(ch)
        for c in out:
            pieces.append(" " if c.isspace() else c)
            offsets.append(i)
    s = "".join(pieces)
    simplified = _simplify(s)
    if len(simplified) != len(s):  # a phrase conversion changed length: fall back per char
        simplified = "".join(c if c.isascii() or len(conv := _t2s().convert(c)) != 1 else conv for c in s)
    return simplified, offsets


_VARIATION_SELECTORS: Final[frozenset[int]] = frozenset([*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])


def _keep_for_tokens(ch: str) -> bool:
    if ch in "%.":
        return True
    cat = unicodedata.category(ch)
    if cat[0] in "LN":
        return True
    # Combining marks belong to the letter before them, except emoji machinery
    # (keycap U+20E3 is Me; variation selectors are Mn).
    return cat in ("Mn", "Mc") and ord(ch) not in _VARIATION_SELECTORS


def strip_punct(text: str) -> str:
    """Replace punctuation, symbols and emoji with spaces, for tokenising.

    Kept: letters (CJK included), digits and other numerals, combining marks, ``%``, ``.``,
    and ``,`` when it sits between two digits (``1,200``).  Whitespace is then collapsed and
    the result trimmed.  Meant to run on ``normalize``-d text (where ``％`` is already ``%``).
    """
    out: list[str] = []
    n = len(text)
    for i, ch in enumerate(text):
        if _keep_for_tokens(ch) or (
            ch == ","
            and 0 < i < n - 1
            and unicodedata.category(text[i - 1]) == "Nd"
            and unicodedata.category(text[i + 1]) == "Nd"
        ):
            out.append(ch)
        else:
            out.append(" ")
    return _WS_RE.sub(" ", "".join(out)).strip()


_CJK_CHAR = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def is_english(text: str) -> bool:
    """Written in English: no Chinese characters and at least two Latin words (not pinyin-only
    shorthand like "O2O")."""
    return not _CJK_CHAR.search(text) and len(_LATIN_WORD.findall(text)) >= 2
