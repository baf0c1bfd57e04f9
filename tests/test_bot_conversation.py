"""The bot remembers the conversation: a follow-up is answered with what came before, in the real
dispatcher, stored in SQLite (so it survives a restart) and deleted by /forget; small things a
user notices (thanks, emoji, a photo's caption, one language per reply)."""

from __future__ import annotations

from aiogram.methods import SendMessage
from aiogram.types import PhotoSize

from bot.store.db import Database
from tests.conftest import Conversation, texts


async def test_a_follow_up_is_answered_with_the_earlier_message(talk: Conversation) -> None:
    [first] = texts(await talk.send("我们租了一个海外仓800平米，年租金30万，能补吗"))
    assert first.startswith("不可以")
    [second] = texts(await talk.send("那如果是1500平米呢"))
    assert second.startswith("可以")
    assert "15万元" in second.split("\n")[0]


async def test_the_context_is_kept_in_the_database_and_forgotten(talk: Conversation, db: Database) -> None:
    await talk.send("我们租了一个海外仓800平米，年租金30万，能补吗")
    row = await db.fetchone("SELECT data FROM conversations WHERE user_id = ?", (talk.user.id,))
    assert row is not None
    assert "overseas_warehouses" in row[0]
    await talk.send("/forget")
    buttons = talk.buttons()
    await talk.press(next(data for label, data in buttons.items() if "删除" in label))
    assert await db.fetchone("SELECT data FROM conversations WHERE user_id = ?", (talk.user.id,)) is None
    [reply] = texts(await talk.send("那如果是1500平米呢"))
    assert not reply.startswith("可以")  # nothing left to follow up on


async def test_thanks_gets_a_short_reply_and_is_not_logged(talk: Conversation, db: Database) -> None:
    [reply] = texts(await talk.send("谢谢"))
    assert len(reply) < 80
    assert "不客气" in reply
    row = await db.fetchone("SELECT COUNT(*) FROM question_log")
    assert row is not None
    assert row[0] == 0


async def test_emoji_and_markup_only_get_the_nudge_and_are_not_logged(talk: Conversation, db: Database) -> None:
    for text in ("👍👍", "🙂", "<b></b>"):
        requests = await talk.send(text)
        assert [r for r in requests if isinstance(r, SendMessage)]
    row = await db.fetchone("SELECT COUNT(*) FROM question_log")
    assert row is not None
    assert row[0] == 0


async def test_a_photo_caption_is_answered_as_a_question(talk: Conversation) -> None:
    photo = [PhotoSize(file_id="p1", file_unique_id="p1", width=10, height=10)]
    message = talk.message(None, caption="海外仓1500平米，年租金50万，能补多少", photo=photo)
    [reply] = texts(await talk.send_message(message))
    assert reply.startswith("可以")
    assert "20万元" in reply.split("\n")[0]


async def test_an_english_question_gets_an_english_reply_throughout(talk: Conversation) -> None:
    [reply] = texts(await talk.send("Can a branch office apply?"))
    assert reply.startswith("No")
    buttons = talk.buttons()
    assert all(not any("\u4e00" <= c <= "\u9fff" for c in label) for label in buttons)
    [declined] = texts(await talk.send("What is the tax rebate rate for exports?"))
    assert not any("\u4e00" <= c <= "\u9fff" for c in declined.replace("衡政发〔2024〕4号", ""))


async def test_check_starts_from_what_the_conversation_said(talk: Conversation) -> None:
    await talk.send("我们今年跨境出口80万美元，社保交了60万")
    texts_sent = texts(await talk.send("/check"))
    shown = "\n".join(texts_sent)
    assert "80万美元" in shown  # confirmed, not asked again


async def test_a_new_topic_after_another_is_not_read_as_its_follow_up(talk: Conversation) -> None:
    await talk.send("我们是小微企业，通过单一窗口投保，保费一年8万，能全额补吗")
    [reply] = texts(await talk.send("海外仓一个1200平年租金30万，另一个800平年租金15万，能补多少"))
    assert "第10条" in reply.split("\n")[0]
    assert "15万元" in reply.split("\n")[0]
