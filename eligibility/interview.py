"""The adaptive interview as pure functions: given what is known, what to ask next.

It asks only facts some still-open measure needs (its `missing`), so one failed base condition
ends it at once and a measure already settled asks nothing more. One step is one message the
user answers; the steps come in this order:

1. `confirm`    a figure outside its plausible range (facts.yaml `plausible`), confirmed before
                it is taken ("确定是 20000 家吗？");
2. `understood` facts already stated (earlier in the conversation, or a description of the
                enterprise in one message), shown as a checklist to confirm or correct;
3. `base`       the document's base conditions as one confirmation (all ticked: untick the one
                that fails);
4. `activities` one checklist of what the enterprise does this year (facts.yaml `activities`):
                an activity not ticked implies its facts, so none of its figures is asked;
5. `followup`   the yes/no facts still open, as one checklist;
6. `fact`       each fact still open, one at a time, in the order the measures and their
                conditions come (figures typed; a yes/no left open with its buttons).

`simulate` answers the steps from a profile, the way the bot's user would.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eligibility.facts import FACT_NAMES, FACTS_FILE, Facts, FactSpec, Kind, load_fact_specs
from eligibility.rules import MeasureResult, evaluate
from knowledge.loader import KnowledgeBase
from knowledge.models import Entry, Localized

GROUP_SEPARATOR = ","  # a checklist's facts share one history entry: "operates_park,newly_introduced"
CHECKLIST_MARK = "@"  # a checklist step's history entry: "@activities:operates_park,cbec_export_usd"

StepKind = Literal["confirm", "understood", "base", "activities", "followup", "fact"]
CHECKLISTS: frozenset[str] = frozenset({"understood", "base", "activities", "followup"})
TICKED_BY_DEFAULT: frozenset[str] = frozenset({"understood", "base"})  # untick what is wrong


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
    values = facts.model_dump(mode="json", exclude_none=True)
    wanted: dict[str, None] = {}
    for measure in kb.measures():
        for name in _missing(kb, measure, facts, values):
            wanted.setdefault(name, None)
    _OPEN_FACTS[key] = (kb, tuple(wanted))
    if len(_OPEN_FACTS) > _OPEN_FACTS_SIZE:
        _OPEN_FACTS.popitem(last=False)
    return list(wanted)


_OPEN_FACTS: OrderedDict[tuple[int, str], tuple[KnowledgeBase, tuple[str, ...]]] = OrderedDict()
_OPEN_FACTS_SIZE = 4096


def _missing(kb: KnowledgeBase, measure: Entry, facts: Facts, values: Mapping[str, Any]) -> tuple[str, ...]:
    """The measure's missing facts, remembered by the values of the facts it reads: the next state of
    an interview differs in a fact or two, and most measures read neither."""
    names = _reads(kb, measure)
    key = (id(kb), measure.id, json.dumps([values.get(n) for n in names], sort_keys=True))
    hit = _MISSING.get(key)
    if hit is not None and hit[0] is kb:
        return hit[1]
    missing = evaluate(kb, measure, facts).missing
    _MISSING[key] = (kb, missing)
    if len(_MISSING) > _MISSING_SIZE:
        _MISSING.popitem(last=False)
    return missing


_MISSING: OrderedDict[tuple[int, str, str], tuple[KnowledgeBase, tuple[str, ...]]] = OrderedDict()
_MISSING_SIZE = 50_000


def _reads(kb: KnowledgeBase, measure: Entry) -> tuple[str, ...]:
    """Every fact the measure's evaluation reads: its document's base conditions, its own, its
    benefits' and tiers' conditions, the facts amounts are worked out of, the lists it goes through."""
    hit = _READS.get((id(kb), measure.id))
    if hit is not None and hit[0] is kb:
        return hit[1]
    scope = kb.scope_of(measure.id)
    names = [c.fact for c in (scope.conditions if scope else [])] + [c.fact for c in measure.conditions]
    for benefit in measure.benefits:
        names += [c.fact for c in benefit.conditions]
        names += [c.fact for tier in benefit.tiers for c in tier.conditions]
        names += [
            a.of for a in [benefit.amount, *(t.amount for t in benefit.tiers)] if a is not None and a.of
        ]
        if benefit.for_each:
            names.append(benefit.for_each)
    found = tuple(dict.fromkeys(names))
    _READS[(id(kb), measure.id)] = (kb, found)
    return found


_READS: dict[tuple[int, str], tuple[KnowledgeBase, tuple[str, ...]]] = {}


def next_fact(kb: KnowledgeBase, facts: Facts, skipped: frozenset[str] = frozenset()) -> str | None:
    """The next fact to ask, one fact at a time, or None when no answer could change any result."""
    return next((name for name in open_facts(kb, facts) if name not in skipped), None)


def base_facts(kb: KnowledgeBase) -> tuple[str, ...]:
    """The facts of the base conditions (the `scope` entries), in their order."""
    hit = _BASE.get(id(kb))
    if hit is not None and hit[0] is kb:
        return hit[1]
    names: dict[str, None] = {}
    for measure in kb.measures():
        scope = kb.scope_of(measure.id)
        for condition in scope.conditions if scope else []:
            names.setdefault(condition.fact, None)
    _BASE[id(kb)] = (kb, tuple(names))
    return tuple(names)


_BASE: dict[int, tuple[KnowledgeBase, tuple[str, ...]]] = {}


def stored(name: str, value: Any) -> Any:
    """A fact's value as an interview keeps it (validated, JSON-friendly: 80万 → "800000")."""
    return Facts.model_validate({name: value}).model_dump(mode="json", exclude_none=True)[name]


def valid_facts(facts: Mapping[str, Any] | None) -> dict[str, Any]:
    """The facts that are known names with valid values, each checked on its own; the rest dropped."""
    kept: dict[str, Any] = {}
    for name, value in (facts or {}).items():
        if name not in FACT_NAMES or value is None:
            continue
        try:
            kept[name] = stored(name, value)
        except (ValidationError, KeyError):
            continue
    return kept


# --- activities: what the enterprise does, as data ------------------------------------------------


class Activity(BaseModel):
    """One line of the activity checklist (facts.yaml `activities`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=30)  # in callback data: keep it short
    label: Localized
    sets: dict[str, Any] = {}  # facts a tick states
    opens: tuple[str, ...] = ()  # facts a tick leaves to ask
    otherwise: dict[str, Any]  # facts implied when it is not ticked

    @property
    def decides(self) -> tuple[str, ...]:
        """The facts the checklist's answer sets, ticked or not."""
        return tuple(dict.fromkeys([*self.sets, *self.otherwise]))

    @property
    def facts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.decides, *self.opens]))

    def evident(self, answers: Mapping[str, Any]) -> bool:
        """What is known already says the enterprise does this (a figure it would not have otherwise)."""
        return any(answers.get(f) is not None and answers[f] != v for f, v in self.otherwise.items()) or any(
            answers.get(f) == v for f, v in self.sets.items()
        )


class PlanError(ValueError):
    pass


@dataclass(frozen=True, eq=False)  # one plan is the same plan only as itself (and can be a cache key)
class Plan:
    """What the interview asks with: the facts' questions and the activities."""

    specs: Mapping[str, FactSpec]
    activities: tuple[Activity, ...]

    @classmethod
    def load(cls, path: Path = FACTS_FILE, specs: Mapping[str, FactSpec] | None = None) -> Plan:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        specs = dict(specs) if specs is not None else load_fact_specs(path)
        activities = []
        for name, body in (raw.get("activities") or {}).items():
            try:
                activity = Activity(id=name, **body)
                for part in ("sets", "otherwise"):
                    values: dict[str, Any] = getattr(activity, part)
                    unknown = [f for f in values if f not in FACT_NAMES]
                    if unknown:
                        raise PlanError(f"unknown facts in {part}: {unknown}")
                    values.update({f: stored(f, v) for f, v in values.items()})
                unknown = [f for f in activity.opens if f not in FACT_NAMES]
                if unknown:
                    raise PlanError(f"unknown facts in opens: {unknown}")
            except (ValidationError, PlanError) as exc:
                raise PlanError(f"{path.name}: activities: {name}: {exc}") from None
            activities.append(activity)
        seen: dict[str, str] = {}
        for activity in activities:
            for fact in activity.decides:
                if fact in seen:
                    raise PlanError(
                        f"{path.name}: activities: {fact} is decided by {seen[fact]} and {activity.id}"
                    )
                seen[fact] = activity.id
        return cls(specs, tuple(activities))

    @cached_property
    def _by_id(self) -> dict[str, Activity]:
        return {a.id: a for a in self.activities}

    def activity(self, activity_id: str) -> Activity:
        return self._by_id[activity_id]

    def has_activity(self, activity_id: str) -> bool:
        return activity_id in self._by_id

    def lines(self, open_now: Collection[str], answers: Mapping[str, Any]) -> tuple[str, ...]:
        """The activities worth a line now: one of its facts still open, and not evident already."""
        open_set = set(open_now)
        return tuple(
            a.id for a in self.activities if any(f in open_set for f in a.facts) and not a.evident(answers)
        )


_PLAN: Plan | None = None


def shipped_plan() -> Plan:
    """The shipped facts.yaml's plan (loaded once)."""
    global _PLAN
    if _PLAN is None:
        _PLAN = Plan.load()
    return _PLAN


# --- steps and the interview ------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What the user is asked now: `names` are facts, or (activities) activity ids."""

    kind: StepKind
    names: tuple[str, ...]
    value: Any = None  # confirm: the figure to confirm, as stored

    @property
    def key(self) -> str:
        """Names the step in buttons, so a button of an earlier step is recognised as stale."""
        if self.kind == "fact":
            return self.names[0]
        if self.kind == "confirm":
            return "?" + self.names[0]
        return CHECKLIST_MARK + self.kind

    @property
    def is_checklist(self) -> bool:
        return self.kind in CHECKLISTS

    def facts(self, plan: Plan) -> tuple[str, ...]:
        """The facts this step asks about."""
        if self.kind == "activities":
            return tuple(dict.fromkeys(f for a in self.names for f in plan.activity(a).decides))
        return self.names


@dataclass(frozen=True)
class Interview:
    """One enterprise's interview: answers so far, skipped facts, and the order they came in.

    Immutable and JSON-friendly, so any door (bot, terminal, simulation) can persist it.
    """

    answers: dict[str, Any] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    history: tuple[str, ...] = ()  # steps answered or skipped, oldest first (for "back")
    done: tuple[str, ...] = ()  # the checklist steps answered once: "activities", "followup"
    unconfirmed: tuple[str, ...] = ()  # facts stated, not yet confirmed (the `understood` step)
    pending: tuple[str, Any] | None = None  # (fact, value): a figure outside its plausible range

    @classmethod
    def start(cls, known: Mapping[str, Any] | None = None) -> Interview:
        """An interview that starts from what is known already (confirmed first)."""
        answers = valid_facts(known)
        return cls(answers, unconfirmed=tuple(answers))

    @cached_property
    def facts(self) -> Facts:
        # validated once per interview state (it is immutable); a step reads it several times
        return Facts.model_validate(self.answers)

    # -- what to ask

    def open(self, kb: KnowledgeBase) -> list[str]:
        return [name for name in open_facts(kb, self.facts) if name not in self.skipped]

    def next(self, kb: KnowledgeBase) -> str | None:
        """One fact at a time (no checklists): the next open fact."""
        return next_fact(kb, self.facts, frozenset(self.skipped))

    def step(self, kb: KnowledgeBase, plan: Plan) -> Step | None:
        """The next step, or None when no answer could change any result."""
        known = self.__dict__.get("_step")  # one state asks it several times: remembered (immutable)
        if known is not None and known[0] is kb and known[1] is plan:
            remembered: Step | None = known[2]
            return remembered
        step = self._step(kb, plan)
        self.__dict__["_step"] = (kb, plan, step)
        return step

    def _step(self, kb: KnowledgeBase, plan: Plan) -> Step | None:
        if self.pending is not None:
            return Step("confirm", (self.pending[0],), self.pending[1])
        if self.unconfirmed:
            return Step("understood", self.unconfirmed)
        open_now = self.open(kb)
        if not open_now:
            return None
        base = tuple(n for n in base_facts(kb) if n in open_now)
        if base:
            return Step("base", base)
        if "activities" not in self.done and (lines := plan.lines(open_now, self.answers)):
            return Step("activities", lines)
        if "followup" not in self.done:
            yes_no = tuple(n for n in open_now if plan.specs[n].kind == Kind.YES_NO)
            if len(yes_no) > 1:
                return Step("followup", yes_no)
        return Step("fact", (open_now[0],))

    def remaining(self, kb: KnowledgeBase, plan: Plan) -> int | None:
        """At most how many more steps, this one included; None while the activities are not known
        (until then, any of them might be ticked)."""
        step = self.step(kb, plan)
        if step is None:
            return 0
        if step.kind in ("understood", "base", "activities"):
            return None
        open_now = self.open(kb)
        yes_no = [n for n in open_now if plan.specs[n].kind == Kind.YES_NO]
        if "followup" not in self.done and len(yes_no) > 1:
            return 1 + len(open_now) - len(yes_no)
        return len(open_now) + (step.kind == "confirm")

    # -- answers

    def answer(self, name: str, value: Any) -> Interview:
        facts = self.facts.with_fact(name, value)  # validates the value
        answers = facts.model_dump(mode="json", exclude_none=True)
        skipped = tuple(s for s in self.skipped if s != name)
        return replace(self, answers=answers, skipped=skipped, history=(*self.history, name), pending=None)

    def propose(self, name: str, value: Any, specs: Mapping[str, FactSpec]) -> Interview:
        """A typed figure: taken, or (outside its plausible range) waiting to be confirmed."""
        value = stored(name, value)  # validates the value
        plausible = specs[name].plausible
        if plausible is not None and not isinstance(value, list) and not plausible.admits(value):
            return replace(self, pending=(name, value))
        return self.answer(name, value)

    def confirm(self, yes: bool) -> Interview:
        """The pending figure confirmed (taken) or not (asked again)."""
        if self.pending is None:
            return self
        name, value = self.pending
        return self.answer(name, value) if yes else replace(self, pending=None)

    def answer_group(self, values: Mapping[str, Any]) -> Interview:
        """Several facts answered at once (a checklist); `back` undoes them together."""
        return self._checklist(values, entry=GROUP_SEPARATOR.join(values))

    def answer_checklist(
        self, step: Step, plan: Plan, ticked: Collection[str], unsure: Collection[str] = ()
    ) -> Interview:
        """A checklist step answered: the lines `ticked`; lines `unsure` are left unknown (base and
        follow-up facts skipped; an activity's facts asked one by one)."""
        if step.kind == "understood":
            kept = {n: v for n, v in self.answers.items() if n not in step.names or n in ticked}
            return replace(self, answers=kept, unconfirmed=())
        if step.kind == "activities":
            values: dict[str, Any] = {}
            for activity in (plan.activity(a) for a in step.names):
                if activity.id in unsure:
                    continue
                for name, value in (activity.sets if activity.id in ticked else activity.otherwise).items():
                    if name not in self.answers:
                        values.setdefault(name, value)
            return self._checklist(
                values, entry=f"{CHECKLIST_MARK}activities:" + GROUP_SEPARATOR.join(values)
            )
        if step.kind not in ("base", "followup"):
            raise ValueError(f"not a checklist: {step.kind}")
        values = {n: n in ticked for n in step.names if n not in unsure}
        skip = tuple(n for n in step.names if n in unsure)
        entry = f"{CHECKLIST_MARK}{step.kind}:" + GROUP_SEPARATOR.join(step.names)
        return self._checklist(values, entry=entry, skip=skip)

    def _checklist(self, values: Mapping[str, Any], *, entry: str, skip: tuple[str, ...] = ()) -> Interview:
        facts = self.facts
        for name, value in values.items():
            facts = facts.with_fact(name, value)
        answers = facts.model_dump(mode="json", exclude_none=True)
        skipped = (*(s for s in self.skipped if s not in values), *skip)
        done = self.done
        if entry.startswith(CHECKLIST_MARK):
            kind = entry[1:].partition(":")[0]
            if kind in ("activities", "followup") and kind not in done:
                done = (*done, kind)
        return replace(self, answers=answers, skipped=skipped, history=(*self.history, entry), done=done)

    def skip(self, *names: str) -> Interview:
        """Skip one fact, or a whole checklist (one history entry, so `back` undoes it whole)."""
        return replace(
            self,
            skipped=(*self.skipped, *names),
            history=(*self.history, GROUP_SEPARATOR.join(names)),
            pending=None,
        )

    def skip_step(self, step: Step, plan: Plan) -> Interview:
        """Not sure about a whole step: its facts stay unknown. For the activities, each is then asked
        on its own; a figure waiting for confirmation is skipped."""
        if step.kind == "activities":
            return self.answer_checklist(step, plan, (), unsure=step.names)
        if step.kind == "understood":
            return replace(self, unconfirmed=())
        if step.kind in ("base", "followup"):
            return self.answer_checklist(step, plan, (), unsure=step.names)
        return self.skip(*step.names)

    def learn(self, facts: Mapping[str, Any]) -> Interview:
        """Facts a message stated (a description): taken, and shown to confirm or correct."""
        new = {n: v for n, v in valid_facts(facts).items() if self.answers.get(n) != v}
        if not new:
            return self
        unconfirmed = tuple(dict.fromkeys([*self.unconfirmed, *new]))
        skipped = tuple(s for s in self.skipped if s not in new)
        answers = Facts.model_validate({**self.answers, **new}).model_dump(mode="json", exclude_none=True)
        return replace(self, answers=answers, skipped=skipped, unconfirmed=unconfirmed, pending=None)

    def back(self) -> tuple[Interview, str | None]:
        """Forget the last answer (or skip); returns what is asked again (a fact, or the checklist)."""
        if self.pending is not None:
            return replace(self, pending=None), self.pending[0]
        if not self.history:
            return self, None
        last = self.history[-1]
        kind = ""
        if last.startswith(CHECKLIST_MARK):
            kind, _, last = last[1:].partition(":")
        names = set(last.split(GROUP_SEPARATOR)) if last else set()
        answers = {k: v for k, v in self.answers.items() if k not in names}
        skipped = tuple(s for s in self.skipped if s not in names)
        done = tuple(d for d in self.done if d != kind)
        again = last.split(GROUP_SEPARATOR)[0] if last else CHECKLIST_MARK + kind
        return Interview(answers, skipped, self.history[:-1], done, self.unconfirmed), again

    def implied(self) -> tuple[str, ...]:
        """The facts the activity checklist settled (what a tick states, what no tick implies)."""
        for entry in self.history:
            if entry.startswith(f"{CHECKLIST_MARK}activities:"):
                return tuple(n for n in entry.partition(":")[2].split(GROUP_SEPARATOR) if n)
        return ()

    def unrelated(self, kb: KnowledgeBase, results: Collection[MeasureResult]) -> tuple[str, ...]:
        """The measures not met only because of what the enterprise said it does not do: evaluated
        again without what the activity checklist settled, they are no longer out."""
        implied = set(self.implied())
        if not implied:
            return ()
        without = Facts.model_validate({n: v for n, v in self.answers.items() if n not in implied})
        return tuple(
            r.id
            for r in results
            if r.verdict == "ineligible" and evaluate(kb, kb.entries[r.id], without).verdict != "ineligible"
        )

    # -- persistence

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "answers": self.answers,
            "skipped": list(self.skipped),
            "history": list(self.history),
        }
        if self.done:
            data["done"] = list(self.done)
        if self.unconfirmed:
            data["unconfirmed"] = list(self.unconfirmed)
        if self.pending is not None:
            data["pending"] = list(self.pending)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Interview:
        facts = Facts.model_validate(data.get("answers") or {})
        answers = facts.model_dump(mode="json", exclude_none=True)
        pending = data.get("pending")
        if pending is not None:
            name, value = pending
            pending = (str(name), stored(str(name), value))
        unconfirmed = tuple(n for n in data.get("unconfirmed") or () if n in answers)
        interview = cls(
            answers,
            tuple(data.get("skipped") or ()),
            tuple(data.get("history") or ()),
            tuple(d for d in data.get("done") or () if d in ("activities", "followup")),
            unconfirmed,
            pending,
        )
        interview.__dict__["facts"] = facts  # validated once (the cached property's value)
        return interview


# --- the simulated user -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Simulation:
    steps: int
    facts_asked: tuple[str, ...]
    interview: Interview


def simulate(
    kb: KnowledgeBase, plan: Plan, profile: Mapping[str, Any], *, known: Mapping[str, Any] | None = None
) -> Simulation:
    """The interview as a user whose answers are `profile`'s facts would take it, through the same
    steps the bot shows: a fact the profile lacks is "not sure"; a figure outside its plausible
    range is confirmed."""
    truth = valid_facts(profile)
    interview = Interview.start(known)
    steps = 0
    asked: dict[str, None] = {}
    while (step := interview.step(kb, plan)) is not None:
        steps += 1
        if steps > 4 * len(FACT_NAMES):
            raise RuntimeError(f"the interview did not end: {interview.to_json()}")
        for name in step.facts(plan):
            asked.setdefault(name, None)
        interview = respond(interview, step, plan, truth)
    return Simulation(steps, tuple(asked), interview)


def respond(interview: Interview, step: Step, plan: Plan, truth: Mapping[str, Any]) -> Interview:
    """One step answered from `truth` (stored values, as valid_facts gives them)."""
    if step.kind == "confirm":
        return interview.confirm(True)
    if step.kind == "understood":
        kept = [n for n in step.names if truth.get(n, interview.answers.get(n)) == interview.answers.get(n)]
        return interview.answer_checklist(step, plan, kept)
    if step.kind in ("base", "followup"):
        ticked = [n for n in step.names if truth.get(n) is True]
        unsure = [n for n in step.names if n not in truth]
        return interview.answer_checklist(step, plan, ticked, unsure)
    if step.kind == "activities":
        ticked, unsure = [], []
        for activity in (plan.activity(a) for a in step.names):
            if any(f not in truth for f in activity.decides):
                unsure.append(activity.id)
            elif activity.evident(truth):
                ticked.append(activity.id)
        return interview.answer_checklist(step, plan, ticked, unsure)
    name = step.names[0]
    if name not in truth:
        return interview.skip(name)
    return interview.propose(name, truth[name], plan.specs)
