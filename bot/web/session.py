"""The web door's Bot API session: it answers the bot's calls in-process, like LocalSession, and
keeps what the bot sends, edits and deletes in each web chat's transcript (SQLite, bot/store/web.py),
so a page reload or a restart of the server shows the same chat. Messages keep the HTML the bot
sent (the page renders it through an allow-list); the bot gets back what Telegram would return.

Calls for chats that are not web chats are refused as Telegram refuses an unknown chat. Callback
answers (the toast or alert a button press gets) are handed to the door that fed the press.
"""

from __future__ import annotations

import json
import mimetypes
from datetime import UTC, datetime
from typing import Any, cast

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    EditMessageReplyMarkup,
    EditMessageText,
    SendDocument,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    BufferedInputFile,
    Chat,
    Document,
    FSInputFile,
    InlineKeyboardMarkup,
    Message,
    User,
)

from bot.format import esc, html_to_plain
from bot.store.web import StoredMessage, WebStore
from bot.transport.local import BOT_NAME, BOT_USERNAME, LocalSession

NOT_FOUND = "Bad Request: chat not found"


class WebSession(LocalSession):
    def __init__(self, store: WebStore) -> None:
        super().__init__()
        self.store = store
        self.answers: dict[str, tuple[str | None, bool]] = {}  # callback query id → (text, alert)

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (BaseSession's signature)
    ) -> TelegramType:
        status, result, description = await self.respond_web(bot, method)
        content = json.dumps(
            {"ok": status == 200, "result": result, "error_code": status, "description": description},
            default=str,
        )
        response = self.check_response(bot=bot, method=method, status_code=status, content=content)
        return cast(TelegramType, response.result)

    async def respond_web(self, bot: Bot, method: TelegramMethod[Any]) -> tuple[int, Any, str | None]:
        if isinstance(method, SendMessage):
            return await self._send(
                bot, int(method.chat_id), _html(bot, method.text, method.parse_mode), method
            )
        if isinstance(method, EditMessageText | EditMessageReplyMarkup):
            return await self._edit(bot, method)
        if isinstance(method, DeleteMessage):
            deleted = await self.store.delete_message(int(method.chat_id), method.message_id)
            return (200, True, None) if deleted else (400, None, "Bad Request: message to delete not found")
        if isinstance(method, SendDocument):
            return await self._document(bot, method)
        if isinstance(method, AnswerCallbackQuery):
            self.answers[method.callback_query_id] = (method.text, bool(method.show_alert))
            return 200, True, None
        return self.respond(bot, method)  # getMe, chat actions, command menus…: as LocalSession

    async def _send(
        self, bot: Bot, chat_id: int, body: str, method: SendMessage | SendDocument, **extra: Any
    ) -> tuple[int, Any, str | None]:
        stored = await self.store.add_message(
            chat_id, "bot", body, markup=_markup(method.reply_markup), **extra
        )
        if stored is None:
            return 400, None, NOT_FOUND
        return 200, _dump(as_message(bot, chat_id, stored)), None

    async def _edit(
        self, bot: Bot, method: EditMessageText | EditMessageReplyMarkup
    ) -> tuple[int, Any, str | None]:
        chat_id, message_id = int(method.chat_id or 0), int(method.message_id or 0)
        if isinstance(method, EditMessageText):
            body = _html(bot, method.text, method.parse_mode)
        else:  # the keyboard only: the text stays
            old = await self.store.message(chat_id, message_id)
            if old is None:
                return 400, None, "Bad Request: message to edit not found"
            body = old.body
        # Telegram's rule: editMessageText without a keyboard removes the one there was.
        new = await self.store.edit_message(chat_id, message_id, body, _markup(method.reply_markup))
        if new is None:
            return 400, None, "Bad Request: message to edit not found"
        if new is False:
            return 400, None, "Bad Request: message is not modified"
        return 200, _dump(as_message(bot, chat_id, new)), None

    async def _document(self, bot: Bot, method: SendDocument) -> tuple[int, Any, str | None]:
        chat_id = int(method.chat_id)
        upload = method.document
        # Bytes or a local file; a file id or a URL would be Telegram's to fetch: nothing to serve here.
        if not isinstance(upload, BufferedInputFile | FSInputFile):
            return 400, None, "Bad Request: wrong file identifier/HTTP URL specified"
        if not await self.store.is_chat(chat_id):
            return 400, None, NOT_FOUND
        data = b"".join([chunk async for chunk in upload.read(bot)])
        name = upload.filename or "document"
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        token = await self.store.add_file(chat_id, name, mime, data)
        document = {"token": token, "name": name, "size": len(data)}
        caption = _html(bot, method.caption, method.parse_mode) if method.caption else ""
        return await self._send(bot, chat_id, caption, method, document=document)


def _html(bot: Bot, text: str | None, parse_mode: str | Default | None) -> str:
    """The message as HTML: as sent when the bot speaks HTML (its default), escaped otherwise."""
    mode = bot.default[parse_mode.name] if isinstance(parse_mode, Default) else parse_mode
    html = isinstance(mode, str) and mode.upper() == "HTML"  # ParseMode.HTML is a str too
    return (text or "") if html else esc(text or "")


def _markup(markup: Any) -> str | None:
    if not isinstance(markup, InlineKeyboardMarkup) or not markup.inline_keyboard:
        return None
    return markup.model_dump_json(exclude_none=True)


def keyboard(stored: StoredMessage) -> InlineKeyboardMarkup | None:
    return InlineKeyboardMarkup.model_validate_json(stored.markup) if stored.markup else None


def as_message(bot: Bot, chat_id: int, stored: StoredMessage) -> Message:
    """A transcript's message as Telegram would show it to the bot (text without markup)."""
    document = stored.document
    plain = html_to_plain(stored.body) or None
    return Message(
        message_id=stored.message_id,
        date=datetime.fromtimestamp(stored.ts, UTC),
        chat=Chat(id=chat_id, type="private"),
        from_user=User(id=bot.id, is_bot=True, first_name=BOT_NAME, username=BOT_USERNAME),
        text=None if document else plain,
        caption=plain if document else None,
        document=_document(document) if document else None,
        reply_markup=keyboard(stored),
    )


def _document(document: dict[str, Any]) -> Document:
    token = document["token"]
    return Document(
        file_id=token, file_unique_id=token, file_name=document["name"], file_size=document["size"]
    )


def _dump(message: Message) -> dict[str, Any]:
    return message.model_dump(mode="json", exclude_none=True, by_alias=True)
