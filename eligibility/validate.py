"""Checks that the knowledge base's rules speak the facts vocabulary: every condition names a
known fact, with an operator and unit that fit the fact's kind."""

from __future__ import annotations

from collections.abc import Iterator

from eligibility.facts import FactSpec, Kind, load_fact_specs
from knowledge.loader import KnowledgeBase
from knowledge.models import Amount, Condition, Entry, Op

# Fields of list items (overseas_warehouses: [{area_m2, annual_rent_cny}]).
_ITEM_FIELDS = {"overseas_warehouses": {"area_m2": Kind.AREA, "annual_rent_cny": Kind.CNY}}


def _check_condition(where: str, condition: Condition, kinds: dict[str, Kind]) -> Iterator[str]:
    kind = kinds.get(condition.fact)
    if kind is None:
        yield f"{where}: unknown fact '{condition.fact}'"
        return
    if condition.op in (Op.IS_TRUE, Op.IS_FALSE):
        if kind != Kind.YES_NO:
            yield f"{where}: '{condition.fact}' is a {kind.value} fact, not yes/no"
    elif kind.unit != condition.unit:
        expected = kind.unit
        yield f"{where}: unit '{condition.unit}' does not fit '{condition.fact}' (expects {expected})"


def _check_amount(where: str, amount: Amount, kinds: dict[str, Kind]) -> Iterator[str]:
    if amount.of is None:
        return
    kind = kinds.get(amount.of)
    if kind is None:
        yield f"{where}: unknown fact '{amount.of}'"
    elif amount.kind == "percent" and kind != Kind.CNY:
        yield f"{where}: a percentage applies to a yuan amount, '{amount.of}' is {kind.value}"
    elif amount.kind == "per_unit" and kind != Kind.COUNT:
        yield f"{where}: an amount per unit needs a count, '{amount.of}' is {kind.value}"


def _check_entry(entry: Entry, specs: dict[str, FactSpec]) -> Iterator[str]:
    kinds = {name: spec.kind for name, spec in specs.items()}
    for i, condition in enumerate(entry.conditions):
        yield from _check_condition(f"entry {entry.id}: conditions[{i}]", condition, kinds)
    for b, benefit in enumerate(entry.benefits):
        scope = kinds
        if benefit.for_each is not None:
            if benefit.for_each not in _ITEM_FIELDS:
                yield f"entry {entry.id}: benefits[{b}].for_each: '{benefit.for_each}' is not a list fact"
                continue
            scope = _ITEM_FIELDS[benefit.for_each]
        for i, condition in enumerate(benefit.conditions):
            yield from _check_condition(f"entry {entry.id}: benefits[{b}].conditions[{i}]", condition, scope)
        if benefit.amount is not None:
            yield from _check_amount(f"entry {entry.id}: benefits[{b}].amount", benefit.amount, scope)
        for t, tier in enumerate(benefit.tiers):
            for i, condition in enumerate(tier.conditions):
                yield from _check_condition(
                    f"entry {entry.id}: benefits[{b}].tiers[{t}].conditions[{i}]", condition, scope
                )
            if tier.amount.kind != "fixed":
                yield f"entry {entry.id}: benefits[{b}].tiers[{t}].amount: tiers pay fixed amounts"


def rule_problems(kb: KnowledgeBase) -> list[str]:
    specs = load_fact_specs()
    return [problem for entry in kb for problem in _check_entry(entry, specs)]
