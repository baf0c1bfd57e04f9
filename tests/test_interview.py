"""The adaptive interview: base conditions first, only questions that can change a result."""

from __future__ import annotations

import statistics
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eligibility.facts import FACT_NAMES, Facts, Kind, load_fact_specs
from eligibility.interview import Interview, next_fact, open_facts
from eligibility.screening import screen
from knowledge.loader import KnowledgeBase, load_knowledge_base

KB = load_knowledge_base()
SPECS = load_fact_specs()
BASE = ["registered_in_hengyang", "pays_tax_in_hengyang", "independent_legal_person", "cbec_in_customs_stats"]
ON = date(2025, 6, 1)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KB


def run(kb: KnowledgeBase, profile: dict[str, Any]) -> tuple[Interview, list[str]]:
    """Answer every question from `profile` (a missing fact is skipped, as '不清楚')."""
    interview = Interview()
    asked: list[str] = []
    while (name := interview.next(kb)) is not None:
        assert name not in asked, f"asked {name} twice"
        asked.append(name)
        interview = interview.answer(name, profile[name]) if name in profile else interview.skip(name)
        assert len(asked) <= len(FACT_NAMES)
    return interview, asked


def test_base_conditions_come_first(kb: KnowledgeBase) -> None:
    _, asked = run(kb, dict.fromkeys(BASE, True) | {"operates_park": False})
    assert asked[:4] == BASE


@pytest.mark.parametrize("failing", BASE)
def test_a_failed_base_condition_ends_the_interview_at_once(kb: KnowledgeBase, failing: str) -> None:
    profile = {name: name != failing for name in BASE}
    interview, asked = run(kb, profile)
    assert asked == BASE[: BASE.index(failing) + 1]
    result = screen(kb, interview.facts, ON)
    assert {m.verdict for m in result.measures} == {"ineligible"}


def test_a_gate_answered_no_skips_the_measures_other_questions(kb: KnowledgeBase) -> None:
    profile: dict[str, Any] = dict.fromkeys(BASE, True)
    profile |= {"operates_park": False, "operates_incubator": False}
    _, asked = run(kb, profile | _all_no(kb, profile))
    for follow_up in (
        "park_recognized",
        "park_new_cbec_tenants",
        "park_cbec_total_usd",
        "incubated_enterprises",
    ):
        assert follow_up not in asked


def test_skipped_questions_are_not_asked_again_and_leave_unknowns(kb: KnowledgeBase) -> None:
    interview, asked = run(kb, dict.fromkeys(BASE, True))
    assert len(asked) == len(set(asked))
    result = screen(kb, interview.facts, ON)
    assert any(m.verdict == "unknown" for m in result.measures)


def test_back_forgets_the_last_answer_and_asks_it_again(kb: KnowledgeBase) -> None:
    interview = Interview().answer("registered_in_hengyang", True).answer("pays_tax_in_hengyang", False)
    assert interview.next(kb) is None
    interview, again = interview.back()
    assert again == "pays_tax_in_hengyang"
    assert interview.next(kb) == "pays_tax_in_hengyang"
    assert "pays_tax_in_hengyang" not in interview.answers


def test_state_round_trips_through_json(kb: KnowledgeBase) -> None:
    interview = (
        Interview()
        .answer("registered_in_hengyang", True)
        .skip("pays_tax_in_hengyang")
        .answer("overseas_warehouses", [{"area_m2": Decimal("1200"), "annual_rent_cny": Decimal("300000")}])
    )
    import json

    again = Interview.from_json(json.loads(json.dumps(interview.to_json())))
    assert again == interview
    assert again.next(kb) == interview.next(kb)


def test_an_invalid_answer_is_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Interview().answer("cbec_export_usd", -1)


# --- properties -------------------------------------------------------------------------


def _value(kind: Kind) -> st.SearchStrategy[Any]:
    money = st.decimals(min_value=0, max_value=200_000_000, places=0)
    return {
        Kind.YES_NO: st.booleans(),
        Kind.COUNT: st.integers(min_value=0, max_value=40),
        Kind.USD: money,
        Kind.CNY: st.decimals(min_value=0, max_value=3_000_000, places=0),
        Kind.AREA: st.decimals(min_value=0, max_value=3000, places=0),
        Kind.WAREHOUSES: st.lists(
            st.fixed_dictionaries(
                {
                    "area_m2": st.decimals(min_value=0, max_value=3000, places=0),
                    "annual_rent_cny": st.decimals(min_value=0, max_value=900_000, places=0),
                }
            ),
            max_size=3,
        ),
    }[kind]


profiles = st.fixed_dictionaries({}, optional={name: _value(spec.kind) for name, spec in SPECS.items()})


@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profile=profiles, extra=st.data())
def test_adding_a_fact_never_turns_eligible_into_unknown(
    profile: dict[str, Any], extra: st.DataObject
) -> None:
    facts = Facts.model_validate(profile)
    before = {m.id: m.verdict for m in screen(KB, facts, ON).measures}
    missing = [n for n in FACT_NAMES if n not in profile]
    if not missing:
        return
    name = extra.draw(st.sampled_from(missing))
    value = extra.draw(_value(SPECS[name].kind))
    after = {m.id: m.verdict for m in screen(KB, facts.with_fact(name, value), ON).measures}
    for measure_id, verdict in before.items():
        if verdict == "eligible":
            assert after[measure_id] == "eligible", (measure_id, name, value)
        if verdict == "ineligible":
            assert after[measure_id] == "ineligible", (measure_id, name, value)


@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=st.fixed_dictionaries({name: _value(spec.kind) for name, spec in SPECS.items()}))
def test_answering_every_question_leaves_nothing_unknown(answers: dict[str, Any]) -> None:
    interview, asked = run(KB, answers)
    result = screen(KB, interview.facts, ON)
    assert [m.id for m in result.measures if m.verdict == "unknown"] == []
    # It never asked what could not change a result: every asked fact was open when asked.
    assert len(asked) == len(set(asked))


def test_every_question_asked_was_open_when_asked(kb: KnowledgeBase) -> None:
    answers: dict[str, Any] = dict.fromkeys(BASE, True) | {"operates_park": True, "park_recognized": False}
    interview = Interview()
    while (name := interview.next(kb)) is not None:
        assert name in open_facts(kb, interview.facts)
        interview = interview.answer(name, answers.get(name, _zero(SPECS[name].kind)))


def _zero(kind: Kind) -> Any:
    return {Kind.YES_NO: False, Kind.WAREHOUSES: []}.get(kind, 0)


def _all_no(kb: KnowledgeBase, known: dict[str, Any]) -> dict[str, Any]:
    return {name: _zero(spec.kind) for name, spec in SPECS.items() if name not in known}


# --- how many questions --------------------------------------------------------------------

TYPICAL = {
    "small exporter": {
        "cbec_export_usd": 300_000,
        "annual_social_insurance_cny": 200_000,
        "platform_promotion_fees_cny": 80_000,
    },
    "park operator": {
        "operates_park": True,
        "park_recognized": True,
        "park_new_cbec_tenants": 15,
        "park_cbec_total_usd": 30_000_000,
    },
    "warehouse owner": {
        "cbec_export_usd": 2_000_000,
        "overseas_warehouses": [{"area_m2": 1500, "annual_rent_cny": 500_000}],
    },
    "college": {
        "college_or_training_institution": True,
        "recognized_talent_base": True,
        "talent_base_investment_cny": 150_000,
    },
    "not registered here": {"registered_in_hengyang": False},
}


def question_counts(kb: KnowledgeBase) -> list[int]:
    counts = []
    for profile in TYPICAL.values():
        answers = dict.fromkeys(BASE, True) | profile
        answers |= _all_no(kb, answers)
        _, asked = run(kb, answers)
        counts.append(len(asked))
    return counts


def test_typical_interviews_ask_far_fewer_questions_than_there_are_facts(kb: KnowledgeBase) -> None:
    counts = question_counts(kb)
    assert max(counts) < len(FACT_NAMES)
    assert min(counts) == 1  # not registered in Hengyang: that one answer settles everything
    assert statistics.median(counts) <= 25


def test_next_fact_is_none_once_everything_is_settled(kb: KnowledgeBase) -> None:
    answers = dict.fromkeys(BASE, True)
    answers |= _all_no(kb, answers)
    assert next_fact(kb, Facts.model_validate(answers)) is None


# --- checklists: the role questions asked together ------------------------------------------


def run_steps(kb: KnowledgeBase, answers: dict[str, Any]) -> list[tuple[str, ...]]:
    interview = Interview()
    steps: list[tuple[str, ...]] = []
    while step := interview.next_step(kb, SPECS):
        steps.append(step)
        if len(step) > 1:
            interview = interview.answer_group({name: bool(answers.get(name, False)) for name in step})
        else:
            interview = interview.answer(step[0], answers[step[0]])
        assert len(steps) <= len(FACT_NAMES)
    assert screen(kb, interview.facts, ON).by_verdict("unknown") == []
    return steps


def test_role_questions_come_as_one_checklist_after_the_base(kb: KnowledgeBase) -> None:
    answers = dict.fromkeys(BASE, True)
    answers |= _all_no(kb, answers)
    steps = run_steps(kb, answers)
    assert steps[:4] == [(name,) for name in BASE]
    checklist = steps[4]
    assert len(checklist) >= 8
    assert all(SPECS[name].group == "role" for name in checklist)


def test_checklists_shorten_typical_interviews(kb: KnowledgeBase) -> None:
    for profile in TYPICAL.values():
        answers = dict.fromkeys(BASE, True) | profile
        answers |= _all_no(kb, answers)
        _, asked = run(kb, answers)
        steps = run_steps(kb, answers)
        assert len(steps) <= len(asked)
    counts = [
        len(run_steps(kb, dict.fromkeys(BASE, True) | p | _all_no(kb, dict.fromkeys(BASE, True) | p)))
        for p in TYPICAL.values()
    ]
    assert statistics.median(counts) <= 16


def test_back_undoes_a_whole_checklist(kb: KnowledgeBase) -> None:
    interview = Interview()
    for name in BASE:
        interview = interview.answer(name, True)
    step = interview.next_step(kb, SPECS)
    interview = interview.answer_group(dict.fromkeys(step, False))
    assert all(name in interview.answers for name in step)
    interview, again = interview.back()
    assert again == step[0]
    assert not any(name in interview.answers for name in step)
    assert interview.next_step(kb, SPECS) == step
