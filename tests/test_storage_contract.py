"""aiogram's own storage contract (the tests aiogram holds its Memory, Redis and Mongo storages to),
run on our SQLite storage, with and without its write-through cache."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.storage.base import StorageKey

from bot.store.db import open_database
from bot.store.fsm import SQLiteStorage

KEY = StorageKey(bot_id=42, chat_id=-42, user_id=42)


@pytest.fixture(params=[0, 100], ids=["uncached", "cached"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[SQLiteStorage]:
    db = await open_database(":memory:")
    yield SQLiteStorage(db, cache_size=request.param)
    await db.close()


async def test_set_state(storage: SQLiteStorage) -> None:
    assert await storage.get_state(key=KEY) is None
    await storage.set_state(key=KEY, state="state")
    assert await storage.get_state(key=KEY) == "state"
    await storage.set_state(key=KEY, state=None)
    assert await storage.get_state(key=KEY) is None


async def test_set_data(storage: SQLiteStorage) -> None:
    assert await storage.get_data(key=KEY) == {}
    await storage.set_data(key=KEY, data={"foo": "bar"})
    assert await storage.get_data(key=KEY) == {"foo": "bar"}
    await storage.set_data(key=KEY, data={})
    assert await storage.get_data(key=KEY) == {}


async def test_get_value(storage: SQLiteStorage) -> None:
    assert await storage.get_value(storage_key=KEY, dict_key="hello") is None
    assert await storage.get_value(storage_key=KEY, dict_key="hello", default="world") == "world"
    await storage.set_data(key=KEY, data={"hello": "earth"})
    assert await storage.get_value(storage_key=KEY, dict_key="hello") == "earth"
    assert await storage.get_value(storage_key=KEY, dict_key="hello", default="world") == "earth"


async def test_update_data(storage: SQLiteStorage) -> None:
    assert await storage.get_data(key=KEY) == {}
    assert await storage.update_data(key=KEY, data={"foo": "bar"}) == {"foo": "bar"}
    assert await storage.update_data(key=KEY, data={}) == {"foo": "bar"}
    assert await storage.get_data(key=KEY) == {"foo": "bar"}
    assert await storage.update_data(key=KEY, data={"baz": "spam"}) == {"foo": "bar", "baz": "spam"}
    assert await storage.get_data(key=KEY) == {"foo": "bar", "baz": "spam"}
    assert await storage.update_data(key=KEY, data={"baz": "test"}) == {"foo": "bar", "baz": "test"}


@pytest.mark.parametrize("data", [(), [], "text", 42, None], ids=["tuple", "list", "str", "int", "none"])
async def test_data_that_is_not_a_mapping_is_refused(storage: SQLiteStorage, data: object) -> None:
    await storage.set_data(key=KEY, data={"kept": 1})
    with pytest.raises(DataNotDictLikeError):
        await storage.set_data(key=KEY, data=data)  # type: ignore[arg-type]
    with pytest.raises(DataNotDictLikeError):
        await storage.update_data(key=KEY, data=data)  # type: ignore[arg-type]
    assert await storage.get_data(key=KEY) == {"kept": 1}
