"""Adding a document is data: staff add the FICTIONAL successor fixture (its YAML and its source
text, validated together) by a Telegram upload or `policybot kb import`, it is served at once, kept
in the version history, and removed the same way; users see both documents; /stats draws a chart."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import SendPhoto, TelegramMethod
from aiogram.types import BufferedInputFile

from bot.cli.main import main
from bot.config import Settings
from bot.factory import create_dispatcher
from bot.i18n import Catalogs
from bot.interview.views import result as result_text
from bot.live import LiveKnowledge
from bot.report.fonts import FontMissing, find_cjk_font
from bot.store.db import Database, open_database
from bot.store.users import QuestionLog
from bot.store.versions import KnowledgeStore
from eligibility.answer import Assistant
from eligibility.facts import Facts, load_fact_specs
from eligibility.screening import screen
from knowledge import overlay
from knowledge.loader import KnowledgeBase, KnowledgeError
from tests.conftest import ADMIN, USER, MockedSession, texts
from tests.test_documents import FIXTURE, NEW_DAY, SUCCESSOR, WAREHOUSE, two_documents
from tests.test_staff_bot import Chat

YAML = FIXTURE / f"{SUCCESSOR}.yaml"
SOURCE = FIXTURE / f"{SUCCESSOR}.md"
PNG = b"\x89PNG\r\n\x1a\n"


def fixture_raw() -> dict[str, Any]:
    return overlay.load_raw(YAML.read_text(encoding="utf-8"), YAML.name)


# --- the store ---------------------------------------------------------------------------------------


async def test_a_document_added_and_removed_is_in_the_history_and_served_at_once(db: Database) -> None:
    store = KnowledgeStore(db)
    await store.sync()
    with pytest.raises(KnowledgeError, match="source text"):  # the data alone is not enough
        await store.plan_import(fixture_raw(), YAML.name)
    broken = SOURCE.read_text(encoding="utf-8").replace("30 万元", "40 万元")
    with pytest.raises(KnowledgeError, match=r"entry m2: .*quote not found"):  # quotes in its own text
        await store.plan_import(fixture_raw(), YAML.name, broken)
    assert await store.stamp() == 1

    added = await store.commit(await store.plan_import(fixture_raw(), YAML.name, SOURCE.read_text()), "tg:1")
    assert added is not None
    assert added.action == "add"
    kb, _ = await store.knowledge()
    assert kb.entries[f"{SUCCESSOR}/m2"].benefits[1].amount.cap == 300_000  # type: ignore[union-attr]
    assert [d.doc for d in await store.current()] == ["hengzhengfa-2024-4", SUCCESSOR]

    edited = await store.commit(await store.plan_edit(f"{SUCCESSOR}/m2", "synonyms", ["新海外仓"]), "tg:1")
    assert edited is not None
    [change] = (await store.history(f"{SUCCESSOR}/m2"))[0].changes
    assert (change.target, change.field, change.after) == (f"{SUCCESSOR}/m2", "synonyms", ["新海外仓"])
    assert await store.history("m2") == []  # 4号文's m2 was not touched

    removed = await store.commit(await store.plan_remove(SUCCESSOR), "tg:1")
    assert removed is not None
    kb, _ = await store.knowledge()
    assert [d.id for d in kb.documents] == ["hengzhengfa-2024-4"]
    assert [(v.action, v.doc) for v in await store.history(limit=3)] == [
        ("remove", SUCCESSOR),
        ("edit", SUCCESSOR),
        ("add", SUCCESSOR),
    ]
    with pytest.raises(KnowledgeError, match="only document"):
        await store.plan_remove("hengzhengfa-2024-4")

    await store.commit(await store.plan_rollback(removed.id), "tg:1")  # back, with its edit and text
    kb, _ = await store.knowledge()
    assert kb.entries[f"{SUCCESSOR}/m2"].synonyms == ["新海外仓"]
    again = KnowledgeStore(db)  # the next start: the added document is still served
    await again.sync()
    kb, _ = await again.knowledge()
    assert len(kb.documents) == 2


# --- the command line --------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_kb_import_adds_a_document_with_its_source_and_kb_remove_takes_it_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "bot.sqlite3")
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(YAML, alone)  # without its text: refused
    code, _, err = run(capsys, "kb", "import", str(alone / YAML.name), "--db", db)
    assert code == 1
    assert "source text" in err

    code, out, _ = run(capsys, "kb", "import", str(YAML), "--dry-run", "--db", db)  # the text beside it
    assert code == 0
    assert "a new document hengzhengfa-2026-9 (衡政发〔2026〕9号)" in out
    assert "dry run: nothing changed" in out
    code, out, _ = run(capsys, "kb", "import", str(YAML), "--db", db)
    assert (code, out.splitlines()[-1]) == (0, "added as change #2")
    code, out, _ = run(capsys, "kb", "remove", SUCCESSOR, "--db", db)
    assert (code, out.splitlines()[-1]) == (0, "removed as change #3")

    code, out, _ = run(capsys, "kb", "history", "--json", "--db", db)
    history = json.loads(out)
    assert [(v["id"], v["action"], v["doc"]) for v in history] == [
        (3, "remove", SUCCESSOR),
        (2, "add", SUCCESSOR),
        (1, "shipped", "hengzhengfa-2024-4"),
    ]
    assert history[1]["changes"][0]["after"]["number"] == "衡政发〔2026〕9号"

    code, out, _ = run(capsys, "kb", "rollback", "3", "--db", db)  # the removal undone
    assert code == 0
    (tmp_path / "out").mkdir()
    code, _, _ = run(capsys, "kb", "export", str(tmp_path / "out" / "x.yaml"), "--doc", SUCCESSOR, "--db", db)
    assert code == 0
    assert (tmp_path / "out" / SOURCE.name).read_text(encoding="utf-8") == SOURCE.read_text(encoding="utf-8")


def test_store_commands_take_kb_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kb_dir = two_documents(tmp_path / "policies")
    db = str(tmp_path / "bot.sqlite3")
    code, out, _ = run(capsys, "kb", "history", "--json", "--db", db, "--kb", str(kb_dir))
    assert code == 0
    assert {v["doc"] for v in json.loads(out)} == {"hengzhengfa-2024-4", SUCCESSOR}  # both as shipped
    code, out, _ = run(capsys, "kb", "export", "-", "--doc", SUCCESSOR, "--db", db, "--kb", str(kb_dir))
    assert code == 0
    assert "衡政发〔2026〕9号" in out


def test_stats_png_writes_a_chart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        find_cjk_font()
    except FontMissing as exc:
        pytest.skip(f"needs a Chinese font to draw the page, and this machine has none ({exc})")
    db_path = str(tmp_path / "bot.sqlite3")

    async def seed() -> None:
        db = await open_database(db_path)
        qlog = QuestionLog(db)
        for text, outcome in (
            ("海外仓", "answer"),
            ("火星移民有补贴吗", "decline"),
            ("火星移民补贴", "decline"),
        ):
            await qlog.record(
                user_id=1, chat_id=1, lang="zh", text=text, outcome=outcome, top_id=None, top_score=None
            )
        await db.close()

    asyncio.run(seed())
    png = tmp_path / "stats.png"
    code, out, _ = run(capsys, "stats", "--png", str(png), "--json", "--db", db_path)
    assert code == 0
    assert png.read_bytes().startswith(PNG)
    data = json.loads(out)
    assert data["per_day"][-1] == {
        **data["per_day"][-1],
        "questions": 3,
        "answer": 1,
        "decline": 2,
        "clarify": 0,
    }
    assert data["top_unanswered"] == [{"text": "火星移民补贴", "questions": 2}]  # the two grouped


# --- Telegram ------------------------------------------------------------------------------------------


@pytest.fixture
def live(kb: KnowledgeBase) -> Assistant:
    return Assistant(kb, today=lambda: NEW_DAY)


@pytest.fixture
def sdp(settings: Settings, live: Assistant, db: Database) -> Dispatcher:
    return create_dispatcher(settings, assistant=live, db=db)


@pytest.fixture
def staff(sdp: Dispatcher, bot: Bot, session: MockedSession) -> Chat:
    return Chat(sdp, bot, session, user_id=ADMIN)


@pytest.fixture
def user(sdp: Dispatcher, bot: Bot, session: MockedSession) -> Chat:
    return Chat(sdp, bot, session, user_id=USER)


async def test_staff_add_a_document_by_upload_users_are_answered_from_it_and_staff_remove_it(
    staff: Chat, user: Chat, live: Assistant, sdp: Dispatcher
) -> None:
    [wait] = texts(await staff.upload(YAML.read_bytes(), YAML.name))
    assert "新文件（衡政发〔2026〕9号）" in wait
    assert SOURCE.name in wait
    assert len(live.kb.documents) == 1  # nothing yet
    [preview] = texts(await staff.upload(SOURCE.read_bytes(), SOURCE.name))
    assert "新增文件 衡政发〔2026〕9号" in preview
    assert f"{SUCCESSOR}/m2" in preview  # the keys its entries will have
    [saved] = texts(await staff.press(staff.button("导入")))
    assert "已新增文件 hengzhengfa-2026-9（变更 #2）" in saved

    assert len(live.kb.documents) == 2  # served at once, no restart
    [welcome] = texts(await user.send("/start"))
    assert "以下 2 份政策文件" in welcome
    assert "衡政发〔2024〕4号" in welcome
    assert "衡政发〔2026〕9号" in welcome
    assert "2026-05-07 至 2028-05-06（现行有效）" in welcome
    [answer] = texts(await user.send(WAREHOUSE))
    assert "30万元" in answer
    assert "衡政发〔2026〕9号" in answer

    [listing] = texts(await user.send("/measures"))
    assert "请选择要查看的文件" in listing
    [sections] = texts(await user.press(user.button("衡政发〔2026〕9号")))
    assert "衡政发〔2026〕9号" in sections
    [section] = texts(await user.press(user.button("支持跨境电子商务海外仓建设")))
    assert "海外仓建设和租赁扶持" in section
    [card] = texts(await user.press(user.button("第2条")))
    assert "30万元" in card

    [history] = texts(await staff.send("/history"))
    assert "新增文件" in history
    [usage] = texts(await staff.send("/remove"))
    assert SUCCESSOR in usage
    [preview] = texts(await staff.send(f"/remove {SUCCESSOR}"))
    assert "移除文件 hengzhengfa-2026-9" in preview
    [removed] = texts(await staff.press(staff.button("移除")))
    assert "已移除文件 hengzhengfa-2026-9（变更 #3）" in removed
    assert len(live.kb.documents) == 1
    [answer] = texts(await user.send(WAREHOUSE))
    assert "20万元" in answer  # 4号文 again, lapsed and saying so
    assert "届满" in answer
    knowledge: LiveKnowledge = sdp["knowledge"]
    assert [v.action for v in await knowledge.store.history(limit=2)] == ["remove", "add"]


async def test_the_source_text_may_come_first(staff: Chat, live: Assistant) -> None:
    [wait] = texts(await staff.upload(SOURCE.read_bytes(), SOURCE.name))
    assert "请再发送对应的 .yaml" in wait
    [preview] = texts(await staff.upload(YAML.read_bytes(), YAML.name))
    assert "新增文件 衡政发〔2026〕9号" in preview
    await staff.press(staff.button("导入"))
    assert len(live.kb.documents) == 2


async def test_stats_send_a_chart_then_the_text(staff: Chat, user: Chat) -> None:
    try:
        find_cjk_font()
    except FontMissing as exc:
        pytest.skip(f"needs a Chinese font to draw the page, and this machine has none ({exc})")
    await user.send("火星移民有补贴吗")
    requests: list[TelegramMethod[Any]] = await staff.send("/stats")
    [photo] = [r for r in requests if isinstance(r, SendPhoto)]
    assert isinstance(photo.photo, BufferedInputFile)
    assert photo.photo.data.startswith(PNG)
    [text] = texts(requests)
    assert "共 1 个问题" in text
    assert requests.index(photo) < requests.index(
        next(r for r in requests if getattr(r, "text", None) == text)
    )


# --- the interview's result ------------------------------------------------------------------------


def test_the_result_marks_the_lapsed_documents_measures_and_leaves_them_out_of_the_total(
    tmp_path: Path,
) -> None:
    from knowledge.loader import load_knowledge_base

    kb2 = load_knowledge_base(two_documents(tmp_path / "policies"))
    facts = Facts.model_validate(
        {
            "registered_in_hengyang": True,
            "pays_tax_in_hengyang": True,
            "independent_legal_person": True,
            "cbec_in_customs_stats": True,
            "cbec_export_usd": 800000,
            "overseas_warehouses": [{"area_m2": 1500, "annual_rent_cny": 800000}],
        }
    )
    t = Catalogs.load()["zh"]
    text = result_text(t, kb2, load_fact_specs(), screen(kb2, facts, NEW_DAY))
    assert "可能符合（2 项，合计最高 40万元）" in text  # the successor's m1 (10万) and m2 (30万)
    assert "〔2026〕9号 第2条" in text or "衡政发〔2026〕9号 第2条" in text
    assert "已失效文件（衡政发〔2024〕4号）中的措施：仅供参考，不计入合计" in text
    before = result_text(t, kb2, load_fact_specs(), screen(kb2, facts, date(2025, 6, 1)))
    assert "合计最高 30万元" in before  # 4号文's m5 (10万) and m10 (20万)
