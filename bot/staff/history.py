"""/history [ID] (the changes, newest first), /rollback N and the undo button under a saved
change (a preview first, saved by bot/staff/confirm.py), /conflicts (a new release against staff
edits: keep the staff value or take the release's)."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.format import esc
from bot.i18n import Translator
from bot.live import LiveKnowledge
from bot.replies import acknowledge, chat_of, edit, send
from bot.staff import keyboards, views
from bot.staff.callbacks import ConflictCB, UndoCB
from bot.staff.confirm import who
from bot.staff.flow import StaffFlow
from bot.staff.states import RollbackPreview, new_token
from knowledge.loader import KnowledgeError


async def on_history(
    message: Message, command: CommandObject, bot: Bot, t: Translator, knowledge: LiveKnowledge
) -> None:
    kb = knowledge.assistant.kb
    target = (command.args or "").strip() or None
    if target is not None and kb.keyed_document(target) is None and target not in kb.entries:
        await send(bot, message.chat.id, t("staff.no_entry", id=esc(target)))
        return
    versions = await knowledge.store.history(target, limit=12)
    conflicts = len(await knowledge.store.conflicts())
    await send(bot, message.chat.id, views.history(t, kb, versions, target, conflicts))


async def _preview_rollback(
    bot: Bot, chat_id: int, t: Translator, knowledge: LiveKnowledge, flow: StaffFlow, change: int
) -> None:
    try:
        plan = await knowledge.store.plan_rollback(change)
    except KnowledgeError as exc:
        await send(bot, chat_id, views.refused(t, exc))
        return
    preview = RollbackPreview(token=new_token(), change=change, base=plan.base_id if plan.doc else None)
    await flow.show(preview)
    title = t("staff.rollback.preview", id=change)
    text = views.preview(t, knowledge.assistant.kb, title, plan.changes, t("staff.rollback.footer"))
    await send(bot, chat_id, text, keyboards.confirm(t, preview.token, save="staff.button.rollback"))


async def on_rollback(
    message: Message,
    command: CommandObject,
    bot: Bot,
    t: Translator,
    knowledge: LiveKnowledge,
    flow: StaffFlow,
) -> None:
    args = (command.args or "").strip().lstrip("#")
    if not args.isdigit():
        await send(bot, message.chat.id, t("staff.rollback.usage"))
        return
    await _preview_rollback(bot, message.chat.id, t, knowledge, flow, int(args))


async def on_undo(
    callback: CallbackQuery,
    callback_data: UndoCB,
    bot: Bot,
    t: Translator,
    knowledge: LiveKnowledge,
    flow: StaffFlow,
) -> None:
    await acknowledge(callback)
    await _preview_rollback(bot, chat_of(callback), t, knowledge, flow, callback_data.change)


async def on_conflicts(message: Message, bot: Bot, t: Translator, knowledge: LiveKnowledge) -> None:
    conflicts = await knowledge.store.conflicts()
    if not conflicts:
        await send(bot, message.chat.id, t("staff.conflicts.none"))
        return
    kb = knowledge.assistant.kb
    await send(bot, message.chat.id, t("staff.conflicts.title", count=len(conflicts)))
    for row in conflicts[:10]:
        await send(bot, message.chat.id, views.conflict(t, kb, row), keyboards.conflict(t, row.id))


async def on_conflict(
    callback: CallbackQuery, callback_data: ConflictCB, bot: Bot, t: Translator, knowledge: LiveKnowledge
) -> None:
    try:
        version = await knowledge.store.resolve(
            callback_data.id, who(callback.from_user.id), keep=callback_data.keep
        )
    except KnowledgeError as exc:
        await acknowledge(callback, str(exc)[:190], alert=True)
        return
    await acknowledge(callback)
    if version is not None:
        await knowledge.reload()
    key = "staff.conflicts.kept" if callback_data.keep else "staff.conflicts.taken"
    undo = version.id if version is not None else None
    await edit(bot, callback, t(key, id=callback_data.id), keyboards.saved(t, undo))


def make_router() -> Router:
    router = Router(name="staff-history")
    router.message.register(on_history, Command("history"))
    router.message.register(on_rollback, Command("rollback"))
    router.message.register(on_conflicts, Command("conflicts"))
    router.callback_query.register(on_undo, UndoCB.filter())
    router.callback_query.register(on_conflict, ConflictCB.filter())
    return router
