"""Sending and editing that respects Telegram's limits and tolerates stale messages."""

from __future__ import annotations

import contextlib

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.format import split_message


def chat_of(callback: CallbackQuery) -> int:
    return callback.message.chat.id if callback.message is not None else callback.from_user.id


async def send(bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
    """Send HTML `text`, split under the length limit; the keyboard goes under the last piece."""
    pieces = split_message(text)
    sent: Message | None = None
    for number, piece in enumerate(pieces, start=1):
        sent = await bot.send_message(chat_id, piece, reply_markup=markup if number == len(pieces) else None)
    assert sent is not None
    return sent


async def edit(
    bot: Bot, callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace the pressed message with `text` (browsing pages in place); pieces beyond the first
    come as new messages. A message that can no longer be edited is answered with a new one."""
    pieces = split_message(text)
    message = callback.message
    if not isinstance(message, Message):  # too old: Telegram sends it as InaccessibleMessage
        await send(bot, chat_of(callback), text, markup)
        return
    first, rest = pieces[0], "\n".join(pieces[1:])
    try:
        await bot.edit_message_text(
            text=first,
            chat_id=message.chat.id,
            message_id=message.message_id,
            reply_markup=None if rest else markup,
        )
    except TelegramBadRequest as exc:
        if "message is not modified" in exc.message:
            return
        await send(bot, message.chat.id, text, markup)
        return
    if rest:
        await send(bot, message.chat.id, rest, markup)


async def acknowledge(callback: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a callback query; one redelivered after a restart is too old to answer, which is fine."""
    with contextlib.suppress(TelegramBadRequest):
        await callback.answer(text, show_alert=alert)
