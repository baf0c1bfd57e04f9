"""The command menu (setMyCommands), in each language."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand

from bot.i18n import DEFAULT_LANGUAGE, Catalogs, Translator

COMMANDS = ("start", "measures", "check", "cancel", "lang", "help", "privacy")


def command_list(t: Translator) -> list[BotCommand]:
    return [BotCommand(command=name, description=t(f"command.{name}")) for name in COMMANDS]


async def set_commands(bot: Bot, catalogs: Catalogs) -> None:
    """The default menu in Chinese, and an English one for apps set to English."""
    for lang in catalogs.languages:
        code = None if lang == DEFAULT_LANGUAGE else lang
        await bot.set_my_commands(command_list(catalogs[lang]), language_code=code)
