"""/measures: sections → measures → card, edited in place; forged and stale buttons."""

from __future__ import annotations

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage

from bot.callbacks import ROOT, CardCB, SectionCB
from tests.conftest import Conversation, callback_answers, sent


async def test_browse_edits_one_message_down_and_back(talk: Conversation) -> None:
    [listing] = sent(await talk.send("/measures"))
    assert "衡政发〔2024〕4号" in listing.text
    message = talk.keyboard_message()
    sections = [d for d in talk.buttons().values() if d.startswith("sec:")]
    assert sections == [SectionCB(id=f"s2_{i}").pack() for i in range(1, 8)]

    requests = await talk.press(SectionCB(id="s2_3").pack(), message)
    [edit] = [r for r in requests if isinstance(r, EditMessageText)]
    assert edit.message_id == message.message_id
    assert "（三）大力培育引进跨境电子商务经营主体" in edit.text
    buttons = talk.buttons()
    assert buttons["第5条 跨境电商出口业绩奖励（衡品出海）"] == CardCB(id="m5", back="s2_3").pack()
    assert buttons["⬅️ 返回"] == SectionCB(id=ROOT).pack()

    requests = await talk.press(CardCB(id="m5", back="s2_3").pack(), talk.keyboard_message())
    [edit] = [r for r in requests if isinstance(r, EditMessageText)]
    assert edit.message_id == message.message_id
    for part in ("金额：", "责任单位：市商务局", "原文：「5.支持跨境电商业务试点"):
        assert part in edit.text
    assert talk.buttons()["⬅️ 返回"] == SectionCB(id="s2_3").pack()

    await talk.press(SectionCB(id="s2_3").pack(), talk.keyboard_message())
    await talk.press(SectionCB(id=ROOT).pack(), talk.keyboard_message())
    assert not [r for r in talk.session.requests if isinstance(r, SendMessage)][1:]  # nothing new sent
    assert "请选择要查看的部分" in (talk.keyboard_message().text or "")


async def test_entries_beyond_the_measures(talk: Conversation) -> None:
    await talk.send("/measures")
    buttons = talk.buttons()
    await talk.press(buttons["支持范围（谁可以申请）"])
    assert "在衡阳市依法注册" in (talk.keyboard_message().text or "")


async def test_card_in_english(talk: Conversation) -> None:
    talk.user = talk.user.model_copy(update={"language_code": "en"})
    await talk.send("/measures")
    await talk.press(SectionCB(id="s2_5").pack())
    await talk.press(CardCB(id="m10", back="s2_5").pack())
    text = talk.keyboard_message().text or ""
    assert "Measure 10" in text
    assert "Amounts:" in text
    assert "⬅️ Back" in talk.buttons()


@pytest.mark.parametrize(
    "data",
    [
        CardCB(id="m99", back="s2_3").pack(),  # no such entry
        CardCB(id="m5", back="s9").pack(),  # no such section to return to
        SectionCB(id="s9").pack(),
        "card",  # malformed
        "sec:s2_1:extra",
        "zzz:1",  # no such prefix
        "menu:delete_everything",
        "iv:bogus:registered_in_hengyang",
        "lang:fr",
        "",
    ],
)
async def test_forged_or_stale_buttons_get_a_short_answer(talk: Conversation, data: str) -> None:
    await talk.send("/measures")
    before = talk.keyboard_message()
    requests = await talk.press(data, before)
    [answer] = callback_answers(requests)
    assert answer.text
    assert answer.show_alert
    assert not [r for r in requests if isinstance(r, SendMessage | EditMessageText)]


async def test_a_message_that_cannot_be_edited_is_answered_anew(talk: Conversation) -> None:
    await talk.send("/measures")
    message = talk.keyboard_message()
    talk.session.fail_next(EditMessageText, 400, "Bad Request: message can't be edited")
    requests = await talk.press(SectionCB(id="s2_1").pack(), message)
    assert [type(r) for r in requests] == [AnswerCallbackQuery, EditMessageText, SendMessage]
    assert "（一）" in sent(requests)[0].text


async def test_unchanged_edit_is_not_an_error(talk: Conversation) -> None:
    await talk.send("/measures")
    message = talk.keyboard_message()
    await talk.press(SectionCB(id=ROOT).pack(), message)  # "message is not modified": ignored
    assert [type(r) for r in talk.session.requests[-2:]] == [AnswerCallbackQuery, EditMessageText]
