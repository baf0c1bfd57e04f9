"""Several documents, none privileged: the shipped 衡政发〔2024〕4号 (lapsed after 2026-05-06) beside
the FICTIONAL successor fixture 衡政发〔2026〕9号 (tests/fixtures/successor: in force 2026-05-07 to
2028-05-06; its m2 caps a rented overseas warehouse at 30万元, where 4号文's m10 says 20万元).

Keys, answers from what is in force, questions naming a document, screening across documents,
and the command line over `--kb DIR`."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.cli.main import main
from eligibility.answer import Assistant
from eligibility.facts import Facts
from eligibility.screening import screen
from knowledge import overlay
from knowledge.loader import (
    DATA_DIR,
    SOURCE_DIR,
    KnowledgeBase,
    KnowledgeError,
    entry_keys,
    load_knowledge_base,
    parse_policy,
)
from knowledge.matcher import Matcher

FIXTURE = Path(__file__).parent / "fixtures" / "successor"
SUCCESSOR = "hengzhengfa-2026-9"
OLD_DAY = date(2025, 6, 1)  # 4号文 in force, 9号文 not yet
NEW_DAY = date(2026, 8, 1)  # 4号文 lapsed, 9号文 in force
SHIPPED_IDS = ["scope", *(f"m{n}" for n in range(1, 17)), "apply", "overlap", "validity"]
BASE = {
    "registered_in_hengyang": True,
    "pays_tax_in_hengyang": True,
    "independent_legal_person": True,
    "cbec_in_customs_stats": True,
}
WAREHOUSE = "我们在美国租了1500平米的海外仓，年租金80万，能补多少"


def two_documents(directory: Path) -> Path:
    """The shipped base plus the successor, each YAML beside its source text (as `--kb DIR` reads)."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA_DIR / "hengzhengfa-2024-4.yaml", directory)
    shutil.copy(SOURCE_DIR / "hengzhengfa-2024-4.md", directory)
    for path in FIXTURE.iterdir():
        shutil.copy(path, directory)
    return directory


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_documents(tmp_path_factory.mktemp("kb") / "policies")


@pytest.fixture(scope="module")
def kb2(kb_dir: Path) -> KnowledgeBase:
    return load_knowledge_base(kb_dir)


@pytest.fixture(scope="module")
def matcher2(kb2: KnowledgeBase) -> Matcher:
    return Matcher(kb2)


@pytest.fixture(scope="module")
def old(kb2: KnowledgeBase) -> Assistant:
    return Assistant(kb2, today=lambda: OLD_DAY)


@pytest.fixture(scope="module")
def new(kb2: KnowledgeBase) -> Assistant:
    return Assistant(kb2, today=lambda: NEW_DAY)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --- keys ------------------------------------------------------------------------------------------


def test_the_shipped_ids_stay_and_the_successors_clashing_ones_are_qualified(kb2: KnowledgeBase) -> None:
    assert [e.id for e in kb2.entries_of("hengzhengfa-2024-4")] == SHIPPED_IDS
    successor = [e.id for e in kb2.entries_of(SUCCESSOR)]
    assert successor == [
        f"{SUCCESSOR}/{i}" for i in ("scope", "m1", "m2", "m3", "apply", "overlap", "validity")
    ]
    m2 = kb2.entries[f"{SUCCESSOR}/m2"]
    assert kb2.document_of(m2.id).number == "衡政发〔2026〕9号"
    assert kb2.raw_id(m2.id) == "m2"
    assert m2.related == [f"{SUCCESSOR}/m1"]  # its own document's m1, not 4号文's
    assert kb2.scope_of(m2.id) == kb2.entries[f"{SUCCESSOR}/scope"]
    assert kb2.document_key("hengzhengfa-2024-4") == "document"
    assert kb2.document_key(SUCCESSOR) == f"{SUCCESSOR}/document"


def test_the_earliest_printed_document_keeps_the_plain_ids_whatever_the_order() -> None:
    later, earlier = ("b-doc", date(2026, 5, 7), ["m1", "x"]), ("z-doc", date(2024, 5, 7), ["m1"])
    assert entry_keys([later, earlier]) == {
        ("z-doc", "m1"): "m1",
        ("b-doc", "m1"): "b-doc/m1",
        ("b-doc", "x"): "x",
    }


def test_a_document_id_too_long_for_a_button_is_refused() -> None:
    raw = overlay.load_raw((FIXTURE / f"{SUCCESSOR}.yaml").read_text(encoding="utf-8"))
    raw["document"]["id"] = "hengzhengfa-2026-9-and-a-very-long-tail"
    with pytest.raises(KnowledgeError, match=r"document\.id"):
        parse_policy(overlay.dump(raw), "long.yaml", source_text=(FIXTURE / f"{SUCCESSOR}.md").read_text())


def test_every_button_payload_stays_within_telegrams_64_bytes(kb2: KnowledgeBase) -> None:
    from bot import keyboards
    from bot.i18n import Catalogs
    from bot.staff import keyboards as staff_keyboards
    from bot.staff.callbacks import EditCB, GroupAction, GroupCB

    t = Catalogs.load()["zh"]
    markups = [keyboards.documents(t, kb2, NEW_DAY), keyboards.clarify(t, kb2, list(kb2.entries))]
    for doc in kb2.documents:
        markups.append(keyboards.sections(t, kb2, doc.id))
        for section in kb2.policy(doc.id).data.sections:  # type: ignore[union-attr]
            markups.append(keyboards.section(t, kb2, doc.id, section.id))
    for entry in kb2:
        markups.append(keyboards.answer(t, kb2, entry))
        markups.append(keyboards.browse_card(t, entry, "s2_7", SUCCESSOR))
        markups.append(staff_keyboards.fields(t, entry.id))
    markups.append(
        staff_keyboards.entries(
            t, kb2, lambda k: EditCB(target=k).pack(), document=lambda k: EditCB(target=k).pack()
        )
    )
    for doc in kb2.documents:
        markups.append(staff_keyboards.fields(t, kb2.document_key(doc.id), document=True))
    payloads = [b.callback_data or "" for m in markups for row in m.inline_keyboard for b in row]
    payloads += [GroupCB(key=10**12, action=GroupAction.ATTACH, entry=e).pack() for e in kb2.entries]
    assert payloads
    assert max(len(p.encode()) for p in payloads) <= 64


# --- answers from what is in force ------------------------------------------------------------------


def test_warehouse_rent_is_answered_from_the_successor_with_its_new_cap(new: Assistant) -> None:
    answer = new.ask(WAREHOUSE)
    assert answer.outcome == "answer"
    assert answer.entry_ids == (f"{SUCCESSOR}/m2",)
    assert "最高 30万元" in answer.text
    assert "衡政发〔2026〕9号" in answer.text
    assert "届满" not in answer.text  # in force: no warning
    [first, *_] = answer.as_json(new.kb)["matches"]
    assert (first["id"], first["document"]) == (f"{SUCCESSOR}/m2", "衡政发〔2026〕9号")


def test_before_the_successor_the_same_question_is_answered_from_4号文(old: Assistant) -> None:
    answer = old.ask(WAREHOUSE)
    assert answer.entry_ids == ("m10",)
    assert "最高 20万元" in answer.text
    assert "尚未" not in answer.text


def test_a_lapsed_entry_loses_to_an_in_force_one_on_the_same_topic(matcher2: Matcher) -> None:
    for question, lapsed, current in (
        ("海外仓租金补贴每年最多多少", "m10", f"{SUCCESSOR}/m2"),
        ("社保补贴", "m16", f"{SUCCESSOR}/m3"),
        ("跨境电商出口奖励", "m5", f"{SUCCESSOR}/m1"),
        ("政策还有效吗", "validity", f"{SUCCESSOR}/validity"),
    ):
        now = matcher2.decide(question, NEW_DAY)
        assert (now.outcome, now.matches[0].id) == ("answer", current), question
        before = matcher2.decide(question, OLD_DAY)
        assert (before.outcome, before.matches[0].id) == ("answer", lapsed), question


def test_a_lapsed_clause_alone_on_its_topic_is_answered_with_its_lapse(new: Assistant) -> None:
    answer = new.ask("跨境电商产业园有什么奖励")  # 4号文's m1: the successor has no park measure
    assert answer.entry_ids == ("m1",)
    assert "衡政发〔2024〕4号有效期两年" in answer.text
    assert "已于 2026-05-06 届满" in answer.text
    assert "现行有效的文件：衡政发〔2026〕9号" in answer.text


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("4号文的海外仓租金补贴", "m10"),
        ("衡政发〔2024〕4号社保补贴怎么算", "m16"),
        ("2026年9号文的海外仓补贴", f"{SUCCESSOR}/m2"),
        ("衡政发〔2026〕9号 社保补贴", f"{SUCCESSOR}/m3"),
        ("9号文件出口奖励", f"{SUCCESSOR}/m1"),
    ],
)
def test_a_question_naming_a_document_is_answered_from_it(
    old: Assistant, new: Assistant, question: str, expected: str
) -> None:
    for assistant in (old, new):  # whichever is in force that day
        answer = assistant.ask(question)
        assert answer.entry_ids == (expected,), (assistant.today(), answer.decision)


def test_the_validity_check_of_the_assistant_reads_the_document_in_force(
    old: Assistant, new: Assistant
) -> None:
    assert old.validity().effective_until == date(2026, 5, 6)
    assert new.validity().effective_until == date(2028, 5, 6)
    assert new.validity("m10").state == "expired"


def test_one_document_answers_exactly_as_before(kb: KnowledgeBase) -> None:
    alone = Matcher(kb)
    for question in ("海外仓租金补贴每年最多多少", "4号文的海外仓补贴", "社保补贴"):
        assert alone.decide(question, NEW_DAY) == alone.decide(question, OLD_DAY)


# --- screening across documents ---------------------------------------------------------------------


FACTS = Facts.model_validate(
    {
        **BASE,
        "cbec_export_usd": 800000,
        "overseas_warehouses": [{"area_m2": 1500, "annual_rent_cny": 800000}],
        "annual_social_insurance_cny": 500000,
    }
)


def test_screening_covers_both_documents_and_counts_what_is_in_force(kb2: KnowledgeBase) -> None:
    result = screen(kb2, FACTS, NEW_DAY)
    measures = {m.id: m for m in result.measures}
    assert len(measures) == 19
    assert measures["m10"].in_force is False
    assert measures["m10"].document == "衡政发〔2024〕4号"
    assert measures[f"{SUCCESSOR}/m2"].in_force is True
    assert measures[f"{SUCCESSOR}/m2"].max_amount_cny == 300_000  # 50% of 80万, capped at 30万
    assert result.total_max_amount_cny == 100_000 + 300_000 + 50_000  # the successor's three
    assert {m.id for m in result.lapsed} == {m.id for m in kb2.measures() if "/" not in m.id}
    assert "几份文件对同一事项都有支持的" in (result.overlap_note.zh if result.overlap_note else "")
    before = screen(kb2, FACTS, OLD_DAY)
    assert before.total_max_amount_cny == 100_000 + 200_000 + 50_000  # 4号文's m5, m10, m16


def test_overlapping_measures_of_two_documents_in_force_count_the_better_one(tmp_path: Path) -> None:
    both = two_documents(tmp_path / "both")
    raw = overlay.load_raw((both / f"{SUCCESSOR}.yaml").read_text(encoding="utf-8"))
    raw["document"]["validity"]["effective_from"] = "2025-01-01"  # staff moved the start: both in force
    (both / f"{SUCCESSOR}.yaml").write_text(overlay.dump(raw), encoding="utf-8")
    result = screen(load_knowledge_base(both), FACTS, OLD_DAY)
    assert all(m.in_force for m in result.measures)
    assert result.total_max_amount_cny == 100_000 + 300_000 + 50_000  # not 4号文's as well
    left_out = {(a.id, b.id) for a, b in result.overlapping()}
    assert ("m10", f"{SUCCESSOR}/m2") in left_out
    assert len(left_out) == 3


def test_check_json_reports_both_documents_with_the_lapsed_marked_and_out_of_the_total(
    kb_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "exporter.json"
    profile.write_text(json.dumps(FACTS.model_dump(mode="json", exclude_none=True)), encoding="utf-8")
    code, out, _ = run(capsys, "check", str(profile), "--json", "--kb", str(kb_dir), "--date", "2026-08-01")
    assert code == 0
    data = json.loads(out)
    assert [d["document"] for d in data["documents"]] == ["衡政发〔2024〕4号", "衡政发〔2026〕9号"]
    assert (data["document"], data["in_force"]) == ("衡政发〔2026〕9号", True)
    by_id = {m["id"]: m for m in data["measures"]}
    assert set(by_id) >= {"m1", "m16", f"{SUCCESSOR}/m2"}
    assert all(set(m) >= {"document", "in_force"} for m in data["measures"])
    assert (by_id["m10"]["in_force"], by_id["m10"]["verdict"]) == (False, "eligible")
    counted = sum(
        m["max_amount_cny"] or 0 for m in data["measures"] if m["in_force"] and m["verdict"] == "eligible"
    )
    assert data["total_max_amount_cny"] == counted == 450_000
    assert "择优支持且不重复" in data["overlap_note"]


def test_kb_validate_and_list_accept_both_documents(kb_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "kb", "validate", "--kb", str(kb_dir))
    assert (code, out.strip()) == (
        0,
        "ok: 27 entries in 2 document(s) (衡政发〔2024〕4号, 衡政发〔2026〕9号)",
    )
    code, out, _ = run(capsys, "kb", "list", "--json", "--kb", str(kb_dir))
    rows = json.loads(out)
    assert {"id": f"{SUCCESSOR}/m2", "document": "衡政发〔2026〕9号"}.items() <= next(
        r for r in rows if r["id"] == f"{SUCCESSOR}/m2"
    ).items()


def test_a_quote_missing_from_its_own_source_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = two_documents(tmp_path / "broken")
    text = (broken / f"{SUCCESSOR}.md").read_text(encoding="utf-8")
    (broken / f"{SUCCESSOR}.md").write_text(
        text.replace("最高给予一次性奖励 30 万元", "最高给予一次性奖励 40 万元")
    )
    code, _, err = run(capsys, "kb", "validate", "--kb", str(broken))
    assert code == 1
    assert "hengzhengfa-2026-9.yaml: entry m2" in err
    assert "quote not found" in err


def test_ask_json_over_kb_dir_names_the_document(kb_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", WAREHOUSE, "--json", "--kb", str(kb_dir), "--date", "2026-08-01")
    assert code == 0
    data = json.loads(out)
    assert data["matches"][0] == {
        **data["matches"][0],
        "id": f"{SUCCESSOR}/m2",
        "document": "衡政发〔2026〕9号",
    }
    assert "30万元" in data["answer"]
