"""Staff keep the knowledge base current from Telegram: the inbox, the guided edit, history and
rollback, export and import, conflicts, stats; and nobody else can do any of it."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import SendDocument, SendMessage, TelegramMethod
from aiogram.types import BufferedInputFile, Message

from bot.config import Settings
from bot.factory import create_dispatcher
from bot.live import LiveKnowledge
from bot.staff.callbacks import (
    ConfirmCB,
    ConflictCB,
    EditCB,
    GroupAction,
    GroupCB,
    InboxCB,
    UndoCB,
)
from bot.staff.menu import STAFF_COMMANDS as STAFF_MENU
from bot.store.db import Database
from bot.store.stats import FINISHED, STARTED
from bot.store.users import QuestionLog
from bot.store.versions import KnowledgeStore
from eligibility.answer import Assistant
from knowledge import overlay
from knowledge.loader import KnowledgeBase
from tests.conftest import ADMIN, IN_FORCE, USER, Conversation, MockedSession, callback_answers, sent, texts

DECLINED = "给洋人卖东西有甜头没"  # no entry's words: declined until staff attach it
PARAPHRASE = "给洋人卖货有甜头吗"


class Chat(Conversation):
    """A conversation that looks only at its own chat's messages (staff and a user share the bot)."""

    def keyboard_message(self) -> Message:
        mine = [m for m in self.bot_messages() if m.chat.id == self.user.id and m.reply_markup is not None]
        assert mine, "no message with buttons"
        return max(mine, key=lambda m: m.message_id)

    def button(self, pattern: str, message: Message | None = None) -> str:
        """The callback data of the one button whose label matches `pattern`."""
        found = [data for label, data in self.buttons(message).items() if re.search(pattern, label)]
        assert len(found) == 1, (pattern, self.buttons(message))
        return found[0]

    async def upload(self, data: bytes, name: str) -> list[TelegramMethod[Any]]:
        assert isinstance(self.session, MockedSession)
        document = self.session.add_file(data, name)
        return await self.send_message(self.message(None, document=document))


@pytest.fixture
def live_assistant(kb: KnowledgeBase) -> Assistant:
    """The staff's changes swap this one's knowledge base: not the session-wide assistant."""
    return Assistant(kb, today=lambda: IN_FORCE)


@pytest.fixture
def sdp(settings: Settings, live_assistant: Assistant, db: Database) -> Dispatcher:
    return create_dispatcher(settings, assistant=live_assistant, db=db)


@pytest.fixture
def staff(sdp: Dispatcher, bot: Bot, session: MockedSession) -> Chat:
    return Chat(sdp, bot, session, user_id=ADMIN)


@pytest.fixture
def user(sdp: Dispatcher, bot: Bot, session: MockedSession) -> Chat:
    return Chat(sdp, bot, session, user_id=USER)


@pytest.fixture
def store(sdp: Dispatcher) -> KnowledgeStore:
    knowledge: LiveKnowledge = sdp["knowledge"]
    return knowledge.store


async def snapshot(db: Database) -> dict[str, list[Any]]:
    tables = ("kb_versions", "kb_changes", "kb_conflicts", "kb_referrals", "inbox_handled")
    return {table: [tuple(r) for r in await db.fetchall(f"SELECT * FROM {table}")] for table in tables}


def documents(requests: list[TelegramMethod[Any]]) -> list[SendDocument]:
    return [r for r in requests if isinstance(r, SendDocument)]


def file_text(request: SendDocument) -> str:
    assert isinstance(request.document, BufferedInputFile)
    return request.document.data.decode("utf-8")


# --- nobody else ---------------------------------------------------------------------------------

# Every staff command of the menu, bare and with an argument.
STAFF_COMMANDS = [f"/{name}" for name in STAFF_MENU] + ["/edit m5", "/history m5", "/rollback 2", "/stats 7"]


async def test_non_staff_get_a_refusal_for_every_command_and_button(
    staff: Chat, user: Chat, store: KnowledgeStore, db: Database, live_assistant: Assistant
) -> None:
    # Staff leave things a forger could aim at: a question in the inbox, an edit previewed,
    # a change to undo, an open conflict.
    await user.send(DECLINED)
    await staff.press(EditCB(target="m5", field="keywords").pack(), staff.message("x"))
    await staff.send("+ 洋人")
    token = ConfirmCB.unpack(staff.button("保存")).token
    [logged] = await db.fetchall("SELECT id FROM question_log")
    key = int(logged[0])
    before, kb_before = await snapshot(db), live_assistant.kb

    for command in STAFF_COMMANDS:
        [reply] = texts(await user.send(command))
        assert "没有这个命令" in reply, command
    requests = await user.upload(overlay.dump({"document": {}}).encode(), "kb.yaml")
    assert "无法阅读图片和文件" in texts(requests)[0]

    forged = [
        InboxCB().pack(),
        InboxCB(page=1, sort="freq").pack(),
        *(GroupCB(key=key, action=action, entry="m5").pack() for action in GroupAction),
        EditCB().pack(),
        EditCB(target="m5").pack(),
        EditCB(target="m5", field="keywords").pack(),
        ConfirmCB(token=token, ok=True).pack(),
        ConfirmCB(token=token, ok=False).pack(),
        UndoCB(change=1).pack(),
        ConflictCB(id=1, keep=False).pack(),
    ]
    for data in forged:
        requests = await user.press(data, staff.keyboard_message())  # a forwarded staff message
        [answer] = callback_answers(requests)
        assert answer.show_alert is True, data
        assert answer.text == "⛔ 仅限工作人员使用。", data
        assert not sent(requests), data

    assert await snapshot(db) == before
    assert live_assistant.kb is kb_before
    # …and the staff's own preview is still theirs to save.
    [saved] = texts(await staff.press(ConfirmCB(token=token, ok=True).pack()))
    assert "已保存" in saved


async def test_staff_commands_stay_out_of_groups(staff: Chat) -> None:
    [reply] = texts(await staff.send("/inbox", chat_id=-100))
    assert "没有这个命令" in reply


# --- the inbox -------------------------------------------------------------------------------------


async def test_a_declined_question_attached_in_the_inbox_is_answered_at_once(
    staff: Chat, user: Chat, db: Database, store: KnowledgeStore
) -> None:
    [declined] = texts(await user.send(DECLINED))
    assert "没有涉及" in declined
    await user.send("给洋人卖东西有没有甜头")  # similar: the same group

    [inbox] = texts(await staff.send("/inbox"))
    assert "收件箱：1 组，共 2 个问题" in inbox
    assert DECLINED in inbox or "给洋人卖东西有没有甜头" in inbox
    [group] = texts(await staff.press(staff.button(r"^1\. ")))
    assert "共 2 次" in group
    await staff.press(staff.button("其他条目"))
    [preview] = texts(await staff.press(staff.button("第5条")))
    assert "加为 <b>第5条" in preview
    [saved] = texts(await staff.press(staff.button("保存")))
    assert "已加入" in saved

    for question in (DECLINED, "给洋人卖东西有没有甜头", PARAPHRASE):
        [answer] = texts(await user.send(question))
        assert "【第5条 跨境电商出口业绩奖励" in answer, question
    [empty] = texts(await staff.send("/inbox"))
    assert "收件箱是空的" in empty
    current = await store.document(entry="m5")
    assert "给洋人卖东西有没有甜头" in overlay.get_field(current.raw, "m5", "questions")
    [history] = texts(await staff.send("/history m5"))
    assert "收件箱：加入示例问题" in history
    assert "+ 给洋人卖东西有没有甜头" in history


async def test_the_attached_wording_can_be_changed_before_saving(
    staff: Chat, user: Chat, store: KnowledgeStore
) -> None:
    await user.send("我们公司衡阳洋货铺子给洋人卖东西有甜头没")
    await staff.send("/inbox")
    await staff.press(staff.button(r"^1\. "))
    await staff.press(staff.button("其他条目"))
    await staff.press(staff.button("第5条"))
    [preview] = texts(await staff.send(DECLINED))  # without the company's name
    assert f"将「{DECLINED}」加为" in preview
    await staff.press(staff.button("保存"))
    questions = overlay.get_field((await store.document(entry="m5")).raw, "m5", "questions")
    assert DECLINED in questions
    assert not any("洋货铺子" in q for q in questions)


async def test_out_of_scope_with_a_referral_and_its_rollback(staff: Chat, user: Chat) -> None:
    await user.send("火星移民有补贴吗")
    await staff.send("/inbox")
    await staff.press(staff.button(r"^1\. "))
    [prompt] = texts(await staff.press(staff.button("不在范围")))
    assert "转介说明" in prompt
    [preview] = texts(await staff.send("zh: 火星移民请咨询星际移民局。\nen: Ask the Interplanetary Office."))
    assert "星际移民局" in preview
    assert "Interplanetary" in preview
    [saved] = texts(await staff.press(staff.button("保存")))
    assert "已标记为不在范围" in saved

    [reply] = texts(await user.send("火星移民有没有补贴"))
    assert "火星移民请咨询星际移民局。" in reply
    assert "收件箱是空的" in texts(await staff.send("/inbox"))[0]

    change = UndoCB.unpack(staff.button("撤销", staff.keyboard_message())).change
    [preview] = texts(await staff.send(f"/rollback {change}"))
    assert "火星移民有补贴吗" in preview
    [done] = texts(await staff.press(staff.button("撤销")))
    assert "已撤销" in done
    [reply] = texts(await user.send("火星移民有没有补贴"))
    assert "星际移民局" not in reply


async def test_ignore_learns_nothing(staff: Chat, user: Chat, db: Database, store: KnowledgeStore) -> None:
    await user.send("火星移民有补贴吗")
    before = await store.stamp()
    await staff.send("/inbox")
    await staff.press(staff.button(r"^1\. "))
    requests = await staff.press(staff.button("忽略"))
    assert callback_answers(requests)[0].text == "已忽略 1 个问题。"
    assert "收件箱是空的" in texts(requests)[-1]
    assert await store.stamp() == before
    assert "火星" not in str(await store.document())
    [decision] = await db.fetchall("SELECT decision FROM inbox_handled")
    assert decision[0] == "ignore"


async def test_low_confidence_and_clarified_questions_are_in_the_inbox(
    staff: Chat, user: Chat, db: Database
) -> None:
    qlog = QuestionLog(db)
    await qlog.record(
        user_id=USER, chat_id=USER, lang="zh", text="培训", outcome="clarify", top_id="m13", top_score=5.0
    )
    await qlog.record(
        user_id=USER, chat_id=USER, lang="zh", text="海外仓呢", outcome="answer", top_id="m10", top_score=20.0
    )
    [inbox] = texts(await staff.send("/inbox"))
    assert "培训" in inbox
    assert "海外仓呢" not in inbox  # answered confidently


async def test_the_inbox_pages_and_sorts(staff: Chat, db: Database) -> None:
    qlog = QuestionLog(db)
    topics = ["火星移民", "养猪场", "月球旅游", "深海捕鱼", "古董收藏", "宠物美容", "婚礼策划", "钢琴调音"]
    for number, topic in enumerate(topics):
        for _ in range(number % 3 + 1):
            await qlog.record(
                user_id=USER, chat_id=USER, lang="zh", text=f"{topic}有补贴吗", outcome="decline", top_id=None,
                top_score=None, ts=int(time.time()) - 100 + number,
            )  # fmt: skip
    [first] = texts(await staff.send("/inbox"))
    assert "收件箱：8 组，共 15 个问题" in first
    assert "1/2" in first
    assert first.index("钢琴调音") < first.index("宠物美容")  # newest first
    [second] = texts(await staff.press(staff.button("下一页")))
    assert "2/2" in second
    assert "火星移民" in second
    [by_count] = texts(await staff.press(staff.button("按次数排序")))
    assert by_count.index("×3") < by_count.index("×1")


# --- edit, history, rollback, export, import ---------------------------------------------------


async def test_edit_rollback_and_export_equal_the_state_before(
    staff: Chat, user: Chat, db: Database, store: KnowledgeStore, live_assistant: Assistant
) -> None:
    [first] = documents(await staff.send("/export"))
    assert first.document.filename == "hengzhengfa-2024-4.yaml"  # type: ignore[union-attr]
    before = overlay.load_raw(file_text(first))

    [choose] = texts(await staff.send("/edit"))
    assert "要修改哪一条" in choose
    await staff.press(staff.button("第5条"))
    [prompt] = texts(await staff.press(staff.button("^关键词$")))
    assert "当前内容" in prompt
    assert "出口" in prompt
    [preview] = texts(await staff.send("+ 洋人\n+ 甜头"))
    assert "+ 洋人" in preview
    assert "+ 甜头" in preview
    [saved] = texts(await staff.press(staff.button("保存")))
    assert "已保存（变更 #2）" in saved
    assert "洋人" in live_assistant.kb.entries["m5"].keywords
    [answer] = texts(await user.send(DECLINED))
    assert "【第5条" in answer  # live at once, no restart

    [history] = texts(await staff.send("/history m5"))
    assert "#2" in history
    assert "修改" in history
    [preview] = texts(await staff.press(staff.button("撤销 #2")))
    assert "撤销变更 #2" in preview
    assert "− 洋人" in preview
    [done] = texts(await staff.press(staff.button("撤销")))
    assert "已撤销 #2（变更 #3）" in done
    assert "洋人" not in live_assistant.kb.entries["m5"].keywords

    [last] = documents(await staff.send("/export"))
    assert overlay.load_raw(file_text(last)) == before


async def test_an_import_of_a_broken_file_changes_nothing_and_names_the_problem(
    staff: Chat, db: Database, store: KnowledgeStore
) -> None:
    [exported] = documents(await staff.send("/export"))
    text = file_text(exported)
    before = await snapshot(db)
    broken = text.replace("    keywords: [", "    keywrods: [", 1)
    [reply] = texts(await staff.upload(broken.encode(), "hengzhengfa-2024-4.yaml"))
    assert "没有导入，知识库没有任何改动" in reply
    assert "entry scope: keywrods" in reply
    [reply] = texts(await staff.upload(b"document: [", "kb.yaml"))
    assert "not valid YAML" in reply
    [reply] = texts(await staff.upload(b"\xff\xfe", "kb.yaml"))
    assert "not UTF-8" in reply
    [reply] = texts(await staff.upload(b"a", "kb.txt"))
    assert ".yaml" in reply
    assert await snapshot(db) == before


async def test_an_import_shows_the_differences_and_applies_only_when_confirmed(
    staff: Chat, user: Chat, store: KnowledgeStore, live_assistant: Assistant
) -> None:
    [exported] = documents(await staff.send("/export"))
    raw = overlay.load_raw(file_text(exported))
    raw = overlay.set_field(raw, "m5", "synonyms", ["洋人生意"])
    raw = overlay.set_field(raw, overlay.DOCUMENT, "validity.effective_until", "2027-05-06")
    upload = overlay.dump(raw).encode()

    [preview] = texts(await staff.upload(upload, "edited.yaml"))
    assert "导入 edited.yaml：2 项改动，涉及 2 个条目" in preview
    assert "+ 洋人生意" in preview
    assert "有效期至" in preview
    [cancelled] = texts(await staff.press(staff.button("取消")))
    assert "已取消" in cancelled
    assert live_assistant.validity().effective_until.isoformat() == "2026-05-06"

    await staff.upload(upload, "edited.yaml")
    [applied] = texts(await staff.press(staff.button("导入")))
    assert "已保存" in applied
    assert live_assistant.validity().effective_until.isoformat() == "2027-05-06"
    assert live_assistant.kb.entries["m5"].synonyms == ["洋人生意"]
    [version] = await store.history(limit=1)
    assert (version.action, version.note, version.who) == ("import", "edited.yaml", f"tg:{ADMIN}")


async def test_an_invalid_edit_is_refused_with_the_reason(staff: Chat, store: KnowledgeStore) -> None:
    await store.sync()
    before = await store.stamp()
    await staff.send("/edit m5")
    await staff.press(staff.button("^责任单位$"))
    [refused] = texts(await staff.send("-"))
    assert "没有保存" in refused
    assert "a measure needs its responsible units" in refused
    [refused] = texts(await staff.send("- 不存在的单位"))
    assert "「不存在的单位」不在列表中" in refused
    assert "已取消" in texts(await staff.send("/cancel"))[0]
    assert await store.stamp() == before
    await staff.send("/edit m5")
    await staff.press(staff.button("^标题$"))
    [refused] = texts(await staff.send("zh:"))
    assert "entry m5: title.zh" in refused
    assert await store.stamp() == before


async def test_a_localized_field_changes_one_language(staff: Chat, live_assistant: Assistant) -> None:
    chinese = live_assistant.kb.entries["m5"].summary.zh
    await staff.send("/edit m5")
    await staff.press(staff.button("^摘要$"))
    [preview] = texts(await staff.send("en: Up to 500,000 yuan for exporters."))
    assert "en: " in preview
    assert "zh: " not in preview
    await staff.press(staff.button("保存"))
    summary = live_assistant.kb.entries["m5"].summary
    assert summary.en == "Up to 500,000 yuan for exporters."
    assert summary.zh == chinese


async def test_the_validity_dates_are_edited_through_the_document(
    staff: Chat, live_assistant: Assistant
) -> None:
    await staff.send("/edit")
    await staff.press(staff.button("政策文件"))
    [prompt] = texts(await staff.press(staff.button("有效期至")))
    assert "2026-05-06" in prompt
    [refused] = texts(await staff.send("明年"))
    assert "不是日期" in refused
    [refused] = texts(await staff.send("2023-01-01"))
    assert "effective_until is before effective_from" in refused
    [preview] = texts(await staff.send("2027-05-06"))
    assert "2026-05-06 → 2027-05-06" in preview
    [saved] = texts(await staff.press(staff.button("保存")))
    assert "/edit validity" in saved  # the validity entry's text names the dates too
    assert live_assistant.validity().effective_until.isoformat() == "2027-05-06"


async def test_a_stale_preview_saves_nothing(staff: Chat, store: KnowledgeStore) -> None:
    await staff.send("/edit m5")
    await staff.press(staff.button("^同义词$"))
    await staff.send("甲")
    old = staff.keyboard_message()
    await staff.send("乙")  # a second preview replaces the first
    [answer] = callback_answers(await staff.press(staff.button("保存", old), old))
    assert answer.text == "这个预览已过期，请重新开始。"
    # Another change lands between a preview and its confirmation.
    preview = staff.keyboard_message()
    await store.commit(await store.plan_edit("m6", "synonyms", ["丙"]), "cli:test")
    [refused] = texts(await staff.press(staff.button("保存", preview), preview))
    assert "changed since this preview" in refused
    assert overlay.get_field((await store.document()).raw, "m5", "synonyms") != ["乙"]


# --- conflicts and stats --------------------------------------------------------------------------


async def test_conflicts_are_shown_and_settled(
    staff: Chat, store: KnowledgeStore, db: Database, live_assistant: Assistant
) -> None:
    version = await store.commit(await store.plan_edit("m5", "synonyms", ["staff"]), "tg:1")
    assert version is not None
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO kb_conflicts (version_id, doc, target, field, base, ours, theirs) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (version.id, version.doc, "m5", "synonyms", "[]", '["staff"]', '["release"]'),
        )
    assert "1 处冲突" in texts(await staff.send("/history"))[0]
    [title, item] = texts(await staff.send("/conflicts"))
    assert "1 处冲突" in title
    assert "工作人员：staff" in item
    assert "新版本：release" in item
    [done] = texts(await staff.press(staff.button("采用新版本")))
    assert "已采用新版本" in done
    assert live_assistant.kb.entries["m5"].synonyms == ["release"]
    assert "没有待处理的冲突" in texts(await staff.send("/conflicts"))[0]


async def test_stats_count_questions_outcomes_entries_and_interviews(staff: Chat, user: Chat) -> None:
    await user.send("租海外仓有补贴吗")
    await user.send("海外仓租金补贴")
    await user.send("火星移民有补贴吗")
    await user.send("/check")
    await user.press(user.button("在衡阳市依法注册"))  # not registered in Hengyang: unticked,
    await user.press(user.button("确定"))  # the check ends at once
    await user.send("/check")
    await user.send("/cancel")
    [text] = texts(await staff.send("/stats"))
    assert "共 3 个问题：回答 67% · 追问 0% · 未回答 33%" in text
    assert "1. 第10条 海外仓建设和租赁扶持 — 2" in text
    assert "资格自测：开始 2 次，完成 1 次" in text


async def test_interview_events_are_counted_without_user_ids(user: Chat, db: Database) -> None:
    await user.send("/check")
    await user.press(user.button("在衡阳市依法注册"))
    await user.press(user.button("确定"))
    rows = await db.fetchall("SELECT kind FROM bot_events ORDER BY rowid")
    assert [r[0] for r in rows] == [STARTED, FINISHED]
    assert [c[1] for c in await db.fetchall("PRAGMA table_info(bot_events)")] == ["ts", "kind"]


# --- the command menu ------------------------------------------------------------------------------


async def test_staff_commands_are_in_the_staff_chats_menu_only(
    bot: Bot, session: MockedSession, db: Database, staff: Chat
) -> None:
    from aiogram.methods import DeleteMyCommands, SetMyCommands

    from bot.commands import set_commands
    from bot.i18n import Catalogs
    from bot.staff.menu import set_staff_commands

    catalogs = Catalogs.load()
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO staff_menus (chat_id) VALUES (4242)")  # a former staff member
    await set_commands(bot, catalogs)
    await set_staff_commands(bot, catalogs, {ADMIN}, db)
    calls = [r for r in session.requests if isinstance(r, SetMyCommands)]
    public = [c for c in calls if c.scope is None]
    scoped = [c for c in calls if c.scope is not None]
    assert public
    assert all("inbox" not in [b.command for b in c.commands] for c in public)
    assert {(c.scope.chat_id, c.language_code) for c in scoped} == {(ADMIN, None), (ADMIN, "en")}  # type: ignore[union-attr]
    staff_menu = next(c for c in scoped if c.language_code is None)
    assert {"inbox", "edit", "history", "rollback", "export", "stats", "start", "check"} <= {
        b.command for b in staff_menu.commands
    }
    removed = [r for r in session.requests if isinstance(r, DeleteMyCommands)]
    assert {r.scope.chat_id for r in removed} == {4242}  # type: ignore[union-attr]
    assert [r[0] for r in await db.fetchall("SELECT chat_id FROM staff_menus")] == [ADMIN]

    # /lang keeps a staff member's staff menu (in the chosen language).
    session.requests.clear()
    await staff.send("/lang")
    await staff.press(staff.button("English"))
    chosen = [r for r in session.requests if isinstance(r, SetMyCommands)]
    assert chosen
    assert all("inbox" in [b.command for b in c.commands] for c in chosen)
    assert all(c.commands[0].description == "Start" or c.commands[0].description for c in chosen)


async def test_english_staff(staff: Chat, user: Chat) -> None:
    staff.user = staff.user.model_copy(update={"language_code": "en"})
    await user.send(DECLINED)
    [inbox] = texts(await staff.send("/inbox"))
    assert "Inbox: 1 question(s) in 1 group(s)" in inbox
    [group] = texts(await staff.press(staff.button(r"^1\. ")))
    assert "Attach this wording" in group
    assert any(isinstance(r, SendMessage) for r in await staff.send("/stats"))
