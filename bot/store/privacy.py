"""What the bot keeps about a user, for how long, and forgetting it (/privacy, /forget).

Kept, in SQLite:

* ``fsm_storage``: an eligibility interview in progress (the answers so far), until it ends, is
  cancelled or the user sends /forget;
* ``user_settings``: the language chosen with /lang;
* ``question_log``: each free question (its text, language, time, the matcher's outcome, the user's
  id so that /forget can find it; the chat only when it is a group), for staff to see what the
  knowledge base does not answer; deleted after ``QUESTION_LOG_RETENTION_DAYS`` (90), by
  :meth:`Privacy.purge` at start and daily;
* ``blocked_chats``: that the user blocked the bot (so it stops writing), until they write again;
* ``conversations``: the clause and facts of the user's recent free questions (30 minutes), so a
  follow-up is read with them;
* ``update_journal``: an update between being fetched and being handled (seconds), so that a crash
  loses nothing.

No names, usernames or phone numbers are stored. :meth:`Privacy.forget` deletes all of a user's
rows in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiogram.fsm.storage.base import BaseStorage

from bot.store.db import Database
from bot.store.fsm import SQLiteStorage
from bot.store.users import UserSettings

logger = logging.getLogger("policybot")

DAY = 24 * 60 * 60


@dataclass(frozen=True)
class Forgotten:
    """How many rows /forget deleted, per kind."""

    interviews: int
    settings: int
    questions: int
    other: int

    @property
    def total(self) -> int:
        return self.interviews + self.settings + self.questions + self.other


class Privacy:
    """/forget and the retention purge. `storage` and `users` are told about a /forget too, so
    that nothing they keep in memory outlives the rows."""

    def __init__(
        self,
        db: Database,
        retention_days: int = 90,
        *,
        storage: BaseStorage | None = None,
        users: UserSettings | None = None,
    ) -> None:
        self.db = db
        self.retention_days = retention_days
        self.storage = storage
        self.users = users

    async def forget(self, user_id: int) -> Forgotten:
        """Delete everything kept about `user_id`: interviews (any chat), language, questions,
        the conversation context and the blocked mark. (Updates waiting in the polling journal
        are handled within seconds and then deleted; they are not searched here.)"""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM fsm_storage WHERE user_id = ? OR chat_id = ?", (user_id, user_id)
            )
            interviews = cursor.rowcount
            cursor = await conn.execute("DELETE FROM user_settings WHERE user_id = ?", (user_id,))
            settings = cursor.rowcount
            cursor = await conn.execute(
                "DELETE FROM question_log WHERE user_id = ? OR chat_id = ?", (user_id, user_id)
            )
            questions = cursor.rowcount
            cursor = await conn.execute("DELETE FROM blocked_chats WHERE chat_id = ?", (user_id,))
            other = cursor.rowcount
            cursor = await conn.execute(
                "DELETE FROM conversations WHERE user_id = ? OR chat_id = ?", (user_id, user_id)
            )
            other += cursor.rowcount
        # Their in-memory caches (the rows are gone already; these delete nothing more).
        if isinstance(self.storage, SQLiteStorage):
            await self.storage.forget_user(user_id)
        if self.users is not None:
            await self.users.forget(user_id)
        return Forgotten(interviews, settings, questions, other)

    async def purge(self, now: float | None = None) -> int:
        """Delete logged questions older than the retention period; returns how many."""
        cutoff = int((time.time() if now is None else now) - self.retention_days * DAY)
        async with self.db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM question_log WHERE ts < ?", (cutoff,))
            deleted = cursor.rowcount
        if deleted:
            logger.info("purged %d logged questions older than %d days", deleted, self.retention_days)
        return deleted

    async def purge_daily(self, interval: float = DAY) -> None:
        """Purge now and then every `interval` seconds, until cancelled."""
        while True:
            try:
                await self.purge()
            except Exception:  # a failed purge must not stop the bot; the next one catches up
                logger.exception("question log purge failed")
            await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def housekeeping(privacy: Privacy, interval: float = DAY) -> AsyncIterator[None]:
    """Run :meth:`Privacy.purge_daily` in the background for the time of the block."""
    task = asyncio.create_task(privacy.purge_daily(interval), name="question-log-purge")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
