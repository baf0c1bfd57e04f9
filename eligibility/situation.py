"""The enterprise's situation as a message states it: the facts it gives, in the public fact
vocabulary (figures bound to the fact their words name, lists of items such as overseas
warehouses, statements of status such as 分公司 or 注册在外地). The cues are data, beside each fact
in data/facts.yaml; nothing here knows a fact by name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eligibility.facts import FactSpec


@dataclass(frozen=True)
class Situation:
    """What a message says about the enterprise: fact name → value (as a profile would hold it)."""

    facts: dict[str, Any] = field(default_factory=dict)

    def merged(self, newer: Situation) -> Situation:
        """This situation updated by a later message: what the later one says wins."""
        return Situation({**self.facts, **newer.facts})


def read_situation(text: str, specs: Mapping[str, FactSpec]) -> Situation:
    """The facts `text` states (see the module's docstring)."""
    return Situation()
