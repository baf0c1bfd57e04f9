"""Long polling that loses no update to a crash, and stops without dropping one.

aiogram's ``start_polling`` confirms a batch (the next getUpdates carries ``offset = last + 1``) as
soon as it has *started* handling it, and on SIGTERM it cancels polling without waiting for the
handlers: a crash or a stop in between loses those updates — an interview answer the user sent and
never got a reply to.

Here each batch is written to the update journal (SQLite, one transaction together with the next
offset) before it is confirmed, and an update leaves the journal once handled (deletions are
batched every few milliseconds). At start the journal is replayed, oldest first, before anything
new: after a SIGKILL every update fetched is handled. One handled in the last milliseconds before
the kill may be handled again; the handlers are safe to repeat (the interview ignores an answer it
already applied and recognises stale buttons; a question is answered twice at worst).

Updates are handled concurrently (one task each); aiogram's event isolation keeps each user's
updates in order. On SIGTERM/SIGINT polling stops at once and updates in flight get
``shutdown_timeout`` seconds to finish; any still running then stay in the journal for next time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update
from pydantic import ValidationError

from bot.store.db import Database

logger = logging.getLogger("policybot")


class UpdateJournal:
    """Updates fetched and not yet handled, and the next offset to ask for, per bot."""

    def __init__(self, db: Database, bot_id: int) -> None:
        self.db = db
        self.bot_id = bot_id

    async def load(self) -> tuple[int | None, list[str]]:
        """(next offset or None, payloads of the updates not handled, oldest first)."""
        row = await self.db.fetchone(
            "SELECT next_update FROM polling_offset WHERE bot_id = ?", (self.bot_id,)
        )
        rows = await self.db.fetchall(
            "SELECT payload FROM update_journal WHERE bot_id = ? ORDER BY update_id", (self.bot_id,)
        )
        return (None if row is None else int(row[0])), [str(r[0]) for r in rows]

    async def record(
        self, entries: Sequence[tuple[int, str]], next_update: int, handled: Sequence[int] = ()
    ) -> None:
        """Add a batch and move the offset past it (one transaction); drop `handled` ones."""
        now = int(time.time())
        async with self.db.transaction() as conn:
            if handled:
                await conn.executemany(
                    "DELETE FROM update_journal WHERE bot_id = ? AND update_id = ?",
                    [(self.bot_id, uid) for uid in handled],
                )
            if entries:
                await conn.executemany(
                    "INSERT OR IGNORE INTO update_journal (bot_id, update_id, payload, received_at) "
                    "VALUES (?, ?, ?, ?)",
                    [(self.bot_id, uid, payload, now) for uid, payload in entries],
                )
            await conn.execute(
                "INSERT INTO polling_offset (bot_id, next_update) VALUES (?, ?) "
                "ON CONFLICT (bot_id) DO UPDATE SET next_update = excluded.next_update",
                (self.bot_id, next_update),
            )

    async def forget(self, handled: Sequence[int]) -> None:
        if not handled:
            return
        async with self.db.transaction() as conn:
            await conn.executemany(
                "DELETE FROM update_journal WHERE bot_id = ? AND update_id = ?",
                [(self.bot_id, uid) for uid in handled],
            )

    async def forget_payload(self, payload: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM update_journal WHERE bot_id = ? AND payload = ?", (self.bot_id, payload)
            )

    async def size(self) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) FROM update_journal WHERE bot_id = ?", (self.bot_id,))
        return 0 if row is None else int(row[0])


class Poller:
    """Polls, journals and handles updates until `stop` is set; see the module's docstring."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        journal: UpdateJournal,
        *,
        allowed_updates: list[str] | None = None,
        polling_timeout: int = 10,
        shutdown_timeout: float = 20.0,
        flush_delay: float = 0.05,
        max_in_flight: int = 2000,
        max_backoff: float = 30.0,
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.journal = journal
        self.allowed_updates = allowed_updates
        self.polling_timeout = polling_timeout
        self.shutdown_timeout = shutdown_timeout
        self.flush_delay = flush_delay
        self.max_in_flight = max_in_flight
        self.max_backoff = max_backoff
        self.workflow: dict[str, Any] = {"dispatcher": dispatcher, "bots": (bot,)}
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: set[int] = set()
        self._handled: list[int] = []
        self._handled_event = asyncio.Event()
        self._room = asyncio.Event()  # set when a task ends (for max_in_flight)
        self.replayed = 0

    async def run(self, stop: asyncio.Event) -> None:
        dp, bot = self.dispatcher, self.bot
        await dp.emit_startup(bot=bot, **dp.workflow_data, **self.workflow)
        flusher = asyncio.create_task(self._flush_loop(), name="journal-flush")
        try:
            offset, payloads = await self.journal.load()
            for payload in payloads:
                try:
                    update = Update.model_validate_json(payload, context={"bot": bot})
                except ValidationError:  # written by another version: it cannot be handled, drop it
                    logger.exception("a journaled update could not be read; dropped: %s", payload[:200])
                    await self.journal.forget_payload(payload)
                    continue
                self._spawn(update)
            self.replayed = len(payloads)
            if payloads:
                logger.info(
                    "replaying %d updates fetched but not handled before the last stop", len(payloads)
                )
            await self._poll(stop, offset)
        finally:
            await self._drain()
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await self._flush()
            await dp.emit_shutdown(bot=bot, **dp.workflow_data, **self.workflow)

    async def _poll(self, stop: asyncio.Event, offset: int | None) -> None:
        bot = self.bot
        stopping = asyncio.create_task(stop.wait())
        failures = 0
        timeout: dict[str, Any] = {}
        if bot.session.timeout:
            timeout["request_timeout"] = int(bot.session.timeout + self.polling_timeout)
        try:
            while not stop.is_set():
                if len(self._tasks) >= self.max_in_flight:
                    self._room.clear()
                    room = asyncio.create_task(self._room.wait())
                    await asyncio.wait({room, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    room.cancel()
                    continue
                request = GetUpdates(
                    offset=offset, timeout=self.polling_timeout, allowed_updates=self.allowed_updates
                )
                fetch = asyncio.create_task(bot(request, **timeout))
                await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not fetch.done():
                    # Stopping: whatever this poll would have returned stays unconfirmed on the server.
                    fetch.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await fetch
                    break
                try:
                    updates = fetch.result()
                except Exception as exc:  # network, 5xx, 409 (another instance): wait and try again
                    failures += 1
                    delay = min(self.max_backoff, 0.5 * 2 ** min(failures, 10))
                    logger.error(
                        "getUpdates failed (%s: %s); again in %.1f s", type(exc).__name__, exc, delay
                    )
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(stopping), delay)
                    continue
                if failures:
                    logger.info("getUpdates works again after %d failures", failures)
                    failures = 0
                if not updates:
                    continue
                offset = updates[-1].update_id + 1
                fresh = [u for u in updates if u.update_id not in self._in_flight]
                entries = [(u.update_id, u.model_dump_json(exclude_unset=True, by_alias=True)) for u in fresh]
                await self.journal.record(entries, offset, self._take_handled())
                for update in fresh:
                    self._spawn(update)
        finally:
            stopping.cancel()

    def _spawn(self, update: Update) -> None:
        self._in_flight.add(update.update_id)
        task = asyncio.create_task(self._handle(update))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._room.set()

    async def _handle(self, update: Update) -> None:
        dp, bot = self.dispatcher, self.bot
        try:
            response = await dp.feed_update(bot, update, **self.workflow)
            if isinstance(response, TelegramMethod):
                await dp.silent_call_request(bot=bot, result=response)
        except asyncio.CancelledError:
            self._in_flight.discard(update.update_id)
            raise  # not handled: it stays in the journal and is replayed at the next start
        except Exception:  # the errors router has seen it; a broken update must not stop polling
            logger.exception("update %s failed", update.update_id)
        self._in_flight.discard(update.update_id)
        self._handled.append(update.update_id)
        self._handled_event.set()

    def _take_handled(self) -> list[int]:
        handled, self._handled = self._handled, []
        return handled

    async def _flush(self) -> None:
        await self.journal.forget(self._take_handled())

    async def _flush_loop(self) -> None:
        while True:
            await self._handled_event.wait()
            await asyncio.sleep(self.flush_delay)
            self._handled_event.clear()
            try:
                await self._flush()
            except Exception:  # the next flush retries nothing lost: the rows are replayed at worst
                logger.exception("could not clear handled updates from the journal")

    async def _drain(self) -> None:
        tasks = set(self._tasks)
        if not tasks:
            return
        logger.info("finishing %d updates in flight (up to %.0f s)", len(tasks), self.shutdown_timeout)
        _, pending = await asyncio.wait(tasks, timeout=self.shutdown_timeout)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning(
                "%d updates did not finish in time; they will be replayed at the next start", len(pending)
            )
            await asyncio.gather(*pending, return_exceptions=True)
