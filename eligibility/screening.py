"""Screen one enterprise against every measure of every document, on a given date.

Each measure is screened whatever its document's validity, and marked with its document and
whether that is in force on the day. Only measures in force count towards the total, and where
two documents support the same thing (measures on the same subject: both documents' overseas
warehouse measures) only the better counts — 择优支持且不重复.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from eligibility.facts import Facts
from eligibility.rules import MeasureResult, evaluate
from knowledge.loader import KnowledgeBase, subject
from knowledge.models import Document, Entry, Localized
from knowledge.validity import ValidityStatus, governing, validity_on

DISCLAIMER = Localized(
    zh="本结果是根据您提供的信息所作的预审，不是审批决定；能否获得支持及具体金额以市商务局、市财政局的项目申报审核和市人民政府批准为准。",
    en=(
        "This is a pre-screen based on what you told us, not a decision. Whether support is granted, and how "
        "much, is decided through the Bureau of Commerce and Finance Bureau's application review and the city "
        "government's approval."
    ),
)


@dataclass(frozen=True)
class DocumentStatus:
    document: Document
    validity: ValidityStatus

    def as_dict(self, lang: str) -> dict[str, Any]:
        warning = self.validity.warning(self.document)
        return {
            "id": self.document.id,
            "document": self.document.number,
            "title": self.document.title.get(lang),
            "in_force": self.validity.in_force,
            "validity": _validity(self.validity),
            "warning": warning.get(lang) if warning else None,
        }


def _validity(status: ValidityStatus) -> dict[str, str]:
    return {
        "effective_from": status.effective_from.isoformat(),
        "effective_until": status.effective_until.isoformat(),
        "state": status.state,
    }


@dataclass(frozen=True)
class Screening:
    on: date
    documents: tuple[DocumentStatus, ...]  # every document screened, in the base's order
    measures: tuple[MeasureResult, ...]  # every measure of every document, with its validity
    overlap_note: Localized | None
    subjects: dict[str, frozenset[str]]  # what each measure is about (knowledge.loader.subject)
    owners: dict[str, str]  # measure → its document's id

    @property
    def headline(self) -> DocumentStatus:
        """The document that governs on the day: the newest in force, else the last to lapse."""
        document = governing([d.document for d in self.documents], self.on)
        return next(d for d in self.documents if d.document.id == document.id)

    @property
    def document(self) -> Document:
        return self.headline.document

    @property
    def validity(self) -> ValidityStatus:
        return self.headline.validity

    @property
    def in_force(self) -> bool:
        return any(m.in_force for m in self.measures)

    @property
    def reference(self) -> bool:
        """No measure is in force on the day: every result is shown for reference only."""
        return not self.in_force

    @property
    def current(self) -> tuple[MeasureResult, ...]:
        """The measures the result is about: those in force (all of them, for reference, when none is)."""
        return self.measures if self.reference else tuple(m for m in self.measures if m.in_force)

    @property
    def lapsed(self) -> tuple[MeasureResult, ...]:
        """Measures of documents not in force beside some that are: shown apart, not counted."""
        return () if self.reference else tuple(m for m in self.measures if not m.in_force)

    def by_verdict(self, verdict: str) -> list[MeasureResult]:
        return [m for m in self.current if m.verdict == verdict]

    def counted(self, measures: tuple[MeasureResult, ...] | None = None) -> list[MeasureResult]:
        """The eligible measures whose amounts add up: of measures on the same subject in two
        documents, only the better one (择优支持且不重复)."""
        pool = [m for m in (self.current if measures is None else measures) if m.verdict == "eligible"]
        kept: list[MeasureResult] = []
        for measure in sorted(pool, key=lambda m: -(m.max_amount_cny or 0)):
            if not any(self._overlap(measure, other) for other in kept):
                kept.append(measure)
        return kept

    def overlapping(self) -> list[tuple[MeasureResult, MeasureResult]]:
        """Eligible measures left out of the total, each with the better one it overlaps."""
        kept = self.counted()
        ids = {k.id for k in kept}
        pairs = []
        for measure in (m for m in self.by_verdict("eligible") if m.id not in ids):
            better = next(k for k in kept if self._overlap(measure, k))
            pairs.append((measure, better))
        return pairs

    def _overlap(self, a: MeasureResult, b: MeasureResult) -> bool:
        return self.owners[a.id] != self.owners[b.id] and bool(self.subjects[a.id] & self.subjects[b.id])

    @property
    def total_max_amount_cny(self) -> int:
        """What the measures in force could come to (the public contract: in force only)."""
        if self.reference:
            return 0
        return sum(m.max_amount_cny or 0 for m in self.counted())

    @property
    def shown_total(self) -> int:
        """The total of the measures shown: in force, or (none being in force) for reference."""
        return sum(m.max_amount_cny or 0 for m in self.counted())

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        headline = self.headline
        warning = headline.validity.warning(headline.document)
        return {
            "date": self.on.isoformat(),
            "in_force": self.in_force,
            "document": headline.document.number,
            "validity": _validity(headline.validity),
            "warning": warning.get(lang) if warning else None,
            "documents": [d.as_dict(lang) for d in self.documents],
            "measures": [m.as_dict(lang) for m in self.measures],
            "total_max_amount_cny": self.total_max_amount_cny,
            "overlap_note": self.overlap_note.get(lang) if self.overlap_note else None,
            "disclaimer": DISCLAIMER.get(lang),
        }


def measure_label(kb: KnowledgeBase, entry: Entry, lang: str) -> str:
    """A measure named so that two documents' cannot be confused: "衡政发〔2026〕9号第2条"."""
    number = kb.document_of(entry.id).number
    return f"{number} Measure {entry.number}" if lang == "en" else f"{number}第{entry.number}条"


ACROSS = Localized(
    zh="几份文件对同一事项都有支持的，也按“择优支持且不重复”执行：只计其中较优的一项，不重复享受。",
    en="Where several documents support the same thing, the same rule applies: the better one only, not both.",
)


def _overlap_note(kb: KnowledgeBase, headline: Document) -> Localized | None:
    """The document's own overlap rule (择优支持且不重复), and with several documents the same rule
    across them."""
    entries = [e for e in kb.entries_of(headline.id) if e.kind == "overlap"]
    entries = entries or [e for e in kb if e.kind == "overlap"]
    parts_zh: list[str] = []
    parts_en: list[str] = []
    if entries:
        overlap = entries[0]
        parts_zh.append(f"{overlap.summary.zh}（原文：{overlap.source}）")
        parts_en.append(overlap.summary.en)
    if len(kb.documents) > 1:
        parts_zh.append(ACROSS.zh)
        parts_en.append(ACROSS.en)
    if not parts_zh:
        return None
    return Localized(zh="".join(parts_zh), en=" ".join(parts_en))


def screen(kb: KnowledgeBase, facts: Facts, on: date) -> Screening:
    """Every measure of the knowledge base, each with its document's validity on `on`."""
    measures = kb.measures()
    if not measures:
        raise ValueError("the knowledge base has no measures")
    statuses = tuple(DocumentStatus(d, validity_on(d, on)) for d in kb.documents)
    by_id = {s.document.id: s for s in statuses}
    results = []
    for measure in measures:
        status = by_id[kb.document_of(measure.id).id]
        result = evaluate(kb, measure, facts)
        results.append(replace(result, document=status.document.number, in_force=status.validity.in_force))
    headline = governing(kb.documents, on)
    return Screening(
        on=on,
        documents=statuses,
        measures=tuple(results),
        overlap_note=_overlap_note(kb, headline),
        subjects={m.id: subject(m) for m in measures},
        owners={m.id: kb.document_of(m.id).id for m in measures},
    )
