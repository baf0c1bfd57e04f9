"""The bot's own records: each user's language, and the log of questions asked (for staff)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.db import Database


class UserSettings:
    """A user's chosen language (set with /lang); None until they choose."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def language(self, user_id: int) -> str | None:
        row = await self.db.fetchone("SELECT lang FROM user_settings WHERE user_id = ?", (user_id,))
        return None if row is None else str(row[0])

    async def set_language(self, user_id: int, lang: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO user_settings (user_id, lang) VALUES (?, ?) ON CONFLICT (user_id) "
                "DO UPDATE SET lang = excluded.lang, updated_at = CAST(strftime('%s', 'now') AS INTEGER)",
                (user_id, lang),
            )

    async def forget(self, user_id: int) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM user_settings WHERE user_id = ?", (user_id,))


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
                    chat_id,
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
