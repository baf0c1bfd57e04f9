"""Bot API calls that survive Telegram's limits and a flaky network.

:class:`RetryMiddleware` is a session request middleware (``bot.session.middleware(...)``, installed
by ``create_bot``, so ``run``, ``chat`` and the tests share it):

* **429 Too Many Requests**: wait ``retry_after`` (plus a little jitter, so that handlers told to
  wait at the same moment do not all come back at the same moment) and send again: the reply is
  still delivered. A wait longer than ``max_retry_after`` (a flood ban of hours) is not waited out
  inside a handler: the error is raised.
* **Network errors and 5xx**: retried ``max_retries`` times after 0.5 s, 1 s, 2 s … (at most 10 s).
  Telegram has no idempotency key: if only its answer was lost, a retried message arrives twice.
  That is the price of not losing one.
* **403 Forbidden** (the user blocked the bot, left or was removed from the group): recorded in
  ``blocked_chats`` and raised at once, never retried; the errors router logs it quietly. A later
  successful write to that chat (the user unblocked the bot and wrote again) clears the record.

``getUpdates`` is left alone: the poller has its own backoff.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

from aiogram import methods as methods_
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.store.db import Database

if TYPE_CHECKING:
    from aiogram import Bot

logger = logging.getLogger("policybot.delivery")

_CHAT_WRITES: Final = ("send", "edit", "copy", "forward", "delete")

Sleep = Callable[[float], Awaitable[Any]]


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5  # network errors and 5xx
    max_retry_after: int = 60  # seconds; a 429 asking for longer is raised, not waited out
    max_retry_after_attempts: int = 20  # 429s in a row for one call before giving up
    base_delay: float = 0.5
    max_delay: float = 10.0
    jitter: float = 0.5  # up to this many seconds are added to every wait

    def backoff(self, attempt: int) -> float:
        """The wait before retry number `attempt` (1-based) after a network error or a 5xx."""
        return float(min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1)))


def _pin_response_types() -> tuple[type[Any], ...]:
    """aiogram validates every answer as ``Response[<the method's result type>]``; pydantic keeps such
    generic classes only weakly and rebuilds one (milliseconds) each time the garbage collector has
    taken it: under load, several times a second. Holding the ones the bot uses keeps them built."""
    methods = (
        methods_.AnswerCallbackQuery,
        methods_.DeleteMessage,
        methods_.DeleteWebhook,
        methods_.EditMessageReplyMarkup,
        methods_.EditMessageText,
        methods_.GetMe,
        methods_.GetUpdates,
        methods_.SendChatAction,
        methods_.SendDocument,
        methods_.SendMessage,
        methods_.SetMyCommands,
        methods_.SetWebhook,
    )
    return tuple(Response[m.__returning__] for m in methods)  # type: ignore[name-defined]


_PINNED: Final = _pin_response_types()


class BlockedChats:
    """Chats where Telegram answered 403: the user blocked the bot (or it left the group).

    Kept in SQLite (``blocked_chats``) and mirrored in memory after :meth:`load`, so the check on
    every successful write is a set lookup.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._ids: set[int] = set()

    async def load(self) -> None:
        rows = await self.db.fetchall("SELECT chat_id FROM blocked_chats")
        self._ids = {int(row[0]) for row in rows}

    def __contains__(self, chat_id: object) -> bool:
        return chat_id in self._ids

    async def block(self, chat_id: int) -> None:
        self._ids.add(chat_id)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO blocked_chats (chat_id, blocked_at) VALUES (?, ?) "
                "ON CONFLICT (chat_id) DO UPDATE SET blocked_at = excluded.blocked_at",
                (chat_id, int(time.time())),
            )

    async def unblock(self, chat_id: int) -> None:
        self._ids.discard(chat_id)
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM blocked_chats WHERE chat_id = ?", (chat_id,))

    async def all(self) -> set[int]:
        rows = await self.db.fetchall("SELECT chat_id FROM blocked_chats")
        return {int(row[0]) for row in rows}


def _chat_id(method: TelegramMethod[Any]) -> int | None:
    value = getattr(method, "chat_id", None)
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None  # "@channelname"


def _writes_to_chat(method: TelegramMethod[Any]) -> bool:
    return method.__api_method__.startswith(_CHAT_WRITES)


class RetryMiddleware(BaseRequestMiddleware):
    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        blocked: BlockedChats | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.blocked = blocked
        self._sleep = sleep
        self.retried_after = 0  # 429s waited out (for the logs and the load harness)
        self.retried_errors = 0  # network errors and 5xx retried

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ == GetUpdates.__api_method__:
            return await make_request(bot, method)
        policy = self.policy
        errors = waits = 0
        while True:
            try:
                response = await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if method.__api_method__ == methods_.SendChatAction.__api_method__:
                    # "typing…" is not worth waiting for: the reply itself will wait its turn
                    logger.info("sendChatAction: 429, skipped")
                    return cast("Response[TelegramType]", True)
                waits += 1
                if exc.retry_after > policy.max_retry_after or waits > policy.max_retry_after_attempts:
                    logger.warning(
                        "%s: giving up after 429 (retry after %s s)", method.__api_method__, exc.retry_after
                    )
                    raise
                self.retried_after += 1
                logger.info("%s: 429, retrying after %s s", method.__api_method__, exc.retry_after)
                await self._sleep(exc.retry_after + random.uniform(0, policy.jitter))
                continue
            except (TelegramNetworkError, TelegramServerError) as exc:
                errors += 1
                if errors > policy.max_retries:
                    logger.warning(
                        "%s: giving up after %d retries: %s", method.__api_method__, errors - 1, exc
                    )
                    raise
                delay = policy.backoff(errors)
                self.retried_errors += 1
                logger.warning(
                    "%s failed (%s); retry %d in %.1f s", method.__api_method__, exc, errors, delay
                )
                await self._sleep(delay + random.uniform(0, policy.jitter))
                continue
            except TelegramForbiddenError:
                chat_id = _chat_id(method)
                if self.blocked is not None and chat_id is not None:
                    await self.blocked.block(chat_id)
                raise
            if self.blocked is not None and _writes_to_chat(method):
                chat_id = _chat_id(method)
                if chat_id is not None and chat_id in self.blocked:
                    await self.blocked.unblock(chat_id)
            return response
