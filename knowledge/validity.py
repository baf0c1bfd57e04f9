"""Is the document in force on a given day? Past its window every answer must say so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from knowledge.models import Document, Localized

State = Literal["not_yet", "in_force", "expired"]


@dataclass(frozen=True)
class ValidityStatus:
    state: State
    on: date
    effective_from: date
    effective_until: date

    @property
    def in_force(self) -> bool:
        return self.state == "in_force"

    def warning(self, document: Document) -> Localized | None:
        """The sentence every answer carries when the document is not in force."""
        if self.state == "in_force":
            return None
        until, start = self.effective_until.isoformat(), self.effective_from.isoformat()
        name_zh, name_en = document.number, document.number
        if self.state == "expired":
            return Localized(
                zh=(
                    f"⚠️ 提示：{name_zh}有效期两年，按 {start} 发布计算，已于 {until} 届满。"
                    "以下内容仅供参考；是否延期或有新政策替代，请向衡阳市商务局确认。"
                ),
                en=(
                    f"⚠️ Note: {name_en} was valid for two years from {start} and lapsed after {until}. "
                    "What follows is for reference only; ask the Hengyang Bureau of Commerce whether it "
                    "was extended or replaced."
                ),
            )
        return Localized(
            zh=f"⚠️ 提示：{name_zh}自 {start} 起施行，尚未生效。",
            en=f"⚠️ Note: {name_en} takes effect on {start} and is not yet in force.",
        )


def validity_on(document: Document, on: date) -> ValidityStatus:
    window = document.validity
    state: State
    if on < window.effective_from:
        state = "not_yet"
    elif on > window.effective_until:
        state = "expired"
    else:
        state = "in_force"
    return ValidityStatus(state, on, window.effective_from, window.effective_until)


def in_force_on(documents: Sequence[Document], on: date) -> list[Document]:
    return [d for d in documents if validity_on(d, on).in_force]


def governing(documents: Sequence[Document], on: date) -> Document:
    """The document that speaks for a knowledge base on a day (a headline's validity): the newest
    one in force, else the one that lapsed last, else the first to take effect."""
    if not documents:
        raise ValueError("no documents")
    current = in_force_on(documents, on)
    if current:
        return max(current, key=lambda d: d.validity.effective_from)
    lapsed = [d for d in documents if d.validity.effective_until < on]
    if lapsed:
        return max(lapsed, key=lambda d: d.validity.effective_until)
    return min(documents, key=lambda d: d.validity.effective_from)
