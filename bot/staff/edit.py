"""/edit [ID]: the guided edit of an entry's user-facing fields or of the document's validity
dates. Choose the entry, then the field; type the value (the current one is shown to copy); see
the difference; save (bot/staff/confirm.py). Typing again replaces the value previewed, and
lines of + and - add to it and remove from it."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.format import esc
from bot.i18n import Translator
from bot.live import LiveKnowledge
from bot.replies import acknowledge, edit, send
from bot.staff import keyboards, views
from bot.staff.callbacks import EditCB
from bot.staff.confirm import stale
from bot.staff.describe import describe
from bot.staff.flow import At, StaffFlow
from bot.staff.forms import InputError, is_patch, parse
from bot.staff.states import EditPreview, StaffStates, ValuePrompt, new_token
from knowledge import overlay
from knowledge.loader import KnowledgeBase, KnowledgeError


def _entries(t: Translator, kb: KnowledgeBase) -> InlineKeyboardMarkup:
    return keyboards.entries(
        t,
        kb,
        lambda entry_id: EditCB(target=entry_id).pack(),
        document=lambda key: EditCB(target=key).pack(),
    )


def _fields_title(t: Translator, kb: KnowledgeBase, target: str) -> str:
    return f"<b>{esc(views.target_label(t, kb, target))}</b>\n{t('staff.edit.choose_field')}"


def _is_document(kb: KnowledgeBase, target: str) -> bool:
    """A document's own fields: "document", or "DOC/document" for a later document's."""
    return kb.keyed_document(target) is not None


def _fields(t: Translator, kb: KnowledgeBase, target: str) -> InlineKeyboardMarkup:
    return keyboards.fields(t, target, document=_is_document(kb, target))


async def on_edit(
    message: Message, command: CommandObject, bot: Bot, t: Translator, knowledge: LiveKnowledge
) -> None:
    kb = knowledge.assistant.kb
    target = (command.args or "").strip()
    if target and (_is_document(kb, target) or target in kb.entries):
        await send(bot, message.chat.id, _fields_title(t, kb, target), _fields(t, kb, target))
        return
    note = t("staff.no_entry", id=esc(target)) + "\n\n" if target else ""
    await send(bot, message.chat.id, note + t("staff.edit.choose_entry"), _entries(t, kb))


async def on_step(
    callback: CallbackQuery,
    callback_data: EditCB,
    bot: Bot,
    t: Translator,
    knowledge: LiveKnowledge,
    flow: StaffFlow,
) -> None:
    """No target: the entries; a target: its fields; both: ask for the field's value."""
    kb = knowledge.assistant.kb
    target, field = callback_data.target, callback_data.field
    if not target:
        await acknowledge(callback)
        await edit(bot, callback, t("staff.edit.choose_entry"), _entries(t, kb))
        return
    document = _is_document(kb, target)
    if not document and target not in kb.entries:
        await acknowledge(callback, t("stale.entry"), alert=True)
        return
    if not field:
        await acknowledge(callback)
        await edit(bot, callback, _fields_title(t, kb, target), _fields(t, kb, target))
        return
    editable = overlay.DOCUMENT_FIELDS if document else overlay.EDITABLE_FIELDS
    if field not in editable:
        await acknowledge(callback, t("stale.button"), alert=True)
        return
    await acknowledge(callback)
    current, in_file = await knowledge.store.find(target)  # in_file: the id in the document's own file
    value = overlay.get_field(current.raw, in_file, field)
    prompt = ValuePrompt(token=new_token(), target=target, field=field)
    await flow.ask(prompt)
    await edit(bot, callback, views.prompt(t, kb, target, field, value), keyboards.cancel(t, prompt.token))


async def on_value(
    message: Message, bot: Bot, t: Translator, knowledge: LiveKnowledge, flow: StaffFlow
) -> None:
    """The typed value: the change previewed (or refused with the reason; type again)."""
    prompt = await flow.prompt(ValuePrompt)
    if prompt is None:
        await stale(bot, message.chat.id, t, flow)
        return
    target, field, text = prompt.target, prompt.field, message.text or ""
    previewed = await flow.preview()
    try:
        current, in_file = await knowledge.store.find(target)
        value = overlay.get_field(current.raw, in_file, field)
        if isinstance(previewed, EditPreview) and is_patch(field, text):  # + and - lines add up
            value = previewed.value
        value = parse(field, text, t.lang, value)
        plan = await knowledge.store.plan_edit(target, field, value)
    except (InputError, KnowledgeError) as exc:
        await send(bot, message.chat.id, views.refused(t, exc) + "\n" + t("staff.edit.again"))
        return
    preview = EditPreview(token=new_token(), target=target, field=field, value=value, base=plan.base_id)
    await flow.replace(preview)  # typing again replaces the value
    kb = knowledge.assistant.kb
    name = f"{views.target_label(t, kb, target)} · {views.field_label(t, field)}"
    lines = "\n".join(esc(line) for change in plan.changes for line in describe(change))
    title = t("staff.edit.preview", name=esc(name))
    text = "\n\n".join([f"<b>{title}</b>", lines, t("staff.edit.preview_footer")])
    await send(bot, message.chat.id, text, keyboards.confirm(t, preview.token))


def make_router() -> Router:
    router = Router(name="staff-edit")
    router.message.register(on_edit, Command("edit"))
    router.message.register(on_value, F.text, ~F.text.startswith("/"), At(StaffStates.typing_value))
    router.callback_query.register(on_step, EditCB.filter())
    return router
