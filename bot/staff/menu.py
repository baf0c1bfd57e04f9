"""The staff's command menu: the public commands and the staff ones, set for each staff chat only
(BotCommandScopeChat), so nobody else sees them. Chats that lost staff rights get theirs removed."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat

from bot.commands import command_list
from bot.i18n import Catalogs, Translator
from bot.store.db import Database
from bot.store.users import UserSettings

logger = logging.getLogger("policybot")

STAFF_COMMANDS = ("inbox", "edit", "history", "rollback", "conflicts", "export", "remove", "stats", "unanswered")


def staff_command_list(t: Translator) -> list[BotCommand]:
    staff = [BotCommand(command=name, description=t(f"command.{name}")) for name in STAFF_COMMANDS]
    return [*command_list(t), *staff]


async def set_staff_menu(bot: Bot, catalogs: Catalogs, chat_id: int, lang: str | None = None) -> None:
    """One staff chat's menu: in `lang` (chosen with /lang), else Chinese with an English one for
    apps set to English."""
    scope = BotCommandScopeChat(chat_id=chat_id)
    if lang is None:
        await bot.set_my_commands(staff_command_list(catalogs["zh"]), scope=scope)
        await bot.set_my_commands(staff_command_list(catalogs["en"]), scope=scope, language_code="en")
        return
    for code in (None, "en"):  # the chat+language scope wins over the chat scope: set both
        await bot.set_my_commands(staff_command_list(catalogs[lang]), scope=scope, language_code=code)


async def set_staff_commands(bot: Bot, catalogs: Catalogs, admin_ids: Iterable[int], db: Database) -> None:
    """At start: every staff chat gets the staff menu; former staff chats lose it."""
    admins = set(admin_ids)
    users = UserSettings(db)
    for chat_id in sorted(admins):
        try:
            await set_staff_menu(bot, catalogs, chat_id, await users.language(chat_id))
        except TelegramAPIError as exc:  # e.g. a staff member who never opened the chat
            logger.warning("cannot set the staff menu for %s: %s", chat_id, exc)
            continue
        async with db.transaction() as conn:
            await conn.execute("INSERT OR IGNORE INTO staff_menus (chat_id) VALUES (?)", (chat_id,))
    for (chat_id,) in await db.fetchall("SELECT chat_id FROM staff_menus"):
        if int(chat_id) in admins:
            continue
        scope = BotCommandScopeChat(chat_id=int(chat_id))
        try:
            await bot.delete_my_commands(scope=scope)
            await bot.delete_my_commands(scope=scope, language_code="en")
        except TelegramAPIError as exc:
            logger.warning("cannot remove the staff menu of %s: %s", chat_id, exc)
            continue
        async with db.transaction() as conn:
            await conn.execute("DELETE FROM staff_menus WHERE chat_id = ?", (int(chat_id),))
