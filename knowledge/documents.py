"""Which documents a question names — by 文号 (衡政发〔2026〕9号, [2026]9号, 2026年9号文, 9号文,
"No. 9 [2026]") or by full title — so it is answered from them. Patterns are made from each
document's own 文号 and title (no document is known by name here); a short form two documents
share ("9号文" of two years) names neither, and a title two documents share names neither.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from knowledge.models import Document
from knowledge.text import normalize

# 文号 as printed: issuer's prefix, the year in brackets, the serial number, 号.
_NUMBER: Final = re.compile(
    r"^(?P<prefix>\D*?)\s*[〔\[(（【]\s*(?P<year>\d{4})\s*[〕\])）】]\s*(?P<n>\d+)\s*号$"
)
_OPEN, _CLOSE = r"[〔\[(（【]", r"[〕\])）】]"


@dataclass(frozen=True)
class _Names:
    doc: str
    patterns: tuple[re.Pattern[str], ...]


def _patterns(document: Document, *, short: bool) -> list[re.Pattern[str]]:
    """The ways a question may write this document's 文号 (normalised, lower-cased text)."""
    found: list[str] = []
    number = _NUMBER.match(normalize(document.number))
    if number is None:  # a 文号 of another shape: only as printed
        return [re.compile(re.escape(normalize(document.number).lower()))]
    prefix, year, n = re.escape(number["prefix"].lower()), number["year"], number["n"]
    serial = rf"第?\s*0*{n}(?!\d)\s*号"
    found.append(rf"(?:{prefix})?\s*{_OPEN}\s*{year}\s*{_CLOSE}\s*{serial}")  # 衡政发〔2026〕9号, [2026]9号
    if prefix:
        found.append(rf"{prefix}\s*{year}\s*年?\s*{serial}")  # 衡政发2026年9号
    found.append(rf"(?<!\d){year}\s*年\s*(?:的\s*)?{serial}\s*(?:文件|文)")  # 2026年9号文
    found.append(rf"no\.?\s*{n}(?!\d)\s*(?:of\s*|,\s*)?{_OPEN}?\s*{year}")  # No. 9 [2026], no. 9 of 2026
    found.append(rf"{_OPEN}?\s*{year}\s*{_CLOSE}?\s*no\.?\s*{n}(?!\d)")  # [2026] No. 9
    if short:
        found.append(rf"(?<![\d〕\])）】年])(?<!no\.)第?\s*{n}\s*号\s*(?:文件|文)")  # 9号文
    return [re.compile(p) for p in found]


def _title(document: Document) -> str:
    return normalize(document.title.zh).lower()


class DocumentNames:
    """Finds the documents of a knowledge base a question names."""

    def __init__(self, documents: Sequence[Document]) -> None:
        serials = [m["n"] if (m := _NUMBER.match(normalize(d.number))) else None for d in documents]
        titles = [_title(d) for d in documents]
        self._names = [
            _Names(
                d.id,
                tuple(
                    _patterns(d, short=serials.count(serial) == 1)
                    + ([re.compile(re.escape(title))] if titles.count(title) == 1 else [])
                ),
            )
            for d, serial, title in zip(documents, serials, titles, strict=True)
        ]
        self.several = len(documents) > 1

    def find(self, text: str) -> tuple[frozenset[str], str]:
        """The ids of the documents `text` (normalised, lower-cased) names, and the text with the
        names taken out (they are no evidence for any one entry)."""
        if not self.several:  # one document: naming it changes nothing
            return frozenset(), text
        named: set[str] = set()
        rest = text
        for names in self._names:
            for pattern in names.patterns:
                if pattern.search(rest):
                    named.add(names.doc)
                    rest = pattern.sub(" ", rest)
        return frozenset(named), rest
