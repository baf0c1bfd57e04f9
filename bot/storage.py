"""aiogram FSM storage on SQLite (table ``fsm_storage``, created by migration 1 in bot/db.py).

Every write is its own ``BEGIN IMMEDIATE`` … ``COMMIT`` transaction; with WAL + synchronous=NORMAL
a committed write is in the WAL file before the call returns, so it survives the process being
SIGKILLed right after replying (power loss may lose the last commits; that needs synchronous=FULL).

Data is stored as JSON: values must be JSON-serialisable (str, int, float, bool, None, list, dict with
str keys); tuples come back as lists. A TypeError is raised before anything is written otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import aiosqlite
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.db import Database, DatabaseError

__all__ = ["SQLiteStorage"]

_KEY_WHERE: Final = (
    "chat_id = ? AND user_id = ? AND bot_id = ? AND thread_id = ? "
    "AND business_connection_id = ? AND destiny = ?"
)
_KEY_COLUMNS: Final = "chat_id, user_id, bot_id, thread_id, business_connection_id, destiny"


def _key_params(key: StorageKey) -> tuple[int, int, int, int, str, str]:
    # None → 0 / '' (see the schema); aiogram's DefaultKeyBuilder also treats thread_id 0 as "no thread".
    return (
        key.chat_id,
        key.user_id,
        key.bot_id,
        key.thread_id or 0,
        key.business_connection_id or "",
        key.destiny,
    )


def _dump(data: Mapping[str, Any]) -> str:
    return json.dumps(dict(data), ensure_ascii=False, separators=(",", ":"))


class SQLiteStorage(BaseStorage):
    """FSM storage keyed by the full :class:`StorageKey` (bot, chat, user, thread, business connection,
    destiny). Works on a shared :class:`Database`; ``close()`` closes it only if ``close_database=True``
    (the dispatcher calls ``storage.close()`` on shutdown, while other stores may still need the db).
    """

    def __init__(self, db: Database, *, close_database: bool = False) -> None:
        self.db: Final = db
        self._close_database = close_database

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self.db.transaction() as conn:
            await conn.execute(
                f"INSERT INTO fsm_storage ({_KEY_COLUMNS}, state) VALUES (?, ?, ?, ?, ?, ?, ?) "
                f"ON CONFLICT ({_KEY_COLUMNS}) DO UPDATE SET state = excluded.state, "
                "updated_at = excluded.updated_at",
                (*_key_params(key), value),
            )
            await self._drop_if_empty(conn, key)

    async def get_state(self, key: StorageKey) -> str | None:
        row = await self.db.fetchone(f"SELECT state FROM fsm_storage WHERE {_KEY_WHERE}", _key_params(key))
        return None if row is None else row[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        payload = _dump(data)
        async with self.db.transaction() as conn:
            await self._write_data(conn, key, payload)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = await self.db.fetchone(f"SELECT data FROM fsm_storage WHERE {_KEY_WHERE}", _key_params(key))
        return {} if row is None else self._load(row[0], key)

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        """Read-merge-write in one transaction: concurrent updates of the same key lose nothing."""
        _dump(data)  # fail on non-JSON values before taking the write lock
        async with self.db.transaction() as conn:
            sql = f"SELECT data FROM fsm_storage WHERE {_KEY_WHERE}"
            async with conn.execute(sql, _key_params(key)) as cur:
                row = await cur.fetchone()
            merged = {} if row is None else self._load(row[0], key)
            merged.update(data)
            await self._write_data(conn, key, _dump(merged))
        return merged

    async def forget_user(self, user_id: int) -> int:
        """Delete every record of *user_id* (any bot, chat, thread, destiny), including the private
        chat with them (chat_id == user_id). Returns the number of rows deleted."""
        async with self.db.transaction() as conn:
            sql = "DELETE FROM fsm_storage WHERE user_id = ? OR chat_id = ?"
            async with conn.execute(sql, (user_id, user_id)) as cursor:
                deleted = cursor.rowcount
        return deleted

    async def close(self) -> None:
        if self._close_database:
            await self.db.close()

    @staticmethod
    async def _write_data(conn: aiosqlite.Connection, key: StorageKey, payload: str) -> None:
        await conn.execute(
            f"INSERT INTO fsm_storage ({_KEY_COLUMNS}, data) VALUES (?, ?, ?, ?, ?, ?, ?) "
            f"ON CONFLICT ({_KEY_COLUMNS}) DO UPDATE SET data = excluded.data, "
            "updated_at = excluded.updated_at",
            (*_key_params(key), payload),
        )
        await SQLiteStorage._drop_if_empty(conn, key)

    @staticmethod
    async def _drop_if_empty(conn: aiosqlite.Connection, key: StorageKey) -> None:
        await conn.execute(
            f"DELETE FROM fsm_storage WHERE {_KEY_WHERE} AND state IS NULL AND data = '{{}}'",
            _key_params(key),
        )

    @staticmethod
    def _load(raw: str, key: StorageKey) -> dict[str, Any]:
        try:
            data = json.loads(raw)
        except ValueError as e:
            raise DatabaseError(f"FSM 数据不是合法 JSON / FSM data is not valid JSON for {key}") from e
        if not isinstance(data, dict):
            raise DatabaseError(f"FSM 数据不是对象 / FSM data is not a JSON object for {key}")
        return data
