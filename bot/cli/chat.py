"""`policybot chat`: the same dispatcher and handlers, talked to in the terminal.

No token and no network: updates are made here and the bot's calls are answered by a
LocalSession, which prints what the bot says. Inline buttons show as numbered choices; typing a
number presses one. Under a question that wants a figure, a number is the answer and its buttons
are pressed as "#1" ("#n" works everywhere, "=12" always types 12). /quit or end of input ends it.
Files: a document the bot sends is saved in the current directory; "/upload PATH" sends a file to
the bot as a document (staff import a knowledge-base YAML this way).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from aiogram import Bot, Dispatcher
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import BufferedInputFile, CallbackQuery, Chat, InlineKeyboardMarkup, Message, Update, User

from bot.callbacks import StepAction, StepCB
from bot.config import Settings
from bot.factory import create_bot, create_dispatcher
from bot.live import current_assistant
from bot.store.db import open_database
from bot.transport.local import LocalSession

USER_ID = 10_000
PROMPT = "> "
QUIT = frozenset({"/quit", "/exit", "/q"})
TIPS = {
    "zh": "（终端对话：输入问题或命令；输入按钮编号即按下按钮，需要填写数字的问题用“#编号”按按钮；/quit 退出）",
    "en": (
        "(Terminal chat: type a question or a command; a button's number presses it; under a question "
        "that wants a figure, press with #1; /quit to leave)"
    ),
}


class TerminalView:
    """Prints the bot's messages and remembers the latest inline keyboard."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.keyboard_message: Message | None = None
        self.buttons: list[tuple[str, str]] = []  # (label, callback data)
        self.wants_figure = False  # the keyboard is under a question answered by typing a number

    def on_call(self, method: TelegramMethod[Any], result: Any) -> None:
        if isinstance(method, SendMessage | EditMessageText | EditMessageReplyMarkup) and isinstance(
            result, Message
        ):
            if isinstance(method, EditMessageReplyMarkup) and result.reply_markup is None:
                self._forget(result)
                return
            self._print("")
            if isinstance(method, EditMessageReplyMarkup):  # the same text, its buttons redrawn
                self._print("✎")
            else:
                self._print(("" if isinstance(method, SendMessage) else "✎ ") + (result.text or ""))
            self._show_buttons(result)
        elif isinstance(method, SendDocument) and isinstance(result, Message) and result.document is not None:
            self._print("")
            upload = method.document
            data = upload.data if isinstance(upload, BufferedInputFile) else b""
            saved = _save(result.document.file_name or "document", data)
            self._print(f"📎 {result.document.file_name} ({len(data)} bytes) → {saved}")
            if result.caption:
                self._print(result.caption)
        elif isinstance(method, SendPhoto) and isinstance(method.photo, BufferedInputFile):
            self._print("")  # a picture (the staff's /stats chart): saved like a document
            saved = _save(method.photo.filename or "photo.png", method.photo.data)
            self._print(f"🖼 {method.photo.filename} ({len(method.photo.data)} bytes) → {saved}")
            if method.caption:
                self._print(method.caption)
        elif isinstance(method, AnswerCallbackQuery) and method.text:
            self._print(f"  » {method.text}")

    def _show_buttons(self, message: Message) -> None:
        markup = message.reply_markup
        if not isinstance(markup, InlineKeyboardMarkup) or not markup.inline_keyboard:
            self._forget(message)
            return
        self.keyboard_message = message
        self.buttons = [(b.text, b.callback_data or "") for row in markup.inline_keyboard for b in row]
        self.wants_figure = _wants_figure([data for _, data in self.buttons])
        mark = "#" if self.wants_figure else ""
        number = 0
        for row in markup.inline_keyboard:
            cells = []
            for button in row:
                number += 1
                cells.append(f"[{mark}{number}] {button.text}")
            self._print("  " + "  ".join(cells))

    def _forget(self, message: Message) -> None:
        current = self.keyboard_message
        if current is not None and current.message_id == message.message_id:
            self.keyboard_message, self.buttons, self.wants_figure = None, [], False

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def _save(name: str, data: bytes) -> Path:
    """A received file, in the current directory, never over an existing one."""
    path = Path(Path(name).name or "document")
    number = 1
    while path.exists():
        path = Path(f"{Path(name).stem}-{number}{Path(name).suffix}")
        number += 1
    path.write_bytes(data)
    return path.resolve()


def _wants_figure(callback_data: list[str]) -> bool:
    """Interview buttons without yes/no: the question is answered by typing (a figure)."""
    steps = []
    for data in callback_data:
        try:
            steps.append(StepCB.unpack(data))
        except (TypeError, ValueError):
            return False
    pressable = (StepAction.YES, StepAction.NO, StepAction.TOGGLE)  # answered with buttons
    return bool(steps) and all(s.action not in pressable for s in steps)


class TerminalChat:
    def __init__(self, settings: Settings, *, lang: str, today: Callable[[], date], out: TextIO) -> None:
        self.settings = settings
        self.lang = lang
        self.today = today
        self.view = TerminalView(out)
        self.out = out
        self.user = User(id=USER_ID, is_bot=False, first_name="终端用户", language_code=lang)
        self.chat = Chat(id=USER_ID, type="private")
        # Ids grow across runs too: the interview ignores a message id it has already seen.
        self._message_ids = itertools.count(int(time.time() * 1000))
        self._update_ids = itertools.count(1)

    async def run(self, stdin: TextIO) -> int:
        db = await open_database(self.settings.database_path)
        session = LocalSession(listener=self.view.on_call)
        bot = create_bot("1:terminal", session)
        # with the staff's edits, on the shipped files or KB_DIR's (--kb DIR)
        assistant = await current_assistant(db, today=self.today, kb_dir=self.settings.kb_dir)
        dispatcher = create_dispatcher(self.settings, assistant=assistant, db=db)
        try:
            print(TIPS.get(self.lang, TIPS["zh"]), file=self.out, flush=True)
            await self._feed(bot, dispatcher, self._text("/start"))
            while True:
                print(PROMPT, end="", file=self.out, flush=True)
                line = await asyncio.to_thread(stdin.readline)
                if not line:
                    break
                text = line.strip()
                if not text:
                    continue
                if text.lower() in QUIT:
                    break
                if text.split(maxsplit=1)[0] == "/upload":
                    update = self._upload(text.removeprefix("/upload").strip(), session)
                    if update is not None:
                        await self._feed(bot, dispatcher, update)
                    continue
                await self._feed(bot, dispatcher, self._input(text))
        finally:
            await dispatcher.storage.close()
            await db.close()
            await bot.session.close()
        print("", file=self.out, flush=True)
        return 0

    def _input(self, text: str) -> Update:
        view = self.view
        hashed = text.startswith("#") and text[1:].isdigit()
        if view.keyboard_message is not None and (hashed or (text.isdigit() and not view.wants_figure)):
            number = int(text.lstrip("#"))
            if 1 <= number <= len(view.buttons):
                return self._press(view.keyboard_message, view.buttons[number - 1][1])
        if text.startswith("=") and len(text) > 1:
            text = text[1:].strip()
        return self._text(text)

    def _upload(self, path: str, session: LocalSession) -> Update | None:
        """/upload PATH: the file, sent to the bot as a document."""
        try:
            data = Path(path).expanduser().read_bytes()
        except OSError as exc:
            print(f"/upload PATH: {exc.strerror or exc}: {path or '(no path)'}", file=self.out, flush=True)
            return None
        message = Message(
            message_id=next(self._message_ids),
            date=datetime.now(UTC),
            chat=self.chat,
            from_user=self.user,
            document=session.add_file(data, Path(path).name),
        )
        return Update(update_id=next(self._update_ids), message=message)

    def _text(self, text: str) -> Update:
        message = Message(
            message_id=next(self._message_ids),
            date=datetime.now(UTC),
            chat=self.chat,
            from_user=self.user,
            text=text,
        )
        return Update(update_id=next(self._update_ids), message=message)

    def _press(self, message: Message, data: str) -> Update:
        query = CallbackQuery(
            id=str(next(self._message_ids)),
            from_user=self.user,
            chat_instance=str(USER_ID),
            message=message,
            data=data,
        )
        return Update(update_id=next(self._update_ids), callback_query=query)

    async def _feed(self, bot: Bot, dispatcher: Dispatcher, update: Update) -> None:
        response = await dispatcher.feed_update(bot, update)
        if isinstance(response, TelegramMethod):  # a handler's answer meant for a webhook's response
            await dispatcher.silent_call_request(bot, response)


async def chat(
    settings: Settings,
    *,
    lang: str = "zh",
    today: Callable[[], date] = date.today,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
) -> int:
    return await TerminalChat(settings, lang=lang, today=today, out=out).run(stdin)
