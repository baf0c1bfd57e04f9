"""An in-process fake of the Telegram Bot API, served over HTTP on 127.0.0.1.

Tests and load benchmarks run the real aiogram bot against it by giving the bot a custom
server: ``AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))``.  Telegram itself
is never contacted.

    async with BotAPIStub() as api:
        ...start the bot against api.base_url...
        api.send_text(42, "你好")                      # a user writes to the bot
        call = await api.wait_for("sendMessage", chat_id=42)
        assert "政策" in call.params["text"]
        api.press_button(42, call.result["message_id"], "measure:3")

What it does, in short:

* answers getMe, getUpdates (real long polling with offset/limit/timeout/allowed_updates),
  setWebhook/deleteWebhook/getWebhookInfo (with a webhook set, updates are POSTed to it,
  and a method returned in the webhook's response is executed), set/get/deleteMyCommands,
  sendMessage, sendDocument, sendPhoto, editMessageText/Caption/ReplyMarkup, deleteMessage,
  answerCallbackQuery, sendChatAction, getFile (+ file download), close, logOut;
  unknown methods get Telegram's 404;
* keeps every chat's messages (both sides, with per-chat message ids and edit history);
* behaves like Telegram where bots commonly trip: HTML parse_mode is parsed (bad HTML is a
  400 "can't parse entities"), 4096-character limit, "message is not modified", a text edit
  without reply_markup removes the inline keyboard, callback_data over 64 bytes,
  answering a callback query twice (``strict=False`` turns these checks off);
* injects faults: ``fail_next`` (429 with retry_after, or any error), ``delay_next``,
  ``drop_next`` (connection closed without an answer), ``block_user`` (403), and optional
  per-chat / global rate limits answering 429.

Run standalone for manual testing: ``python -m tests.botapi_stub --port 8081 [--chat USER_ID]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import math
import mimetypes
import re
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Literal, Self

from aiohttp import BodyPartReader, ClientError, ClientSession, ClientTimeout, MultipartReader, web
from aiohttp.web_request import FileField

__all__ = [
    "BotAPIStub",
    "Call",
    "CallCursor",
    "MethodHandler",
    "MethodRequest",
    "StoredFile",
    "StoredMessage",
    "StubAPIError",
    "main",
    "parse_html",
    "utf16_len",
]

JSON = dict[str, Any]
Predicate = Callable[[JSON], bool]

logger = logging.getLogger("tests.botapi_stub")

DEFAULT_ALLOWED_UPDATES: Final = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
"""Update types delivered when allowed_updates is empty or was never given (as Telegram does,
everything but chat_member, message_reaction and message_reaction_count)."""

TEXT_LIMIT: Final = 4096
CAPTION_LIMIT: Final = 1024
CALLBACK_DATA_LIMIT: Final = 64

# Fields whose form value is a plain string even when it looks like JSON ("123", "true", "{..}").
# aiogram sends str values raw and every other scalar JSON-encoded, so the receiver must know
# which fields are strings.  Every other form field is JSON-decoded when it parses.
_STRING_FIELDS: Final = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "ip_address",
        "language_code",
        "action",
        "file_id",
        "description",
        "short_description",
        "name",
        "title",
        "emoji",
        "query",
        "business_connection_id",
        "message_effect_id",
        "document",
        "photo",
        "thumbnail",
        "audio",
        "video",
        "voice",
        "animation",
        "sticker",
        "video_note",
        "certificate",
        "question",
        "explanation",
        "address",
        "payload",
        "currency",
        "provider_token",
        "start_parameter",
        "first_name",
        "last_name",
        "phone_number",
        "vcard",
        "invite_link",
        "custom_title",
        "prompt",
    }
)

# Methods that put something into a chat: subject to block_user and the rate limits.
_CHAT_WRITE_PREFIXES: Final = ("send", "edit", "copy", "forward")
_UNLIMITED_METHODS: Final = frozenset({"sendChatAction"})

_INLINE_BUTTON_ACTIONS: Final = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_COMMAND_RE: Final = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


# --------------------------------------------------------------------------------------------
# Public value types
# --------------------------------------------------------------------------------------------


class StubAPIError(Exception):
    """An error answer of the Bot API.  Raise it from a custom method handler."""

    def __init__(self, error_code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(f"{error_code}: {description}")
        self.error_code = error_code
        self.description = description
        self.parameters = parameters


@dataclass(frozen=True)
class StoredFile:
    """A file the stub knows: uploaded by the bot, or registered by a test as a user's upload."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    filename: str | None = None
    mime_type: str | None = None

    @property
    def file_size(self) -> int:
        return len(self.content)

    def as_file(self) -> JSON:
        """The ``File`` object getFile answers."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }

    def as_document(self) -> JSON:
        """The ``Document`` object of a message carrying this file."""
        doc: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
        }
        if self.filename is not None:
            doc["file_name"] = self.filename
        if self.mime_type is not None:
            doc["mime_type"] = self.mime_type
        return doc

    def as_photo(self) -> list[JSON]:
        """A ``PhotoSize`` array (the stub does not decode images, so sizes are made up)."""
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_size": self.file_size,
                "width": 1280,
                "height": 720,
            }
        ]


@dataclass(frozen=True)
class Call:
    """One Bot API request the bot made, with the stub's answer.

    Unpacks as ``method, params = call`` for brevity.
    """

    index: int
    method: str
    params: JSON
    token: str
    ok: bool
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    files: Mapping[str, StoredFile] = field(default_factory=dict)
    content_type: str = ""
    via_webhook_reply: bool = False
    started: float = 0.0
    finished: float = 0.0

    @property
    def chat_id(self) -> int | str | None:
        value = self.params.get("chat_id")
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return int(value)
            return value
        return None

    @property
    def duration(self) -> float:
        return self.finished - self.started

    def __iter__(self) -> Iterator[Any]:
        return iter((self.method, self.params))


@dataclass
class StoredMessage:
    """A message in a chat as the stub keeps it; ``data`` is its current ``Message`` JSON."""

    chat_id: int
    message_id: int
    from_bot: bool
    data: JSON
    versions: list[JSON]
    deleted: bool = False

    @property
    def text(self) -> str | None:
        value = self.data.get("text", self.data.get("caption"))
        return value if isinstance(value, str) else None

    @property
    def reply_markup(self) -> JSON | None:
        value = self.data.get("reply_markup")
        return value if isinstance(value, dict) else None

    def callback_data(self) -> list[str]:
        """All callback_data values of its inline keyboard, row by row."""
        return [
            str(button["callback_data"])
            for row in (self.reply_markup or {}).get("inline_keyboard", [])
            for button in row
            if isinstance(button, dict) and "callback_data" in button
        ]


@dataclass(frozen=True)
class MethodRequest:
    """What a method handler receives."""

    token: str
    method: str
    params: JSON
    parts: Mapping[str, StoredFile]
    """Uploaded multipart parts by part name (``attach://name`` references point here)."""


MethodHandler = Callable[[MethodRequest], Awaitable[Any]]


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets and limits."""
    return len(text.encode("utf-16-le")) // 2


_TAG_RE: Final = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)"
    r"((?:\s+[A-Za-z_:][-A-Za-z0-9_:.]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*)"
    r"\s*(/?)>"
)
_ATTR_RE: Final = re.compile(
    r"([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'=<>`]+)))?"
)
_ENTITY_RE: Final = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED_ENTITIES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_SIMPLE_TAGS: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "span": "spoiler",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}


def _unescape(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return _NAMED_ENTITIES[m.group(1)]
        code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
        try:
            return chr(code)
        except (ValueError, OverflowError):
            return m.group(0)

    return _ENTITY_RE.sub(repl, text)


def _parse_error(detail: str) -> StubAPIError:
    return StubAPIError(400, f"Bad Request: can't parse entities: {detail}")


def parse_html(source: str) -> tuple[str, list[JSON]]:
    """Parse Telegram-flavoured HTML into ``(text, entities)`` as the Bot API does.

    Raises :class:`StubAPIError` 400 "can't parse entities" for unsupported or unbalanced tags
    and for a ``<`` that starts no tag.  A ``&`` that starts no entity is kept literally, as
    Telegram does.
    """
    out: list[str] = []
    pos16 = 0  # UTF-16 length of the output so far
    stack: list[tuple[str, int, str, JSON]] = []  # tag, start, entity type, extra fields
    extra: JSON
    entities: list[JSON] = []
    i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        if ch == "<":
            byte_offset = len(source[:i].encode())
            m = _TAG_RE.match(source, i)
            if m is None:
                name_m = re.match(r"</?([A-Za-z0-9-]*)", source[i:])
                name = name_m.group(1) if name_m else ""
                if not name:
                    raise _parse_error(f'Unsupported start tag "" at byte offset {byte_offset}')
                raise _parse_error(f"Unclosed start tag at byte offset {byte_offset}")
            closing, tag, attr_text, _self_closing = m.group(1), m.group(2).lower(), m.group(3), m.group(4)
            i = m.end()
            if closing:
                if not stack:
                    raise _parse_error(f"Unexpected end tag at byte offset {byte_offset}")
                open_tag, start, etype, extra = stack.pop()
                if open_tag != tag:
                    raise _parse_error(
                        f'Unmatched end tag at byte offset {byte_offset}, expected "</{open_tag}>", '
                        f'found "</{tag}>"'
                    )
                length = pos16 - start
                language = extra.pop("_language", None)
                if tag == "code" and language and stack and stack[-1][0] == "pre":
                    stack[-1][3]["language"] = language
                    continue
                if length > 0:
                    entities.append({"type": etype, "offset": start, "length": length, **extra})
                continue
            if tag not in _SIMPLE_TAGS:
                raise _parse_error(f'Unsupported start tag "{tag}" at byte offset {byte_offset}')
            attrs = {
                am.group(1).lower(): _unescape(am.group(2) or am.group(3) or am.group(4) or "")
                for am in _ATTR_RE.finditer(attr_text)
            }
            etype = _SIMPLE_TAGS[tag]
            extra = {}
            if tag == "span" and attrs.get("class") != "tg-spoiler":
                raise _parse_error(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset}')
            if tag == "a":
                href = attrs.get("href", "")
                if href.startswith("tg://user?id="):
                    etype = "text_mention"
                    extra["user"] = {"id": int(href.split("=", 1)[1] or 0), "is_bot": False, "first_name": ""}
                else:
                    extra["url"] = href
            elif tag == "tg-emoji":
                extra["custom_emoji_id"] = attrs.get("emoji-id", "")
            elif tag == "blockquote" and "expandable" in attrs:
                etype = "expandable_blockquote"
            elif tag == "code" and attrs.get("class", "").startswith("language-"):
                extra["_language"] = attrs["class"][len("language-") :]
            stack.append((tag, pos16, etype, extra))
            continue
        if ch == "&":
            m = _ENTITY_RE.match(source, i)
            if m is not None:
                piece = _unescape(m.group(0))
                i = m.end()
            else:
                piece = "&"
                i += 1
        else:
            j = i
            while j < n and source[j] not in "<&":
                j += 1
            piece = source[i:j]
            i = j
        out.append(piece)
        pos16 += utf16_len(piece)
    if stack:
        raise _parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _command_entities(text: str) -> list[JSON]:
    if not text.startswith("/"):
        return []
    m = re.match(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?", text)
    if m is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(m.group(0))}]


def _decode_field(name: str, raw: str) -> Any:
    if name in _STRING_FIELDS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _opt_int(params: JSON, name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value.strip())
    raise StubAPIError(400, f"Bad Request: invalid {name} specified")


def _opt_float(params: JSON, name: str) -> float | None:
    value = params.get(name)
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return float(value.strip())
    raise StubAPIError(400, f"Bad Request: invalid {name} specified")


def _opt_bool(params: JSON, name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


def _opt_str(params: JSON, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _opt_json(params: JSON, name: str) -> Any:
    value = params.get(name)
    if isinstance(value, str) and value[:1] in {"{", "["}:
        try:
            return json.loads(value)
        except ValueError:
            raise StubAPIError(400, f"Bad Request: can't parse {name} JSON object") from None
    return value


def _opt_dict(params: JSON, name: str) -> JSON | None:
    value = _opt_json(params, name)
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise StubAPIError(400, f"Bad Request: can't parse {name} JSON object")
    return value


def _update_type(update: Mapping[str, Any]) -> str:
    for key in update:
        if key != "update_id":
            return key
    return ""


def _update_chat_key(update: Mapping[str, Any]) -> object:
    """Which chat an update belongs to; webhook delivery keeps each chat's updates in order."""
    body = update.get(_update_type(update))
    if isinstance(body, dict):
        chat = body.get("chat")
        if chat is None and isinstance(body.get("message"), dict):
            chat = body["message"].get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return ("chat", chat["id"])
        user = body.get("from") or body.get("user")
        if isinstance(user, dict) and "id" in user:
            return ("chat", user["id"])
    return ("update", update.get("update_id"))


def _strip_reply(data: JSON) -> JSON:
    return {k: v for k, v in data.items() if k != "reply_to_message"}


class _Notifier:
    """Wakes everyone waiting; take ``waiter()`` before checking state, then wait on it."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def waiter(self) -> asyncio.Event:
        return self._event

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


class _Window:
    """Counts hits over a sliding one-second window."""

    def __init__(self) -> None:
        self._hits: deque[float] = deque()

    def retry_after(self, now: float, limit: float) -> float:
        while self._hits and now - self._hits[0] >= 1.0:
            self._hits.popleft()
        allowed = max(1, math.floor(limit))
        if len(self._hits) < allowed:
            return 0.0
        return 1.0 - (now - self._hits[len(self._hits) - allowed])

    def hit(self, now: float) -> None:
        self._hits.append(now)


@dataclass
class _Fault:
    kind: Literal["error", "delay", "drop"]
    method: str
    remaining: int
    chat_id: int | None = None
    error_code: int = 429
    description: str | None = None
    retry_after: int | None = None
    delay: float = 0.0

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.method not in ("*", method) and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id


@dataclass
class _Pending:
    update: JSON
    handed: bool = False  # returned by getUpdates at least once


class _Drop:
    """Marker: close the connection without answering."""


_DROP: Final = _Drop()

_DEFAULT_DESCRIPTIONS: Final = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: injected failure",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


# --------------------------------------------------------------------------------------------
# Observing calls
# --------------------------------------------------------------------------------------------


class CallCursor:
    """Consumes recorded calls: each call is returned at most once per cursor.

    ``wait_for`` returns the earliest matching call this cursor has not consumed yet, so calls
    that matched nothing stay available to later waits with other filters.
    """

    def __init__(self, api: BotAPIStub, start: int = 0) -> None:
        self._api = api
        self._start = start
        self._consumed: set[int] = set()
        self._low: dict[str, int] = {}  # per method: position in api's per-method list

    def _candidates(self, method: str) -> tuple[str, list[Call]]:
        key = method.lower()
        if method == "*":
            return key, self._api.calls
        return key, self._api._calls_by_method.get(key, [])

    def find(
        self,
        method: str | tuple[str, ...] = "*",
        chat_id: int | str | None = None,
        predicate: Predicate | None = None,
        *,
        ok: bool | None = None,
        consume: bool = True,
    ) -> Call | None:
        """The earliest unconsumed matching call so far, or None; never waits."""
        methods = (method,) if isinstance(method, str) else method
        best: Call | None = None
        for m in methods:
            key, calls = self._candidates(m)
            low = self._low.get(key, 0)
            while low < len(calls) and (calls[low].index in self._consumed or calls[low].index < self._start):
                low += 1
            self._low[key] = low
            for call in itertools.islice(calls, low, None):
                if best is not None and call.index >= best.index:
                    break
                if call.index in self._consumed or call.index < self._start:
                    continue
                if ok is not None and call.ok != ok:
                    continue
                if chat_id is not None and call.chat_id != chat_id and str(call.chat_id) != str(chat_id):
                    continue
                if predicate is not None and not predicate(call.params):
                    continue
                best = call
                break
        if best is not None and consume:
            self._consumed.add(best.index)
        return best

    async def wait_for(
        self,
        method: str | tuple[str, ...] = "*",
        chat_id: int | str | None = None,
        predicate: Predicate | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
        *,
        ok: bool | None = None,
    ) -> Call:
        """Wait for the next matching call not consumed by this cursor and consume it.

        ``method`` is a method name (case-insensitive), a tuple of names, or "*".  ``predicate``
        receives the call's params.  ``ok=True`` skips failed calls, ``ok=False`` wants them.
        Raises TimeoutError listing the latest calls when none comes in time.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._api._calls_changed.waiter()
            call = self.find(method, chat_id, predicate, ok=ok)
            if call is not None:
                return call
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(
                    f"#{c.index} {c.method}(chat_id={c.chat_id}){'' if c.ok else f' -> {c.error_code}'}"
                    for c in self._api.calls[-8:]
                )
                raise TimeoutError(
                    f"no {method} call (chat_id={chat_id}) within {timeout}s; latest calls: {recent or 'none'}"
                )
            await _wait(event, remaining)

    def skip_all(self) -> None:
        """Consume everything recorded so far."""
        self._start = len(self._api.calls)


# --------------------------------------------------------------------------------------------
# The stub
# --------------------------------------------------------------------------------------------


class BotAPIStub:
    """A fake Telegram Bot API server.  Any token is accepted; all tokens share one state."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_first_name: str = "政策助手",
        bot_username: str = "policy_helper_stub_bot",
        strict: bool = True,
        per_chat_per_second: float | None = None,
        global_per_second: float | None = None,
        webhook_retry_delay: float = 0.2,
        webhook_timeout: float = 10.0,
        max_upload_size: int = 50 * 1024 * 1024,
    ) -> None:
        self.host = host
        self.port = port
        self.bot_first_name = bot_first_name
        self.bot_username = bot_username
        self.strict = strict
        """Telegram's validation (bad HTML, limits, "message is not modified", ...) when True."""
        self.per_chat_per_second = per_chat_per_second
        """Rate limit of chat-writing methods per chat (sliding 1 s window), None = off."""
        self.global_per_second = global_per_second
        """Rate limit of chat-writing methods over all chats, None = off."""
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self.max_upload_size = max_upload_size

        self.calls: list[Call] = []
        """Every request answered, in order of completion (failed ones too)."""
        self.updates: list[JSON] = []
        """Every update queued for the bot."""
        self.dropped_updates: list[JSON] = []
        """Updates discarded because their type was not in allowed_updates."""
        self.uploads: list[StoredFile] = []
        """Files the bot uploaded (sendDocument/sendPhoto), in order."""

        self._calls_by_method: dict[str, list[Call]] = {}
        self._calls_changed = _Notifier()
        self._wake = _Notifier()  # updates queued, webhook changed, pollers superseded, closing
        self._listeners: list[Callable[[Call], None]] = []
        self.default_cursor = CallCursor(self)

        self._pending: list[_Pending] = []
        self._update_ids = itertools.count(10001)
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._poll_generation = 0

        self._webhook_url: str | None = None
        self._webhook_secret: str | None = None
        self._webhook_token = ""
        self._webhook_max_connections = 40
        self._webhook_last_error: tuple[int, str] | None = None
        self._webhook_inflight_ids: set[int] = set()
        self._webhook_inflight_keys: set[object] = set()
        self._deliveries: set[asyncio.Task[None]] = set()

        self._users: dict[int, JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._message_ids: dict[int, int] = {}
        self._messages: dict[int, dict[int, StoredMessage]] = {}
        self._reply_keyboards: dict[int, JSON | None] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._callback_ids = itertools.count(4_000_000_000_000_001)
        self._callbacks: dict[str, JSON | None] = {}  # id -> answer params once answered
        self._commands: dict[tuple[str, str], list[JSON]] = {}

        self._faults: list[_Fault] = []
        self._blocked: set[int] = set()
        self._global_window = _Window()
        self._chat_windows: dict[int, _Window] = {}

        self._handlers: dict[str, tuple[str, MethodHandler]] = {}
        self._register_builtin_handlers()

        self._inflight = 0
        self._last_activity = time.monotonic()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, for ``TelegramAPIServer.from_base``."""
        if self._runner is None:
            raise RuntimeError("BotAPIStub is not started")
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind (a free port unless one was given) and serve."""
        if self._runner is not None:
            return
        self._closing = False
        app = web.Application(client_max_size=self.max_upload_size + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/_stub/{action}", self._handle_control)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self.port = int(sock.getsockname()[1])
        self._runner = runner
        self._client = ClientSession()
        self._webhook_task = asyncio.create_task(self._webhook_loop(), name="botapi-stub-webhook")

    async def stop(self) -> None:
        """Answer pending long polls, stop webhook delivery and close the server."""
        if self._runner is None:
            return
        self._closing = True
        self._wake.notify()
        tasks = [*self._deliveries, *([self._webhook_task] if self._webhook_task else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._webhook_task = None
        await asyncio.sleep(0)  # let woken long polls answer
        runner, self._runner = self._runner, None
        await runner.cleanup()
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ---------------------------------------------------------------- simulating users

    def set_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> JSON:
        """Create or update a user; returns its ``User`` object."""
        user = self._users.setdefault(user_id, {"id": user_id, "is_bot": False, "first_name": "测试用户"})
        for key, value in (
            ("first_name", first_name),
            ("last_name", last_name),
            ("username", username),
            ("language_code", language_code),
        ):
            if value is not None:
                user[key] = value
        if user_id in self._chats and self._chats[user_id].get("type") == "private":
            self._chats[user_id] = self._private_chat(user)
        return dict(user)

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_type: str = "private",
        chat_id: int | None = None,
        chat_title: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """A user sends a text message; returns the ``Message`` queued in a ``message`` update.

        A leading ``/command`` gets its bot_command entity.  Group chats need ``chat_id``.
        """
        content: JSON = {"text": text}
        if entities := _command_entities(text):
            content["entities"] = entities
        return self.send_content(
            user_id,
            content,
            chat_type=chat_type,
            chat_id=chat_id,
            chat_title=chat_title,
            first_name=first_name,
            username=username,
            language_code=language_code,
            reply_to_message_id=reply_to_message_id,
        )

    def send_content(
        self,
        user_id: int,
        content: Mapping[str, Any],
        *,
        chat_type: str = "private",
        chat_id: int | None = None,
        chat_title: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """A user sends a message with any content fields (``{"sticker": {...}}``, ...)."""
        message = self._user_message(
            user_id,
            content,
            chat_type=chat_type,
            chat_id=chat_id,
            chat_title=chat_title,
            first_name=first_name,
            username=username,
            language_code=language_code,
            reply_to_message_id=reply_to_message_id,
        )
        self._enqueue({"message": message})
        return message

    def send_document(
        self,
        user_id: int,
        content: bytes,
        filename: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
        chat_type: str = "private",
        chat_id: int | None = None,
    ) -> JSON:
        """A user uploads a document; the bot can getFile and download it."""
        stored = self.register_file(content, filename=filename, mime_type=mime_type)
        body: JSON = {"document": stored.as_document()}
        if caption is not None:
            body["caption"] = caption
        return self.send_content(user_id, body, chat_type=chat_type, chat_id=chat_id)

    def send_photo(
        self,
        user_id: int,
        content: bytes,
        *,
        caption: str | None = None,
        chat_type: str = "private",
        chat_id: int | None = None,
    ) -> JSON:
        """A user sends a photo; the bot can getFile and download it."""
        stored = self.register_file(content, filename=None, mime_type="image/jpeg", folder="photos")
        body: JSON = {"photo": stored.as_photo()}
        if caption is not None:
            body["caption"] = caption
        return self.send_content(user_id, body, chat_type=chat_type, chat_id=chat_id)

    def edit_user_text(self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None) -> JSON:
        """A user edits a message of theirs; queues an ``edited_message`` update."""
        cid = user_id if chat_id is None else chat_id
        stored = self._messages.get(cid, {}).get(message_id)
        if stored is None or stored.from_bot:
            raise ValueError(f"user message {message_id} not found in chat {cid}")
        data = {**stored.data, "text": text, "edit_date": int(time.time())}
        data.pop("entities", None)
        if entities := _command_entities(text):
            data["entities"] = entities
        stored.data = data
        stored.versions.append(data)
        self._enqueue({"edited_message": data})
        return data

    def press_button(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        *,
        chat_id: int | None = None,
        check: bool = True,
        first_name: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> str:
        """A user presses an inline button of a bot message; returns the callback query id.

        With ``check`` (default) the message must exist and carry a button with that
        callback_data, else ValueError (a real user can only press buttons that exist).
        """
        cid = user_id if chat_id is None else chat_id
        stored = self._messages.get(cid, {}).get(message_id)
        if check:
            if stored is None or stored.deleted:
                raise ValueError(f"no message {message_id} in chat {cid}")
            if callback_data not in stored.callback_data():
                raise ValueError(
                    f"message {message_id} in chat {cid} has no button {callback_data!r}; "
                    f"it has {stored.callback_data()!r}"
                )
        user = self.set_user(user_id, first_name=first_name, language_code=language_code)
        query_id = str(next(self._callback_ids))
        query: JSON = {
            "id": query_id,
            "from": user,
            "chat_instance": str(7_000_000_000_000_000_000 + abs(cid)),
            "data": callback_data,
        }
        if stored is not None and not stored.deleted:
            query["message"] = stored.data
        self._callbacks[query_id] = None
        self._enqueue({"callback_query": query})
        return query_id

    def send_update(self, update: Mapping[str, Any]) -> JSON:
        """Queue any raw update; ``update_id`` is assigned when missing.  Returns the update.

        A ``message`` with chat and message_id is also stored in the chat's history.
        """
        raw = dict(update)
        message = raw.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            cid = message["chat"].get("id")
            mid = message.get("message_id")
            if isinstance(cid, int) and isinstance(mid, int):
                self._chats.setdefault(cid, message["chat"])
                self._message_ids[cid] = max(self._message_ids.get(cid, 0), mid)
                sender = message.get("from")
                self._store(cid, message, from_bot=isinstance(sender, dict) and bool(sender.get("is_bot")))
        return self._enqueue(raw)

    def register_file(
        self,
        content: bytes,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        folder: str = "documents",
    ) -> StoredFile:
        """Make a file known (as if a user uploaded it); use ``.as_document()`` in messages."""
        n = next(self._file_counter)
        digest = hashlib.sha256(content).hexdigest()
        if mime_type is None and filename:
            mime_type = mimetypes.guess_type(filename)[0]
        suffix = ""
        if filename and "." in filename:
            suffix = "." + filename.rsplit(".", 1)[1]
        elif mime_type:
            suffix = mimetypes.guess_extension(mime_type) or ""
        stored = StoredFile(
            file_id=f"BQACAgUAAxkB{n:08d}{digest[:24]}",
            file_unique_id=f"AgAD{digest[:16]}",
            file_path=f"{folder}/file_{n}{suffix}",
            content=content,
            filename=filename,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def file(self, file_id: str) -> StoredFile | None:
        return self._files.get(file_id)

    # ---------------------------------------------------------------- observing the bot

    def cursor(self, start: int | None = None) -> CallCursor:
        """A new cursor over calls from index ``start`` (default: from now on)."""
        return CallCursor(self, len(self.calls) if start is None else start)

    async def wait_for(
        self,
        method: str | tuple[str, ...] = "*",
        chat_id: int | str | None = None,
        predicate: Predicate | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
        *,
        ok: bool | None = None,
    ) -> Call:
        """``default_cursor.wait_for``: the next matching call this cursor has not returned."""
        return await self.default_cursor.wait_for(method, chat_id, predicate, timeout, ok=ok)

    def mark(self) -> int:
        """A position in ``calls``, for ``calls_since``/``replies_since``/``cursor``."""
        return len(self.calls)

    def calls_since(
        self,
        mark: int,
        method: str | None = None,
        chat_id: int | None = None,
        *,
        ok: bool | None = None,
    ) -> list[Call]:
        return [
            c
            for c in self.calls[mark:]
            if (method is None or c.method.lower() == method.lower())
            and (chat_id is None or c.chat_id == chat_id)
            and (ok is None or c.ok == ok)
        ]

    def replies_since(self, mark: int, chat_id: int) -> list[JSON]:
        """Messages the bot successfully sent to ``chat_id`` since ``mark`` (as answered then)."""
        return [
            c.result
            for c in self.calls[mark:]
            if c.ok and c.method.startswith("send") and c.chat_id == chat_id and isinstance(c.result, dict)
        ]

    async def ask(
        self,
        user_id: int,
        text: str,
        *,
        replies: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109
        chat_id: int | None = None,
    ) -> list[JSON]:
        """Send a text and wait for ``replies`` messages sent back to that chat; returns them."""
        cursor = self.cursor()
        self.send_text(user_id, text, chat_id=chat_id, chat_type="private" if chat_id is None else "group")
        target = user_id if chat_id is None else chat_id
        out: list[JSON] = []
        for _ in range(replies):
            call = await cursor.wait_for(
                ("sendMessage", "sendDocument", "sendPhoto"), chat_id=target, timeout=timeout, ok=True
            )
            out.append(call.result)
        return out

    async def idle(self, quiet: float = 0.1, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until every update was handed to the bot, no request is in flight (long polls
        aside) and no request came for ``quiet`` seconds — "the bot has nothing more to say"."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            busy = self._inflight > 0 or any(not p.handed for p in self._pending)
            now = time.monotonic()
            if not busy and now - self._last_activity >= quiet:
                return
            if loop.time() >= deadline:
                raise TimeoutError(f"bot not idle after {timeout}s")
            await asyncio.sleep(min(0.01, quiet / 2))

    def add_listener(self, listener: Callable[[Call], None]) -> None:
        """Call ``listener(call)`` for every answered request."""
        self._listeners.append(listener)

    def messages(self, chat_id: int) -> list[JSON]:
        """Current state of the bot's messages in a chat (edits applied, deleted ones left out)."""
        return [m.data for m in self.stored_messages(chat_id) if m.from_bot and not m.deleted]

    def history(self, chat_id: int, *, include_deleted: bool = False) -> list[StoredMessage]:
        """Both sides of a chat, by message_id."""
        return [m for m in self.stored_messages(chat_id) if include_deleted or not m.deleted]

    def stored_messages(self, chat_id: int) -> list[StoredMessage]:
        return sorted(self._messages.get(chat_id, {}).values(), key=lambda m: m.message_id)

    def message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        return self._messages.get(chat_id, {}).get(message_id)

    def last_message(self, chat_id: int) -> JSON | None:
        """The bot's latest (not deleted) message in a chat."""
        msgs = self.messages(chat_id)
        return msgs[-1] if msgs else None

    def reply_keyboard(self, chat_id: int) -> JSON | None:
        """The reply keyboard (``ReplyKeyboardMarkup``) the user currently sees, if any."""
        return self._reply_keyboards.get(chat_id)

    def callback_answer(self, callback_query_id: str) -> JSON | None:
        """The params of answerCallbackQuery for that query, None while unanswered."""
        return self._callbacks.get(callback_query_id)

    def commands(self, scope: Mapping[str, Any] | None = None, language_code: str = "") -> list[JSON]:
        return list(self._commands.get(self._commands_key(scope, language_code), []))

    @property
    def webhook_url(self) -> str | None:
        return self._webhook_url

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates queued and not yet confirmed (polling) or delivered (webhook)."""
        return [p.update for p in self._pending]

    # ---------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        retry_after: int | None = 1,
        count: int = 1,
        *,
        description: str | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` ("*" = any) with an error.

        429 answers "Too Many Requests: retry after N" with ``parameters.retry_after``; other
        codes a default or the given description.  ``chat_id`` restricts it to one chat.
        """
        if error_code == 429:
            wait = 1 if retry_after is None else retry_after
            desc = description or f"Too Many Requests: retry after {wait}"
            self._faults.append(_Fault("error", method, count, chat_id, 429, desc, wait))
            return
        desc = description or _DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
        self._faults.append(_Fault("error", method, count, chat_id, error_code, desc, None))

    def delay_next(self, method: str, seconds: float, count: int = 1, *, chat_id: int | None = None) -> None:
        """Answer the next ``count`` calls of ``method`` only after ``seconds``."""
        self._faults.append(_Fault("delay", method, count, chat_id, delay=seconds))

    def drop_next(self, method: str, count: int = 1, *, chat_id: int | None = None) -> None:
        """Close the connection of the next ``count`` calls without answering
        (aiogram raises TelegramNetworkError)."""
        self._faults.append(_Fault("drop", method, count, chat_id))

    def clear_faults(self) -> None:
        self._faults.clear()

    def block_user(self, chat_id: int) -> None:
        """From now on writing to this chat answers 403 "Forbidden: bot was blocked by the user"."""
        self._blocked.add(chat_id)

    def unblock_user(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def set_handler(self, method: str, handler: MethodHandler) -> None:
        """Answer ``method`` with ``await handler(request)``: its return value is the result;
        raise StubAPIError for an error answer.  Replaces a built-in handler of that name."""
        self._handlers[method.lower()] = (method, handler)

    # ---------------------------------------------------------------- internals: state

    def _private_chat(self, user: Mapping[str, Any]) -> JSON:
        chat: JSON = {"id": user["id"], "type": "private", "first_name": user.get("first_name", "")}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        return chat

    def _ensure_chat(self, chat_id: int) -> JSON:
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                user = self._users.get(chat_id) or self.set_user(chat_id)
                chat = self._private_chat(user)
            elif str(chat_id).startswith("-100"):
                chat = {"id": chat_id, "type": "supergroup", "title": f"测试群 {chat_id}"}
            else:
                chat = {"id": chat_id, "type": "group", "title": f"测试群 {chat_id}"}
            self._chats[chat_id] = chat
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        mid = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = mid
        return mid

    def _store(self, chat_id: int, data: JSON, *, from_bot: bool) -> StoredMessage:
        stored = StoredMessage(chat_id, int(data["message_id"]), from_bot, data, [data])
        self._messages.setdefault(chat_id, {})[stored.message_id] = stored
        return stored

    def _user_message(
        self,
        user_id: int,
        content: Mapping[str, Any],
        *,
        chat_type: str,
        chat_id: int | None,
        chat_title: str | None,
        first_name: str | None,
        username: str | None,
        language_code: str | None,
        reply_to_message_id: int | None,
    ) -> JSON:
        user = self.set_user(user_id, first_name=first_name, username=username, language_code=language_code)
        if chat_type == "private":
            if chat_id is not None and chat_id != user_id:
                raise ValueError("a private chat's id is the user's id")
            cid = user_id
            chat = self._private_chat(user)
        else:
            if chat_id is None:
                raise ValueError(f"chat_id is required for a {chat_type} chat")
            cid = chat_id
            known = self._chats.get(cid, {})
            chat = {
                "id": cid,
                "type": chat_type,
                "title": chat_title or known.get("title") or f"测试群 {cid}",
            }
        self._chats[cid] = chat
        message: JSON = {
            "message_id": self._next_message_id(cid),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            **content,
        }
        if reply_to_message_id is not None:
            replied = self._messages.get(cid, {}).get(reply_to_message_id)
            if replied is None:
                raise ValueError(f"no message {reply_to_message_id} in chat {cid} to reply to")
            message["reply_to_message"] = _strip_reply(replied.data)
        self._store(cid, message, from_bot=False)
        return message

    def _enqueue(self, update: JSON) -> JSON:
        if "update_id" in update:
            uid = int(update["update_id"])
            current = next(self._update_ids)
            self._update_ids = itertools.count(max(current, uid + 1))
        else:
            update = {"update_id": next(self._update_ids), **update}
        self.updates.append(update)
        query = update.get("callback_query")
        if isinstance(query, dict) and isinstance(query.get("id"), str):
            self._callbacks.setdefault(query["id"], None)
        if _update_type(update) not in self._allowed_updates:
            logger.info(
                "update %s of type %s dropped: not in allowed_updates",
                update["update_id"],
                _update_type(update),
            )
            self.dropped_updates.append(update)
            return update
        self._pending.append(_Pending(update))
        self._last_activity = time.monotonic()
        self._wake.notify()
        return update

    def _set_allowed_updates(self, value: Any) -> None:
        if isinstance(value, str):
            value = json.loads(value) if value.startswith("[") else [value]
        if not isinstance(value, list):
            return
        self._allowed_updates = frozenset(str(v) for v in value) if value else DEFAULT_ALLOWED_UPDATES

    @staticmethod
    def _commands_key(scope: Mapping[str, Any] | None, language_code: str | None) -> tuple[str, str]:
        return json.dumps(dict(scope or {"type": "default"}), sort_keys=True), language_code or ""

    def _bot_user(self, token: str) -> JSON:
        head = token.split(":", 1)[0]
        return {
            "id": int(head) if head.isdigit() else 1,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ---------------------------------------------------------------- internals: HTTP

    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, StoredFile]]:
        params: JSON = {}
        parts: dict[str, StoredFile] = {}
        for qkey, qvalue in request.query.items():
            params[qkey] = _decode_field(qkey, qvalue)
        if request.method != "POST" or not request.can_read_body:
            return params, parts
        ctype = request.content_type
        if ctype == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            params.update(body)
            return params, parts
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, FileField):
                content = value.file.read()
                parts[key] = self._new_upload(content, value.filename, value.content_type)
            elif isinstance(value, bytes | bytearray):
                params[key] = _decode_field(key, bytes(value).decode())
            else:
                params[key] = _decode_field(key, value)
        return params, parts

    def _new_upload(self, content: bytes, filename: str | None, content_type: str | None) -> StoredFile:
        mime = mimetypes.guess_type(filename)[0] if filename else None
        if mime is None and content_type and content_type != "application/octet-stream":
            mime = content_type
        return self.register_file(content, filename=filename, mime_type=mime or "application/octet-stream")

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method = request.match_info["method"]
        started = time.monotonic()
        try:
            params, parts = await self._read_params(request)
        except (ValueError, UnicodeDecodeError):
            return self._json_response(
                400, {"ok": False, "error_code": 400, "description": "Bad Request: can't parse request body"}
            )
        outcome = await self._execute(
            token, method, params, parts, content_type=request.content_type, started=started
        )
        if isinstance(outcome, _Drop):
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError  # aiohttp ends the handler without writing
        status, body = outcome
        return self._json_response(status, body)

    @staticmethod
    def _json_response(status: int, body: JSON) -> web.Response:
        return web.Response(
            status=status,
            body=json.dumps(body, ensure_ascii=False).encode(),
            content_type="application/json",
        )

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return self._json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        return web.Response(body=stored.content, content_type=stored.mime_type or "application/octet-stream")

    async def _execute(
        self,
        token: str,
        method: str,
        params: JSON,
        parts: Mapping[str, StoredFile],
        *,
        content_type: str,
        started: float,
        via_webhook_reply: bool = False,
    ) -> tuple[int, JSON] | _Drop:
        name, handler = self._handlers.get(method.lower(), (method, None))
        long_poll = name == "getUpdates"
        if not long_poll:
            self._inflight += 1
        result: Any = None
        error: StubAPIError | None = None
        dropped = False
        resolved: dict[str, StoredFile] = {}
        try:
            chat_id: int | None = None
            with contextlib.suppress(StubAPIError):
                chat_id = _opt_int(params, "chat_id")
            fault = self._take_fault(name, chat_id)
            if fault is not None and fault.kind == "delay":
                await asyncio.sleep(fault.delay)
                fault = None
            if fault is not None and fault.kind == "drop" and not via_webhook_reply:
                dropped = True
            elif fault is not None:
                parameters = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
                error = StubAPIError(fault.error_code, fault.description or "Error", parameters)
            elif handler is None:
                error = StubAPIError(404, "Not Found: method not found")
            else:
                self._check_chat_write(name, chat_id)
                request = MethodRequest(token, name, params, parts)
                result = await handler(request)
                for key, value in params.items():
                    resolved.update(self._resolved_inputs(key, value, parts))
                for key, upload in parts.items():
                    if key in params or any(v == f"attach://{key}" for v in params.values()):
                        continue
                    resolved.setdefault(key, upload)
        except StubAPIError as exc:
            error = exc
        finally:
            if not long_poll:
                self._inflight -= 1
        finished = time.monotonic()
        if error is None and not dropped:
            response: JSON = {"ok": True, "result": result}
            call = Call(
                len(self.calls),
                name,
                params,
                token,
                True,
                result,
                files=resolved,
                content_type=content_type,
                via_webhook_reply=via_webhook_reply,
                started=started,
                finished=finished,
            )
            status = 200
        elif dropped:
            response = {}
            call = Call(
                len(self.calls),
                name,
                params,
                token,
                False,
                description="connection dropped",
                content_type=content_type,
                started=started,
                finished=finished,
            )
            status = 0
        else:
            assert error is not None
            response = {"ok": False, "error_code": error.error_code, "description": error.description}
            if error.parameters:
                response["parameters"] = error.parameters
            call = Call(
                len(self.calls),
                name,
                params,
                token,
                False,
                None,
                error.error_code,
                error.description,
                content_type=content_type,
                via_webhook_reply=via_webhook_reply,
                started=started,
                finished=finished,
            )
            status = error.error_code
        self._record(call)
        if dropped:
            return _DROP
        return status, response

    def _resolved_inputs(
        self, key: str, value: Any, parts: Mapping[str, StoredFile]
    ) -> dict[str, StoredFile]:
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in parts:
            return {key: parts[value[9:]]}
        if key in parts:
            return {key: parts[key]}
        return {}

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._calls_by_method.setdefault(call.method.lower(), []).append(call)
        if call.method != "getUpdates":
            self._last_activity = time.monotonic()
        self._calls_changed.notify()
        for listener in self._listeners:
            try:
                listener(call)
            except Exception:
                logger.exception("call listener failed")

    def _take_fault(self, method: str, chat_id: int | None) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(method, chat_id):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _check_chat_write(self, method: str, chat_id: int | None) -> None:
        if chat_id is None or not method.startswith(_CHAT_WRITE_PREFIXES):
            return
        if chat_id in self._blocked:
            raise StubAPIError(403, "Forbidden: bot was blocked by the user")
        if method in _UNLIMITED_METHODS:
            return
        now = time.monotonic()
        waits = [0.0]
        chat_window = self._chat_windows.setdefault(chat_id, _Window())
        if self.per_chat_per_second is not None:
            waits.append(chat_window.retry_after(now, self.per_chat_per_second))
        if self.global_per_second is not None:
            waits.append(self._global_window.retry_after(now, self.global_per_second))
        wait = max(waits)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise StubAPIError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
        chat_window.hit(now)
        self._global_window.hit(now)

    # ---------------------------------------------------------------- internals: webhook

    async def _webhook_loop(self) -> None:
        while not self._closing:
            event = self._wake.waiter()
            if self._webhook_url is not None:
                self._dispatch_webhook()
            await event.wait()

    def _dispatch_webhook(self) -> None:
        busy: set[object] = set(self._webhook_inflight_keys)
        for pending in list(self._pending):
            if len(self._deliveries) >= self._webhook_max_connections:
                break
            uid = int(pending.update["update_id"])
            key = _update_chat_key(pending.update)
            if uid in self._webhook_inflight_ids or key in busy:
                busy.add(key)
                continue
            busy.add(key)
            self._webhook_inflight_ids.add(uid)
            self._webhook_inflight_keys.add(key)
            task = asyncio.create_task(self._deliver(pending, key))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, pending: _Pending, key: object) -> None:
        uid = int(pending.update["update_id"])
        try:
            delivered = await self._post_update(pending.update)
            if delivered:
                pending.handed = True
                with contextlib.suppress(ValueError):
                    self._pending.remove(pending)
            else:
                await asyncio.sleep(self.webhook_retry_delay)
        finally:
            self._webhook_inflight_ids.discard(uid)
            self._webhook_inflight_keys.discard(key)
            self._wake.notify()

    async def _post_update(self, update: JSON) -> bool:
        url, client = self._webhook_url, self._client
        if url is None or client is None:
            return False
        headers = {"Content-Type": "application/json"}
        if self._webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self._webhook_secret
        body = json.dumps(update, ensure_ascii=False).encode()
        try:
            async with client.post(
                url, data=body, headers=headers, timeout=ClientTimeout(total=self.webhook_timeout)
            ) as resp:
                if not 200 <= resp.status < 300:
                    self._webhook_error(f"Wrong response from the webhook: {resp.status} {resp.reason}")
                    return False
                reply = await self._read_webhook_reply(resp.content_type, resp)
        except (ClientError, TimeoutError) as exc:
            self._webhook_error(f"Connection failed: {type(exc).__name__}: {exc}")
            return False
        if reply is not None:
            method, params, parts = reply
            await self._execute(
                self._webhook_token,
                method,
                params,
                parts,
                content_type="webhook-reply",
                started=time.monotonic(),
                via_webhook_reply=True,
            )
        return True

    async def _read_webhook_reply(
        self, content_type: str, resp: Any
    ) -> tuple[str, JSON, dict[str, StoredFile]] | None:
        params: JSON = {}
        parts: dict[str, StoredFile] = {}
        if content_type.startswith("multipart/"):
            reader = MultipartReader.from_response(resp)
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                data = bytes(await part.read(decode=True))
                if part.filename is not None:
                    parts[part.name] = self._new_upload(data, part.filename, part.headers.get("Content-Type"))
                else:
                    params[part.name] = _decode_field(part.name, data.decode())
        else:
            raw = await resp.read()
            if not raw.strip():
                return None
            try:
                body = json.loads(raw)
            except ValueError:
                return None
            if not isinstance(body, dict):
                return None
            params = body
        method = params.pop("method", None)
        if not isinstance(method, str) or not method:
            return None
        return method, params, parts

    def _webhook_error(self, message: str) -> None:
        logger.info("webhook delivery failed: %s", message)
        self._webhook_last_error = (int(time.time()), message)

    # ---------------------------------------------------------------- internals: control API

    async def _handle_control(self, request: web.Request) -> web.StreamResponse:
        """Tiny JSON API under /_stub/ for driving a standalone stub from another process."""
        action = request.match_info["action"]
        body: JSON = {}
        if request.method == "POST" and request.can_read_body:
            try:
                loaded = await request.json()
            except ValueError:
                loaded = None
            if not isinstance(loaded, dict):
                return web.json_response({"ok": False, "description": "JSON object expected"}, status=400)
            body = loaded
        query = dict(request.query)
        try:
            result: Any
            if action == "send_text":
                result = self.send_text(int(body["user_id"]), str(body["text"]))
            elif action == "press_button":
                result = self.press_button(
                    int(body["user_id"]), int(body["message_id"]), str(body["callback_data"])
                )
            elif action == "update":
                result = self.send_update(body)
            elif action == "calls":
                since = int(query.get("since", 0))
                result = [
                    {
                        "index": c.index,
                        "method": c.method,
                        "params": c.params,
                        "ok": c.ok,
                        "result": c.result,
                        "error_code": c.error_code,
                        "description": c.description,
                    }
                    for c in self.calls[since:]
                ]
            elif action == "messages":
                result = self.messages(int(query["chat_id"]))
            elif action == "fail_next":
                self.fail_next(
                    str(body["method"]),
                    int(body.get("error_code", 429)),
                    int(body.get("retry_after", 1)),
                    int(body.get("count", 1)),
                )
                result = True
            elif action == "block_user":
                self.block_user(int(body["chat_id"]))
                result = True
            elif action == "unblock_user":
                self.unblock_user(int(body["chat_id"]))
                result = True
            else:
                return web.json_response({"ok": False, "description": "unknown action"}, status=404)
        except (KeyError, ValueError, TypeError) as exc:
            return web.json_response({"ok": False, "description": f"{type(exc).__name__}: {exc}"}, status=400)
        return web.json_response(
            {"ok": True, "result": result}, dumps=lambda o: json.dumps(o, ensure_ascii=False)
        )

    # ---------------------------------------------------------------- method handlers

    def _register_builtin_handlers(self) -> None:
        builtins: dict[str, MethodHandler] = {
            "getMe": self._m_get_me,
            "logOut": self._m_true,
            "close": self._m_true,
            "getUpdates": self._m_get_updates,
            "setWebhook": self._m_set_webhook,
            "deleteWebhook": self._m_delete_webhook,
            "getWebhookInfo": self._m_get_webhook_info,
            "setMyCommands": self._m_set_my_commands,
            "deleteMyCommands": self._m_delete_my_commands,
            "getMyCommands": self._m_get_my_commands,
            "sendMessage": self._m_send_message,
            "sendDocument": self._m_send_document,
            "sendPhoto": self._m_send_photo,
            "editMessageText": self._m_edit_message_text,
            "editMessageCaption": self._m_edit_message_caption,
            "editMessageReplyMarkup": self._m_edit_message_reply_markup,
            "deleteMessage": self._m_delete_message,
            "answerCallbackQuery": self._m_answer_callback_query,
            "sendChatAction": self._m_send_chat_action,
            "getFile": self._m_get_file,
        }
        for name, handler in builtins.items():
            self._handlers[name.lower()] = (name, handler)

    async def _m_true(self, rq: MethodRequest) -> bool:
        return True

    async def _m_get_me(self, rq: MethodRequest) -> JSON:
        return {
            **self._bot_user(rq.token),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_get_updates(self, rq: MethodRequest) -> list[JSON]:
        p = rq.params
        offset = _opt_int(p, "offset") or 0
        limit = min(100, max(1, _opt_int(p, "limit") or 100))
        timeout = max(0.0, _opt_float(p, "timeout") or 0.0)
        if "allowed_updates" in p:
            self._set_allowed_updates(p["allowed_updates"])
        if self._webhook_url is not None:
            raise StubAPIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if offset > 0:
            self._pending = [x for x in self._pending if int(x.update["update_id"]) >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake.notify()  # an older long poll still waiting now ends with 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._wake.waiter()
            if self._closing:
                return []
            if generation != self._poll_generation:
                raise StubAPIError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            if self._webhook_url is not None:
                raise StubAPIError(409, "Conflict: can't use getUpdates method while webhook is active")
            if self._pending:
                batch = self._pending[:limit]
                for item in batch:
                    item.handed = True
                return [item.update for item in batch]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await _wait(event, remaining)

    async def _m_set_webhook(self, rq: MethodRequest) -> bool:
        p = rq.params
        url = _opt_str(p, "url") or ""
        secret = _opt_str(p, "secret_token")
        if self.strict and secret is not None and not _SECRET_RE.match(secret):
            raise StubAPIError(400, "Bad Request: secret token contains unallowed characters")
        if url and not url.startswith(("http://", "https://")):
            raise StubAPIError(
                400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        if "allowed_updates" in p:
            self._set_allowed_updates(p["allowed_updates"])
        if _opt_bool(p, "drop_pending_updates"):
            self._pending.clear()
        self._webhook_url = url or None
        self._webhook_secret = secret
        self._webhook_token = rq.token
        self._webhook_max_connections = min(100, max(1, _opt_int(p, "max_connections") or 40))
        self._webhook_last_error = None
        self._wake.notify()
        return True

    async def _m_delete_webhook(self, rq: MethodRequest) -> bool:
        if _opt_bool(rq.params, "drop_pending_updates"):
            self._pending.clear()
        self._webhook_url = None
        self._webhook_secret = None
        self._wake.notify()
        return True

    async def _m_get_webhook_info(self, rq: MethodRequest) -> JSON:
        info: JSON = {
            "url": self._webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook_url is not None:
            info["max_connections"] = self._webhook_max_connections
            info["ip_address"] = "127.0.0.1"
            if self._allowed_updates != DEFAULT_ALLOWED_UPDATES:
                info["allowed_updates"] = sorted(self._allowed_updates)
            if self._webhook_last_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

    async def _m_set_my_commands(self, rq: MethodRequest) -> bool:
        p = rq.params
        commands = _opt_json(p, "commands")
        if not isinstance(commands, list):
            raise StubAPIError(400, "Bad Request: can't parse commands JSON object")
        clean: list[JSON] = []
        for item in commands:
            if not isinstance(item, dict):
                raise StubAPIError(400, "Bad Request: can't parse BotCommand")
            command, description = str(item.get("command", "")), str(item.get("description", ""))
            if self.strict and not _COMMAND_RE.match(command):
                raise StubAPIError(400, "Bad Request: BOT_COMMAND_INVALID")
            if self.strict and not 1 <= len(description) <= 256:
                raise StubAPIError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": command, "description": description})
        if self.strict and len(clean) > 100:
            raise StubAPIError(400, "Bad Request: too many commands specified")
        self._commands[self._commands_key(_opt_dict(p, "scope"), _opt_str(p, "language_code"))] = clean
        return True

    async def _m_delete_my_commands(self, rq: MethodRequest) -> bool:
        key = self._commands_key(_opt_dict(rq.params, "scope"), _opt_str(rq.params, "language_code"))
        self._commands.pop(key, None)
        return True

    async def _m_get_my_commands(self, rq: MethodRequest) -> list[JSON]:
        return self.commands(_opt_dict(rq.params, "scope"), _opt_str(rq.params, "language_code") or "")

    # -- sending

    def _chat_id(self, params: JSON) -> int:
        value = params.get("chat_id")
        if value is None or value == "":
            raise StubAPIError(400, "Bad Request: chat_id is empty")
        if isinstance(value, str) and value.startswith("@"):
            for cid, chat in self._chats.items():
                if chat.get("username") == value[1:]:
                    return cid
            raise StubAPIError(400, "Bad Request: chat not found")
        try:
            chat_id = _opt_int(params, "chat_id")
        except StubAPIError:
            raise StubAPIError(400, "Bad Request: chat not found") from None
        if chat_id is None or chat_id == 0:
            raise StubAPIError(400, "Bad Request: chat not found")
        return chat_id

    def _format(
        self, params: JSON, key: str, *, limit: int, required: bool
    ) -> tuple[str | None, list[JSON] | None]:
        raw = _opt_str(params, key)
        entities_key = "entities" if key == "text" else "caption_entities"
        if raw is None or raw == "":
            if required:
                raise StubAPIError(400, "Bad Request: message text is empty")
            return None, None
        parse_mode = (_opt_str(params, "parse_mode") or "").strip()
        entities: list[JSON] | None = None
        text = raw
        if parse_mode.lower() == "html":
            text, parsed = parse_html(raw) if self.strict else (raw, [])
            entities = parsed or None
        elif parse_mode.lower() in {"markdown", "markdownv2"} or not parse_mode:
            given = _opt_json(params, entities_key)
            entities = given if isinstance(given, list) and given else None
        else:
            raise StubAPIError(400, f'Bad Request: unsupported parse_mode "{parse_mode}"')
        if self.strict:
            if not text.strip():
                raise StubAPIError(
                    400,
                    "Bad Request: message text is empty"
                    if key == "text"
                    else "Bad Request: message caption is empty",
                )
            if utf16_len(text) > limit:
                raise StubAPIError(
                    400,
                    "Bad Request: message is too long"
                    if key == "text"
                    else "Bad Request: message caption is too long",
                )
        return text, entities

    def _reply_markup(self, chat_id: int | None, params: JSON) -> JSON | None:
        """Validate reply_markup; returns the inline keyboard to show on the message, if any."""
        markup = _opt_dict(params, "reply_markup")
        if markup is None:
            return None
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise StubAPIError(400, "Bad Request: can't parse inline keyboard")
            if self.strict:
                for row in rows:
                    for button in row:
                        self._check_inline_button(button)
            return {"inline_keyboard": rows}
        if chat_id is not None:
            if "keyboard" in markup:
                self._reply_keyboards[chat_id] = markup
            elif markup.get("remove_keyboard"):
                self._reply_keyboards[chat_id] = None
        return None

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise StubAPIError(
                400, 'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String'
            )
        if not button["text"]:
            raise StubAPIError(400, "Bad Request: BUTTON_TEXT_INVALID")
        actions = _INLINE_BUTTON_ACTIONS.intersection(button)
        if not actions:
            raise StubAPIError(
                400,
                "Bad Request: can't parse inline keyboard button: Text buttons are "
                "unallowed in the inline keyboard",
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                raise StubAPIError(400, "Bad Request: BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not re.match(r"^(https?|tg)://\S+$", url):
                raise StubAPIError(
                    400, f"Bad Request: inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"
                )

    def _bot_message(self, token: str, chat_id: int, content: JSON, params: JSON) -> JSON:
        chat = self._ensure_chat(chat_id)
        data: JSON = {
            "message_id": 0,
            "from": self._bot_user(token),
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        reply = _opt_dict(params, "reply_parameters")
        reply_id = _opt_int(reply, "message_id") if reply else _opt_int(params, "reply_to_message_id")
        if reply_id is not None:
            allow = _opt_bool(reply or params, "allow_sending_without_reply")
            replied = self._messages.get(chat_id, {}).get(reply_id)
            if replied is not None and not replied.deleted:
                data["reply_to_message"] = _strip_reply(replied.data)
            elif self.strict and not allow:
                raise StubAPIError(400, "Bad Request: message to be replied not found")
        inline = self._reply_markup(chat_id, params)
        if inline is not None:
            data["reply_markup"] = inline
        data["message_id"] = self._next_message_id(chat_id)
        self._store(chat_id, data, from_bot=True)
        return data

    async def _m_send_message(self, rq: MethodRequest) -> JSON:
        chat_id = self._chat_id(rq.params)
        text, entities = self._format(rq.params, "text", limit=TEXT_LIMIT, required=True)
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        options = _opt_dict(rq.params, "link_preview_options")
        if options is not None:
            content["link_preview_options"] = options
        return self._bot_message(rq.token, chat_id, content, rq.params)

    def _input_file(self, rq: MethodRequest, key: str) -> StoredFile:
        value = rq.params.get(key)
        if isinstance(value, str) and value.startswith("attach://"):
            part = rq.parts.get(value[len("attach://") :])
            if part is None:
                raise StubAPIError(400, f"Bad Request: file attach://{value[9:]} not found in request")
        elif key in rq.parts:
            part = rq.parts[key]
        elif isinstance(value, str) and value in self._files:
            return self._files[value]
        elif isinstance(value, str) and value.startswith(("http://", "https://")):
            name = value.rsplit("/", 1)[-1] or "file"
            part = self.register_file(b"", filename=name)
        else:
            raise StubAPIError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        self.uploads.append(part)
        return part

    def _caption_content(self, rq: MethodRequest) -> JSON:
        caption, entities = self._format(rq.params, "caption", limit=CAPTION_LIMIT, required=False)
        content: JSON = {}
        if caption is not None:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        return content

    async def _m_send_document(self, rq: MethodRequest) -> JSON:
        chat_id = self._chat_id(rq.params)
        content = self._caption_content(rq)
        stored = self._input_file(rq, "document")
        return self._bot_message(rq.token, chat_id, {"document": stored.as_document(), **content}, rq.params)

    async def _m_send_photo(self, rq: MethodRequest) -> JSON:
        chat_id = self._chat_id(rq.params)
        content = self._caption_content(rq)
        stored = self._input_file(rq, "photo")
        return self._bot_message(rq.token, chat_id, {"photo": stored.as_photo(), **content}, rq.params)

    # -- editing

    def _message_to_edit(self, params: JSON) -> StoredMessage | None:
        """The stored bot message an edit targets; None for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat_id = self._chat_id(params)
        message_id = _opt_int(params, "message_id")
        if message_id is None:
            raise StubAPIError(400, "Bad Request: message identifier is not specified")
        stored = self._messages.get(chat_id, {}).get(message_id)
        if stored is None or stored.deleted:
            raise StubAPIError(400, "Bad Request: message to edit not found")
        if not stored.from_bot:
            raise StubAPIError(400, "Bad Request: message can't be edited")
        return stored

    def _apply_edit(self, stored: StoredMessage, changes: JSON, inline: JSON | None) -> JSON:
        data = {k: v for k, v in stored.data.items() if k not in ("reply_markup", "edit_date")}
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        if inline is not None:
            data["reply_markup"] = inline
        old = {k: v for k, v in stored.data.items() if k != "edit_date"}
        if self.strict and data == old:
            raise StubAPIError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message",
            )
        data["edit_date"] = int(time.time())
        stored.data = data
        stored.versions.append(data)
        return data

    async def _m_edit_message_text(self, rq: MethodRequest) -> JSON | bool:
        stored = self._message_to_edit(rq.params)
        text, entities = self._format(rq.params, "text", limit=TEXT_LIMIT, required=True)
        inline = self._reply_markup(None, rq.params)
        if stored is None:
            return True
        if "text" not in stored.data:
            raise StubAPIError(400, "Bad Request: there is no text in the message to edit")
        return self._apply_edit(stored, {"text": text, "entities": entities}, inline)

    async def _m_edit_message_caption(self, rq: MethodRequest) -> JSON | bool:
        stored = self._message_to_edit(rq.params)
        caption, entities = self._format(rq.params, "caption", limit=CAPTION_LIMIT, required=False)
        inline = self._reply_markup(None, rq.params)
        if stored is None:
            return True
        if "text" in stored.data:
            raise StubAPIError(400, "Bad Request: there is no caption in the message to edit")
        return self._apply_edit(stored, {"caption": caption, "caption_entities": entities}, inline)

    async def _m_edit_message_reply_markup(self, rq: MethodRequest) -> JSON | bool:
        stored = self._message_to_edit(rq.params)
        inline = self._reply_markup(None, rq.params)
        if stored is None:
            return True
        return self._apply_edit(stored, {}, inline)

    async def _m_delete_message(self, rq: MethodRequest) -> bool:
        chat_id = self._chat_id(rq.params)
        message_id = _opt_int(rq.params, "message_id")
        stored = self._messages.get(chat_id, {}).get(message_id or 0)
        if stored is None or stored.deleted:
            raise StubAPIError(400, "Bad Request: message to delete not found")
        stored.deleted = True
        return True

    # -- misc

    async def _m_answer_callback_query(self, rq: MethodRequest) -> bool:
        query_id = _opt_str(rq.params, "callback_query_id") or ""
        if self.strict:
            if query_id not in self._callbacks or self._callbacks[query_id] is not None:
                raise StubAPIError(
                    400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
                )
            text = _opt_str(rq.params, "text")
            if text is not None and len(text) > 200:
                raise StubAPIError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._callbacks[query_id] = dict(rq.params)
        return True

    async def _m_send_chat_action(self, rq: MethodRequest) -> bool:
        self._chat_id(rq.params)
        if not _opt_str(rq.params, "action"):
            raise StubAPIError(400, "Bad Request: action is empty")
        return True

    async def _m_get_file(self, rq: MethodRequest) -> JSON:
        stored = self._files.get(_opt_str(rq.params, "file_id") or "")
        if stored is None:
            raise StubAPIError(400, "Bad Request: invalid file_id")
        if stored.file_size > 20 * 1024 * 1024:
            raise StubAPIError(400, "Bad Request: file is too big")
        return stored.as_file()


# --------------------------------------------------------------------------------------------
# Standalone server
# --------------------------------------------------------------------------------------------


def _describe(call: Call) -> str:
    status = "ok" if call.ok else f"{call.error_code} {call.description}"
    text = call.params.get("text", call.params.get("caption", ""))
    buttons = ""
    markup = call.params.get("reply_markup")
    if isinstance(markup, dict) and isinstance(markup.get("inline_keyboard"), list):
        buttons = " " + " | ".join(
            f"[{b.get('text')}→{b.get('callback_data', b.get('url', ''))}]"
            for row in markup["inline_keyboard"]
            for b in row
            if isinstance(b, dict)
        )
    mid = call.result.get("message_id") if isinstance(call.result, dict) else call.params.get("message_id")
    head = f"{call.method} chat={call.chat_id} msg={mid} ({status})"
    return f"{head}: {text}{buttons}" if text or buttons else head


async def _serve(args: argparse.Namespace) -> None:
    async with BotAPIStub(
        host=args.host,
        port=args.port,
        per_chat_per_second=args.per_chat_per_second,
        global_per_second=args.global_per_second,
        strict=not args.lenient,
    ) as api:
        print(f"Bot API stub listening on {api.base_url}", flush=True)
        print(f"  bot:  TelegramAPIServer.from_base({api.base_url!r}), any token", flush=True)
        print(f'  control: POST {api.base_url}/_stub/send_text {{"user_id": 42, "text": "你好"}}', flush=True)
        if args.verbose or args.chat is not None:
            api.add_listener(
                lambda c: print(f"<- {_describe(c)}", flush=True) if c.method != "getUpdates" else None
            )
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        if args.chat is not None:
            user_id = int(args.chat)
            print(
                f"  typing a line sends it as user {user_id}; '!press MESSAGE_ID DATA' presses a button",
                flush=True,
            )

            def on_line() -> None:
                line = sys.stdin.readline()
                if not line:
                    loop.remove_reader(sys.stdin.fileno())
                    return
                line = line.rstrip("\n")
                if line.startswith("!press "):
                    _, mid, data = line.split(" ", 2)
                    try:
                        api.press_button(user_id, int(mid), data)
                    except ValueError as exc:
                        print(f"!! {exc}", flush=True)
                elif line:
                    api.send_text(user_id, line)

            loop.add_reader(sys.stdin.fileno(), on_line)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.botapi_stub", description="Fake Telegram Bot API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--per-chat-per-second", type=float, default=None)
    parser.add_argument("--global-per-second", type=float, default=None)
    parser.add_argument("--lenient", action="store_true", help="turn off Telegram's validation")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every call of the bot")
    parser.add_argument("--chat", metavar="USER_ID", help="read lines from stdin as that user's messages")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
