"""The store staff edits live in: versions, a new release merged onto staff edits (conflicts
shown, never a silent overwrite or a silent ignore), rollback, the hot swap, the inbox grouping,
and what staff type in the guided edit."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from bot.live import LiveKnowledge, current_assistant, load_current
from bot.staff.forms import InputError, is_patch, parse
from bot.store.db import Database
from bot.store.inbox import Asked, group
from bot.store.versions import KnowledgeStore, StaleError
from eligibility.answer import Assistant
from knowledge import overlay
from knowledge.loader import DATA_DIR, KnowledgeBase, KnowledgeError
from tests.conftest import IN_FORCE

SHIPPED = DATA_DIR / "hengzhengfa-2024-4.yaml"


def ship(directory: Path, raw: dict[str, Any]) -> None:
    """A release: the data file as the project would ship it."""
    (directory / SHIPPED.name).write_text(overlay.dump(raw), encoding="utf-8")


@pytest.fixture
def release(tmp_path: Path) -> Path:
    directory = tmp_path / "policies"
    directory.mkdir()
    shutil.copy(SHIPPED, directory / SHIPPED.name)
    return directory


def entry(raw: dict[str, Any], entry_id: str, field: str) -> Any:
    return overlay.get_field(raw, entry_id, field)


async def test_the_first_start_records_the_shipped_files(db: Database) -> None:
    store = KnowledgeStore(db)
    [synced] = await store.sync()
    assert (synced.outcome, synced.version_id) == ("first", 1)
    [synced] = await store.sync()
    assert synced.outcome == "current"
    kb = await load_current(db)
    assert len(kb.entries) == 20
    [version] = await store.history()
    assert (version.action, version.who) == ("shipped", "release")


async def test_a_release_is_merged_onto_staff_edits_with_conflicts_shown(db: Database, release: Path) -> None:
    store = KnowledgeStore(db, release)
    await store.sync()
    await store.commit(await store.plan_edit("m5", "synonyms", ["staff m5"]), "tg:1")
    await store.commit(await store.plan_edit("m6", "synonyms", ["staff m6"]), "tg:1")

    shipped = overlay.load_raw(SHIPPED.read_text(encoding="utf-8"))
    new = overlay.set_field(shipped, "m5", "synonyms", ["release m5"])  # both changed: a conflict
    new = overlay.set_field(new, "m7", "synonyms", ["release m7"])  # only the release: taken
    ship(release, new)

    store = KnowledgeStore(db, release)  # the next start
    [synced] = await store.sync()
    assert (synced.outcome, synced.conflicts) == ("merged", 1)
    current = await store.document()
    assert entry(current.raw, "m5", "synonyms") == ["staff m5"]  # not overwritten silently
    assert entry(current.raw, "m6", "synonyms") == ["staff m6"]
    assert entry(current.raw, "m7", "synonyms") == ["release m7"]  # not ignored silently
    [conflict] = await store.conflicts()
    assert (conflict.target, conflict.field, conflict.ours, conflict.theirs) == (
        "m5",
        "synonyms",
        ["staff m5"],
        ["release m5"],
    )
    [merge, *_] = await store.history()
    assert merge.action == "merge"
    assert [(c.target, c.field) for c in merge.changes] == [("m7", "synonyms")]

    # The same release again: nothing to merge. Settling the conflict takes the release's value.
    assert [s.outcome for s in await KnowledgeStore(db, release).sync()] == ["current"]
    version = await store.resolve(conflict.id, "tg:2", keep=False)
    assert version is not None
    assert entry((await store.document()).raw, "m5", "synonyms") == ["release m5"]
    assert await store.conflicts() == []
    [row] = await store.conflicts(open_only=False)
    assert row.status == "taken"
    with pytest.raises(KnowledgeError, match="settled already"):
        await store.resolve(conflict.id, "tg:2", keep=True)


async def test_a_release_the_staff_edits_no_longer_fit_is_served_with_every_edit_reported(
    db: Database, release: Path
) -> None:
    store = KnowledgeStore(db, release)
    await store.sync()
    shipped = overlay.load_raw(SHIPPED.read_text(encoding="utf-8"))
    ours = overlay.put((await store.document()).raw, "m5", "related", ["m4"])  # an import can do this
    await store.commit(await store.plan_import(ours, "ours.yaml"), "tg:1")
    # The release drops measure 4: the staff's m5 → m4 link cannot be merged into a valid base.
    theirs = overlay.put(shipped, "m4", "*", None)
    for item in theirs["entries"]:
        item["related"] = [r for r in item.get("related", []) if r != "m4"] or None
        if item["related"] is None:
            del item["related"]
    ship(release, theirs)
    [synced] = await KnowledgeStore(db, release).sync()
    assert (synced.outcome, synced.conflicts) == ("merged", 1)
    current = await store.document()
    assert "m4" not in {e["id"] for e in current.raw["entries"]}  # the release is served…
    [conflict] = await store.conflicts()
    assert (conflict.target, conflict.field) == ("m5", "related")  # …and the staff edit reported
    assert "m4" in conflict.ours


async def test_rollback_restores_the_version_before_and_can_itself_be_rolled_back(db: Database) -> None:
    store = KnowledgeStore(db)
    before = (await store.document()).raw
    edit = await store.commit(await store.plan_edit("m5", "keywords", ["出口"]), "tg:1")
    assert edit is not None
    later = await store.commit(await store.plan_edit("m6", "keywords", ["推广"]), "tg:1")
    assert later is not None
    undo = await store.commit(await store.plan_rollback(edit.id), "cli:x")
    assert undo is not None
    assert undo.note == f"#{edit.id}"
    assert (await store.document()).raw == before  # the later change went with it, as previewed
    await store.commit(await store.plan_rollback(undo.id), "cli:x")
    assert entry((await store.document()).raw, "m6", "keywords") == ["推广"]
    with pytest.raises(KnowledgeError, match="no change #99"):
        await store.plan_rollback(99)
    with pytest.raises(KnowledgeError, match="first version"):
        await store.plan_rollback(1)


async def test_a_commit_on_a_stale_preview_is_refused(db: Database) -> None:
    store = KnowledgeStore(db)
    plan = await store.plan_edit("m5", "synonyms", ["a"])
    await store.commit(await store.plan_edit("m6", "synonyms", ["b"]), "tg:2")
    with pytest.raises(StaleError):
        await store.commit(plan, "tg:1")
    assert entry((await store.document()).raw, "m5", "synonyms") != ["a"]


async def test_an_invalid_change_is_refused_and_nothing_stored(db: Database) -> None:
    store = KnowledgeStore(db)
    await store.sync()
    with pytest.raises(KnowledgeError, match=r"entry m5: title\.zh"):
        await store.plan_edit("m5", "title", {"zh": "", "en": "x"})
    with pytest.raises(KnowledgeError, match="cannot be edited"):
        await store.plan_edit("m5", "benefits", [])
    raw = overlay.set_field((await store.document()).raw, "m5", "synonyms", ["x"])
    m5 = next(e for e in raw["entries"] if e["id"] == "m5")
    m5["benefits"][0]["tiers"][0]["conditions"][0]["fact"] = "nonsense_usd"
    with pytest.raises(KnowledgeError, match="unknown fact 'nonsense_usd'"):
        await store.plan_import(raw, "x.yaml")
    other = {**raw, "document": {**raw["document"], "id": "other-doc"}}
    with pytest.raises(KnowledgeError, match="unknown document 'other-doc'"):
        await store.plan_import(other, "x.yaml")
    assert await store.stamp() == 1


async def test_the_assistant_starts_with_the_staff_edits(db: Database) -> None:
    store = KnowledgeStore(db)
    await store.commit(await store.plan_attach("m5", "给洋人卖东西有甜头没"), "tg:1")
    assistant = await current_assistant(db, today=lambda: IN_FORCE)
    assert assistant.ask("给洋人卖东西有甜头没").entry_ids == ("m5",)


async def test_the_running_bot_picks_up_changes_made_elsewhere(db: Database, kb: KnowledgeBase) -> None:
    assistant = Assistant(kb, today=lambda: IN_FORCE)
    live = LiveKnowledge(KnowledgeStore(db), assistant)
    assert await live.refresh_if_changed() is False  # the first look only notes where things are
    other = KnowledgeStore(db)  # the command line, say
    await other.commit(await other.plan_edit("m5", "synonyms", ["洋人生意"]), "cli:x")
    assert await live.refresh_if_changed() is True
    assert assistant.kb.entries["m5"].synonyms == ["洋人生意"]
    assert await live.refresh_if_changed() is False


async def test_questions_in_flight_see_the_old_or_the_new_base(kb: KnowledgeBase, db: Database) -> None:
    """ask() takes the (base, matcher) pair once; swap() replaces the pair in one assignment."""
    store = KnowledgeStore(db)
    plan = await store.plan_edit("m10", "title", {"zh": "海外仓新标题", "en": "New title"})
    assert plan.raw is not None
    from bot.store.shipped import build

    new_kb = build([(SHIPPED.name, plan.raw)])
    assistant = Assistant(kb, today=lambda: IN_FORCE)
    answers: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                answers.append(assistant.ask("租海外仓有补贴吗").text)
            except BaseException as exc:  # pragma: no cover - the failure being tested for
                errors.append(exc)

    thread = threading.Thread(target=ask)
    thread.start()
    for base in (new_kb, kb, new_kb):
        await asyncio.to_thread(assistant.swap, base)
    stop.set()
    thread.join()
    assert errors == []
    assert answers
    assert all(("海外仓建设和租赁扶持" in a) != ("海外仓新标题" in a) for a in answers)
    assert "海外仓新标题" in assistant.ask("租海外仓有补贴吗").text


def test_a_ruling_covers_near_repeats_not_a_few_of_its_words(kb: KnowledgeBase) -> None:
    from knowledge.matcher import Matcher, Referral, Ruling
    from knowledge.models import Localized

    referral = Referral("staff-1", "out_of_scope", Localized(zh="请咨询星际移民局。", en="Ask the office."))
    matcher = Matcher(
        kb,
        rulings=[
            Ruling("给洋人卖东西有甜头没", entry_id="m5"),
            Ruling("火星移民有补贴吗", referral=referral),
        ],
    )
    assert matcher.decide("给洋人卖东西有没有甜头？").matches[0].id == "m5"
    assert matcher.decide("火星移民有没有补贴").referral == referral
    for other in ("移民", "洋人", "长沙的企业火星移民有补贴吗"):
        assert matcher.decide(other).referral != referral, other
        assert matcher.decide(other).outcome != "answer" or matcher.decide(other).matches[0].id != "m5", other


# --- the inbox's groups -----------------------------------------------------------------------------


def test_similar_questions_are_grouped(kb: KnowledgeBase) -> None:
    from knowledge.matcher import Matcher

    matcher = Matcher(kb)
    texts = [
        "给洋人卖东西有甜头没",
        "给洋人卖东西有没有甜头？",
        "火星移民有补贴吗",
        "火星移民有补贴吗",
        "养猪有补贴吗",
    ]
    items = [Asked(i, 100 + i, text, "decline", None, None) for i, text in enumerate(texts, start=1)]
    groups = group(list(reversed(items)), matcher)
    assert sorted(g.count for g in groups) == [1, 2, 2]
    mars = next(g for g in groups if "火星" in g.example)
    assert mars.key == 4  # named by its newest question
    assert mars.phrasings() == ["火星移民有补贴吗"]


# --- typed input ----------------------------------------------------------------------------------


def test_lists_one_item_a_line_or_patched() -> None:
    assert parse("keywords", "出口\n• 卖货\n出口", "zh", []) == ["出口", "卖货"]
    assert parse("keywords", "出口、卖货，外贸", "zh", []) == ["出口", "卖货", "外贸"]
    assert parse("questions", "出口，能拿多少？", "zh", []) == ["出口，能拿多少？"]
    assert parse("keywords", "+ 甲\n- 乙", "zh", ["乙", "丙"]) == ["丙", "甲"]
    assert is_patch("keywords", "+ 甲\n- 乙")
    assert not is_patch("keywords", "甲\n- 乙")
    assert parse("units", "-", "zh", ["市商务局"]) == []
    with pytest.raises(InputError) as error:
        parse("keywords", "- 丁", "zh", ["乙"])
    assert (error.value.key, error.value.values) == ("staff.input.not_in_list", {"item": "丁"})


def test_texts_in_one_or_both_languages() -> None:
    current = {"zh": "旧", "en": "Old"}
    assert parse("title", "新标题", "zh", current) == {"zh": "新标题", "en": "Old"}
    assert parse("title", "New", "en", current) == {"zh": "旧", "en": "New"}
    assert parse("summary", "zh：中文\n第二行\nEN: English", "zh", current) == {
        "zh": "中文\n第二行",
        "en": "English",
    }
    assert parse("audience", "-", "zh", current) is None
    with pytest.raises(InputError, match=r"staff\.input\.required"):
        parse("title", "-", "zh", current)
    with pytest.raises(InputError, match=r"staff\.input\.mixed"):
        parse("title", "前言\nzh: 中文", "zh", current)
    notes = parse("notes", "zh: 一\nen: one\n\nzh: 二\nen: two", "zh", [])
    assert notes == [{"zh": "一", "en": "one"}, {"zh": "二", "en": "two"}]


def test_dates() -> None:
    assert parse("validity.effective_until", " 2027-05-06 ", "zh", "2026-05-06") == "2027-05-06"
    with pytest.raises(InputError, match=r"staff\.input\.date"):
        parse("validity.effective_until", "明年", "zh", "2026-05-06")
    with pytest.raises(InputError, match=r"staff\.input\.empty"):
        parse("validity.effective_until", "  ", "zh", "2026-05-06")
