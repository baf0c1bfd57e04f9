"""What a measure's result hangs on: the facts not answered yet that could still change its
verdict or its amount, and the result either way — "是否属于小微企业会影响金额：最高 4万元 或 8万元".

Worked out by evaluating the measure with those facts set both ways (no / none on one side,
yes / the largest plausible figure on the other) through eligibility.rules: one computation of
verdicts and amounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eligibility.facts import Facts, FactSpec, Kind
from eligibility.rules import MeasureResult, evaluate
from knowledge.loader import KnowledgeBase
from knowledge.models import Localized
from knowledge.render import format_money

LARGE = Decimal(1_000_000_000)  # a figure's high side when the fact file gives no plausible maximum
_RANK = {"ineligible": 0, "unknown": 1, "eligible": 2}


@dataclass(frozen=True)
class Depends:
    """A measure whose verdict or amount hangs on unanswered facts."""

    measure_id: str
    facts: tuple[str, ...]
    low: MeasureResult  # those facts the least favourable way
    high: MeasureResult  # the most favourable way
    proportional: bool  # the high side still grows with the figure (no cap in the text)

    @property
    def changes_verdict(self) -> bool:
        return self.low.verdict != self.high.verdict

    def text(self, specs: Mapping[str, FactSpec], lang: str) -> str:
        """The sentence: 是否属于小微企业会影响金额：最高 4万元 或 8万元 / Depends on …: up to … or …"""
        if lang == "en":
            names = "; ".join(_label(specs, n, "en") for n in self.facts)
            return f"Depends on {names}: {self.outcomes('en')}"
        names = "、".join(
            ("是否" if specs[n].kind == Kind.YES_NO else "") + _label(specs, n, "zh") for n in self.facts
        )
        return f"{names}会影响{'结果' if self.changes_verdict else '金额'}：{self.outcomes('zh')}"

    def outcomes(self, lang: str) -> str:
        """The result either way: "不符合 或 最高 50万元", "最高 4万元 或 8万元"."""
        low, high = self._outcome(self.low, lang), self._outcome(self.high, lang, top=True)
        both = self.low.max_amount_cny is not None and self.high.max_amount_cny is not None
        if both and not self.proportional:
            high = format_money(self.high.max_amount_cny or 0, lang)
        return f"{low} or {high}" if lang == "en" else f"{low} 或 {high}"

    def localized(self, specs: Mapping[str, FactSpec]) -> Localized:
        return Localized(zh=self.text(specs, "zh"), en=self.text(specs, "en"))

    def _outcome(self, result: MeasureResult, lang: str, *, top: bool = False) -> str:
        if result.verdict != "eligible":
            return "not eligible" if lang == "en" else "不符合"
        if top and self.proportional:
            return "in proportion to the figure" if lang == "en" else "按实际金额计"
        if result.max_amount_cny is None:
            return "eligible (no figure in the text)" if lang == "en" else "符合（文件未写明金额）"
        money = format_money(result.max_amount_cny, lang)
        return f"up to {money}" if lang == "en" else f"最高 {money}"


def _label(specs: Mapping[str, FactSpec], name: str, lang: str) -> str:
    spec = specs.get(name)
    if spec is None:
        return name
    text = spec.short(lang)
    first = text.split(" ", 1)[0]
    acronym = len(first) > 1 and (first.isupper() or any(c.isdigit() for c in first))  # CBEC, O2O
    if lang == "en" and not acronym:  # "A small or micro enterprise" → "a small…"
        return text[:1].lower() + text[1:]
    return text


def _side(spec: FactSpec | None, high: bool, scale: int = 1) -> Any:
    kind = spec.kind if spec is not None else Kind.CNY
    if kind == Kind.YES_NO:
        return high
    top = spec.plausible.max if spec is not None and spec.plausible is not None else LARGE
    if kind == Kind.WAREHOUSES:
        return [{"area_m2": 100_000, "annual_rent_cny": LARGE}] * scale if high else []
    if kind == Kind.COUNT:
        return int(top) * scale if high else 0
    return top * scale if high else Decimal(0)


def depends(
    kb: KnowledgeBase, facts: Facts, result: MeasureResult, specs: Mapping[str, FactSpec]
) -> Depends | None:
    """What `result` (the measure evaluated on `facts`) hangs on, or None when nothing unanswered
    could change its verdict or amount."""
    if result.verdict == "ineligible" or not result.missing:
        return None
    entry = kb.entries[result.id]
    known = facts.model_dump(exclude_none=True)

    def evaluated(high: bool, scale: int = 1) -> MeasureResult:
        values = {n: _side(specs.get(n), high, scale) for n in result.missing}
        return evaluate(kb, entry, Facts.model_validate({**known, **values}))

    ends = sorted(
        (evaluated(False), evaluated(True)), key=lambda r: (_RANK[r.verdict], r.max_amount_cny or 0)
    )
    low, high = ends
    if (low.verdict, low.max_amount_cny) == (high.verdict, high.max_amount_cny):
        return None
    numeric = any(specs.get(n) is None or specs[n].kind != Kind.YES_NO for n in result.missing)
    proportional = numeric and evaluated(True, 2).max_amount_cny != high.max_amount_cny
    return Depends(result.id, result.missing, low, high, proportional)


def depends_all(
    kb: KnowledgeBase,
    facts: Facts,
    results: tuple[MeasureResult, ...] | list[MeasureResult],
    specs: Mapping[str, FactSpec],
) -> dict[str, Depends]:
    """Each measure's `depends`, by measure id (only those that hang on something)."""
    found = {}
    for result in results:
        hanging = depends(kb, facts, result, specs)
        if hanging is not None:
            found[result.id] = hanging
    return found
