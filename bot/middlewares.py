"""Per-update context: the user's language, the group-chat etiquette (speak when addressed), and
per-user rate limiting (one flooding user cannot starve the others)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User

from bot import callbacks
from bot.i18n import Catalogs, language_of
from bot.store.users import UserSettings

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


logger = logging.getLogger("policybot")


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class RateLimitMiddleware(BaseMiddleware):
    """A token bucket per user: `burst` updates at once, refilled at `rate` a second.

    An update without a token is dropped before any database work or handler. The first one dropped
    gets one short "please slow down" (a message, or the button's answer); after that, silence until
    a token is back. Group messages not addressed to the bot are not counted (the etiquette
    middleware drops them). Registered on the dispatcher's updates, ahead of the language lookup.
    """

    def __init__(
        self,
        catalogs: Catalogs,
        users: UserSettings,
        *,
        burst: int,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        max_tracked: int = 50_000,
    ) -> None:
        self.catalogs = catalogs
        self.users = users
        self.burst = float(burst)
        self.rate = rate
        self.clock = clock
        self.max_tracked = max_tracked
        self._buckets: dict[int, _Bucket] = {}
        self.dropped = 0

    def allow(self, user_id: int) -> tuple[bool, bool]:
        """(allowed, warn): take a token; `warn` is True for the first update refused since the
        bucket was last full (one warning per flood, however long it lasts)."""
        now = self.clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= self.max_tracked:
                self._forget_full(now)
            bucket = self._buckets[user_id] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            if bucket.tokens >= self.burst:  # calm again: a later flood is warned about once more
                bucket.warned = False
            bucket.tokens -= 1.0
            return True, False
        warn = not bucket.warned
        bucket.warned = True
        return False, warn

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled: they carry no information."""
        full = [
            uid for uid, b in self._buckets.items() if b.tokens + (now - b.stamp) * self.rate >= self.burst
        ]
        for uid in full:
            del self._buckets[uid]

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or not isinstance(event, Update):
            return await handler(event, data)
        inner = event.event
        if isinstance(inner, Message) and inner.chat.type != ChatType.PRIVATE:
            bot: Bot = data["bot"]
            if not await is_addressed(inner, bot):
                return await handler(event, data)  # not for us: the etiquette middleware drops it
        allowed, warn = self.allow(user.id)
        if allowed:
            return await handler(event, data)
        self.dropped += 1
        if warn:
            await self._slow_down(inner, user, data["bot"])
        return None

    async def _slow_down(self, event: object, user: User, bot: Bot) -> None:
        lang = await self.users.language(user.id)
        if lang not in self.catalogs.languages:
            lang = language_of(user.language_code)
        text = self.catalogs[lang]("rate.slow_down")
        logger.info("user %s is over the rate limit; further updates dropped until it refills", user.id)
        try:
            if isinstance(event, CallbackQuery):
                await bot.answer_callback_query(event.id, text=text)
            elif isinstance(event, Message):
                await bot.send_message(event.chat.id, text)
        except TelegramAPIError as exc:
            logger.info("could not tell user %s to slow down: %s", user.id, exc)


class ForeignButtonMiddleware(BaseMiddleware):
    """A public button (bot/callbacks.py: menu, browse, answers, interview, language, /forget) on a
    private chat's message, pressed by someone who is not that chat's user: Telegram never sends
    such an update, so it is forged. Refused with an alert before a handler could send the presser's
    data into someone else's chat. (Staff buttons are left to the staff guard, which has its own
    refusal; in groups everyone may press everyone's buttons and handlers use the presser's data.)"""

    def __init__(self) -> None:
        self.prefixes = frozenset(
            cls.__prefix__
            for cls in vars(callbacks).values()
            if isinstance(cls, type) and issubclass(cls, CallbackData) and cls is not CallbackData
        )

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, CallbackQuery) and event.message is not None:
            chat = event.message.chat
            prefix = (event.data or "").split(":", 1)[0]
            if chat.type == ChatType.PRIVATE and chat.id != event.from_user.id and prefix in self.prefixes:
                t = data.get("t")
                text = t("stale.button") if t is not None else None
                bot: Bot = data["bot"]
                try:
                    await bot.answer_callback_query(event.id, text=text, show_alert=True)
                except TelegramAPIError as exc:
                    logger.info("could not refuse a forged button: %s", exc)
                return None
        return await handler(event, data)
