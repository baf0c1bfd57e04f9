"""bot/db.py + bot/storage.py: FSM persistence, durability and start-up failure modes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey

from bot.store.db import MIGRATIONS, Database, DatabaseError, open_database
from bot.store.fsm import SQLiteStorage

REPO_ROOT = Path(__file__).resolve().parents[1]
BOT_ID = 42


class Form(StatesGroup):
    region = State()
    income = State()


def key(user_id: int, chat_id: int | None = None, destiny: str = "default") -> StorageKey:
    chat = user_id if chat_id is None else chat_id
    return StorageKey(bot_id=BOT_ID, chat_id=chat, user_id=user_id, destiny=destiny)


@pytest.fixture
async def db() -> AsyncIterator[Database]:
    database = await open_database(":memory:")
    yield database
    await database.close()


@pytest.fixture
def storage(db: Database) -> SQLiteStorage:
    return SQLiteStorage(db)


async def spawn(*args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )


async def wait_for_line(proc: asyncio.subprocess.Process, expected: bytes) -> None:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
    if line.strip() != expected:
        _, err = await proc.communicate()
        raise AssertionError(f"child said {line!r}, stderr: {err.decode(errors='replace')}")


async def kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
    await proc.communicate()


# --- basic behaviour -------------------------------------------------------------------------------


async def test_state_and_data_of_two_users_do_not_mix(storage: SQLiteStorage) -> None:
    alice, bob = key(1001), key(1002)
    await storage.set_state(alice, Form.region)
    await storage.set_state(bob, "Form:income")
    await storage.set_data(alice, {"region": "衡阳", "n": 1})
    await storage.set_data(bob, {"region": "耒阳", "items": [1, 2]})

    assert await storage.get_state(alice) == "Form:region"
    assert await storage.get_state(bob) == "Form:income"
    assert await storage.get_data(alice) == {"region": "衡阳", "n": 1}
    assert await storage.get_data(bob) == {"region": "耒阳", "items": [1, 2]}
    assert await storage.get_value(alice, "region") == "衡阳"

    await storage.set_state(alice, None)
    assert await storage.get_state(alice) is None
    assert await storage.get_data(alice) == {"region": "衡阳", "n": 1}, "clearing state keeps data"
    assert await storage.get_state(bob) == "Form:income"

    assert await storage.update_data(bob, {"n": 2}) == {"region": "耒阳", "items": [1, 2], "n": 2}
    assert await storage.get_data(alice) == {"region": "衡阳", "n": 1}


async def test_every_key_part_is_significant(storage: SQLiteStorage, db: Database) -> None:
    base = key(7, chat_id=-100)
    variants = [
        base,
        StorageKey(bot_id=BOT_ID + 1, chat_id=-100, user_id=7),
        StorageKey(bot_id=BOT_ID, chat_id=-101, user_id=7),
        StorageKey(bot_id=BOT_ID, chat_id=-100, user_id=8),
        StorageKey(bot_id=BOT_ID, chat_id=-100, user_id=7, thread_id=5),
        StorageKey(bot_id=BOT_ID, chat_id=-100, user_id=7, business_connection_id="bc"),
        StorageKey(bot_id=BOT_ID, chat_id=-100, user_id=7, destiny="other"),
    ]
    for i, k in enumerate(variants):
        await storage.set_state(k, f"S:{i}")
        await storage.set_data(k, {"i": i})
    for i, k in enumerate(variants):
        assert await storage.get_state(k) == f"S:{i}"
        assert await storage.get_data(k) == {"i": i}
    row = await db.fetchone("SELECT count(*) FROM fsm_storage")
    assert row is not None
    assert row[0] == len(variants)


async def test_unknown_key_is_empty_and_empty_rows_are_dropped(storage: SQLiteStorage, db: Database) -> None:
    k = key(5)
    assert await storage.get_state(k) is None
    assert await storage.get_data(k) == {}
    await storage.set_state(k, Form.income)
    await storage.set_data(k, {"a": 1})
    await storage.set_state(k, None)
    await storage.set_data(k, {})
    assert await db.fetchall("SELECT * FROM fsm_storage") == []


async def test_non_json_data_is_rejected_before_writing(storage: SQLiteStorage) -> None:
    k = key(6)
    await storage.set_data(k, {"ok": True})
    with pytest.raises(TypeError):
        await storage.set_data(k, {"bad": object()})
    with pytest.raises(TypeError):
        await storage.update_data(k, {"bad": {1, 2}})
    assert await storage.get_data(k) == {"ok": True}


async def test_forget_user_deletes_all_rows_of_that_user_only(storage: SQLiteStorage) -> None:
    mine = [
        key(11),
        key(11, chat_id=-500),
        key(11, destiny="x"),
        StorageKey(bot_id=1, chat_id=11, user_id=11),
    ]
    other = key(12, chat_id=-500)
    for k in [*mine, other]:
        await storage.set_state(k, Form.region)
        await storage.set_data(k, {"x": 1})
    assert await storage.forget_user(11) == len(mine)
    for k in mine:
        assert await storage.get_state(k) is None
        assert await storage.get_data(k) == {}
    assert await storage.get_state(other) == "Form:region"
    assert await storage.forget_user(11) == 0


async def test_close_leaves_shared_database_open_unless_owned(db: Database) -> None:
    shared = SQLiteStorage(db)
    await shared.close()
    await shared.set_state(key(1), "still:works")
    owning = SQLiteStorage(db, close_database=True)
    await owning.close()
    with pytest.raises(DatabaseError, match="database is closed"):
        await shared.get_state(key(1))


async def test_nested_transaction_is_refused(db: Database) -> None:
    async with db.transaction():
        with pytest.raises(RuntimeError, match="re-entrant"):
            async with db.transaction():
                pass


async def test_failed_transaction_rolls_back(db: Database, storage: SQLiteStorage) -> None:
    async def write_then_fail() -> None:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO fsm_storage (chat_id, user_id, bot_id, state) VALUES (1, 1, 1, 'x')"
            )
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await write_then_fail()
    assert await storage.get_state(StorageKey(bot_id=1, chat_id=1, user_id=1)) is None
    await storage.set_state(key(1), "after:rollback")  # the connection is usable again


# --- persistence and durability ----------------------------------------------------------------------


async def test_file_database_setup_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "bot.sqlite3"
    async with await open_database(path) as database:
        assert path.is_file()
        for pragma, expected in [
            ("journal_mode", "wal"),
            ("busy_timeout", 5000),
            ("foreign_keys", 1),
            ("synchronous", 1),  # NORMAL
            ("user_version", len(MIGRATIONS)),
        ]:
            row = await database.fetchone(f"PRAGMA {pragma}")
            assert row is not None
            assert row[0] == expected, pragma
        storage = SQLiteStorage(database, close_database=True)
        await storage.set_state(key(1), Form.income)
        await storage.set_data(key(1), {"收入": 3.5, "list": ["a"]})
        await storage.close()

    async with await open_database(str(path)) as database:
        storage = SQLiteStorage(database)
        assert await storage.get_state(key(1)) == "Form:income"
        assert await storage.get_data(key(1)) == {"收入": 3.5, "list": ["a"]}


async def test_concurrent_update_data_loses_nothing(tmp_path: Path) -> None:
    users, fields = 500, 4
    async with await open_database(tmp_path / "bot.sqlite3") as database:
        storage = SQLiteStorage(database)
        await asyncio.gather(
            *(storage.update_data(key(u), {f"f{f}": u * 10 + f}) for f in range(fields) for u in range(users))
        )
        for u in range(users):
            assert await storage.get_data(key(u)) == {f"f{f}": u * 10 + f for f in range(fields)}


async def test_concurrent_updates_from_two_connections(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await open_database(path) as first, await open_database(path) as second:
        stores = [SQLiteStorage(first), SQLiteStorage(second)]
        await asyncio.gather(*(stores[i % 2].update_data(key(1), {f"f{i}": i}) for i in range(100)))
        assert await stores[0].get_data(key(1)) == {f"f{i}": i for i in range(100)}


CHILD_WRITES_THEN_SLEEPS = """
import asyncio, sys, time
from aiogram.fsm.storage.base import StorageKey
from bot.store.db import open_database
from bot.store.fsm import SQLiteStorage

async def main() -> None:
    db = await open_database(sys.argv[1])
    storage = SQLiteStorage(db)
    k = StorageKey(bot_id=42, chat_id=77, user_id=77)
    await storage.set_state(k, "Form:income")
    await storage.update_data(k, {"region": "衡阳", "step": 3})
    print("WRITTEN", flush=True)
    time.sleep(60)  # "replied"; now wait to be SIGKILLed with the connection still open

asyncio.run(main())
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
async def test_committed_state_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    proc = await spawn(CHILD_WRITES_THEN_SLEEPS, str(path))
    try:
        await wait_for_line(proc, b"WRITTEN")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        await kill(proc)
    assert proc.returncode == -signal.SIGKILL
    # The killed process could not checkpoint, so reopening has to recover the commits from the WAL.
    assert await asyncio.to_thread(os.path.exists, f"{path}-wal")

    async with await open_database(path) as database:
        storage = SQLiteStorage(database)
        k = StorageKey(bot_id=42, chat_id=77, user_id=77)
        assert await storage.get_state(k) == "Form:income"
        assert await storage.get_data(k) == {"region": "衡阳", "step": 3}


# --- start-up failures: clear errors, never a reset -------------------------------------------------


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    """`chattr +i`: even root cannot write the file / create entries in the directory."""
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("chattr not available: cannot make a file read-only for root")
    if subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False).returncode != 0:
        pytest.skip("chattr +i not permitted here (needs CAP_LINUX_IMMUTABLE and ext4/xfs/btrfs)")
    try:
        if os.access(path, os.W_OK) and not path.is_dir():
            pytest.skip("chattr +i did not make the file read-only")
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


async def make_db(path: Path) -> None:
    async with await open_database(path) as database:
        await SQLiteStorage(database).set_state(key(1), Form.region)


async def test_read_only_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    await make_db(path)
    before = path.read_bytes()
    with immutable(path), pytest.raises(DatabaseError) as info:
        await open_database(path)
    message = str(info.value)
    assert "数据库文件只读 / database is read-only" in message
    assert str(path) in message
    assert path.read_bytes() == before


async def test_read_only_directory_is_a_clear_error(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    directory.mkdir()
    with immutable(directory), pytest.raises(DatabaseError, match="只读 / database is read-only"):
        await open_database(directory / "new.sqlite3")
    assert not (directory / "new.sqlite3").exists()


async def test_random_bytes_file_is_a_clear_error_and_not_reset(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    garbage = os.urandom(16384)
    path.write_bytes(garbage)
    with pytest.raises(DatabaseError) as info:
        await open_database(path)
    message = str(info.value)
    assert "database file is corrupt or not a SQLite database" in message
    assert str(path) in message
    assert path.read_bytes() == garbage, "a corrupt database must never be silently reset"


async def test_failing_quick_check_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA page_size = 4096")
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [(f"row{i}" * 10,) for i in range(2000)])
    conn.commit()
    conn.close()
    with path.open("r+b") as f:  # flip a bit of page 3's first-freeblock pointer
        f.seek(2 * 4096 + 1)
        byte = f.read(1)[0]
        f.seek(2 * 4096 + 1)
        f.write(bytes([byte ^ 0x40]))
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="corrupt") as info:
        await open_database(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    await make_db(path)
    with pytest.raises(DatabaseError, match="newer than this program supports"):
        await open_database(path, migrations=MIGRATIONS[:0])


async def test_directory_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="is a directory"):
        await open_database(tmp_path)


CHILD_HOLDS_EXCLUSIVE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode = " + sys.argv[2])
conn.execute("CREATE TABLE IF NOT EXISTS lock_holder (x)")
conn.execute("BEGIN EXCLUSIVE")
conn.execute("INSERT INTO lock_holder VALUES (1)")
print("LOCKED", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("journal_mode", ["wal", "delete"])
async def test_locked_by_another_process_is_a_bounded_clear_error(tmp_path: Path, journal_mode: str) -> None:
    path = tmp_path / "bot.sqlite3"
    if journal_mode == "wal":
        await make_db(path)  # an existing bot database; another process holds its write lock
    proc = await spawn(CHILD_HOLDS_EXCLUSIVE_LOCK, str(path), journal_mode)
    try:
        await wait_for_line(proc, b"LOCKED")
        started = time.monotonic()
        with pytest.raises(DatabaseError) as info:
            await asyncio.wait_for(open_database(path, busy_timeout_ms=300), timeout=10)
        elapsed = time.monotonic() - started
    finally:
        await kill(proc)
    message = str(info.value)
    assert "database is locked by another process" in message
    assert str(path) in message
    assert 0.25 <= elapsed < 5, elapsed

    async with await open_database(path, busy_timeout_ms=300) as database:  # fine once the lock is gone
        row = await database.fetchone("PRAGMA user_version")
        assert row is not None
        assert row[0] == len(MIGRATIONS)


async def test_cancelled_writer_does_not_break_the_connection(storage: SQLiteStorage) -> None:
    tasks = [asyncio.create_task(storage.update_data(key(u), {"u": u})) for u in range(50)]
    await asyncio.sleep(0)
    for task in tasks[::2]:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await storage.set_state(key(1), "still:works")
    for u in range(1, 50, 2):
        assert await storage.get_data(key(u)) == {"u": u}
