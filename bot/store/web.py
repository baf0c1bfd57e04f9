"""The web door's records (bot/web/): one session per browser, the transcript of each web chat, and
the files the bot sent into it. SQL only, no aiogram.

A web session's user id (also its private chat's id) is allocated here from WEB_USER_BASE up, past
any Telegram user id, so the rest of the bot (rate limit, interviews, /forget, the question log) sees
one more user. Ids are never reused (AUTOINCREMENT), not even after a session expired.

The cookie's token is kept only as its SHA-256: the database alone lets nobody into a chat.
Every change to a transcript takes the chat's next revision number (`rev`); a page asks for what
changed since the revision it has. /forget deletes the transcript and moves `cleared_rev` up, so a
page that still shows the old messages is told to start afresh (`reset`).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # bot/store/db.py imports SCHEMA from here for its migration list
    from bot.store.db import Database

WEB_USER_BASE: Final = 9_000_000_000_000

# The SQL of migration 5 (bot/store/db.py MIGRATIONS): sessions, transcripts, files.
SCHEMA: Final = f"""
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

_COLUMNS: Final = "message_id, sender, body, markup, document, ts, rev, edited, deleted"
_TOUCH_SECONDS: Final = 3600  # seen_at is for expiry in days: an hour's precision costs few writes


@dataclass(frozen=True)
class StoredMessage:
    message_id: int
    sender: str  # "user" (body: their text) or "bot" (body: the HTML it sent)
    body: str
    markup: str | None  # the inline keyboard, as the Bot API's JSON
    document: dict[str, Any] | None  # {"token", "name", "size"}
    ts: int
    rev: int
    edited: bool
    deleted: bool


@dataclass(frozen=True)
class Changes:
    rev: int
    reset: bool  # the page must drop what it shows: `messages` is the whole transcript
    messages: list[StoredMessage]


@dataclass(frozen=True)
class StoredFile:
    name: str
    mime: str
    data: bytes


def _message(row: Any) -> StoredMessage:
    document = json.loads(row[4]) if row[4] else None
    return StoredMessage(
        int(row[0]), str(row[1]), str(row[2]), row[3], document, int(row[5]), int(row[6]),
        bool(row[7]), bool(row[8]),
    )  # fmt: skip


class WebStore:
    def __init__(self, db: Database, *, cache_size: int = 50_000) -> None:
        self.db = db
        self._users: dict[str, int] = {}  # token hash → user id (a session is read on every request)
        self._touched: dict[int, int] = {}
        self._cache_size = cache_size

    async def create_session(self, token_hash: str, now: int | None = None) -> int:
        stamp = int(time.time()) if now is None else now
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO web_sessions (token_hash, created_at, seen_at) VALUES (?, ?, ?)",
                (token_hash, stamp, stamp),
            )
            user_id = int(cursor.lastrowid or 0)
        self._remember(token_hash, user_id, stamp)
        return user_id

    async def session_user(self, token_hash: str) -> int | None:
        """The session's user id, or None (unknown or expired); marks the session as seen."""
        user_id = self._users.get(token_hash)
        if user_id is None:
            row = await self.db.fetchone(
                "SELECT user_id FROM web_sessions WHERE token_hash = ?", (token_hash,)
            )
            if row is None:
                return None
            user_id = int(row[0])
            self._remember(token_hash, user_id, 0)
        now = int(time.time())
        if now - self._touched.get(user_id, 0) >= _TOUCH_SECONDS:
            self._touched[user_id] = now
            await self.db.write("UPDATE web_sessions SET seen_at = ? WHERE user_id = ?", (now, user_id))
        return user_id

    def _remember(self, token_hash: str, user_id: int, touched: int) -> None:
        if len(self._users) >= self._cache_size:
            self._users.clear()
            self._touched.clear()
        self._users[token_hash] = user_id
        self._touched[user_id] = touched

    async def is_chat(self, chat_id: int) -> bool:
        row = await self.db.fetchone("SELECT 1 FROM web_sessions WHERE user_id = ?", (chat_id,))
        return row is not None

    async def add_message(
        self,
        chat_id: int,
        sender: str,
        body: str,
        *,
        markup: str | None = None,
        document: dict[str, Any] | None = None,
        now: int | None = None,
    ) -> StoredMessage | None:
        """A new message with the chat's next id; None when there is no such web chat."""
        stamp = int(time.time()) if now is None else now
        doc = json.dumps(document, ensure_ascii=False) if document is not None else None
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE web_sessions SET next_message_id = next_message_id + 1, rev = rev + 1 "
                "WHERE user_id = ? RETURNING next_message_id - 1, rev",
                (chat_id,),
            )
            row = await cursor.fetchone()
            await cursor.close()
            if row is None:
                return None
            message_id, rev = int(row[0]), int(row[1])
            await conn.execute(
                f"INSERT INTO web_messages ({_COLUMNS}, chat_id) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?)",
                (message_id, sender, body, markup, doc, stamp, rev, chat_id),
            )
        return StoredMessage(message_id, sender, body, markup, document, stamp, rev, False, False)

    async def message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM web_messages WHERE chat_id = ? AND message_id = ? AND deleted = 0",
            (chat_id, message_id),
        )
        return None if row is None else _message(row)

    async def edit_message(
        self, chat_id: int, message_id: int, body: str, markup: str | None
    ) -> StoredMessage | None:
        """The message with a new body and keyboard; None when it does not exist (any more)."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM web_messages WHERE chat_id = ? AND message_id = ? AND deleted = 0",
                (chat_id, message_id),
            )
            found = await cursor.fetchone()
            await cursor.close()
            if found is None:
                return None
            rev = await self._bump(conn, chat_id)
            cursor = await conn.execute(
                "UPDATE web_messages SET body = ?, markup = ?, edited = 1, rev = ? "
                f"WHERE chat_id = ? AND message_id = ? RETURNING {_COLUMNS}",
                (body, markup, rev, chat_id, message_id),
            )
            row = await cursor.fetchone()
            await cursor.close()
        return None if row is None else _message(row)

    async def delete_message(self, chat_id: int, message_id: int) -> bool:
        """Kept as a tombstone, so pages that show the message learn that it went."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM web_messages WHERE chat_id = ? AND message_id = ? AND deleted = 0",
                (chat_id, message_id),
            )
            found = await cursor.fetchone()
            await cursor.close()
            if found is None:
                return False
            rev = await self._bump(conn, chat_id)
            await conn.execute(
                "UPDATE web_messages SET body = '', markup = NULL, document = NULL, deleted = 1, rev = ? "
                "WHERE chat_id = ? AND message_id = ?",
                (rev, chat_id, message_id),
            )
        return True

    @staticmethod
    async def _bump(conn: Any, chat_id: int) -> int:
        cursor = await conn.execute(
            "UPDATE web_sessions SET rev = rev + 1 WHERE user_id = ? RETURNING rev", (chat_id,)
        )
        row = await cursor.fetchone()
        await cursor.close()
        return int(row[0])

    async def rev(self, chat_id: int) -> int:
        row = await self.db.fetchone("SELECT rev FROM web_sessions WHERE user_id = ?", (chat_id,))
        return 0 if row is None else int(row[0])

    async def changes(self, chat_id: int, since: int = 0) -> Changes:
        """What changed after revision `since`: the whole transcript (reset) when the page's
        revision predates a /forget, or is not one this chat has had."""
        row = await self.db.fetchone(
            "SELECT rev, cleared_rev FROM web_sessions WHERE user_id = ?", (chat_id,)
        )
        if row is None:
            return Changes(0, True, [])
        rev, cleared = int(row[0]), int(row[1])
        reset = since <= 0 or since < cleared or since > rev
        if reset:
            rows = await self.db.fetchall(
                f"SELECT {_COLUMNS} FROM web_messages WHERE chat_id = ? AND deleted = 0 ORDER BY message_id",
                (chat_id,),
            )
        else:
            rows = await self.db.fetchall(
                f"SELECT {_COLUMNS} FROM web_messages WHERE chat_id = ? AND rev > ? ORDER BY message_id",
                (chat_id, since),
            )
        return Changes(rev, reset, [_message(r) for r in rows])

    async def add_file(self, chat_id: int, name: str, mime: str, data: bytes) -> str:
        """A file the bot sent; its token is unguessable and only good with the chat's session."""
        token = secrets.token_urlsafe(24)
        await self.db.write(
            "INSERT INTO web_files (token, chat_id, name, mime, data, ts) VALUES (?, ?, ?, ?, ?, ?)",
            (token, chat_id, name, mime, data, int(time.time())),
        )
        return token

    async def file(self, chat_id: int, token: str) -> StoredFile | None:
        row = await self.db.fetchone(
            "SELECT name, mime, data FROM web_files WHERE token = ? AND chat_id = ?", (token, chat_id)
        )
        return None if row is None else StoredFile(str(row[0]), str(row[1]), bytes(row[2]))

    async def forget(self, chat_id: int) -> int:
        """/forget: the transcript and the files go; the session stays (the browser keeps its chat)."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM web_messages WHERE chat_id = ?", (chat_id,))
            deleted = cursor.rowcount
            cursor = await conn.execute("DELETE FROM web_files WHERE chat_id = ?", (chat_id,))
            deleted += cursor.rowcount
            await conn.execute(
                "UPDATE web_sessions SET rev = rev + 1, cleared_rev = rev + 1 WHERE user_id = ?", (chat_id,)
            )
        return deleted

    async def idle_sessions(self, idle_days: int, now: int | None = None) -> list[int]:
        cutoff = (int(time.time()) if now is None else now) - idle_days * 24 * 60 * 60
        rows = await self.db.fetchall("SELECT user_id FROM web_sessions WHERE seen_at < ?", (cutoff,))
        return [int(r[0]) for r in rows]

    async def drop_session(self, user_id: int) -> None:
        """An expired session, with its transcript and files (the caller forgets the rest)."""
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM web_messages WHERE chat_id = ?", (user_id,))
            await conn.execute("DELETE FROM web_files WHERE chat_id = ?", (user_id,))
            await conn.execute("DELETE FROM web_sessions WHERE user_id = ?", (user_id,))
        for token_hash in [h for h, u in self._users.items() if u == user_id]:
            del self._users[token_hash]
        self._touched.pop(user_id, None)
