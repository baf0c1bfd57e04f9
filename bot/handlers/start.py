"""/start and /help: what the assistant does, the policy and its validity, the three ways in."""

from __future__ import annotations

from collections.abc import Mapping

from aiogram import Bot, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import MenuAction, MenuCB
from bot.handlers.browse import send_sections
from bot.handlers.welcome import send_welcome
from bot.i18n import Translator
from bot.interview.router import Turn
from bot.replies import acknowledge, chat_of, send
from bot.store.conversations import Conversations
from bot.store.stats import InterviewEvents
from eligibility.answer import Assistant
from eligibility.facts import FactSpec
from eligibility.interview import Plan


async def on_start(
    message: Message, bot: Bot, t: Translator, assistant: Assistant, state: FSMContext
) -> None:
    await send_welcome(bot, message.chat.id, t, assistant, state)


async def on_menu(
    callback: CallbackQuery,
    callback_data: MenuCB,
    bot: Bot,
    t: Translator,
    assistant: Assistant,
    specs: Mapping[str, FactSpec],
    plan: Plan,
    state: FSMContext,
    events: InterviewEvents,
    conversations: Conversations,
) -> None:
    await acknowledge(callback)
    chat_id = chat_of(callback)
    if callback_data.action == MenuAction.ASK:
        await send(bot, chat_id, t("ask.prompt"))
    elif callback_data.action == MenuAction.BROWSE:
        await send_sections(bot, chat_id, t, assistant)
    elif callback_data.action == MenuAction.CHECK:
        known = (await conversations.get(chat_id, callback.from_user.id)).known  # what the chat said
        await Turn(bot, chat_id, t, assistant, specs, plan, state, events).begin(known)
    else:
        await send_welcome(bot, chat_id, t, assistant, state)


def make_router() -> Router:
    router = Router(name="start")
    router.message.register(on_start, CommandStart())
    router.message.register(on_start, Command("help"))
    router.callback_query.register(on_menu, MenuCB.filter())
    return router
