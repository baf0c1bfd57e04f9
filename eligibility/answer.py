"""The answer to a free question: the matcher's decision turned into what the user reads.

It sits in eligibility/ because a question carrying the user's own figure ("出口80万美元能拿多少")
is worked out with the same rules the screening uses: one implementation of the amounts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from eligibility.facts import FactSpec, Kind, load_fact_specs
from eligibility.rules import BenefitResult, benefit_results, known_conditions
from knowledge.loader import KnowledgeBase
from knowledge.matcher import Decision, Matcher, Ruling
from knowledge.models import Benefit, Entry, Localized
from knowledge.numbers import Quantity, find_quantities
from knowledge.render import format_quantity, render_card
from knowledge.text import normalize
from knowledge.units import Unit
from knowledge.validity import ValidityStatus, validity_on

_ITEM_KINDS = {"area_m2": Kind.AREA, "annual_rent_cny": Kind.CNY}

DECLINE = Localized(
    zh="抱歉，衡政发〔2024〕4号（衡阳市支持跨境电商发展的若干措施）没有涉及这个问题。",
    en="Sorry, 衡政发〔2024〕4号 (Hengyang's cross-border e-commerce support measures) does not cover this.",
)
CLARIFY = Localized(zh="您是想问下面哪一项？", en="Did you mean one of these?")


@dataclass(frozen=True)
class FigureNote:
    """What the user's own figures mean under the matched clause."""

    entry_id: str
    assumed: dict[str, Any]
    results: tuple[BenefitResult, ...]
    text: Localized


@dataclass(frozen=True)
class Answer:
    decision: Decision
    text: str
    entry_ids: tuple[str, ...]
    figure: FigureNote | None = None
    lang: str = "zh"

    @property
    def outcome(self) -> str:
        return self.decision.outcome

    def as_json(self) -> dict[str, Any]:
        return {
            "query": self.decision.query,
            "outcome": self.decision.outcome,
            "matches": [{"id": m.id, "score": round(m.score, 4)} for m in self.decision.matches],
            "answer": self.text,
        }


def _facts_of(entry: Entry) -> list[tuple[str, Benefit | None]]:
    """The facts a measure's figures test or multiply, in order: (fact, its benefit)."""
    found: list[tuple[str, Benefit | None]] = [(c.fact, None) for c in entry.conditions]
    for benefit in entry.benefits:
        names = [c.fact for c in benefit.conditions]
        names += [c.fact for tier in benefit.tiers for c in tier.conditions]
        if benefit.amount is not None and benefit.amount.of:
            names.append(benefit.amount.of)
        found += [(name, benefit) for name in names]
    first: dict[str, Benefit | None] = {}
    for name, owner in found:
        first.setdefault(name, owner)
    return list(first.items())


def _kind(name: str, benefit: Benefit | None, specs: Mapping[str, FactSpec]) -> Kind | None:
    if benefit is not None and benefit.for_each is not None:
        return _ITEM_KINDS.get(name)
    spec = specs.get(name)
    return spec.kind if spec else None


def assign_figures(
    entry: Entry, quantities: Sequence[Quantity], specs: Mapping[str, FactSpec]
) -> tuple[dict[str, Any], list[tuple[Decimal, Unit]]]:
    """Give each figure of the question to the measure's first free fact of the same unit.

    A figure without a unit tries yuan, then dollars, then a count: subsidies, fees and rents
    are in yuan; trade volumes are in dollars. Returns the values and each figure used, with
    the unit it was read in.
    """
    candidates = [(name, b, _kind(name, b, specs)) for name, b in _facts_of(entry)]
    values: dict[str, Any] = {}
    item: dict[str, Any] = {}  # fields of one list item (an overseas warehouse)
    list_fact: str | None = None
    used: list[tuple[Decimal, Unit]] = []
    for quantity in quantities:
        units = [quantity.unit] if quantity.unit != Unit.NONE else [Unit.CNY, Unit.USD, Unit.COUNT]
        for unit in units:
            free = [
                (n, b)
                for n, b, k in candidates
                if k is not None and k.unit == unit and n not in values and n not in item
            ]
            if not free:
                continue
            name, benefit = free[0]
            if benefit is not None and benefit.for_each is not None:
                item[name] = quantity.value
                list_fact = benefit.for_each
            else:
                values[name] = quantity.value
            used.append((quantity.value, unit))
            break
    if list_fact is not None and set(item) >= set(_ITEM_KINDS):
        values[list_fact] = [item]
    return values, used


def figure_note(entry: Entry, query: str, specs: Mapping[str, FactSpec]) -> FigureNote | None:
    if entry.kind != "measure" or not any(b.tiers or b.amount for b in entry.benefits):
        return None
    quantities = [q for q in find_quantities(query) if q.unit != Unit.PERCENT]
    if not quantities:
        return None
    assumed, used = assign_figures(entry, quantities, specs)
    if not assumed:
        return None
    results = tuple(r for r in benefit_results(entry, assumed) if r.status is not None)
    if not results and not known_conditions(entry, assumed):
        return None
    figures_zh = "、".join(format_quantity(v, u, "zh") for v, u in used)
    figures_en = ", ".join(format_quantity(v, u, "en") for v, u in used)
    lines_zh = [f"按您提到的 {figures_zh}（假设其他条件都符合）："]
    lines_en = [f"With the figures you gave ({figures_en}), assuming the other conditions are met:"]
    reasons = known_conditions(entry, assumed) + [r for result in results for r in result.reasons]
    for reason in reasons:
        mark = "✓" if reason.met else "✗"
        lines_zh.append(f" {mark} {reason.text.zh}")
        lines_en.append(f" {mark} {reason.text.en}")
    return FigureNote(entry.id, assumed, results, Localized(zh="\n".join(lines_zh), en="\n".join(lines_en)))


class Assistant:
    """Everything a door needs: ask a question, show a card, in the user's language.

    Swapping the knowledge base (staff edits) replaces the matcher whole, so a question in
    flight sees either the old or the new base.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        today: Callable[[], date] = date.today,
        extra_questions: Mapping[str, Sequence[str]] | None = None,
        rulings: Sequence[Ruling] = (),
    ) -> None:
        self._today = today
        self._specs = load_fact_specs()
        self._state = (kb, Matcher(kb, extra_questions, rulings=rulings))

    @property
    def kb(self) -> KnowledgeBase:
        return self._state[0]

    @property
    def matcher(self) -> Matcher:
        return self._state[1]

    def swap(
        self,
        kb: KnowledgeBase,
        extra_questions: Mapping[str, Sequence[str]] | None = None,
        rulings: Sequence[Ruling] = (),
    ) -> None:
        """Build the new matcher first, then replace the pair in one assignment."""
        self._state = (kb, Matcher(kb, extra_questions, rulings=rulings))

    def today(self) -> date:
        return self._today()

    def validity(self) -> ValidityStatus:
        return validity_on(self.kb.documents[0], self._today())

    def card(self, entry_id: str, lang: str = "zh") -> str:
        kb = self.kb
        entry = kb.entries[entry_id]
        return render_card(kb, entry, lang, validity_on(kb.document_of(entry_id), self._today()))

    def ask(self, query: str, lang: str = "zh", *, context: Sequence[str] = ()) -> Answer:
        kb, matcher = self._state
        decision = matcher.decide(query)
        if decision.outcome == "answer":
            entry = kb.entries[decision.matches[0].id]
            note = figure_note(entry, normalize(query), self._specs)
            text = render_card(kb, entry, lang, validity_on(kb.document_of(entry.id), self._today()))
            if note is not None:
                head, sep, rest = text.partition("\n\n")
                text = f"{head}{sep}{note.text.get(lang)}\n\n{rest}"
            return Answer(decision, text, (entry.id,), note, lang)
        if decision.outcome == "clarify":
            ids = decision.choices
            lines = [CLARIFY.get(lang)] + [f" • {kb.entries[i].title.get(lang)}" for i in ids]
            return Answer(decision, "\n".join(lines), ids, None, lang)
        parts = [DECLINE.get(lang)]
        if decision.referral is not None:
            parts = [decision.referral.message.get(lang)]
        return Answer(decision, "\n".join(parts), (), None, lang)
