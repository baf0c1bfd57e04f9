"""/privacy says what is kept and for how long; /forget deletes a user's interview answers,
language and logged questions (and nobody else's); the question log keeps only what staff need and
is purged after QUESTION_LOG_RETENTION_DAYS."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiogram import Dispatcher

from bot.callbacks import ForgetAction, ForgetCB, LangCB
from bot.config import Settings
from bot.factory import create_dispatcher
from bot.store.db import Database
from bot.store.privacy import DAY, Privacy, housekeeping
from bot.store.users import QuestionLog
from eligibility.answer import Assistant
from tests.conftest import USER, Conversation, MockedSession, callback_answers, texts

OTHER = 2002


async def count(db: Database, sql: str, *params: object) -> int:
    row = await db.fetchone(sql, params)
    assert row is not None
    return int(row[0])


async def rows_of(db: Database, user_id: int) -> dict[str, int]:
    return {
        "interview": await count(db, "SELECT COUNT(*) FROM fsm_storage WHERE user_id = ?", user_id),
        "language": await count(db, "SELECT COUNT(*) FROM user_settings WHERE user_id = ?", user_id),
        "questions": await count(db, "SELECT COUNT(*) FROM question_log WHERE user_id = ?", user_id),
    }


async def leave_traces(talk: Conversation) -> None:
    """A language chosen, two questions asked, an interview half done."""
    await talk.send("/lang")
    await talk.press(LangCB(code="en").pack())
    await talk.send("海外仓租金能补贴多少")
    await talk.send("完全无关的问题：明天天气如何")
    await talk.send("/check")
    await talk.send("yes")
    await talk.send("yes")


async def test_privacy_says_what_is_kept_and_for_how_long(talk: Conversation, settings: Settings) -> None:
    [text] = texts(await talk.send("/privacy"))
    assert f"{settings.question_log_retention_days} 天后自动删除" in text
    assert "/forget" in text
    assert "不保存您的姓名、用户名或电话号码" in text
    talk.user = talk.user.model_copy(update={"language_code": "en"})
    [text] = texts(await talk.send("/privacy"))
    assert f"deleted after {settings.question_log_retention_days} days" in text


async def test_forget_deletes_the_users_data_and_only_theirs(
    talk: Conversation, dp: Dispatcher, db: Database, session: MockedSession
) -> None:
    other = Conversation(dp, talk.bot, session, user_id=OTHER)
    await leave_traces(talk)
    await leave_traces(other)
    assert await rows_of(db, USER) == {"interview": 1, "language": 1, "questions": 2}
    before_other = await rows_of(db, OTHER)

    [confirm] = texts(await talk.send("/forget"))
    assert "Delete everything" in confirm  # in the language the user chose
    buttons = talk.buttons()
    assert set(buttons.values()) == {
        ForgetCB(action=ForgetAction.YES, user=USER).pack(),
        ForgetCB(action=ForgetAction.NO, user=USER).pack(),
    }
    [done] = texts(await talk.press(ForgetCB(action=ForgetAction.YES, user=USER).pack()))
    assert "5 records" in done  # the interview, the language, two questions, the conversation context

    assert await rows_of(db, USER) == {"interview": 0, "language": 0, "questions": 0}
    assert await rows_of(db, OTHER) == before_other
    # Nothing survives in memory either: the next /check starts afresh, in the app's language.
    [again] = texts(await talk.send("/check"))
    assert "第 1 题" in again


async def test_keep_deletes_nothing(talk: Conversation, db: Database) -> None:
    await leave_traces(talk)
    before = await rows_of(db, USER)
    await talk.send("/forget")
    [kept] = texts(await talk.press(ForgetCB(action=ForgetAction.NO, user=USER).pack()))
    assert "stays as it is" in kept
    assert await rows_of(db, USER) == before


async def test_someone_elses_forget_button_is_refused(
    talk: Conversation, dp: Dispatcher, db: Database, session: MockedSession
) -> None:
    await leave_traces(talk)
    before = await rows_of(db, USER)
    await talk.send("/forget", chat_id=-100777)  # asked in a group, where everyone sees the buttons
    [question] = [m for m in talk.bot_messages() if m.chat.id == -100777 and m.reply_markup is not None]
    intruder = Conversation(dp, talk.bot, session, user_id=OTHER)
    requests = await intruder.press(ForgetCB(action=ForgetAction.YES, user=USER).pack(), question)
    [answer] = callback_answers(requests)
    assert answer.show_alert
    assert "另一位用户" in (answer.text or "")
    assert not texts(requests)
    assert await rows_of(db, USER) == before


async def test_question_log_keeps_no_more_than_staff_need(talk: Conversation, db: Database) -> None:
    await talk.send("海外仓租金能补贴多少")
    await talk.send("@policy_helper_bot 海外仓租金能补贴多少", chat_id=-100555)
    rows = await db.fetchall("SELECT user_id, chat_id, text FROM question_log ORDER BY id")
    assert [tuple(r) for r in rows] == [
        (USER, None, "海外仓租金能补贴多少"),  # a private chat's id is the user's: not kept twice
        (USER, -100555, "海外仓租金能补贴多少"),
    ]
    columns = {row[1] for row in await db.fetchall("PRAGMA table_info(question_log)")}
    assert not columns & {"username", "first_name", "last_name", "phone"}


async def test_retention_purges_old_questions_only(db: Database) -> None:
    log = QuestionLog(db)
    now = time.time()
    for age_days, text in ((120, "old"), (91, "just over"), (89, "just under"), (0, "today")):
        await log.record(
            user_id=1, chat_id=1, lang="zh", text=text, outcome="decline", top_id=None, top_score=None,
            ts=int(now - age_days * DAY),
        )  # fmt: skip
    assert await Privacy(db, retention_days=90).purge(now) == 2
    assert [q.text for q in await log.recent()] == ["today", "just under"]
    assert await Privacy(db, retention_days=1).purge(now) == 1
    assert [q.text for q in await log.recent()] == ["today"]


async def test_housekeeping_purges_at_start_and_then_periodically(db: Database) -> None:
    log = QuestionLog(db)
    old = int(time.time() - 100 * DAY)
    await log.record(
        user_id=1, chat_id=1, lang="zh", text="a", outcome="decline", top_id=None, top_score=None, ts=old
    )
    privacy = Privacy(db, retention_days=90)
    async with housekeeping(privacy, interval=0.05):
        await asyncio.sleep(0.02)
        assert await log.recent() == []  # purged at start
        await log.record(
            user_id=1, chat_id=1, lang="zh", text="b", outcome="decline", top_id=None, top_score=None, ts=old
        )
        await asyncio.sleep(0.15)
        assert await log.recent() == []  # and again on the next round


def test_retention_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUESTION_LOG_RETENTION_DAYS", "30")
    assert Settings(_env_file=None).question_log_retention_days == 30  # type: ignore[call-arg]


async def test_dispatcher_privacy_service_uses_the_setting(assistant: Assistant, db: Database) -> None:
    settings = Settings(_env_file=None, question_log_retention_days=7)  # type: ignore[call-arg]
    dp = create_dispatcher(settings, assistant=assistant, db=db)
    privacy: Privacy = dp["privacy"]
    assert privacy.retention_days == 7
