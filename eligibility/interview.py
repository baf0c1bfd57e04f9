"""The adaptive interview as pure functions: given what is known, what to ask next.

It asks only facts some still-open measure needs (its `missing`), in the order the measures
and their conditions come, so the base conditions come first and one failed base condition
ends the interview at once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from eligibility.facts import Facts, FactSpec
from eligibility.rules import evaluate
from knowledge.loader import KnowledgeBase

GROUP_SEPARATOR = ","  # a checklist's facts share one history entry: "operates_park,newly_introduced"


def open_facts(kb: KnowledgeBase, facts: Facts) -> list[str]:
    """Every fact whose answer could still change a verdict or an amount, in asking order."""
    # Evaluating every measure is the costly part of an interview step, and one step asks it
    # several times (the stale-button check, the next question, the progress line): remembered
    # per knowledge base and facts. The cached knowledge base is kept, so its id is never reused.
    key = (id(kb), facts.model_dump_json(exclude_none=True))
    hit = _OPEN_FACTS.get(key)
    if hit is not None and hit[0] is kb:
        _OPEN_FACTS.move_to_end(key)
        return list(hit[1])
    wanted: dict[str, None] = {}
    for measure in kb.measures():
        for name in evaluate(kb, measure, facts).missing:
            wanted.setdefault(name, None)
    _OPEN_FACTS[key] = (kb, tuple(wanted))
    if len(_OPEN_FACTS) > _OPEN_FACTS_SIZE:
        _OPEN_FACTS.popitem(last=False)
    return list(wanted)


_OPEN_FACTS: OrderedDict[tuple[int, str], tuple[KnowledgeBase, tuple[str, ...]]] = OrderedDict()
_OPEN_FACTS_SIZE = 4096


def next_fact(kb: KnowledgeBase, facts: Facts, skipped: frozenset[str] = frozenset()) -> str | None:
    """The next fact to ask, or None when no answer could change any result."""
    return next((name for name in open_facts(kb, facts) if name not in skipped), None)


def next_step(
    kb: KnowledgeBase, facts: Facts, specs: Mapping[str, FactSpec], skipped: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """The next facts to ask at once: one fact, or every open fact of its group as a checklist
    ("which of these describe you?"). Empty when no answer could change any result."""
    open_now = [name for name in open_facts(kb, facts) if name not in skipped]
    if not open_now:
        return ()
    group = specs[open_now[0]].group
    if group is None:
        return (open_now[0],)
    return tuple(name for name in open_now if specs[name].group == group)


def count_steps(names: list[str], specs: Mapping[str, FactSpec]) -> int:
    """How many steps ask these facts: each ungrouped fact one, each group one."""
    groups = {specs[n].group for n in names if specs[n].group is not None}
    return sum(1 for n in names if specs[n].group is None) + len(groups)


@dataclass(frozen=True)
class Interview:
    """One enterprise's interview: answers so far, skipped facts, and the order they came in.

    Immutable and JSON-friendly, so any door (bot, terminal) can persist it between messages.
    """

    answers: dict[str, Any] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    history: tuple[str, ...] = ()  # facts answered or skipped, oldest first (for "back")

    @cached_property
    def facts(self) -> Facts:
        # validated once per interview state (it is immutable); a step reads it several times
        return Facts.model_validate(self.answers)

    def next(self, kb: KnowledgeBase) -> str | None:
        return next_fact(kb, self.facts, frozenset(self.skipped))

    def remaining(self, kb: KnowledgeBase, specs: Mapping[str, FactSpec] | None = None) -> int:
        """At most how many more questions: the open facts not yet skipped (a group counts once
        when `specs` are given)."""
        names = [name for name in open_facts(kb, self.facts) if name not in self.skipped]
        return len(names) if specs is None else count_steps(names, specs)

    def next_step(self, kb: KnowledgeBase, specs: Mapping[str, FactSpec]) -> tuple[str, ...]:
        return next_step(kb, self.facts, specs, frozenset(self.skipped))

    def answer_group(self, values: Mapping[str, bool]) -> Interview:
        """Several yes/no facts answered at once (a checklist); `back` undoes them together."""
        facts = self.facts
        for name, value in values.items():
            facts = facts.with_fact(name, value)
        answers = facts.model_dump(mode="json", exclude_none=True)
        skipped = tuple(s for s in self.skipped if s not in values)
        return Interview(answers, skipped, (*self.history, GROUP_SEPARATOR.join(values)))

    def answer(self, name: str, value: Any) -> Interview:
        facts = self.facts.with_fact(name, value)  # validates the value
        answers = facts.model_dump(mode="json", exclude_none=True)
        skipped = tuple(s for s in self.skipped if s != name)
        return Interview(answers, skipped, (*self.history, name))

    def skip(self, *names: str) -> Interview:
        """Skip one fact, or a whole checklist (one history entry, so `back` undoes it whole)."""
        return Interview(dict(self.answers), (*self.skipped, *names), (*self.history, GROUP_SEPARATOR.join(names)))

    def back(self) -> tuple[Interview, str | None]:
        """Forget the last answer (or skip); returns the fact to ask again."""
        if not self.history:
            return self, None
        last = self.history[-1]
        names = set(last.split(GROUP_SEPARATOR))
        answers = {k: v for k, v in self.answers.items() if k not in names}
        skipped = tuple(s for s in self.skipped if s not in names)
        return Interview(answers, skipped, self.history[:-1]), last.split(GROUP_SEPARATOR)[0]

    def to_json(self) -> dict[str, Any]:
        return {"answers": self.answers, "skipped": list(self.skipped), "history": list(self.history)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Interview:
        answers = Facts.model_validate(data.get("answers") or {}).model_dump(mode="json", exclude_none=True)
        return cls(answers, tuple(data.get("skipped") or ()), tuple(data.get("history") or ()))
