"""Saving, or dropping, what a staff preview showed, for every kind of preview: the Save and
Cancel buttons (ConfirmCB), /cancel while a staff flow is busy, and a preview gone stale. The
change is worked out again when saved; one previewed against an older version is refused."""

from __future__ import annotations

from typing import assert_never

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.format import esc
from bot.i18n import Translator
from bot.live import LiveKnowledge
from bot.replies import acknowledge, edit, send
from bot.staff import keyboards, views
from bot.staff.callbacks import ConfirmCB
from bot.staff.flow import StaffFlow, busy
from bot.staff.states import (
    AttachPreview,
    EditPreview,
    ImportPreview,
    Preview,
    ReferPreview,
    RemovePreview,
    RollbackPreview,
)
from bot.store.versions import Plan, StaleError, Version
from bot.views import named
from knowledge.loader import KnowledgeError
from knowledge.models import Localized


def who(user_id: int) -> str:
    """A staff member as the versions name them."""
    return f"tg:{user_id}"


async def stale(bot: Bot, chat_id: int, t: Translator, flow: StaffFlow) -> None:
    """Typed text for a prompt or preview that is no longer there: the flow ends."""
    await flow.end()
    await send(bot, chat_id, t("staff.stale_preview"))


async def on_cancel(message: Message, bot: Bot, t: Translator, flow: StaffFlow) -> None:
    await flow.end()
    await send(bot, message.chat.id, t("staff.cancelled"))


async def on_confirm(
    callback: CallbackQuery,
    callback_data: ConfirmCB,
    bot: Bot,
    t: Translator,
    knowledge: LiveKnowledge,
    flow: StaffFlow,
) -> None:
    token = callback_data.token
    if token not in await flow.tokens():  # an older preview's (or prompt's) button
        await acknowledge(callback, t("staff.stale_preview"), alert=True)
        return
    if not callback_data.ok:
        await flow.end()
        await acknowledge(callback)
        await edit(bot, callback, t("staff.cancelled"))
        return
    preview = await flow.preview()
    if preview is None or preview.token != token:  # a prompt's token: there is nothing to save
        await acknowledge(callback, t("staff.stale_preview"), alert=True)
        return
    await acknowledge(callback)
    await flow.end()
    try:
        version = await save(knowledge, who(callback.from_user.id), preview)
    except KnowledgeError as exc:
        await edit(bot, callback, views.refused(t, exc))
        return
    await knowledge.reload()
    text = saved(t, knowledge, preview, version)
    undo = version.id if version is not None else None
    markup = keyboards.saved(t, undo, inbox=isinstance(preview, AttachPreview | ReferPreview))
    await edit(bot, callback, text, markup)


async def save(knowledge: LiveKnowledge, user: str, preview: Preview) -> Version | None:
    """Store what `preview` showed (None: it changes nothing); StaleError if the knowledge base
    changed since."""
    store = knowledge.store
    if isinstance(preview, ReferPreview):
        message = Localized(zh=preview.zh, en=preview.en)
        return await store.refer(user, preview.phrasing, message, handled=preview.ids)
    plan: Plan
    base: int | None = None
    match preview:
        case EditPreview():
            plan = await store.plan_edit(preview.target, preview.field, preview.value)
            base = preview.base
        case AttachPreview():
            plan = await store.plan_attach(preview.entry, preview.phrasing)
            return await store.commit(plan, user, handled=preview.ids, decision="attach")
        case ImportPreview():
            plan = await store.plan_import(preview.raw, preview.name, preview.source)
            base = preview.base
        case RemovePreview():
            plan = await store.plan_remove(preview.doc)
            base = preview.base
        case RollbackPreview():
            plan = await store.plan_rollback(preview.change)
            base = preview.base
        case _:
            assert_never(preview)
    if base is not None and plan.base_id != base:
        raise StaleError("the knowledge base changed since this preview; nothing was saved, start again")
    return await store.commit(plan, user)


def saved(t: Translator, knowledge: LiveKnowledge, preview: Preview, version: Version | None) -> str:
    if version is None:
        return t("staff.saved_nothing")
    kb = knowledge.assistant.kb
    if isinstance(preview, AttachPreview):
        entry = kb.get(preview.entry)
        name = named(kb, entry, t) if entry is not None else preview.entry
        return t("staff.attach.saved", text=esc(preview.phrasing), name=esc(name), id=version.id)
    if isinstance(preview, ReferPreview):
        return t("staff.refer.saved", id=version.id)
    if isinstance(preview, RollbackPreview):
        return t("staff.rollback.saved", id=version.id, change=preview.change)
    if isinstance(preview, RemovePreview):
        return t("staff.remove.saved", doc=esc(preview.doc), id=version.id)
    if version.action == "add":
        return t("staff.add.saved", doc=esc(version.doc), id=version.id)
    text = t("staff.saved", id=version.id)
    document = kb.keyed_document(preview.target) if isinstance(preview, EditPreview) else None
    validity = next((e for e in kb.entries_of(document.id) if e.kind == "validity"), None) if document else None
    if validity is not None:  # the dates were edited: the validity entry's text names them too
        text += "\n\n" + t("staff.edit.dates_hint", name=esc(named(kb, validity, t)), id=validity.id)
    return text


def make_router() -> Router:
    router = Router(name="staff-confirm")
    router.message.register(on_cancel, Command("cancel"), busy)
    router.callback_query.register(on_confirm, ConfirmCB.filter())
    return router
