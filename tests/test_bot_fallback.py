"""Everything else: media, edits, unknown commands, and group-chat etiquette."""

from __future__ import annotations

import time

import pytest
from aiogram.types import Audio, Document, Location, MessageEntity, PhotoSize, Sticker, Update, Voice

from bot.transport.local import BOT_USERNAME
from tests.conftest import Conversation, sent, texts

GROUP = -100123


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            {
                "sticker": Sticker(
                    file_id="s",
                    file_unique_id="s",
                    type="regular",
                    width=1,
                    height=1,
                    is_animated=False,
                    is_video=False,
                )
            },
            "收到",
        ),
        ({"photo": [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]}, "图片和文件"),
        ({"document": Document(file_id="d", file_unique_id="d", file_name="申报表.xlsx")}, "图片和文件"),
        ({"voice": Voice(file_id="v", file_unique_id="v", duration=3)}, "语音"),
        ({"audio": Audio(file_id="a", file_unique_id="a", duration=3)}, "语音"),
        ({"location": Location(latitude=26.9, longitude=112.6)}, "文字"),
    ],
)
async def test_media_gets_a_short_helpful_reply(
    talk: Conversation, content: dict[str, object], expected: str
) -> None:
    [text] = texts(await talk.send_message(talk.message(**content)))
    assert expected in text


async def test_edited_message_is_not_re_answered(talk: Conversation) -> None:
    message = talk.message("海外仓")
    await talk.send_message(message)
    edited = message.model_copy(update={"text": "海外仓补贴多少", "edit_date": int(time.time())})
    [text] = texts(await talk.feed(Update(update_id=999, edited_message=edited)))
    assert "编辑过的消息" in text


async def test_unknown_command(talk: Conversation) -> None:
    [text] = texts(await talk.send("/foo"))
    assert "/check" in text


async def test_service_messages_are_ignored(talk: Conversation) -> None:
    message = talk.message(pinned_message=None, new_chat_title="新群名")
    assert sent(await talk.send_message(message)) == []


async def test_group_messages_not_addressed_are_ignored(talk: Conversation) -> None:
    assert sent(await talk.send("海外仓补贴多少", chat_id=GROUP)) == []
    photo = talk.message(chat_id=GROUP, photo=[PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)])
    assert sent(await talk.send_message(photo)) == []
    edited = talk.message("海外仓", chat_id=GROUP).model_copy(update={"edit_date": int(time.time())})
    assert sent(await talk.feed(Update(update_id=998, edited_message=edited))) == []


async def test_group_mention_is_answered_without_the_mention(talk: Conversation) -> None:
    text = f"@{BOT_USERNAME} 租海外仓有补贴吗"
    message = talk.message(
        text, chat_id=GROUP, entities=[MessageEntity(type="mention", offset=0, length=len(BOT_USERNAME) + 1)]
    )
    [answer] = sent(await talk.send_message(message))
    assert answer.chat_id == GROUP
    assert "第10条" in answer.text


async def test_group_reply_to_the_bot_is_answered(talk: Conversation) -> None:
    [intro] = sent(await talk.send(f"/start@{BOT_USERNAME}", chat_id=GROUP))
    assert "衡政发〔2024〕4号" in intro.text
    bot_message = talk.keyboard_message()
    reply = talk.message("社保补贴怎么算", chat_id=GROUP, reply_to_message=bot_message)
    [answer] = sent(await talk.send_message(reply))
    assert "第16条" in answer.text


async def test_group_command_for_another_bot_is_ignored(talk: Conversation) -> None:
    assert sent(await talk.send("/start@some_other_bot", chat_id=GROUP)) == []
