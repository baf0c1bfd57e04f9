"""Staff edits over shipped data: validated edits, diffs, and the three-way merge on release."""

from __future__ import annotations

from typing import Any

import pytest

from knowledge.loader import DATA_DIR, SOURCE_DIR, KnowledgeError
from knowledge.overlay import DOCUMENT, diff, dump, load_raw, merge, set_field, validate

SOURCE = (SOURCE_DIR / "hengzhengfa-2024-4.md").read_text(encoding="utf-8")


@pytest.fixture
def shipped() -> dict[str, Any]:
    return load_raw((DATA_DIR / "hengzhengfa-2024-4.yaml").read_text(encoding="utf-8"))


def test_an_edit_is_validated_and_diffed(shipped: dict[str, Any]) -> None:
    edited = set_field(shipped, "m5", "keywords", ["出口", "卖货"])
    validate(edited, SOURCE)
    (change,) = diff(shipped, edited)
    assert (change.target, change.field, change.after) == ("m5", "keywords", ["出口", "卖货"])


def test_an_invalid_edit_is_refused_with_the_reason(shipped: dict[str, Any]) -> None:
    edited = set_field(shipped, "m5", "title", {"zh": "", "en": "Export award"})
    with pytest.raises(KnowledgeError, match=r"entry m5: title.zh"):
        validate(edited, SOURCE)


def test_figures_cannot_be_edited_here(shipped: dict[str, Any]) -> None:
    with pytest.raises(KnowledgeError, match="cannot be edited"):
        set_field(shipped, "m5", "benefits", [])
    with pytest.raises(KnowledgeError, match="no entry"):
        set_field(shipped, "m99", "keywords", [])


def test_validity_dates_can_be_extended(shipped: dict[str, Any]) -> None:
    edited = set_field(shipped, DOCUMENT, "validity.effective_until", "2027-05-06")
    policy = validate(edited, SOURCE)
    assert policy.document.validity.effective_until.isoformat() == "2027-05-06"


def test_dump_round_trips(shipped: dict[str, Any]) -> None:
    assert load_raw(dump(shipped)) == shipped


def test_merge_takes_each_sides_own_changes(shipped: dict[str, Any]) -> None:
    ours = set_field(shipped, "m5", "keywords", ["出口"])
    theirs = set_field(shipped, "m6", "keywords", ["亚马逊"])
    merged, conflicts = merge(shipped, ours, theirs)
    assert conflicts == []
    assert {(c.target, c.field) for c in diff(shipped, merged)} == {("m5", "keywords"), ("m6", "keywords")}


def test_merge_keeps_staff_values_and_reports_conflicts(shipped: dict[str, Any]) -> None:
    ours = set_field(shipped, "m5", "keywords", ["staff"])
    theirs = set_field(shipped, "m5", "keywords", ["release"])
    merged, conflicts = merge(shipped, ours, theirs)
    assert [(c.target, c.field, c.ours, c.theirs) for c in conflicts] == [
        ("m5", "keywords", ["staff"], ["release"])
    ]
    assert next(e for e in merged["entries"] if e["id"] == "m5")["keywords"] == ["staff"]


def test_merge_with_the_same_change_on_both_sides_is_no_conflict(shipped: dict[str, Any]) -> None:
    both = set_field(shipped, "m5", "keywords", ["same"])
    merged, conflicts = merge(shipped, both, both)
    assert conflicts == []
    assert merged == both
