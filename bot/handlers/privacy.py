"""/privacy: what is kept and for how long. /forget: delete it all, after a confirming button."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot import keyboards
from bot.callbacks import ForgetAction, ForgetCB
from bot.config import Settings
from bot.i18n import Translator
from bot.replies import acknowledge, edit, send
from bot.store.privacy import Privacy


async def on_privacy(message: Message, bot: Bot, t: Translator, settings: Settings) -> None:
    await send(bot, message.chat.id, t("privacy.text", days=settings.question_log_retention_days))


async def on_forget(message: Message, bot: Bot, t: Translator) -> None:
    if message.from_user is None:  # a channel or an anonymous group admin: nothing is kept about them
        await send(bot, message.chat.id, t("privacy.forget_nobody"))
        return
    await send(bot, message.chat.id, t("privacy.forget_confirm"), keyboards.forget(t, message.from_user.id))


async def on_forget_choice(
    callback: CallbackQuery, callback_data: ForgetCB, bot: Bot, t: Translator, privacy: Privacy
) -> None:
    if callback_data.user != callback.from_user.id:  # someone else's /forget (in a group), or forged
        await acknowledge(callback, t("privacy.not_yours"), alert=True)
        return
    if callback_data.action == ForgetAction.NO:
        await acknowledge(callback)
        await edit(bot, callback, t("privacy.kept"))
        return
    forgotten = await privacy.forget(callback.from_user.id)
    await acknowledge(callback)
    await edit(bot, callback, t("privacy.forgotten", count=forgotten.total))


def make_router() -> Router:
    router = Router(name="privacy")
    router.message.register(on_privacy, Command("privacy"))
    router.message.register(on_forget, Command("forget"))
    router.callback_query.register(on_forget_choice, ForgetCB.filter())
    return router
