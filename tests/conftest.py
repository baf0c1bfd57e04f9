"""Conversation tests: the real dispatcher, fed updates, its Bot API calls recorded by a mocked
session (as aiogram's own tests do) that checks each text the way Telegram would."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, TelegramMethod
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from bot.config import Settings
from bot.factory import create_bot, create_dispatcher
from bot.format import MESSAGE_LIMIT
from bot.store.db import Database, open_database
from bot.transport.local import LocalSession
from eligibility.answer import Assistant
from knowledge.loader import KnowledgeBase, load_knowledge_base
from tests.botapi_stub import StubAPIError, parse_html, utf16_len

IN_FORCE = date(2025, 6, 1)
EXPIRED = date(2026, 11, 27)
USER = 1001
ADMIN = 9001


class MockedSession(LocalSession):
    """Records every request; answers from a queue of failures first, then as Telegram would.
    Texts are parsed like Telegram's HTML parser: bad markup or an over-long text is a 400."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self.failures: deque[tuple[type[TelegramMethod[Any]], int, str]] = deque()
        self.rejected: list[str] = []  # texts Telegram would refuse: every test fails on one

    def fail_next(
        self, method: type[TelegramMethod[Any]], status: int = 400, description: str = "Bad Request"
    ) -> None:
        self.failures.append((method, status, description))

    def respond(self, bot: Bot, method: TelegramMethod[Any]) -> tuple[int, Any, str | None]:
        self.requests.append(method)
        for index, (kind, status, description) in enumerate(self.failures):
            if isinstance(method, kind):
                del self.failures[index]
                return status, None, description
        text = getattr(method, "text", None)
        if isinstance(method, SendMessage | EditMessageText) and text is not None:
            try:
                plain, _ = parse_html(text)
            except StubAPIError as exc:
                self.rejected.append(f"{exc.description}: {text[:200]!r}")
                return exc.error_code, None, exc.description
            if utf16_len(plain) > MESSAGE_LIMIT:
                self.rejected.append(f"too long: {text[:200]!r}")
                return 400, None, "Bad Request: message is too long"
        return super().respond(bot, method)


class Conversation:
    """One user talking to the bot in a private chat (or a group: chat_id < 0)."""

    def __init__(self, dp: Dispatcher, bot: Bot, session: MockedSession, *, user_id: int = USER) -> None:
        self.dp, self.bot, self.session = dp, bot, session
        self.user = User(id=user_id, is_bot=False, first_name="测试", language_code="zh-hans")
        self._ids = itertools.count(1)

    def chat(self, chat_id: int | None = None) -> Chat:
        if chat_id is None or chat_id > 0:
            return Chat(id=chat_id or self.user.id, type="private")
        return Chat(id=chat_id, type="supergroup", title="衡阳跨境电商交流群")

    def message(self, text: str | None = None, *, chat_id: int | None = None, **content: Any) -> Message:
        return Message(
            message_id=next(self._ids),
            date=datetime.now(UTC),
            chat=self.chat(chat_id),
            from_user=self.user,
            text=text,
            **content,
        )

    async def feed(self, update: Update, **kwargs: Any) -> list[TelegramMethod[Any]]:
        mark = len(self.session.requests)
        response = await self.dp.feed_update(self.bot, update, **kwargs)
        if isinstance(response, TelegramMethod):  # answered in the response, as a webhook would
            await self.dp.silent_call_request(self.bot, response)
        return self.session.requests[mark:]

    async def send(
        self, text: str, *, chat_id: int | None = None, **kwargs: Any
    ) -> list[TelegramMethod[Any]]:
        return await self.feed(
            Update(update_id=next(self._ids), message=self.message(text, chat_id=chat_id)), **kwargs
        )

    async def send_message(self, message: Message, **kwargs: Any) -> list[TelegramMethod[Any]]:
        return await self.feed(Update(update_id=next(self._ids), message=message), **kwargs)

    async def press(
        self, data: str, message: Message | None = None, **kwargs: Any
    ) -> list[TelegramMethod[Any]]:
        query = CallbackQuery(
            id=str(next(self._ids)),
            from_user=self.user,
            chat_instance="ci",
            message=message or self.keyboard_message(),
            data=data,
        )
        return await self.feed(Update(update_id=next(self._ids), callback_query=query), **kwargs)

    def bot_messages(self) -> list[Message]:
        return list(self.session.messages.values())

    def keyboard_message(self) -> Message:
        """The bot's latest message that has buttons."""
        with_buttons = [m for m in self.bot_messages() if m.reply_markup is not None]
        assert with_buttons, "no message with buttons"
        return max(with_buttons, key=lambda m: m.message_id)

    def buttons(self, message: Message | None = None) -> dict[str, str]:
        """Label → callback data of a message's buttons (default: the latest keyboard)."""
        markup = (message or self.keyboard_message()).reply_markup
        assert markup is not None
        return {b.text: b.callback_data or "" for row in markup.inline_keyboard for b in row}

    async def state(self) -> str | None:
        return await self.dp.fsm.get_context(self.bot, chat_id=self.user.id, user_id=self.user.id).get_state()


def texts(requests: list[TelegramMethod[Any]]) -> list[str]:
    """The texts of the messages sent or edited, in order."""
    return [r.text for r in requests if isinstance(r, SendMessage | EditMessageText) and r.text]


def sent(requests: list[TelegramMethod[Any]]) -> list[SendMessage]:
    return [r for r in requests if isinstance(r, SendMessage)]


def callback_answers(requests: list[TelegramMethod[Any]]) -> list[AnswerCallbackQuery]:
    return [r for r in requests if isinstance(r, AnswerCallbackQuery)]


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


@pytest.fixture(scope="session")
def assistant(kb: KnowledgeBase) -> Assistant:
    """In force: answers carry no validity warning."""
    return Assistant(kb, today=lambda: IN_FORCE)


@pytest.fixture
async def db() -> AsyncIterator[Database]:
    database = await open_database(":memory:")
    yield database
    await database.close()


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, bot_token=None, admin_ids=frozenset({ADMIN}))  # type: ignore[call-arg]


@pytest.fixture
def session() -> Iterator[MockedSession]:
    mocked = MockedSession()
    yield mocked
    assert mocked.rejected == []


@pytest.fixture
def bot(session: MockedSession) -> Iterator[Bot]:
    return create_bot("42:TEST", session)


@pytest.fixture
def dp(settings: Settings, assistant: Assistant, db: Database) -> Dispatcher:
    return create_dispatcher(settings, assistant=assistant, db=db)


@pytest.fixture
def talk(dp: Dispatcher, bot: Bot, session: MockedSession) -> Conversation:
    return Conversation(dp, bot, session)
