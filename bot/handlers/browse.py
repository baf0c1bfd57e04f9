"""/measures: the sub-sections → their measures → a measure's card, in one message edited in place."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot import keyboards, views
from bot.callbacks import ROOT, CardCB, SectionCB, SourceCB
from bot.i18n import Translator
from bot.replies import acknowledge, chat_of, edit, send
from eligibility.answer import Assistant


def _browsable(assistant: Assistant, section_id: str) -> bool:
    policy = assistant.kb.policies[0]
    return any(e.section == section_id for e in policy.data.entries)


async def send_sections(bot: Bot, chat_id: int, t: Translator, assistant: Assistant) -> None:
    kb = assistant.kb
    await send(bot, chat_id, views.sections_text(t, kb), keyboards.sections(t, kb))


async def on_measures(message: Message, bot: Bot, t: Translator, assistant: Assistant) -> None:
    await send_sections(bot, message.chat.id, t, assistant)


async def on_section(
    callback: CallbackQuery, callback_data: SectionCB, bot: Bot, t: Translator, assistant: Assistant
) -> None:
    kb = assistant.kb
    if callback_data.id == ROOT:
        await acknowledge(callback)
        await edit(bot, callback, views.sections_text(t, kb), keyboards.sections(t, kb))
    elif _browsable(assistant, callback_data.id):
        await acknowledge(callback)
        text = views.section_text(t, kb, callback_data.id)
        await edit(bot, callback, text, keyboards.section(t, kb, callback_data.id))
    else:
        await acknowledge(callback, t("stale.button"), alert=True)


async def on_card(
    callback: CallbackQuery, callback_data: CardCB, bot: Bot, t: Translator, lang: str, assistant: Assistant
) -> None:
    kb = assistant.kb
    entry = kb.get(callback_data.id)
    back = callback_data.back
    if entry is None or (back and back != ROOT and not _browsable(assistant, back)):
        await acknowledge(callback, t("stale.entry"), alert=True)
        return
    await acknowledge(callback)
    text = views.card(assistant.card(entry.id, lang))
    if back:
        await edit(bot, callback, text, keyboards.browse_card(t, entry, back))
    else:
        await send(bot, chat_of(callback), text, keyboards.answer(t, kb, entry))


async def on_source(
    callback: CallbackQuery, callback_data: SourceCB, bot: Bot, t: Translator, assistant: Assistant
) -> None:
    kb = assistant.kb
    if kb.get(callback_data.id) is None:
        await acknowledge(callback, t("stale.entry"), alert=True)
        return
    await acknowledge(callback)
    await send(bot, chat_of(callback), views.source_document(t, kb, callback_data.id))


def make_router() -> Router:
    router = Router(name="browse")
    router.message.register(on_measures, Command("measures"))
    router.callback_query.register(on_section, SectionCB.filter())
    router.callback_query.register(on_card, CardCB.filter())
    router.callback_query.register(on_source, SourceCB.filter())
    return router
