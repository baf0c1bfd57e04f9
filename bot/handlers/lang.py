"""/lang: switch between 中文 and English; remembered per user."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import BotCommandScopeChat, CallbackQuery, Message

from bot import keyboards
from bot.callbacks import LangCB
from bot.commands import command_list
from bot.config import Settings
from bot.i18n import Catalogs, Translator
from bot.replies import acknowledge, edit, send
from bot.staff.menu import set_staff_menu
from bot.store.users import UserSettings


async def on_lang(message: Message, bot: Bot, t: Translator) -> None:
    await send(bot, message.chat.id, t("lang.choose"), keyboards.languages(t))


async def on_choice(
    callback: CallbackQuery,
    callback_data: LangCB,
    bot: Bot,
    t: Translator,
    catalogs: Catalogs,
    users: UserSettings,
    settings: Settings,
) -> None:
    if callback_data.code not in catalogs.languages:
        await acknowledge(callback, t("stale.button"), alert=True)
        return
    await users.set_language(callback.from_user.id, callback_data.code)
    chosen = catalogs[callback_data.code]
    await acknowledge(callback, chosen("lang.set"))
    await edit(bot, callback, chosen("lang.set"), keyboards.menu(chosen))
    message = callback.message
    if message is not None and message.chat.type == ChatType.PRIVATE:
        # The command menu of this chat in the chosen language (the default menus follow the app's).
        if callback.from_user.id in settings.admin_ids:  # staff keep their commands (bot/staff_menu.py)
            await set_staff_menu(bot, catalogs, message.chat.id, callback_data.code)
        else:
            await bot.set_my_commands(
                command_list(chosen), scope=BotCommandScopeChat(chat_id=message.chat.id)
            )


def make_router() -> Router:
    router = Router(name="lang")
    router.message.register(on_lang, Command("lang", "language"))
    router.callback_query.register(on_choice, LangCB.filter())
    return router
