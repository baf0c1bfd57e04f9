"""SQLite persistence: one shared connection, start-up checks and schema migrations.

Usage::

    db = await open_database("data/bot.sqlite3")
    async with db.transaction() as conn:
        await conn.execute("INSERT ...", (...))
    await db.close()

Rules for code sharing the connection:

* every write goes through :meth:`Database.transaction` (``BEGIN IMMEDIATE`` … ``COMMIT`` under an
  ``asyncio.Lock``); a bare write on ``db.conn`` would join whatever transaction another coroutine has
  open and could be rolled back with it;
* reads use :meth:`Database.fetchone` / :meth:`Database.fetchall` (or ``conn`` inside a transaction),
  so they never observe another coroutine's half-finished transaction.

Schema changes are appended to :data:`MIGRATIONS`; the position in the list (1-based) is the
``PRAGMA user_version`` the database has once that script has run.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import aiosqlite

__all__ = ["DEFAULT_BUSY_TIMEOUT_MS", "MEMORY", "MIGRATIONS", "Database", "DatabaseError", "open_database"]

MEMORY: Final = ":memory:"
DEFAULT_BUSY_TIMEOUT_MS: Final = 5000

# Append-only. Never edit, reorder or remove an entry that has shipped: a database that already ran
# script N will not run it again. Scripts must not contain BEGIN/COMMIT (each one is run inside a
# transaction together with the user_version bump).
WEB_USER_BASE: Final = 9_000_000_000_000

# The web door's tables (migration 5; bot/store/web.py holds the SQL that uses them): sessions,
# transcripts, files. Web users' ids start above any Telegram user's.
WEB_SCHEMA: Final = f"""
CREATE TABLE web_sessions (
    user_id         INTEGER PRIMARY KEY AUTOINCREMENT CHECK (user_id >= {WEB_USER_BASE}),
    token_hash      TEXT    NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    seen_at         INTEGER NOT NULL,
    next_message_id INTEGER NOT NULL DEFAULT 1,
    rev             INTEGER NOT NULL DEFAULT 0,
    cleared_rev     INTEGER NOT NULL DEFAULT 0
);
INSERT INTO sqlite_sequence (name, seq) VALUES ('web_sessions', {WEB_USER_BASE - 1});
CREATE INDEX web_sessions_seen_at ON web_sessions (seen_at);
CREATE TABLE web_messages (
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    sender     TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    markup     TEXT,
    document   TEXT,
    ts         INTEGER NOT NULL,
    rev        INTEGER NOT NULL,
    edited     INTEGER NOT NULL DEFAULT 0,
    deleted    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, message_id)
) WITHOUT ROWID;
CREATE INDEX web_messages_rev ON web_messages (chat_id, rev);
CREATE TABLE web_files (
    token   TEXT    PRIMARY KEY,
    chat_id INTEGER NOT NULL,
    name    TEXT    NOT NULL,
    mime    TEXT    NOT NULL,
    data    BLOB    NOT NULL,
    ts      INTEGER NOT NULL
);
CREATE INDEX web_files_chat_id ON web_files (chat_id);
"""


MIGRATIONS: list[str] = [
    # 1: aiogram FSM storage (bot/storage.py). NULL key parts are stored as 0 / '' so that the
    # primary key is a real unique key (NULLs never compare equal in SQLite).
    """
    CREATE TABLE fsm_storage (
        chat_id                INTEGER NOT NULL,
        user_id                INTEGER NOT NULL,
        bot_id                 INTEGER NOT NULL,
        thread_id              INTEGER NOT NULL DEFAULT 0,
        business_connection_id TEXT    NOT NULL DEFAULT '',
        destiny                TEXT    NOT NULL DEFAULT 'default',
        state                  TEXT,
        data                   TEXT    NOT NULL DEFAULT '{}',
        updated_at             INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
        PRIMARY KEY (chat_id, user_id, bot_id, thread_id, business_connection_id, destiny)
    ) WITHOUT ROWID;
    CREATE INDEX fsm_storage_user_id ON fsm_storage (user_id);
    """,
    # 2: the bot's own tables (bot/users.py): each user's chosen language, and every question asked
    # with the matcher's outcome, for staff to triage what the knowledge base does not cover.
    """
    CREATE TABLE user_settings (
        user_id    INTEGER PRIMARY KEY,
        lang       TEXT    NOT NULL,
        updated_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
    );
    CREATE TABLE question_log (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        ts        INTEGER NOT NULL,
        user_id   INTEGER,
        chat_id   INTEGER,
        lang      TEXT    NOT NULL,
        text      TEXT    NOT NULL,
        outcome   TEXT    NOT NULL,
        top_id    TEXT,
        top_score REAL
    );
    CREATE INDEX question_log_outcome_ts ON question_log (outcome, ts);
    """,
    # 3: delivery and durability (bot/delivery.py, bot/polling.py, bot/privacy.py): chats that blocked
    # the bot (Telegram answered 403); updates fetched by long polling and not yet handled, replayed
    # after a crash, with the polling offset per bot; the question log's indexes for the retention
    # purge and /forget.
    """
    CREATE TABLE blocked_chats (
        chat_id    INTEGER PRIMARY KEY,
        blocked_at INTEGER NOT NULL
    );
    CREATE TABLE update_journal (
        bot_id      INTEGER NOT NULL,
        update_id   INTEGER NOT NULL,
        payload     TEXT    NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (bot_id, update_id)
    ) WITHOUT ROWID;
    CREATE TABLE polling_offset (
        bot_id      INTEGER PRIMARY KEY,
        next_update INTEGER NOT NULL
    );
    CREATE INDEX question_log_ts ON question_log (ts);
    CREATE INDEX question_log_user_id ON question_log (user_id);
    """,
    # 4: the knowledge base staff keep (bot/kb_store.py): every version of each policy document
    # (its full data, who, when, the action) and the fields each changed, before and after; the
    # shipped files seen (the base of a merge); conflicts between staff edits and a new release;
    # staff out-of-scope rulings; the questions staff decided on in the inbox (bot/inbox.py);
    # counted events for /stats (bot/stats.py: no user ids); chats given the staff command menu.
    """
    CREATE TABLE kb_versions (
        id                  INTEGER PRIMARY KEY AUTOINCREMENT,
        ts                  INTEGER NOT NULL,
        who                 TEXT    NOT NULL,
        action              TEXT    NOT NULL,
        doc                 TEXT    NOT NULL,
        data                TEXT,
        shipped_fingerprint TEXT    NOT NULL,
        note                TEXT    NOT NULL DEFAULT ''
    );
    CREATE INDEX kb_versions_doc ON kb_versions (doc, id);
    CREATE TABLE kb_changes (
        version_id INTEGER NOT NULL REFERENCES kb_versions (id),
        seq        INTEGER NOT NULL,
        target     TEXT    NOT NULL,
        field      TEXT    NOT NULL,
        before     TEXT,
        after      TEXT,
        PRIMARY KEY (version_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX kb_changes_target ON kb_changes (target, version_id);
    CREATE TABLE kb_shipped (
        fingerprint TEXT    PRIMARY KEY,
        doc         TEXT    NOT NULL,
        first_seen  INTEGER NOT NULL,
        data        TEXT    NOT NULL
    );
    CREATE TABLE kb_conflicts (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        version_id  INTEGER NOT NULL REFERENCES kb_versions (id),
        doc         TEXT    NOT NULL,
        target      TEXT    NOT NULL,
        field       TEXT    NOT NULL,
        base        TEXT,
        ours        TEXT,
        theirs      TEXT,
        status      TEXT    NOT NULL DEFAULT 'open',
        resolved_by TEXT,
        resolved_at INTEGER,
        resolution  INTEGER
    );
    CREATE TABLE kb_referrals (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        version_id   INTEGER NOT NULL REFERENCES kb_versions (id),
        phrasing     TEXT    NOT NULL,
        message_zh   TEXT    NOT NULL,
        message_en   TEXT    NOT NULL,
        withdrawn_by INTEGER
    );
    CREATE TABLE inbox_handled (
        question_id INTEGER PRIMARY KEY,
        decision    TEXT    NOT NULL,
        version_id  INTEGER,
        who         TEXT    NOT NULL,
        ts          INTEGER NOT NULL
    );
    CREATE TABLE bot_events (
        ts   INTEGER NOT NULL,
        kind TEXT    NOT NULL
    );
    CREATE INDEX bot_events_kind_ts ON bot_events (kind, ts);
    CREATE TABLE staff_menus (
        chat_id INTEGER PRIMARY KEY
    );
    """,
    # 5: the web door (bot/web/, SQL in bot/store/web.py): a session per browser with its own user
    # id (from 9_000_000_000_000 up), each web chat's transcript, and the files the bot sent there.
    WEB_SCHEMA,
    # 6: each chat's conversation context for free questions (bot/store/conversations.py): the
    # clause being discussed and the facts stated, so a follow-up ("那1500平米的呢") is read with it.
    """
    CREATE TABLE conversations (
        chat_id    INTEGER NOT NULL,
        user_id    INTEGER NOT NULL,
        data       TEXT    NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (chat_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX conversations_user_id ON conversations (user_id);
    """,
    # 7: documents added and removed by staff (bot/store/versions.py): a version may carry its
    # document's source text (a document that did not ship has no file to quote from; NULL: the
    # one before, or the shipped file's), and a removal is a version that marks the document gone.
    """
    ALTER TABLE kb_versions ADD COLUMN source TEXT;
    ALTER TABLE kb_versions ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
    """,
]


class DatabaseError(RuntimeError):
    """The database cannot be used; the message names the file and the reason (zh / en)."""


class Database:
    """One aiosqlite connection (autocommit mode) plus a lock that serialises its transactions."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn: Final = conn
        self.path: Final = path
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._closed = False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any exception). Not re-entrant."""
        self._check_open()
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            raise RuntimeError("Database.transaction() is not re-entrant (nested call in the same task)")
        async with self._lock:
            self._owner = task
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                yield self.conn
                await self.conn.commit()
            except BaseException:
                # Unconditional: sqlite3's rollback() is a no-op without an open transaction, and it is
                # queued behind a BEGIN/COMMIT that a cancellation may have left still pending.
                await self.conn.rollback()
                raise
            finally:
                self._owner = None

    async def write(self, sql: str, parameters: Iterable[Any] = ()) -> int:
        """One statement, atomic on its own (autocommit), under the lock: the cheap form of a
        single-statement :meth:`transaction` (one round trip to the database thread instead of
        three). Returns the number of rows changed."""
        self._check_open()
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            raise RuntimeError("Database.write() inside a transaction of the same task: use its connection")
        async with self._lock:
            cursor = await self.conn.execute(sql, parameters)
            return int(cursor.rowcount)

    async def fetchone(self, sql: str, parameters: Iterable[Any] = ()) -> sqlite3.Row | None:
        self._check_open()
        async with self._lock, self.conn.execute(sql, parameters) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> list[sqlite3.Row]:
        self._check_open()
        async with self._lock, self.conn.execute(sql, parameters) as cursor:
            return list(await cursor.fetchall())

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseError(f"数据库已关闭 / database is closed: {self.path}")

    async def close(self) -> None:
        """Close the connection (idempotent). The last connection to close checkpoints the WAL."""
        if self._closed:
            return
        self._closed = True
        async with self._lock:
            await self.conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def open_database(
    path: str | os.PathLike[str],
    *,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    migrations: Sequence[str] = MIGRATIONS,
) -> Database:
    """Open (creating if needed) the database at *path*, check it and bring the schema up to date.

    Raises :class:`DatabaseError` if the file is read-only, corrupt / not SQLite, locked by another
    process for longer than *busy_timeout_ms*, or has a newer schema than *migrations*. An existing
    file is never deleted or reset.
    """
    memory = os.fspath(path) == MEMORY
    file = None if memory else await asyncio.to_thread(_prepare_path, path)
    shown = str(file) if file is not None else MEMORY

    try:
        conn = await aiosqlite.connect(
            file if file is not None else MEMORY,
            isolation_level=None,  # autocommit; transactions are explicit (Database.transaction)
            timeout=busy_timeout_ms / 1000,
        )
    except sqlite3.Error as e:
        raise _translate(e, file, shown, busy_timeout_ms) from e

    try:
        await _setup(conn, shown, busy_timeout_ms, migrations, in_memory=memory)
    except BaseException as e:
        await conn.close()
        if isinstance(e, sqlite3.Error):
            raise _translate(e, file, shown, busy_timeout_ms) from e
        raise
    return Database(conn, shown)


def _prepare_path(path: str | os.PathLike[str]) -> Path:
    """Absolute path of the database file; creates its parent directory."""
    file = Path(path).expanduser().absolute()
    if file.is_dir():
        raise DatabaseError(f"数据库路径是目录 / database path is a directory: {file}")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        if isinstance(e, PermissionError) or e.errno == getattr(os, "EROFS", None):
            raise DatabaseError(
                f"数据库目录只读，无法创建 / database directory is read-only, cannot create: {file.parent}"
            ) from e
        raise DatabaseError(
            f"无法创建数据库目录 / cannot create database directory: {file.parent} ({e})"
        ) from e
    return file


async def _scalar(conn: aiosqlite.Connection, sql: str) -> Any:
    async with conn.execute(sql) as cursor:
        row = await cursor.fetchone()
    return None if row is None else row[0]


async def _setup(
    conn: aiosqlite.Connection,
    shown: str,
    busy_timeout_ms: int,
    migrations: Sequence[str],
    *,
    in_memory: bool,
) -> None:
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    await conn.execute("PRAGMA foreign_keys = ON")
    # quick_check is the first statement that reads the file ("not a database", locked and unreadable
    # surface here) and runs before anything could write to it (switching to WAL rewrites the header).
    async with conn.execute("PRAGMA quick_check") as cursor:
        problems = [str(row[0]) for row in await cursor.fetchall()]
    if problems != ["ok"]:
        detail = "; ".join(problems)[:500]
        raise DatabaseError(
            f"数据库文件已损坏（未自动重置，请恢复备份或移走该文件） / database file is corrupt "
            f"(quick_check failed; NOT reset automatically — restore a backup or move it aside): "
            f"{shown}: {detail}"
        )

    mode = await _scalar(conn, "PRAGMA journal_mode = WAL")
    if not in_memory and str(mode).lower() != "wal":
        raise DatabaseError(f"无法启用 WAL 日志模式 / cannot enable WAL journal mode (got {mode!r}): {shown}")
    await conn.execute("PRAGMA synchronous = NORMAL")

    # One write transaction per start: applies pending migrations and always rewrites user_version,
    # which is a real write, so a read-only file or a lock held elsewhere fails here, at start.
    try:
        await conn.execute("BEGIN IMMEDIATE")
        version = int(await _scalar(conn, "PRAGMA user_version"))
        if version > len(migrations):
            raise DatabaseError(
                f"数据库版本 {version} 高于程序支持的 {len(migrations)}（请升级程序） / database schema "
                f"version {version} is newer than this program supports ({len(migrations)}): {shown}"
            )
        for script in migrations[version:]:
            # conn.executescript() would COMMIT first on Python 3.11; run the statements one by one.
            for statement in _split_sql(script):
                await conn.execute(statement)
        await conn.execute(f"PRAGMA user_version = {len(migrations)}")
        await conn.commit()
    except BaseException:
        await conn.rollback()
        raise


def _split_sql(script: str) -> list[str]:
    """Split a script into complete statements (sqlite3.complete_statement handles ';' in strings)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:200]!r}")
    return statements


def _unwritable(file: Path | None) -> bool:
    if file is None:
        return False
    candidates = [file, Path(f"{file}-wal"), Path(f"{file}-shm")]
    if any(p.exists() and not os.access(p, os.W_OK) for p in candidates):
        return True
    return not os.access(file.parent, os.W_OK)


def _translate(error: sqlite3.Error, file: Path | None, shown: str, busy_timeout_ms: int) -> DatabaseError:
    code = getattr(error, "sqlite_errorcode", -1) & 0xFF
    reason = f"{getattr(error, 'sqlite_errorname', type(error).__name__)}: {error}"
    cannot_open = code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM)
    if code == sqlite3.SQLITE_READONLY or (cannot_open and _unwritable(file)):
        return DatabaseError(f"数据库文件只读 / database is read-only: {shown} ({reason})")
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        return DatabaseError(
            f"数据库文件已损坏或不是 SQLite 数据库（未自动重置，请恢复备份或移走该文件） / database file "
            f"is corrupt or not a SQLite database (NOT reset automatically — restore a backup or move it "
            f"aside): {shown} ({reason})"
        )
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return DatabaseError(
            f"数据库被其他进程锁定（已等待 {busy_timeout_ms} ms） / database is locked by another process "
            f"(waited {busy_timeout_ms} ms): {shown} ({reason})"
        )
    return DatabaseError(f"无法打开数据库 / cannot open database: {shown} ({reason})")
