"""The bot's own records: each user's language, and the log of questions asked (for staff)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.store.db import Database


class UserSettings:
    """A user's chosen language (set with /lang); None until they choose.

    Read on every update, so answers are remembered in memory (write-through; this process is the
    database's only writer of this table), up to `cache_size` users.
    """

    def __init__(self, db: Database, *, cache_size: int = 50_000) -> None:
        self.db = db
        self._cache: dict[int, str | None] = {}
        self._cache_size = cache_size

    async def language(self, user_id: int) -> str | None:
        if user_id in self._cache:
            return self._cache[user_id]
        row = await self.db.fetchone("SELECT lang FROM user_settings WHERE user_id = ?", (user_id,))
        lang = None if row is None else str(row[0])
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache.setdefault(user_id, lang)  # unless set meanwhile
        return self._cache[user_id]

    async def set_language(self, user_id: int, lang: str) -> None:
        self._cache.pop(user_id, None)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO user_settings (user_id, lang) VALUES (?, ?) ON CONFLICT (user_id) "
                "DO UPDATE SET lang = excluded.lang, updated_at = CAST(strftime('%s', 'now') AS INTEGER)",
                (user_id, lang),
            )
        self._cache[user_id] = lang

    async def forget(self, user_id: int) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM user_settings WHERE user_id = ?", (user_id,))
        self._cache.pop(user_id, None)


@dataclass(frozen=True)
class LoggedQuestion:
    ts: int
    user_id: int | None
    chat_id: int | None
    lang: str
    text: str
    outcome: str
    top_id: str | None
    top_score: float | None


class QuestionLog:
    """Every free question with the matcher's outcome; declines are what staff triage."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self,
        *,
        user_id: int | None,
        chat_id: int | None,
        lang: str,
        text: str,
        outcome: str,
        top_id: str | None,
        top_score: float | None,
        ts: int | None = None,
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO question_log (ts, user_id, chat_id, lang, text, outcome, top_id, top_score) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    int(time.time()) if ts is None else ts,
                    user_id,
                    None if chat_id == user_id else chat_id,  # a private chat's id is the user's id
                    lang,
                    text,
                    outcome,
                    top_id,
                    top_score,
                ),
            )

    async def recent(self, *, outcome: str | None = None, limit: int = 20) -> list[LoggedQuestion]:
        where, params = ("WHERE outcome = ?", [outcome]) if outcome else ("", [])
        rows = await self.db.fetchall(
            "SELECT ts, user_id, chat_id, lang, text, outcome, top_id, top_score FROM question_log "
            f"{where} ORDER BY id DESC LIMIT ?",
            [*params, limit],
        )
        return [LoggedQuestion(*row) for row in rows]
