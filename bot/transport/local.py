"""A Bot API session that never leaves the process: it answers each method the way Telegram
would (message ids, edits, callback answers) and tells a listener what the bot said.

The terminal chat prints through it; the tests record and fault-inject through a subclass.
aiogram's own request and error handling still run (answers pass through check_response).
"""

from __future__ import annotations

import itertools
import json
import struct
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    DeleteMyCommands,
    DeleteWebhook,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    SendChatAction,
    SendDocument,
    SendMessage,
    SendPhoto,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    BufferedInputFile,
    Chat,
    Document,
    File,
    InlineKeyboardMarkup,
    Message,
    PhotoSize,
    User,
)

from bot.format import html_to_plain

Listener = Callable[[TelegramMethod[Any], Any], None]

BOT_NAME = "政策助手"
BOT_USERNAME = "policy_helper_bot"

_TRUE_METHODS = (AnswerCallbackQuery, SendChatAction, SetMyCommands, DeleteMyCommands, DeleteWebhook)


class LocalSession(BaseSession):
    def __init__(self, listener: Listener | None = None) -> None:
        super().__init__()
        self.listener = listener
        self.messages: dict[tuple[int, int], Message] = {}
        self._ids: dict[int, itertools.count[int]] = {}
        self.files: dict[str, bytes] = {}  # file_id → content: documents sent, and "uploaded" by add_file

    def add_file(self, data: bytes, file_name: str) -> Document:
        """A document as a user would upload it (the bot can getFile and download it)."""
        file_id = f"local-{len(self.files) + 1}"
        self.files[file_id] = data
        return Document(file_id=file_id, file_unique_id=file_id, file_name=file_name, file_size=len(data))

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> TelegramType:
        status, result, description = self.respond(bot, method)
        content = json.dumps(
            {"ok": status == 200, "result": result, "error_code": status, "description": description},
            default=_json_default,
        )
        response = self.check_response(bot=bot, method=method, status_code=status, content=content)
        value = cast(TelegramType, response.result)
        if self.listener is not None:
            self.listener(method, value)
        return value

    def respond(self, bot: Bot, method: TelegramMethod[Any]) -> tuple[int, Any, str | None]:
        """(HTTP status, JSON result, error description) for one method."""
        if isinstance(method, GetMe):
            me = User(id=bot.id, is_bot=True, first_name=BOT_NAME, username=BOT_USERNAME)
            return 200, me.model_dump(mode="json", exclude_none=True), None
        if isinstance(method, SendMessage):
            chat_id = int(method.chat_id)
            message_id = next(self._ids.setdefault(chat_id, itertools.count(1_000_001)))
            message = self._message(bot, chat_id, message_id, method.text, method.reply_markup)
            self.messages[(chat_id, message_id)] = message
            return 200, _dump(message), None
        if isinstance(method, EditMessageText | EditMessageReplyMarkup):
            chat_id, message_id = int(method.chat_id or 0), int(method.message_id or 0)
            old = self.messages.get((chat_id, message_id))
            if old is None:
                return 400, None, "Bad Request: message to edit not found"
            text = method.text if isinstance(method, EditMessageText) else None
            markup = method.reply_markup if isinstance(method.reply_markup, InlineKeyboardMarkup) else None
            new = self._message(bot, chat_id, message_id, text, markup, edited_from=old)
            if _dump(new) == _dump(old):
                return 400, None, "Bad Request: message is not modified"
            self.messages[(chat_id, message_id)] = new
            return 200, _dump(new), None
        if isinstance(method, DeleteMessage):
            self.messages.pop((int(method.chat_id), method.message_id), None)
            return 200, True, None
        if isinstance(method, SendDocument):
            chat_id = int(method.chat_id)
            message_id = next(self._ids.setdefault(chat_id, itertools.count(1_000_001)))
            upload = method.document
            data = upload.data if isinstance(upload, BufferedInputFile) else b""
            name = upload.filename if isinstance(upload, BufferedInputFile) else None
            document = self.add_file(data, name or "document")
            message = self._message(bot, chat_id, message_id, None, method.reply_markup).model_copy(
                update={"document": document, "caption": html_to_plain(method.caption or "") or None}
            )
            self.messages[(chat_id, message_id)] = message
            return 200, _dump(message), None
        if isinstance(method, SendPhoto):  # a picture (the staff's /stats chart): kept like a file
            chat_id = int(method.chat_id)
            message_id = next(self._ids.setdefault(chat_id, itertools.count(1_000_001)))
            upload = method.photo
            data = upload.data if isinstance(upload, BufferedInputFile) else b""
            name = upload.filename if isinstance(upload, BufferedInputFile) else None
            stored = self.add_file(data, name or "photo")
            width, height = _png_size(data)
            size = PhotoSize(
                file_id=stored.file_id,
                file_unique_id=stored.file_unique_id,
                width=width,
                height=height,
                file_size=len(data),
            )
            message = self._message(bot, chat_id, message_id, None, method.reply_markup).model_copy(
                update={"photo": [size], "caption": html_to_plain(method.caption or "") or None}
            )
            self.messages[(chat_id, message_id)] = message
            return 200, _dump(message), None
        if isinstance(method, GetFile):
            content = self.files.get(method.file_id)
            if content is None:
                return 400, None, "Bad Request: invalid file_id"
            found = File(
                file_id=method.file_id,
                file_unique_id=method.file_id,
                file_size=len(content),
                file_path=method.file_id,
            )
            return 200, found.model_dump(mode="json", exclude_none=True), None
        if isinstance(method, _TRUE_METHODS):
            return 200, True, None
        return 400, None, f"Bad Request: {type(method).__name__} is not supported by the local session"

    @staticmethod
    def _message(
        bot: Bot,
        chat_id: int,
        message_id: int,
        text: str | None,
        markup: Any,
        *,
        edited_from: Message | None = None,
    ) -> Message:
        plain = html_to_plain(text) if text is not None else (edited_from.text if edited_from else None)
        return Message(
            message_id=message_id,
            date=edited_from.date if edited_from else datetime.now(UTC),
            chat=Chat(id=chat_id, type="private" if chat_id > 0 else "group"),
            from_user=User(id=bot.id, is_bot=True, first_name=BOT_NAME, username=BOT_USERNAME),
            text=plain,
            reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
        )

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 (BaseSession's signature)
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield self.files.get(url.rsplit("/", 1)[-1], b"")

    async def close(self) -> None:
        pass


def _png_size(data: bytes) -> tuple[int, int]:
    """A PNG's width and height (its IHDR chunk); 0 × 0 for anything else."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return 0, 0
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _dump(message: Message) -> dict[str, Any]:
    return message.model_dump(mode="json", exclude_none=True, by_alias=True)


def _json_default(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True, by_alias=True)
    raise TypeError(f"not JSON: {type(value).__name__}")
