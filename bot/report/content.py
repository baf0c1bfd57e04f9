"""What the one-page report says, in one language: plain strings, no layout.

Kept apart from the PDF code so the wording can be read and tested without a font, and so the
layout can ask for a shorter version (quotes and lists cut) when a result does not fit a page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.i18n import Translator
from eligibility.facts import FactSpec
from eligibility.labels import fact_label
from eligibility.rules import MeasureResult, Reason, Verdict
from eligibility.screening import DISCLAIMER, Screening
from knowledge.loader import KnowledgeBase
from knowledge.models import Entry
from knowledge.render import format_money

Kind = Literal["met", "not_met", "missing", "clause", "units"]


@dataclass(frozen=True)
class Budget:
    """How much room each part may take; the layout tries smaller budgets until the page fits."""

    quote: int = 90  # characters of the clause quote (0: none)
    line: int = 240  # characters of one list line (conditions, missing facts)


@dataclass(frozen=True)
class Detail:
    kind: Kind
    text: str


@dataclass(frozen=True)
class Item:
    heading: str  # 第5条 跨境电商出口业绩奖励 / Measure 5: …
    amount: str | None  # 最高 10万元; None for undecided and ineligible measures
    details: tuple[Detail, ...]


@dataclass(frozen=True)
class Group:
    verdict: Verdict
    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Page:
    lang: str
    title: str
    header: tuple[str, ...]  # enterprise, date, document, validity window
    warning: str | None
    base_title: str
    base: tuple[Detail, ...]  # the basic conditions, said once for all measures
    groups: tuple[Group, ...]  # empty groups left out
    none_eligible: str | None
    total: str | None  # None when nothing is likely eligible (none_eligible says so)
    notes: tuple[str, ...]  # overlap rule, disclaimer
    footer: str


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, "…" marking a cut; English is cut between words."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    space = cut.rfind(" ")
    if space > 0 and space > len(cut) - 16:
        cut = cut[:space]
    return cut.rstrip("，,；;:：、 ") + "…"


def format_date(day: date, lang: str) -> str:
    return f"{day.day} {day:%B} {day.year}" if lang == "en" else f"{day.year}年{day.month}月{day.day}日"


_NUMBER = re.compile(r"^\s*\d+[.．、]\s*")
_UNITS = re.compile(r"（责任单位[:：][^）]*）\s*$")


def clause_quote(entry: Entry) -> str:
    """From the sentence that grants the support (给予, 予以), without the item number and 责任单位."""
    text = _UNITS.sub("", _NUMBER.sub("", " ".join(entry.source.split())))
    sentences = [s + "。" for s in text.split("。") if s.strip()]
    # Else skip a short heading sentence (15. 加强跨境电商专业培训。) when more follows.
    heading = 1 if len(sentences) > 1 and len(sentences[0]) <= 20 else 0
    start = next((i for i, s in enumerate(sentences) if "给予" in s or "予以" in s), heading)
    return "".join(sentences[start:])


def first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + dot.strip()


def _join(items: Iterable[str], lang: str, limit: int) -> str:
    return shorten(("; " if lang == "en" else "；").join(dict.fromkeys(items)), limit)


def _units(kb: KnowledgeBase, result: MeasureResult, lang: str) -> str:
    if lang != "en":
        return "、".join(result.units)
    names = kb.document_of(result.id).unit_names
    return ", ".join(names.get(u, u) for u in result.units)


class _Builder:
    def __init__(
        self,
        kb: KnowledgeBase,
        specs: Mapping[str, FactSpec],
        screening: Screening,
        t: Translator,
        budget: Budget,
    ) -> None:
        self.kb, self.specs, self.screening, self.t, self.budget = kb, specs, screening, t, budget
        self.lang = t.lang
        # English needs about twice the letters for what Chinese says in characters.
        scale = 2 if self.lang == "en" else 1
        self.quote, self.line = budget.quote * scale, budget.line * scale
        first = screening.measures[0].id
        scope = kb.scope_of(first)
        self.scope_id = scope.id if scope else None
        self.base_facts = {c.fact for c in scope.conditions} if scope else set()

    def label(self, fact: str) -> str:
        return fact_label(self.kb, self.specs, fact, self.lang)

    def own(self, reasons: Iterable[Reason], met: bool) -> list[str]:
        """The measure's own reasons: the base conditions are said once, at the top."""
        return [r.text.get(self.lang) for r in reasons if r.met is met and r.clause != self.scope_id]

    def heading(self, result: MeasureResult) -> str:
        entry = self.kb.entries[result.id]
        return self.t("report.measure", number=entry.number, title=entry.title.get(self.lang))

    def clause(self, result: MeasureResult) -> list[Detail]:
        if self.quote <= 0:
            return []
        entry = self.kb.entries[result.id]
        # A page is in one language: the English page gives the English summary, not the Chinese text.
        text = first_sentence(entry.summary.en) if self.lang == "en" else clause_quote(entry)
        return [Detail("clause", self.t("report.clause", text=shorten(text, self.quote)))]

    def eligible(self, result: MeasureResult) -> Item:
        t, line = self.t, self.line
        amount = (
            t("report.no_figure")
            if result.max_amount_cny is None
            else t("report.up_to", amount=format_money(result.max_amount_cny, self.lang))
        )
        details: list[Detail] = []
        if met := self.own(result.reasons, True):
            details.append(Detail("met", t("report.met", items=_join(met, self.lang, line))))
        if unmet := self.own(result.reasons, False):
            details.append(Detail("not_met", t("report.not_met", items=_join(unmet, self.lang, line))))
        if result.missing:
            facts = _join((self.label(f) for f in result.missing), self.lang, line)
            details.append(Detail("missing", t("report.could_raise", facts=facts)))
        details += self.clause(result)
        details.append(Detail("units", t("report.units", units=_units(self.kb, result, self.lang))))
        return Item(self.heading(result), amount, tuple(details))

    def unknown(self, result: MeasureResult) -> Item:
        own = [f for f in result.missing if f not in self.base_facts]
        facts = (
            _join((self.label(f) for f in own), self.lang, self.line) if own else self.t("report.base_only")
        )
        details = [Detail("missing", self.t("report.missing", facts=facts))]
        details.append(Detail("units", self.t("report.units", units=_units(self.kb, result, self.lang))))
        return Item(self.heading(result), None, tuple(details))

    def ineligible(self, result: MeasureResult) -> Item:
        own = self.own(result.reasons, False)
        text = _join(own, self.lang, self.line) if own else self.t("report.base_failed")
        return Item(self.heading(result), None, (Detail("not_met", self.t("report.not_met", items=text)),))

    def base(self) -> tuple[Detail, ...]:
        """Each basic condition's state, read from the measures' reasons and missing facts."""
        if self.scope_id is None:
            return ()
        scope = self.kb.entries[self.scope_id]
        reasons = [r for m in self.screening.measures for r in m.reasons if r.clause == self.scope_id]
        missing = {f for m in self.screening.measures for f in m.missing}
        met, failed, unknown = [], [], []
        for condition in scope.conditions:
            label = condition.label.get(self.lang)
            if any(r.text == condition.label and r.met is False for r in reasons):
                failed.append(label)
            elif condition.fact in missing:
                unknown.append(self.label(condition.fact))
            elif any(r.text == condition.label and r.met for r in reasons):
                met.append(label)
        t, line = self.t, self.line
        details = []
        if met:
            details.append(Detail("met", t("report.met", items=_join(met, self.lang, line))))
        if unknown:
            details.append(Detail("missing", t("report.missing", facts=_join(unknown, self.lang, line))))
        if failed:
            details.append(Detail("not_met", t("report.not_met", items=_join(failed, self.lang, line))))
        return tuple(details)


def page_content(
    kb: KnowledgeBase,
    specs: Mapping[str, FactSpec],
    screening: Screening,
    t: Translator,
    *,
    enterprise: str | None = None,
    budget: Budget = Budget(),
) -> Page:
    lang = t.lang
    build = _Builder(kb, specs, screening, t, budget)
    document = screening.document
    header = [
        t("report.date", date=format_date(screening.on, lang)),
        t("report.document", number=document.number, title=document.title.get(lang)),
        t(
            "report.validity",
            start=format_date(screening.validity.effective_from, lang),
            until=format_date(screening.validity.effective_until, lang),
        ),
    ]
    if enterprise and enterprise.strip():
        header.insert(0, t("report.enterprise", name=shorten(enterprise, 80)))
    warning = screening.validity.warning(document)
    eligible = screening.by_verdict("eligible")
    unknown = screening.by_verdict("unknown")
    ineligible = screening.by_verdict("ineligible")
    groups = [
        group
        for group in (
            Group(
                "eligible", t("report.eligible", count=len(eligible)), tuple(map(build.eligible, eligible))
            ),
            Group("unknown", t("report.unknown", count=len(unknown)), tuple(map(build.unknown, unknown))),
            Group(
                "ineligible",
                t("report.ineligible", count=len(ineligible)),
                tuple(map(build.ineligible, ineligible)),
            ),
        )
        if group.items
    ]
    without_figure = sum(1 for m in eligible if m.max_amount_cny is None)
    total = None
    if eligible:
        # the measures shown: in force (none being in force: all, for reference, under the warning)
        total = t("report.total", amount=format_money(screening.shown_total, lang))
        if without_figure:
            total += t("report.total_no_figure", count=without_figure)
    notes = [t("report.disclaimer", text=DISCLAIMER.get(lang))]
    if screening.overlap_note is not None:
        notes.insert(0, t("report.overlap", text=screening.overlap_note.get(lang)))
    return Page(
        lang=lang,
        title=t("report.title"),
        header=tuple(header),
        warning=warning.get(lang) if warning else None,
        base_title=t("report.base"),
        base=build.base(),
        groups=tuple(groups),
        none_eligible=None if eligible else t("report.none_eligible"),
        total=total,
        notes=tuple(notes),
        footer=t("report.footer", number=document.number),
    )
