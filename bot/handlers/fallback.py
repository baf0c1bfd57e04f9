"""Everything no other router took: media, edits, unknown commands, buttons that expired."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message

from bot import keyboards
from bot.i18n import Translator
from bot.replies import acknowledge, send


async def on_unknown_command(message: Message, bot: Bot, t: Translator) -> None:
    await send(bot, message.chat.id, t("fallback.command"))


async def on_sticker(message: Message, bot: Bot, t: Translator) -> None:
    await send(bot, message.chat.id, t("fallback.sticker"), keyboards.menu(t))


async def on_voice(message: Message, bot: Bot, t: Translator) -> None:
    await send(bot, message.chat.id, t("fallback.voice"))


async def on_file(message: Message, bot: Bot, t: Translator) -> None:
    await send(bot, message.chat.id, t("fallback.file"))


async def on_other(message: Message, bot: Bot, t: Translator) -> None:
    """Locations, contacts, polls…: say what the assistant can read. (Service messages: silence.)"""
    await send(bot, message.chat.id, t("fallback.other"), keyboards.menu(t))


async def on_edited(message: Message, bot: Bot, t: Translator) -> None:
    """An edit is not re-answered (the answer is already in the chat); say how to ask again."""
    await send(bot, message.chat.id, t("fallback.edited"))


async def on_unknown_button(callback: CallbackQuery, t: Translator) -> None:
    await acknowledge(callback, t("stale.button"), alert=True)


def make_router() -> Router:
    router = Router(name="fallback")
    router.message.register(on_unknown_command, F.text.startswith("/"))
    router.message.register(on_sticker, F.sticker | F.animation | F.dice)
    router.message.register(on_voice, F.voice | F.video_note | F.audio)
    router.message.register(on_file, F.photo | F.document | F.video)
    router.message.register(on_other, F.location | F.contact | F.venue | F.poll)
    router.edited_message.register(on_edited, F.chat.type == ChatType.PRIVATE)
    router.callback_query.register(on_unknown_button)
    return router
