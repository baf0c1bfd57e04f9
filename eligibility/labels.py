"""Short names for facts, as a result or a report lists what is missing."""

from __future__ import annotations

import re
from collections.abc import Mapping

from eligibility.facts import FactSpec
from knowledge.loader import KnowledgeBase


def fact_label(kb: KnowledgeBase, specs: Mapping[str, FactSpec], name: str, lang: str) -> str:
    """A short name for a fact: the label of a condition testing it, else its question."""
    for entry in kb:
        conditions = list(entry.conditions)
        for benefit in entry.benefits:
            conditions += benefit.conditions
            conditions += [c for tier in benefit.tiers for c in tier.conditions]
        for condition in conditions:
            if condition.fact == name:
                return condition.label.get(lang)
    spec = specs.get(name)
    if spec is None:
        return name
    first = re.split(r"[？?（(]", spec.question.get(lang), maxsplit=1)[0].strip()
    return first[:1].lower() + first[1:] if lang == "en" else first
