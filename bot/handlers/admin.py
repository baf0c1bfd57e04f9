"""Staff only (ADMIN_IDS): the questions the assistant could not answer, newest first."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import Message, User

from bot.config import Settings
from bot.format import esc
from bot.i18n import Translator
from bot.replies import send
from bot.users import QuestionLog


def is_admin(event: object, settings: Settings, event_from_user: User | None = None) -> bool:
    return event_from_user is not None and event_from_user.id in settings.admin_ids


async def on_unanswered(message: Message, bot: Bot, t: Translator, qlog: QuestionLog) -> None:
    rows = await qlog.recent(outcome="decline", limit=20)
    if not rows:
        await send(bot, message.chat.id, t("admin.none"))
        return
    lines = [t("admin.unanswered", count=len(rows))]
    for row in rows:
        when = datetime.fromtimestamp(row.ts, UTC).strftime("%Y-%m-%d %H:%M")
        lines.append(f"{when} · {row.user_id} · {row.lang} · {esc(row.text)}")
    await send(bot, message.chat.id, "\n".join(lines))


def make_router() -> Router:
    router = Router(name="admin")
    router.message.filter(is_admin)
    router.message.register(on_unanswered, Command("unanswered"))
    return router
