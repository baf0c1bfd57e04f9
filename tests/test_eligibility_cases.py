"""Eligibility cases a policy officer can read: tests/eligibility_cases/*.yaml.

Each case: `name`, optional `date` (default 2025-06-01, inside the validity window),
`base_ok: true` as shorthand for the four scope facts being true, `facts`, and `expect`:
per measure id a `verdict` and, where given, `max_amount_cny` and `missing`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from eligibility.facts import Facts
from eligibility.screening import screen
from knowledge.loader import KnowledgeBase, load_knowledge_base

CASES_DIR = Path(__file__).parent / "eligibility_cases"
BASE = {
    "registered_in_hengyang": True,
    "pays_tax_in_hengyang": True,
    "independent_legal_person": True,
    "cbec_in_customs_stats": True,
}
CASE_KEYS = {"name", "date", "base_ok", "facts", "expect", "in_force"}
EXPECT_KEYS = {"verdict", "max_amount_cny", "missing"}


def _cases() -> list[Any]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            cases.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return cases


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


@pytest.mark.parametrize("case", _cases())
def test_case(kb: KnowledgeBase, case: dict[str, Any]) -> None:
    assert set(case) <= CASE_KEYS, f"unknown keys: {set(case) - CASE_KEYS}"
    facts = dict(BASE) if case.get("base_ok") else {}
    facts.update(case.get("facts") or {})
    on = case.get("date") or date(2025, 6, 1)
    result = screen(kb, Facts.model_validate(facts), on)
    measures = {m.id: m for m in result.measures}
    if "in_force" in case:
        assert result.validity.in_force is case["in_force"]
    for measure_id, expected in case["expect"].items():
        assert set(expected) <= EXPECT_KEYS, f"{measure_id}: unknown keys {set(expected) - EXPECT_KEYS}"
        got = measures[measure_id]
        reasons = [r.text.zh for r in got.reasons]
        assert got.verdict == expected["verdict"], (measure_id, reasons)
        if "max_amount_cny" in expected:
            assert got.max_amount_cny == expected["max_amount_cny"], (measure_id, reasons)
        if "missing" in expected:
            assert list(got.missing) == expected["missing"], measure_id


def test_there_are_cases() -> None:
    assert len(_cases()) >= 60
