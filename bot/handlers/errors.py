"""A handler that fails tells the user so (and the log says why) instead of leaving them waiting."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import ErrorEvent

from bot.i18n import Catalogs, Translator

logger = logging.getLogger("policybot")


async def on_error(event: ErrorEvent, bot: Bot, catalogs: Catalogs, t: Translator | None = None) -> None:
    if isinstance(event.exception, TelegramForbiddenError):
        # The user blocked the bot (or it left the group): recorded by bot/delivery.py; nothing to say.
        logger.info("update %s: %s", event.update.update_id, event.exception.message)
        return
    logger.error("update %s failed", event.update.update_id, exc_info=event.exception)
    update = event.update
    chat_id: int | None = None
    if update.message is not None:
        chat_id = update.message.chat.id
    elif update.callback_query is not None:
        query = update.callback_query
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        with contextlib.suppress(TelegramAPIError):
            await query.answer()
    if chat_id is None or isinstance(event.exception, TelegramAPIError):
        return  # nothing to say, or Telegram itself is what failed
    with contextlib.suppress(TelegramAPIError):
        await bot.send_message(chat_id, (t or catalogs["zh"])("error.generic"))


def make_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
