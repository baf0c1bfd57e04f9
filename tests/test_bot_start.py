"""/start and /help, the command menus, the validity warning."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.methods import SendChatAction, SendMessage, SetMyCommands

from bot.callbacks import MenuAction, MenuCB
from bot.commands import COMMANDS, set_commands
from bot.config import Settings
from bot.factory import create_dispatcher
from bot.i18n import Catalogs
from bot.store.db import Database
from eligibility.answer import Assistant
from knowledge.loader import KnowledgeBase
from tests.conftest import EXPIRED, Conversation, MockedSession, sent, texts


async def test_start_says_what_it_does_with_name_number_and_validity(talk: Conversation) -> None:
    requests = await talk.send("/start")
    [message] = sent(requests)
    assert "衡阳市支持跨境电子商务高质量发展的若干措施（试行）" in message.text
    assert "衡政发〔2024〕4号" in message.text
    assert "2024-05-07 至 2026-05-06（现行有效）" in message.text
    assert "⚠️" not in message.text
    assert set(talk.buttons().values()) == {MenuCB(action=a).pack() for a in ("ask", "browse", "check")}


async def test_help_is_the_same_introduction(talk: Conversation) -> None:
    assert texts(await talk.send("/help")) == texts(await talk.send("/start"))


async def test_start_past_the_window_warns(
    settings: Settings, kb: KnowledgeBase, db: Database, bot: Bot, session: MockedSession
) -> None:
    expired = Assistant(kb, today=lambda: EXPIRED)
    talk = Conversation(create_dispatcher(settings, assistant=expired, db=db), bot, session)
    [text] = texts(await talk.send("/start"))
    assert "已过有效期" in text
    assert "⚠️" in text
    assert "已于 2026-05-06 届满" in text
    assert "衡阳市商务局" in text


async def test_start_in_english_for_an_english_app(talk: Conversation) -> None:
    talk.user = talk.user.model_copy(update={"language_code": "en-GB"})
    [text] = texts(await talk.send("/start"))
    assert "Measures of Hengyang City to Support" in text
    assert "Valid from 2024-05-07 to 2026-05-06 (in force)" in text
    assert "✅ Check eligibility" in talk.buttons()


async def test_menu_buttons_lead_to_the_three_ways_in(talk: Conversation) -> None:
    await talk.send("/start")
    start = talk.keyboard_message()
    [ask] = texts(await talk.press(MenuCB(action=MenuAction.ASK).pack(), start))
    assert "例如" in ask
    browse = texts(await talk.press(MenuCB(action=MenuAction.BROWSE).pack(), start))
    assert "请选择要查看的部分" in browse[0]
    check = texts(await talk.press(MenuCB(action=MenuAction.CHECK).pack(), start))
    assert "第 1 题" in check[0]
    again = texts(await talk.press(MenuCB(action=MenuAction.HELP).pack(), start))
    assert "衡政发〔2024〕4号" in again[0]
    assert "/check" in again[0]


async def test_command_menus_in_both_languages(bot: Bot, session: MockedSession) -> None:
    await set_commands(bot, Catalogs.load())
    menus = {r.language_code: r.commands for r in session.requests if isinstance(r, SetMyCommands)}
    assert set(menus) == {None, "en"}
    for commands in menus.values():
        assert [c.command for c in commands] == list(COMMANDS)
    assert menus[None][2].description == "资格自测"
    assert menus["en"][2].description == "Check eligibility"


async def test_no_typing_indicator_for_commands(talk: Conversation) -> None:
    requests = await talk.send("/start")
    assert not [r for r in requests if isinstance(r, SendChatAction)]
    assert all(isinstance(r, SendMessage) for r in requests)


async def test_dispatcher_takes_its_services_as_kwargs(dp: Dispatcher, assistant: Assistant) -> None:
    assert dp["assistant"] is assistant
    assert {"specs", "catalogs", "users", "qlog", "settings"} <= set(dp.workflow_data)
