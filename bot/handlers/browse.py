"""/measures: (with several documents, a document →) the sub-sections → their measures → a
measure's card, in one message edited in place."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot import keyboards, views
from bot.callbacks import ROOT, CardCB, SectionCB, SourceCB
from bot.i18n import Translator
from bot.replies import acknowledge, chat_of, edit, send
from eligibility.answer import Assistant
from knowledge.loader import KnowledgeBase


def _document(kb: KnowledgeBase, doc: str) -> str | None:
    """The document a button names; "" is the only one, when there is one (older buttons)."""
    if not doc:
        return kb.documents[0].id if len(kb.documents) == 1 else None
    return doc if kb.policy(doc) is not None else None


def _browsable(kb: KnowledgeBase, doc: str, section_id: str) -> bool:
    return any(e.section == section_id for e in kb.entries_of(doc))


def _top(t: Translator, assistant: Assistant, doc: str | None) -> tuple[str, InlineKeyboardMarkup]:
    """The list of documents, or one document's sub-sections."""
    kb = assistant.kb
    if doc is None:
        return views.documents_text(t), keyboards.documents(t, kb, assistant.today())
    policy = kb.policy(doc)
    assert policy is not None
    return views.sections_text(t, policy.document), keyboards.sections(t, kb, doc)


async def send_sections(bot: Bot, chat_id: int, t: Translator, assistant: Assistant) -> None:
    text, markup = _top(t, assistant, _document(assistant.kb, ""))
    await send(bot, chat_id, text, markup)


async def on_measures(message: Message, bot: Bot, t: Translator, assistant: Assistant) -> None:
    await send_sections(bot, message.chat.id, t, assistant)


async def on_section(
    callback: CallbackQuery, callback_data: SectionCB, bot: Bot, t: Translator, assistant: Assistant
) -> None:
    kb = assistant.kb
    doc = _document(kb, callback_data.doc)
    if callback_data.id == ROOT and (doc is not None or not callback_data.doc):
        await acknowledge(callback)
        text, markup = _top(t, assistant, doc)
        await edit(bot, callback, text, markup)
    elif doc is not None and _browsable(kb, doc, callback_data.id):
        await acknowledge(callback)
        text = views.section_text(t, kb, doc, callback_data.id)
        await edit(bot, callback, text, keyboards.section(t, kb, doc, callback_data.id))
    else:
        await acknowledge(callback, t("stale.button"), alert=True)


async def on_card(
    callback: CallbackQuery, callback_data: CardCB, bot: Bot, t: Translator, lang: str, assistant: Assistant
) -> None:
    kb = assistant.kb
    entry = kb.get(callback_data.id)
    back = callback_data.back
    doc = kb.document_of(entry.id).id if entry is not None else ""
    if entry is None or (back and back != ROOT and not _browsable(kb, doc, back)):
        await acknowledge(callback, t("stale.entry"), alert=True)
        return
    await acknowledge(callback)
    text = views.card(assistant.card(entry.id, lang))
    if back:
        await edit(bot, callback, text, keyboards.browse_card(t, entry, back, keyboards.doc_tag(kb, doc)))
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
