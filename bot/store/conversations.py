"""Each chat's conversation context (eligibility.answer.Context) between free questions: kept in
SQLite so a follow-up is read with what came before, in every door and across restarts; older
than CONTEXT_SECONDS it is forgotten; /forget deletes it."""

from __future__ import annotations

import json
import time

from bot.store.db import Database
from eligibility.answer import CONTEXT_SECONDS, Context


class Conversations:
    def __init__(self, db: Database, *, ttl: int = CONTEXT_SECONDS) -> None:
        self.db = db
        self.ttl = ttl

    async def get(self, chat_id: int, user_id: int, *, now: float | None = None) -> Context:
        row = await self.db.fetchone(
            "SELECT data, updated_at FROM conversations WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
        )
        if row is None or (time.time() if now is None else now) - int(row[1]) > self.ttl:
            return Context()
        try:
            return Context.from_json(json.loads(row[0]))
        except (ValueError, TypeError, AttributeError):
            return Context()  # written by an incompatible version: start afresh

    async def put(self, chat_id: int, user_id: int, context: Context, *, now: float | None = None) -> None:
        await self.db.write(
            "INSERT INTO conversations (chat_id, user_id, data, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (chat_id, user_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            (
                chat_id,
                user_id,
                json.dumps(context.to_json(), ensure_ascii=False),
                int(time.time() if now is None else now),
            ),
        )
