"""aiogram FSM storage on SQLite (table ``fsm_storage``, created by migration 1 in bot/db.py).

Every write is its own ``BEGIN IMMEDIATE`` … ``COMMIT`` transaction; with WAL + synchronous=NORMAL
a committed write is in the WAL file before the call returns, so it survives the process being
SIGKILLed right after replying (power loss may lose the last commits; that needs synchronous=FULL).

With ``cache_size`` (the bot uses it) the storage keeps a write-through cache of recent keys: reads
cost nothing and a write is one statement (``Database.write``: an upsert, or a delete once the key is
empty). That is right for the one bot process that owns its database (Telegram allows one poller);
other processes writing the same keys meanwhile would not be seen, so tests of concurrent
connections use the storage without a cache.

Data is stored as JSON: values must be JSON-serialisable (str, int, float, bool, None, list, dict with
str keys); tuples come back as lists. A TypeError is raised before anything is written otherwise.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final

import aiosqlite
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.store.db import Database, DatabaseError

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
    # aiogram's storage contract: data is a mapping; anything else is refused, never stored as {}.
    if not isinstance(data, Mapping):
        raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
    return json.dumps(dict(data), ensure_ascii=False, separators=(",", ":"))


class SQLiteStorage(BaseStorage):
    """FSM storage keyed by the full :class:`StorageKey` (bot, chat, user, thread, business connection,
    destiny). Works on a shared :class:`Database`; ``close()`` closes it only if ``close_database=True``
    (the dispatcher calls ``storage.close()`` on shutdown, while other stores may still need the db).
    """

    def __init__(self, db: Database, *, close_database: bool = False, cache_size: int = 0) -> None:
        self.db: Final = db
        self._close_database = close_database
        self._cache_size = cache_size
        # key params -> (state, data as JSON); most recently used last
        self._cache: OrderedDict[tuple[int, int, int, int, str, str], tuple[str | None, str]] | None = (
            OrderedDict() if cache_size > 0 else None
        )

    # -- the write-through cache (cache_size > 0)

    async def _cached(self, params: tuple[int, int, int, int, str, str]) -> tuple[str | None, str]:
        cache = self._cache
        assert cache is not None
        entry = cache.get(params)
        if entry is not None:
            cache.move_to_end(params)
            return entry
        row = await self.db.fetchone(f"SELECT state, data FROM fsm_storage WHERE {_KEY_WHERE}", params)
        entry = cache.get(params)  # written by another coroutine while this one read
        if entry is None:
            entry = (None, "{}") if row is None else (row[0], str(row[1]))
            self._remember(params, entry)
        return entry

    def _remember(self, params: tuple[int, int, int, int, str, str], entry: tuple[str | None, str]) -> None:
        cache = self._cache
        assert cache is not None
        cache[params] = entry
        cache.move_to_end(params)
        while len(cache) > self._cache_size:
            cache.popitem(last=False)

    async def _put(
        self, params: tuple[int, int, int, int, str, str], state: str | None, payload: str
    ) -> None:
        """The cache first (no await in between: the next reader sees it), then the database."""
        self._remember(params, (state, payload))
        try:
            if state is None and payload == "{}":
                await self.db.write(f"DELETE FROM fsm_storage WHERE {_KEY_WHERE}", params)
            else:
                await self.db.write(
                    f"INSERT INTO fsm_storage ({_KEY_COLUMNS}, state, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    f"ON CONFLICT ({_KEY_COLUMNS}) DO UPDATE SET state = excluded.state, "
                    "data = excluded.data, updated_at = excluded.updated_at",
                    (*params, state, payload),
                )
        except BaseException:
            assert self._cache is not None
            self._cache.pop(params, None)  # the database decides again at the next read
            raise

    # -- BaseStorage

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        if self._cache is not None:
            params = _key_params(key)
            _, payload = await self._cached(params)
            await self._put(params, value, payload)
            return
        async with self.db.transaction() as conn:
            await conn.execute(
                f"INSERT INTO fsm_storage ({_KEY_COLUMNS}, state) VALUES (?, ?, ?, ?, ?, ?, ?) "
                f"ON CONFLICT ({_KEY_COLUMNS}) DO UPDATE SET state = excluded.state, "
                "updated_at = excluded.updated_at",
                (*_key_params(key), value),
            )
            await self._drop_if_empty(conn, key)

    async def get_state(self, key: StorageKey) -> str | None:
        if self._cache is not None:
            return (await self._cached(_key_params(key)))[0]
        row = await self.db.fetchone(f"SELECT state FROM fsm_storage WHERE {_KEY_WHERE}", _key_params(key))
        return None if row is None else row[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        payload = _dump(data)
        if self._cache is not None:
            params = _key_params(key)
            state, _ = await self._cached(params)
            await self._put(params, state, payload)
            return
        async with self.db.transaction() as conn:
            await self._write_data(conn, key, payload)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        if self._cache is not None:
            return self._load((await self._cached(_key_params(key)))[1], key)
        row = await self.db.fetchone(f"SELECT data FROM fsm_storage WHERE {_KEY_WHERE}", _key_params(key))
        return {} if row is None else self._load(row[0], key)

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        """Read-merge-write in one transaction: concurrent updates of the same key lose nothing."""
        _dump(data)  # fail on non-JSON values before taking the write lock
        if self._cache is not None:
            params = _key_params(key)
            state, payload = await self._cached(params)
            merged = self._load(payload, key)
            merged.update(data)
            await self._put(params, state, _dump(merged))
            return merged
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
        if self._cache is not None:  # after the delete: a read in between reloads nothing stale later
            for params in [p for p in self._cache if user_id in (p[0], p[1])]:
                del self._cache[params]
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
