"""/stats [DAYS]: questions per day, how they were answered, the most asked entries, interviews
started and finished (bot/store/stats.py counts; the command line prints the same)."""

from __future__ import annotations

from typing import Final

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.i18n import Translator
from bot.live import LiveKnowledge
from bot.replies import send
from bot.staff import views
from bot.store.stats import collect

DAYS: Final = range(1, 91)  # the question log keeps 90 days
DEFAULT_DAYS: Final = 14


async def on_stats(
    message: Message, command: CommandObject, bot: Bot, t: Translator, knowledge: LiveKnowledge
) -> None:
    args = (command.args or "").strip()
    days = int(args) if args.isdigit() and int(args) in DAYS else DEFAULT_DAYS
    data = await collect(knowledge.store.db, days=days)
    await send(bot, message.chat.id, views.stats(t, knowledge.assistant.kb, data))


def make_router() -> Router:
    router = Router(name="staff-stats")
    router.message.register(on_stats, Command("stats"))
    return router
