"""The web chat as a Telegram private chat: a text typed on the page becomes a Message update, a
button pressed a CallbackQuery, both fed to the one dispatcher every door uses (bot/factory.py);
what the bot did in reply is read back from the transcript (bot/web/session.py) as the page's JSON.

No handler is written twice: the door only builds updates (as the terminal chat does), refuses
presses that are not on one of the session's own messages' buttons, and adds the transcript to
what /forget deletes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from bot.commands import command_list
from bot.i18n import Catalogs, language_of
from bot.store.privacy import Forgotten, Privacy
from bot.store.users import UserSettings
from bot.store.web import Changes, StoredMessage, WebStore
from bot.web.safety import sanitize_html
from bot.web.session import WebSession, as_message, keyboard
from eligibility.answer import Assistant

logger = logging.getLogger("policybot")

USER_NAME = "网页用户"


class WebPrivacy(Privacy):
    """/forget on the web also deletes the chat's transcript and files."""

    def __init__(self, base: Privacy, store: WebStore) -> None:
        super().__init__(base.db, base.retention_days, storage=base.storage, users=base.users)
        self.web = store

    async def forget(self, user_id: int) -> Forgotten:
        forgotten = await super().forget(user_id)
        transcript = await self.web.forget(user_id)
        return dataclasses.replace(forgotten, other=forgotten.other + transcript)


@dataclass(frozen=True)
class Reply:
    changes: Changes
    lang: str
    notice: tuple[str, bool] | None = None  # a button's answer: (text, shown as an alert)


class Refused(Exception):
    """A request the door will not feed to the bot; `code` names the reason (bot/web/safety.py)."""

    def __init__(self, status: int, code: str, **values: object) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.values = values


class WebDoor:
    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        session: WebSession,
        store: WebStore,
        catalogs: Catalogs,
        assistant: Assistant,
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.session = session
        self.store = store
        self.catalogs = catalogs
        self.assistant = assistant
        self.users: UserSettings = dispatcher["users"]
        self._updates = itertools.count(1)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def language(self, user_id: int | None, language_code: str | None) -> str:
        """As the bot decides it: the /lang choice, else the browser's (Accept-Language)."""
        chosen = await self.users.language(user_id) if user_id is not None else None
        return chosen if chosen in self.catalogs.languages else language_of(language_code)

    def commands(self, lang: str) -> list[dict[str, str]]:
        return [
            {"command": f"/{c.command}", "description": c.description}
            for c in command_list(self.catalogs[lang])
        ]

    async def history(self, user_id: int | None, since: int, language_code: str | None) -> Reply:
        lang = await self.language(user_id, language_code)
        if user_id is None:
            return Reply(Changes(0, True, []), lang)
        return Reply(await self.store.changes(user_id, since), lang)

    async def say(self, user_id: int, text: str, *, language_code: str | None, since: int | None) -> Reply:
        """The user's text, kept in the transcript and fed to the bot as a message."""
        async with self._turn(user_id):
            start = await self._rev(user_id, since)
            stored = await self.store.add_message(user_id, "user", text)
            if stored is None:
                raise Refused(404, "no_session")
            message = Message(
                message_id=stored.message_id,
                date=datetime.fromtimestamp(stored.ts, UTC),
                chat=Chat(id=user_id, type="private"),
                from_user=self._user(user_id, language_code),
                text=text,
            )
            await self._feed(Update(update_id=next(self._updates), message=message))
            return await self._reply(user_id, start, language_code)

    async def press(
        self, user_id: int, message_id: int, data: str, *, language_code: str | None, since: int | None
    ) -> Reply:
        """A button of one of this chat's messages. Data that is not on that message's keyboard
        (forged, or a keyboard since replaced) and other sessions' messages are refused."""
        async with self._turn(user_id):
            stored = await self.store.message(user_id, message_id)
            if stored is None or stored.sender != "bot":
                raise Refused(404, "unknown_message")
            markup = keyboard(stored)
            pressable = {b.callback_data for row in (markup.inline_keyboard if markup else []) for b in row}
            if data not in pressable:
                raise Refused(400, "unknown_button")
            start = await self._rev(user_id, since)
            query = CallbackQuery(
                id=f"web-{user_id}-{time.time_ns()}",
                from_user=self._user(user_id, language_code),
                chat_instance=str(user_id),
                message=as_message(self.bot, user_id, stored),
                data=data,
            )
            await self._feed(Update(update_id=next(self._updates), callback_query=query))
            answer = self.session.answers.pop(query.id, None)
            notice = (answer[0], answer[1]) if answer is not None and answer[0] else None
            reply = await self._reply(user_id, start, language_code)
            return dataclasses.replace(reply, notice=notice)

    async def expire(self, idle_days: int, privacy: Privacy) -> int:
        """Sessions idle longer than `idle_days` go, with all the bot keeps about their user."""
        idle = await self.store.idle_sessions(idle_days)
        for user_id in idle:
            await privacy.forget(user_id)
            await self.store.drop_session(user_id)
        if idle:
            logger.info("expired %d idle web sessions", len(idle))
        return len(idle)

    def _user(self, user_id: int, language_code: str | None) -> User:
        return User(id=user_id, is_bot=False, first_name=USER_NAME, language_code=language_code)

    async def _rev(self, user_id: int, since: int | None) -> int:
        """The revision the reply's changes start after: the page's, or where this turn starts."""
        return since if since is not None else await self.store.rev(user_id)

    async def _reply(self, user_id: int, since: int, language_code: str | None) -> Reply:
        return Reply(await self.store.changes(user_id, since), await self.language(user_id, language_code))

    async def _feed(self, update: Update) -> None:
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except Exception:  # the errors router told the user already; the request still gets its reply
            logger.exception("web update %s failed", update.update_id)

    @asynccontextmanager
    async def _turn(self, user_id: int) -> AsyncIterator[None]:
        """One request of a session at a time, in order: a message recorded first is handled first
        (the interview ignores a message older than one it has seen, as a redelivery)."""
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        self._waiting[user_id] = self._waiting.get(user_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[user_id] -= 1
            if not self._waiting[user_id]:
                del self._waiting[user_id], self._locks[user_id]


def message_json(stored: StoredMessage) -> dict[str, Any]:
    """One message as the page gets it: a user's `text` (shown as text), or the bot's `html`
    (already through the allow-list), its buttons and document."""
    item: dict[str, Any] = {
        "id": stored.message_id,
        "from": stored.sender,
        "ts": stored.ts,
        "edited": stored.edited,
        "deleted": stored.deleted,
    }
    if stored.deleted:
        return item
    if stored.sender == "user":
        item["text"] = stored.body
        return item
    item["html"] = sanitize_html(stored.body)
    markup = keyboard(stored)
    rows: list[list[dict[str, str]]] = []
    for row in markup.inline_keyboard if markup else []:
        cells = []
        for button in row:
            if button.callback_data is not None:
                cells.append({"text": button.text, "data": button.callback_data})
            elif button.url and button.url.lower().startswith(("https://", "http://")):
                cells.append({"text": button.text, "url": button.url})
        if cells:
            rows.append(cells)
    item["buttons"] = rows
    document = stored.document
    item["document"] = (
        {"name": document["name"], "size": document["size"], "url": f"/api/files/{document['token']}"}
        if document
        else None
    )
    return item


def reply_json(door: WebDoor, reply: Reply) -> dict[str, Any]:
    notice = {"text": reply.notice[0], "alert": reply.notice[1]} if reply.notice else None
    return {
        "rev": reply.changes.rev,
        "reset": reply.changes.reset,
        "messages": [message_json(m) for m in reply.changes.messages],
        "notice": notice,
        "lang": reply.lang,
        "commands": door.commands(reply.lang),
    }
