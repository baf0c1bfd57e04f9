"""Per-update context: the user's language, and the group-chat etiquette (speak when addressed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatType
from aiogram.types import Message, TelegramObject, User

from bot.i18n import Catalogs, language_of
from bot.users import UserSettings

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class LanguageMiddleware(BaseMiddleware):
    """Puts `lang` and `t` (that language's Translator) into every handler's data: the language
    chosen with /lang if any, else the one the user's Telegram app is set to."""

    def __init__(self, catalogs: Catalogs, users: UserSettings) -> None:
        self.catalogs = catalogs
        self.users = users

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        lang = None
        if user is not None:
            lang = await self.users.language(user.id)
        if lang not in self.catalogs.languages:
            lang = language_of(user.language_code if user else None)
        data["lang"] = lang
        data["t"] = self.catalogs[lang]
        return await handler(event, data)


async def is_addressed(message: Message, bot: Bot) -> bool:
    """In a group: a command, a mention of the bot, or a reply to one of its messages."""
    text = message.text or message.caption or ""
    me = await bot.me()
    if text.startswith("/"):
        # "/cmd" is for every bot in the group; "/cmd@name" only for the bot named
        command = text.split(maxsplit=1)[0]
        _, at, name = command.partition("@")
        return not at or (me.username or "").lower() == name.lower()
    if me.username and f"@{me.username.lower()}" in text.lower():
        return True
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == me.id)


class GroupEtiquetteMiddleware(BaseMiddleware):
    """Drops group messages not addressed to the bot, before any handler sees them."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Message) and event.chat.type != ChatType.PRIVATE:
            bot: Bot = data["bot"]
            if not await is_addressed(event, bot):
                return None
        return await handler(event, data)
