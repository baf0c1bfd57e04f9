"""The Bot API session: aiogram's aiohttp session, sending JSON instead of a URL-encoded form.

aiogram sends every call as a form, each nested value (a keyboard, a list of commands) JSON-encoded
on its own and the whole then percent-encoded byte by byte in Python: for a card of 2,000 Chinese
characters, most of the cost of a call. The Bot API takes ``application/json`` as well; here the
same prepared values (defaults such as parse_mode resolved by aiogram's ``prepare_value``) go out as
one JSON document. Calls that upload a file still use aiogram's multipart form. Answers are checked
by aiogram as before (``check_response``: errors, 429's retry_after, …), except that a successful
edit's answer is not turned into a Message (the largest object the bot receives: an interview
checklist's buttons come back with every tick) — no caller reads it, and the Bot API's own answer
to an edit may be True as well.

A keyboard the bot shows again and again (the interview's are built once, bot/interview/keyboards.py)
is prepared for JSON once.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import EditMessageReplyMarkup, EditMessageText, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InlineKeyboardMarkup
from aiohttp import ClientError

if TYPE_CHECKING:
    from aiogram import Bot

_JSON_HEADERS = {"Content-Type": "application/json"}
_ANSWER_UNREAD = (EditMessageText, EditMessageReplyMarkup)  # an edit's Message: nobody reads it
_MARKUPS = 2048  # keyboards prepared, remembered by identity


class JsonSession(AiohttpSession):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._markups: OrderedDict[int, tuple[InlineKeyboardMarkup, Any]] = OrderedDict()

    def _markup(self, markup: InlineKeyboardMarkup, bot: Bot) -> Any:
        """A keyboard prepared for JSON; the keyboard itself is kept, so its id is not reused."""
        hit = self._markups.get(id(markup))
        if hit is not None and hit[0] is markup:
            self._markups.move_to_end(id(markup))
            return hit[1]
        prepared = self.prepare_value(markup.model_dump(warnings=False), bot=bot, files={}, _dumps_json=False)
        self._markups[id(markup)] = (markup, prepared)
        if len(self._markups) > _MARKUPS:
            self._markups.popitem(last=False)
        return prepared

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> TelegramType:
        files: dict[str, Any] = {}
        payload: dict[str, Any] = {}
        markup = getattr(method, "reply_markup", None)
        keyboard = markup if isinstance(markup, InlineKeyboardMarkup) else None
        dumped = method.model_dump(warnings=False, exclude={"reply_markup"} if keyboard else None)
        for key, value in dumped.items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is None or prepared == "":
                continue
            payload[key] = prepared
        if files:  # an upload: multipart, as aiogram does it
            return await super().make_request(bot, method, timeout)
        if keyboard is not None:
            payload["reply_markup"] = self._markup(keyboard, bot)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=self.json_dumps(payload),
                headers=_JSON_HEADERS,
                timeout=self.timeout if timeout is None else timeout,  # type: ignore[arg-type]
            ) as resp:
                raw_result = await resp.text()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method, message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        if resp.status == 200 and isinstance(method, _ANSWER_UNREAD) and self._ok(raw_result):
            return cast(TelegramType, True)
        response = self.check_response(bot=bot, method=method, status_code=resp.status, content=raw_result)
        return cast(TelegramType, response.result)

    def _ok(self, raw: str) -> bool:
        try:
            return self.json_loads(raw).get("ok") is True
        except (ValueError, AttributeError):
            return False
