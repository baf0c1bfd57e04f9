"""The welcome (/start, /help, a greeting typed as a question): the policy, its validity, the three
ways in, and a reminder of an interview in progress."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext

from bot import keyboards, views
from bot.i18n import Translator
from bot.interview.states import InterviewStates
from bot.replies import send
from eligibility.answer import Assistant


async def send_welcome(
    bot: Bot, chat_id: int, t: Translator, assistant: Assistant, state: FSMContext
) -> None:
    resumable = await state.get_state() == InterviewStates.asking.state
    text = views.welcome(t, assistant.kb, assistant.today(), resumable=resumable)
    await send(bot, chat_id, text, keyboards.menu(t))
