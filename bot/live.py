"""The assistant the doors answer with, kept current: built at start from the knowledge store
(the shipped files with the staff's edits), and rebuilt off the event loop after every change
(made in the bot, or by the command line in another process), then swapped in whole."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Final

from bot.store.db import Database
from bot.store.shipped import build
from bot.store.versions import KnowledgeStore
from eligibility.answer import Assistant
from knowledge.loader import DATA_DIR, KnowledgeBase, KnowledgeError

logger = logging.getLogger("policybot")


class LiveKnowledge:
    """The store and the assistant the bot answers with. After a change, `reload` builds the new
    knowledge base and matcher off the event loop and swaps them in with one assignment: a
    question in flight sees the old base or the new one, never a half-built one."""

    POLL_SECONDS: Final = 5.0

    def __init__(self, store: KnowledgeStore, assistant: Assistant) -> None:
        self.store = store
        self.assistant = assistant
        self._lock = asyncio.Lock()
        self._stamp: int | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def reload(self) -> None:
        async with self._lock:
            stamp = await self.store.stamp()
            kb, rulings = await self.store.knowledge()
            await asyncio.to_thread(self.assistant.swap, kb, None, rulings)
            self._stamp = stamp

    async def refresh_if_changed(self) -> bool:
        """Reload when another process (the command line) changed the knowledge base."""
        stamp = await self.store.stamp()
        if self._stamp is None:
            self._stamp = stamp
            return False
        if stamp == self._stamp:
            return False
        await self.reload()
        return True

    async def watch(self, interval: float = POLL_SECONDS) -> None:
        while True:
            try:
                await self.refresh_if_changed()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad version must not stop the bot: it keeps the base it has
                logger.exception("reloading the knowledge base failed")
            await asyncio.sleep(interval)

    async def on_startup(self) -> None:
        self._watcher = asyncio.create_task(self.watch(), name="kb-watch")

    async def on_shutdown(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None


async def load_current(db: Database, kb_dir: Path | None = None) -> KnowledgeBase:
    """The knowledge base as staff left it, on top of the shipped files (see the module doc)."""
    kb, _ = await KnowledgeStore(db, kb_dir or DATA_DIR).knowledge()
    return kb


async def current_assistant(
    db: Database, *, today: Callable[[], date] = date.today, kb_dir: Path | None = None
) -> Assistant:
    """The assistant the bot and the terminal chat start with: the current knowledge base and
    the staff rulings (on the shipped files, or those of `kb_dir`). A stored version that no
    longer validates (after an upgrade) is reported and the shipped files are used, so the bot
    still starts."""
    store = KnowledgeStore(db, kb_dir or DATA_DIR)
    await store.sync()
    try:
        kb, rulings = await store.knowledge()
    except KnowledgeError as exc:
        logger.error("the stored knowledge base is not valid, serving the shipped files: %s", exc)
        shipped = await store.shipped()
        kb = await asyncio.to_thread(build, [(s.name, s.raw) for s in shipped], store.shipped_dir)
        rulings = []
    return await asyncio.to_thread(lambda: Assistant(kb, today=today, rulings=rulings))
