"""Faults: the real `python -m bot run` killed with SIGKILL in the middle of hundreds of interviews
and restarted (every interview resumes, no answer lost); SIGTERM finishing the updates in flight;
Telegram's 429 (retry_after), 403 (blocked) and network errors; a database that cannot be used
is a clear error at start, never a silent reset."""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates
from aiogram.types import Update

from benchmarks.load import Oracle, Process, SimUser, Stand, bot_process, wait_ready
from bot.config import Settings
from bot.factory import create_bot, create_dispatcher
from bot.store.db import Database, open_database
from bot.transport.delivery import BlockedChats, RetryMiddleware, RetryPolicy
from bot.transport.json_session import JsonSession
from eligibility.answer import Assistant
from tests.botapi_stub import BotAPIStub
from tests.test_storage import CHILD_HOLDS_EXCLUSIVE_LOCK, immutable, kill, make_db, spawn, wait_for_line

ROOT = Path(__file__).resolve().parents[1]
USER = 515151


@pytest.fixture
async def api() -> AsyncIterator[BotAPIStub]:
    async with BotAPIStub() as stub:
        yield stub


@pytest.fixture(scope="module")
def oracle() -> Oracle:
    return Oracle()


# --- SIGKILL in the middle of hundreds of interviews ------------------------------------------------


@pytest.mark.parametrize(("mode", "users"), [("polling", 200), ("webhook", 100)])
async def test_kill_and_restart_loses_no_interview(
    api: BotAPIStub, tmp_path: Path, oracle: Oracle, mode: str, users: int
) -> None:
    stand = Stand(api)
    people = [
        SimUser(
            stand, 600_000 + n, random.Random(n), specs=oracle.specs, timeout=90, tolerate_duplicates=True
        )
        for n in range(users)
    ]
    bot = bot_process(api, mode, "bot", tmp_path, RATE_LIMIT_BURST="0")
    await bot.start()
    restarted: Process | None = None
    try:
        await wait_ready(api, mode, bot)
        runs = [asyncio.create_task(p.chat(questions=False)) for p in people]
        while sum(len(p.actions) for p in people) < 5 * users:  # noqa: ASYNC110 (a count over hundreds of users)
            await asyncio.sleep(0.02)
        in_progress = [p for p in people if p.in_interview]
        await bot.kill()  # SIGKILL: no shutdown of any kind
        restarted = bot_process(api, mode, "bot", tmp_path, RATE_LIMIT_BURST="0")
        await restarted.start()
        await wait_ready(api, mode, restarted)
        await asyncio.wait_for(asyncio.gather(*runs), 180)
        await asyncio.sleep(0.5)
        for person in people:
            person._drain("after the end")
        assert len(in_progress) >= users * 0.7, "the kill came too late to catch interviews in progress"
        for person in people:
            assert person.lost == 0, (person.user_id, person.problems)
            assert person.problems == [], (person.user_id, person.problems)
            assert person.done, person.user_id
            assert oracle.check(person) == [], (person.user_id, oracle.check(person))
        assert await restarted.stop() == 0
    finally:
        await bot.kill()
        if restarted is not None:
            await restarted.kill()
    log = (tmp_path / "bot.log").read_text()
    assert "Traceback" not in log, log[-3000:]


# --- SIGTERM lets the updates in flight finish ------------------------------------------------------


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_sigterm_finishes_updates_in_flight(api: BotAPIStub, tmp_path: Path, mode: str) -> None:
    bot = bot_process(api, mode, "bot", tmp_path, RATE_LIMIT_BURST="0")
    await bot.start()
    try:
        await wait_ready(api, mode, bot)
        api.delay_next("sendMessage", 2.0, chat_id=USER)  # the answer takes two seconds to go out
        cursor = api.cursor()
        api.send_text(USER, "海外仓租金能补贴多少")
        await cursor.wait_for("sendChatAction", chat_id=USER, timeout=30)  # the handler is running
        assert bot.proc is not None
        bot.proc.terminate()
        answer = await cursor.wait_for("sendMessage", chat_id=USER, timeout=30)
        assert answer.ok
        assert "海外仓" in answer.params["text"]
        assert await asyncio.wait_for(bot.proc.wait(), 30) == 0
    finally:
        await bot.kill()
    question = api.updates[-1]["update_id"]
    async with await open_database(tmp_path / "bot.sqlite3") as db:
        row = await db.fetchone("SELECT COUNT(*) FROM update_journal")
        assert row is not None
        assert row[0] == 0  # handled: nothing to replay at the next start
        if mode == "polling":  # and confirmed: the next start asks for what comes after it
            row = await db.fetchone("SELECT next_update FROM polling_offset")
            assert row is not None
            assert row[0] > question
    if mode == "webhook":
        assert api.pending_updates == []  # answered 200 once handled: Telegram will not send it again
    log = bot.log.read_text()
    assert "Traceback" not in log, log[-3000:]


# --- the database at start: created when missing, a clear error otherwise ---------------------------


async def run_bot(api: BotAPIStub, db: Path) -> tuple[int, str]:
    """`python -m bot run` on `db`, to its end: (exit code, standard error)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": "1:DB-test",
        "TELEGRAM_API_URL": api.base_url,
        "DATABASE_PATH": str(db),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=db.parent, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, stderr.decode(errors="replace")


async def test_a_missing_database_is_created(api: BotAPIStub, tmp_path: Path) -> None:
    db = tmp_path / "new" / "bot.sqlite3"
    bot = bot_process(api, "polling", "bot", tmp_path, DATABASE_PATH=str(db))
    await bot.start()
    try:
        await wait_ready(api, "polling", bot)
        assert db.is_file()
        assert await bot.stop() == 0
    finally:
        await bot.kill()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_corrupt_database_is_a_clear_error_never_a_reset(api: BotAPIStub, tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    garbage = os.urandom(8192)
    db.write_bytes(garbage)
    code, stderr = await run_bot(api, db)
    assert code == 2
    assert "database file is corrupt or not a SQLite database" in stderr
    assert str(db) in stderr
    assert "Traceback" not in stderr
    assert db.read_bytes() == garbage
    assert api.calls == []  # it stopped before talking to Telegram


async def test_a_read_only_database_is_a_clear_error(api: BotAPIStub, tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    await make_db(db)
    before = db.read_bytes()
    with immutable(db):
        code, stderr = await run_bot(api, db)
    assert code == 2
    assert "database is read-only" in stderr
    assert "Traceback" not in stderr
    assert db.read_bytes() == before


async def test_a_database_locked_by_another_process_is_a_clear_error(api: BotAPIStub, tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    await make_db(db)
    holder = await spawn(CHILD_HOLDS_EXCLUSIVE_LOCK, str(db), "wal")
    try:
        await wait_for_line(holder, b"LOCKED")
        code, stderr = await run_bot(api, db)
    finally:
        await kill(holder)
    assert code == 2
    assert "database is locked by another process" in stderr
    assert "Traceback" not in stderr


# --- Telegram's answers: 429, 403, 5xx, the network --------------------------------------------------


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
async def db() -> AsyncIterator[Database]:
    database = await open_database(":memory:")
    yield database
    await database.close()


@pytest.fixture
async def retrying(api: BotAPIStub, db: Database) -> AsyncIterator[tuple[Bot, Sleeps, BlockedChats]]:
    """A bot on the stand-in with the retry middleware, its sleeps recorded (not slept), no jitter."""
    sleeps = Sleeps()
    blocked = BlockedChats(db)
    await blocked.load()
    session = JsonSession(api=TelegramAPIServer.from_base(api.base_url))
    bot = Bot("7:RETRY", session=session)
    policy = RetryPolicy(max_retries=3, max_retry_after=30, jitter=0.0)
    bot.session.middleware(RetryMiddleware(policy, blocked=blocked, sleep=sleeps))
    api.set_user(USER)
    yield bot, sleeps, blocked
    await bot.session.close()


async def test_429_is_waited_out_and_the_reply_delivered(
    api: BotAPIStub, retrying: tuple[Bot, Sleeps, BlockedChats]
) -> None:
    bot, sleeps, _ = retrying
    api.fail_next("sendMessage", 429, retry_after=3, count=2)
    message = await bot.send_message(USER, "你好")
    assert message.text == "你好"
    assert sleeps == [3, 3]
    assert [c.ok for c in api.calls_since(0, "sendMessage")] == [False, False, True]
    assert [m["text"] for m in api.messages(USER)] == ["你好"]


async def test_a_429_asking_for_too_long_is_raised(
    api: BotAPIStub, retrying: tuple[Bot, Sleeps, BlockedChats]
) -> None:
    bot, sleeps, _ = retrying
    api.fail_next("sendMessage", 429, retry_after=3600)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(USER, "你好")
    assert sleeps == []


async def test_server_and_network_errors_are_retried_with_backoff(
    api: BotAPIStub, retrying: tuple[Bot, Sleeps, BlockedChats]
) -> None:
    bot, sleeps, _ = retrying
    api.fail_next("sendMessage", 502, count=1)
    api.drop_next("sendMessage", count=2)  # the connection closes without an answer
    await bot.send_message(USER, "你好")
    assert sleeps == [0.5, 1.0, 2.0]
    assert [m["text"] for m in api.messages(USER)] == ["你好"]


async def test_retries_are_bounded(api: BotAPIStub, retrying: tuple[Bot, Sleeps, BlockedChats]) -> None:
    bot, sleeps, _ = retrying
    api.fail_next("sendMessage", 500, count=10)
    with pytest.raises(TelegramServerError):
        await bot.send_message(USER, "你好")
    assert sleeps == [0.5, 1.0, 2.0]  # max_retries=3
    api.clear_faults()
    api.drop_next("sendMessage", count=10)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(USER, "你好")


async def test_blocked_is_recorded_not_retried_and_cleared_on_return(
    api: BotAPIStub, retrying: tuple[Bot, Sleeps, BlockedChats], db: Database
) -> None:
    bot, sleeps, blocked = retrying
    api.block_user(USER)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(USER, "你好")
    assert sleeps == []
    assert len(api.calls_since(0, "sendMessage")) == 1
    assert USER in blocked
    assert await blocked.all() == {USER}
    api.unblock_user(USER)
    await bot.send_message(USER, "又见面了")  # they unblocked the bot and wrote again
    assert USER not in blocked
    assert await blocked.all() == set()


async def test_get_updates_is_left_to_the_poller(
    api: BotAPIStub, retrying: tuple[Bot, Sleeps, BlockedChats]
) -> None:
    bot, sleeps, _ = retrying
    api.fail_next("getUpdates", 500)
    with pytest.raises(TelegramServerError):
        await bot(GetUpdates(timeout=0))
    assert sleeps == []


async def test_through_the_dispatcher_a_429_still_answers_and_a_403_is_quiet(
    api: BotAPIStub, db: Database, assistant: Assistant, caplog: pytest.LogCaptureFixture
) -> None:
    """The real handlers on the stand-in: a 429 on the reply is waited out; a user who blocked the
    bot is recorded, and neither an error message nor a traceback follows."""
    settings = Settings(_env_file=None, bot_token=None)  # type: ignore[call-arg]
    blocked = BlockedChats(db)
    session = JsonSession(api=TelegramAPIServer.from_base(api.base_url))
    bot = create_bot("8:DISPATCH", session, retry=RetryPolicy(jitter=0.0), blocked=blocked)
    dp = create_dispatcher(settings, assistant=assistant, db=db)

    async def say(text: str) -> None:
        message = api.send_text(USER, text)
        update = Update.model_validate({"update_id": 1, "message": message}, context={"bot": bot})
        await dp.feed_update(bot, update)

    try:
        api.fail_next("sendMessage", 429, retry_after=1, chat_id=USER)
        started = datetime.now(UTC)
        await say("/start")
        assert (datetime.now(UTC) - started).total_seconds() >= 1
        [welcome] = api.messages(USER)
        assert "衡政发〔2024〕4号" in welcome["text"]

        api.block_user(USER)
        await say("/start")
        assert USER in blocked
        assert len(api.calls_since(0, "sendMessage", chat_id=USER, ok=False)) == 2  # the 429, the 403
        assert "Traceback" not in caplog.text
        assert not [r for r in caplog.records if r.levelname == "ERROR"]
    finally:
        await bot.session.close()


async def test_a_typing_indicator_is_not_waited_for(
    api: BotAPIStub, retrying: tuple[Bot, Sleeps, BlockedChats]
) -> None:
    bot, sleeps, _ = retrying
    api.fail_next("sendChatAction", 429, retry_after=5)
    assert await bot.send_chat_action(USER, "typing") is True
    assert sleeps == []
