"""Screen one enterprise against every measure, on a given date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from eligibility.facts import Facts
from eligibility.rules import MeasureResult, evaluate
from knowledge.loader import KnowledgeBase
from knowledge.models import Document, Localized
from knowledge.validity import ValidityStatus, validity_on

DISCLAIMER = Localized(
    zh="本结果是根据您提供的信息所作的预审，不是审批决定；能否获得支持及具体金额以市商务局、市财政局的项目申报审核和市人民政府批准为准。",
    en=(
        "This is a pre-screen based on what you told us, not a decision. Whether support is granted, and how "
        "much, is decided through the Bureau of Commerce and Finance Bureau's application review and the city "
        "government's approval."
    ),
)


@dataclass(frozen=True)
class Screening:
    on: date
    document: Document
    validity: ValidityStatus
    measures: tuple[MeasureResult, ...]
    overlap_note: Localized | None

    @property
    def total_max_amount_cny(self) -> int:
        return sum(m.max_amount_cny or 0 for m in self.measures if m.verdict == "eligible")

    def by_verdict(self, verdict: str) -> list[MeasureResult]:
        return [m for m in self.measures if m.verdict == verdict]

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        warning = self.validity.warning(self.document)
        return {
            "date": self.on.isoformat(),
            "in_force": self.validity.in_force,
            "document": self.document.number,
            "validity": {
                "effective_from": self.validity.effective_from.isoformat(),
                "effective_until": self.validity.effective_until.isoformat(),
                "state": self.validity.state,
            },
            "warning": warning.get(lang) if warning else None,
            "measures": [m.as_dict(lang) for m in self.measures],
            "total_max_amount_cny": self.total_max_amount_cny,
            "overlap_note": self.overlap_note.get(lang) if self.overlap_note else None,
            "disclaimer": DISCLAIMER.get(lang),
        }


def screen(kb: KnowledgeBase, facts: Facts, on: date) -> Screening:
    """Every measure of the knowledge base, with the validity of its document on `on`."""
    measures = kb.measures()
    if not measures:
        raise ValueError("the knowledge base has no measures")
    document = kb.document_of(measures[0].id)
    overlap = next((e for e in kb if e.kind == "overlap"), None)
    note = None
    if overlap is not None:
        note = Localized(zh=f"{overlap.summary.zh}（原文：{overlap.source}）", en=overlap.summary.en)
    return Screening(
        on=on,
        document=document,
        validity=validity_on(document, on),
        measures=tuple(evaluate(kb, m, facts) for m in measures),
        overlap_note=note,
    )
