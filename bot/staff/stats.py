"""/stats [DAYS]: a chart (questions a day by outcome, the most frequent unanswered questions,
interviews started and finished) as a photo, then the same figures as text, with the most asked
entries (bot/store/stats.py counts; the command line prints and draws the same)."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from bot.config import Settings
from bot.i18n import Translator
from bot.live import LiveKnowledge
from bot.replies import send
from bot.staff import views
from bot.store.stats import Stats, collect

logger = logging.getLogger("policybot")

DAYS: Final = range(1, 91)  # the question log keeps 90 days
DEFAULT_DAYS: Final = 14


def chart_png(data: Stats, t: Translator, font_setting: str | None) -> bytes | None:
    """The chart as a PNG (matplotlib, seconds of CPU the first time: run it off the loop);
    None without a Chinese font."""
    from bot.report.chart import from_stats, stats_png
    from bot.report.fonts import FontMissing, find_cjk_font

    try:
        font = find_cjk_font(font_setting)
    except FontMissing as exc:
        logger.warning("/stats without its chart: %s", exc)
        return None
    return stats_png(from_stats(data), t, font=font)


async def on_stats(
    message: Message,
    command: CommandObject,
    bot: Bot,
    t: Translator,
    knowledge: LiveKnowledge,
    settings: Settings,
) -> None:
    args = (command.args or "").strip()
    days = int(args) if args.isdigit() and int(args) in DAYS else DEFAULT_DAYS
    assistant = knowledge.assistant
    data = await collect(knowledge.store.db, days=days, matcher=assistant.matcher)
    png = await asyncio.to_thread(chart_png, data, t, settings.report_font)
    if png is not None:
        photo = BufferedInputFile(png, filename=f"stats-{data.since}-{data.until}.png")
        await bot.send_photo(message.chat.id, photo, caption=t("staff.stats.chart", days=days))
    await send(bot, message.chat.id, views.stats(t, assistant.kb, data))


def make_router() -> Router:
    router = Router(name="staff-stats")
    router.message.register(on_stats, Command("stats"))
    return router
