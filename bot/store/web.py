"""The web door's records (bot/web/): one session per browser, the transcript of each web chat, and
the files the bot sent into it. SQL only, no aiogram.

A web session's user id (also its private chat's id) is allocated here from WEB_USER_BASE up, past
any Telegram user id, so the rest of the bot (rate limit, interviews, /forget, the question log) sees
one more user. Ids are never reused (AUTOINCREMENT), not even after a session expired.

The cookie's token is kept only as its SHA-256: the database alone lets nobody into a chat.
Every change to a transcript takes the chat's next revision number (`rev`); a page asks for what
changed since the revision it has. /forget deletes the transcript and moves `cleared_rev` up, so a
page that still shows the old messages is told to start afresh (`reset`).

The door's process is the only writer of these tables (one `policybot web` per database), so each
chat's counters, and what is needed of each message to edit it (sender, time, a digest of its
content), are kept in memory once read; a message sent or edited is then one statement, and the
database lock every user shares is held as briefly as for a Telegram update. The counters on disk
are those of the last /forget; on reading a chat they are taken up to the highest its messages carry.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from bot.store.db import Database

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


@dataclass(frozen=True)
class _Meta:
    """What is kept in memory of a message: enough to edit it without reading it first."""

    sender: str
    ts: int
    digest: int  # hash of (body, markup): an edit to the same content changes nothing
    document: dict[str, Any] | None


RECENT: Final = 6  # changes kept whole per chat: a reply's, and the message pressed, are among them


@dataclass
class _Chat:
    next_id: int
    rev: int
    cleared: int
    messages: dict[int, _Meta] = field(default_factory=dict)  # those not deleted
    # The latest changes, whole; every change after revision `floor` is among them.
    recent: deque[StoredMessage] = field(default_factory=lambda: deque(maxlen=RECENT))
    floor: int = 0

    def changed(self, message: StoredMessage) -> None:
        if len(self.recent) == RECENT:
            self.floor = self.recent[0].rev
        self.recent.append(message)


def _message(row: Any) -> StoredMessage:
    document = json.loads(row[4]) if row[4] else None
    return StoredMessage(
        int(row[0]), str(row[1]), str(row[2]), row[3], document, int(row[5]), int(row[6]),
        bool(row[7]), bool(row[8]),
    )  # fmt: skip


class WebStore:
    def __init__(self, db: Database, *, cache_size: int = 20_000) -> None:
        self.db = db
        self._users: dict[str, int] = {}  # token hash → user id (a session is read on every request)
        self._touched: dict[int, int] = {}
        self._chats: OrderedDict[int, _Chat] = OrderedDict()  # most recently used last
        self._cache_size = cache_size

    # -- sessions

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
        if len(self._users) >= 5 * self._cache_size:
            self._users.clear()
            self._touched.clear()
        self._users[token_hash] = user_id
        self._touched[user_id] = touched

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
        self._chats.pop(user_id, None)

    # -- transcripts

    async def _chat(self, chat_id: int) -> _Chat | None:
        """The chat's counters and its messages' metadata: read once, then kept."""
        chat = self._chats.get(chat_id)
        if chat is not None:
            self._chats.move_to_end(chat_id)
            return chat
        row = await self.db.fetchone(
            "SELECT next_message_id, rev, cleared_rev FROM web_sessions WHERE user_id = ?", (chat_id,)
        )
        if row is None:
            return None
        rows = await self.db.fetchall(
            "SELECT message_id, sender, ts, rev, deleted, body, markup, document FROM web_messages "
            "WHERE chat_id = ?",
            (chat_id,),
        )
        loaded = _Chat(int(row[0]), int(row[1]), int(row[2]))
        for r in rows:
            loaded.next_id = max(loaded.next_id, int(r[0]) + 1)
            loaded.rev = max(loaded.rev, int(r[3]))
            if not r[4]:
                document = json.loads(r[7]) if r[7] else None
                loaded.messages[int(r[0])] = _Meta(str(r[1]), int(r[2]), hash((r[5], r[6])), document)
        loaded.floor = loaded.rev  # nothing in `recent` yet
        chat = self._chats.setdefault(chat_id, loaded)  # unless another request read it meanwhile
        if len(self._chats) > self._cache_size:
            self._chats.popitem(last=False)
        return chat

    async def is_chat(self, chat_id: int) -> bool:
        return await self._chat(chat_id) is not None

    async def rev(self, chat_id: int) -> int:
        chat = await self._chat(chat_id)
        return 0 if chat is None else chat.rev

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
        chat = await self._chat(chat_id)
        if chat is None:
            return None
        stamp = int(time.time()) if now is None else now
        message_id, rev = chat.next_id, chat.rev + 1
        chat.next_id, chat.rev = message_id + 1, rev  # taken before any await: never handed out twice
        chat.messages[message_id] = _Meta(sender, stamp, hash((body, markup)), document)
        doc = json.dumps(document, ensure_ascii=False) if document is not None else None
        await self.db.write(
            f"INSERT INTO web_messages ({_COLUMNS}, chat_id) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?)",
            (message_id, sender, body, markup, doc, stamp, rev, chat_id),
        )
        stored = StoredMessage(message_id, sender, body, markup, document, stamp, rev, False, False)
        chat.changed(stored)
        return stored

    async def message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        chat = await self._chat(chat_id)
        if chat is None or message_id not in chat.messages:
            return None
        for recent in reversed(chat.recent):  # usually the message pressed is one of the latest
            if recent.message_id == message_id:
                return recent
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM web_messages WHERE chat_id = ? AND message_id = ? AND deleted = 0",
            (chat_id, message_id),
        )
        return None if row is None else _message(row)

    async def edit_message(
        self, chat_id: int, message_id: int, body: str, markup: str | None
    ) -> StoredMessage | Literal[False] | None:
        """The bot's message with a new body and keyboard: the message, False when nothing would
        change (Telegram's "message is not modified"), None when there is no such message."""
        chat = await self._chat(chat_id)
        meta = chat.messages.get(message_id) if chat is not None else None
        if chat is None or meta is None or meta.sender != "bot":
            return None
        digest = hash((body, markup))
        if digest == meta.digest:
            return False
        chat.rev += 1
        rev = chat.rev
        chat.messages[message_id] = dataclasses.replace(meta, digest=digest)
        await self.db.write(
            "UPDATE web_messages SET body = ?, markup = ?, edited = 1, rev = ? "
            "WHERE chat_id = ? AND message_id = ? AND deleted = 0",
            (body, markup, rev, chat_id, message_id),
        )
        stored = StoredMessage(
            message_id, meta.sender, body, markup, meta.document, meta.ts, rev, True, False
        )
        chat.changed(stored)
        return stored

    async def delete_message(self, chat_id: int, message_id: int) -> bool:
        """Kept as a tombstone, so pages that show the message learn that it went."""
        chat = await self._chat(chat_id)
        meta = chat.messages.pop(message_id, None) if chat is not None else None
        if chat is None or meta is None:
            return False
        chat.rev += 1
        chat.changed(StoredMessage(message_id, meta.sender, "", None, None, meta.ts, chat.rev, False, True))
        await self.db.write(
            "UPDATE web_messages SET body = '', markup = NULL, document = NULL, edited = 0, deleted = 1, rev = ? "
            "WHERE chat_id = ? AND message_id = ?",
            (chat.rev, chat_id, message_id),
        )
        return True

    async def changes(self, chat_id: int, since: int = 0) -> Changes:
        """What changed after revision `since`: the whole transcript (reset) when the page's
        revision predates a /forget, or is not one this chat has had."""
        chat = await self._chat(chat_id)
        if chat is None:
            return Changes(0, True, [])
        rev = chat.rev
        if since <= 0 or since < chat.cleared or since > rev:
            rows = await self.db.fetchall(
                f"SELECT {_COLUMNS} FROM web_messages WHERE chat_id = ? AND deleted = 0 ORDER BY message_id",
                (chat_id,),
            )
            return Changes(rev, True, [_message(r) for r in rows])
        if since >= chat.floor:  # all of them are in memory
            latest = {m.message_id: m for m in chat.recent if m.rev > since}
            return Changes(rev, False, [latest[k] for k in sorted(latest)])
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM web_messages WHERE chat_id = ? AND rev > ? ORDER BY message_id",
            (chat_id, since),
        )
        return Changes(rev, False, [_message(r) for r in rows])

    async def forget(self, chat_id: int) -> int:
        """/forget: the transcript and the files go. The session stays (the browser keeps its
        chat) with its counters: no message id comes back, and pages still showing it start afresh."""
        chat = await self._chat(chat_id)
        if chat is None:
            return 0
        chat.rev += 1
        chat.cleared = chat.floor = chat.rev
        chat.messages.clear()
        chat.recent.clear()
        async with self.db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM web_messages WHERE chat_id = ?", (chat_id,))
            deleted = cursor.rowcount
            cursor = await conn.execute("DELETE FROM web_files WHERE chat_id = ?", (chat_id,))
            deleted += cursor.rowcount
            await conn.execute(
                "UPDATE web_sessions SET next_message_id = ?, rev = ?, cleared_rev = ? WHERE user_id = ?",
                (chat.next_id, chat.rev, chat.cleared, chat_id),
            )
        return deleted

    # -- files

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
