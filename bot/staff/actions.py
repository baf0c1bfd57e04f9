"""Staff keep the knowledge base current (mounted under the admin router, which checks the sender
of every message and button against ADMIN_IDS).

/inbox     questions declined, asked back about or answered with low confidence, grouped:
           attach to an entry, rule out of scope (with a referral), or ignore
/edit [ID] the guided edit of an entry's user-facing fields or the validity dates, with a preview
/history [ID], /rollback N, /conflicts (a new release against staff edits)
/export    the current knowledge base as YAML; a .yaml sent as a document is an import (preview first)
/stats     questions per day, outcomes, most asked entries, interviews

A flow waiting for typed input, and a change previewed and not yet saved, live in the FSM data
under "staff" (the interview's state is left alone). Every preview has a token: its buttons do
nothing once another preview replaced it.
"""

from __future__ import annotations

import logging
import math
import secrets
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.format import esc
from bot.i18n import Translator
from bot.live import LiveKnowledge
from bot.replies import acknowledge, chat_of, edit, send
from bot.staff import keyboards, views
from bot.staff.callbacks import ConfirmCB, ConflictCB, EditCB, GroupAction, GroupCB, InboxCB, UndoCB
from bot.staff.describe import describe
from bot.staff.forms import InputError, is_patch, parse
from bot.store import inbox as inbox_data
from bot.store.inbox import Group, Sort
from bot.store.stats import collect
from bot.store.versions import Plan, StaleError, Version
from bot.views import heading
from knowledge import overlay
from knowledge.loader import KnowledgeError
from knowledge.models import Localized

logger = logging.getLogger("policybot")

STAFF = "staff"  # the FSM data key of the staff flows
PER_PAGE = 6
MAX_UPLOAD = 1_000_000  # bytes
MAX_PHRASING = 300  # characters of a phrasing attached or ruled out of scope


def who(user_id: int) -> str:
    return f"tg:{user_id}"


def _token() -> str:
    return secrets.token_hex(4)


async def _staff(state: FSMContext) -> dict[str, Any]:
    value = (await state.get_data()).get(STAFF)
    return dict(value) if isinstance(value, dict) else {}


async def _set(state: FSMContext, **values: Any) -> None:
    """Update the staff data; a value None removes its key."""
    data = await _staff(state)
    for key, value in values.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    await state.update_data({STAFF: data})


async def awaiting_input(message: Message, state: FSMContext) -> bool:
    """A staff flow waits for typed text (a field's value, a referral, a phrasing)."""
    return bool((await _staff(state)).get("await"))


async def busy(message: Message, state: FSMContext) -> bool:
    """A staff flow waits for text or a preview for its buttons: /cancel is theirs."""
    staff = await _staff(state)
    return bool(staff.get("await") or staff.get("pending"))


def _reason(t: Translator, exc: InputError) -> str:
    return t(exc.key, **{k: esc(str(v)) for k, v in exc.values.items()})


async def _conflict_count(knowledge: LiveKnowledge) -> int:
    return len(await knowledge.store.conflicts())


# --- the inbox ----------------------------------------------------------------------------------


async def _groups(knowledge: LiveKnowledge, sort: Sort = "new") -> list[Group]:
    return await inbox_data.pending(knowledge.store.db, knowledge.assistant.matcher, sort=sort)


async def _inbox_page(t: Translator, knowledge: LiveKnowledge, page: int, sort: Sort) -> tuple[str, Any]:
    groups = await _groups(knowledge, sort)
    pages = max(1, math.ceil(len(groups) / PER_PAGE))
    page = min(max(page, 0), pages - 1)
    conflicts = await _conflict_count(knowledge)
    text = views.inbox(t, groups, page, pages, sort, conflicts, PER_PAGE)
    return text, keyboards.inbox(t, groups, page, pages, sort, PER_PAGE)


async def on_inbox(message: Message, bot: Bot, t: Translator, knowledge: LiveKnowledge) -> None:
    text, markup = await _inbox_page(t, knowledge, 0, "new")
    await send(bot, message.chat.id, text, markup)


async def on_inbox_page(
    callback: CallbackQuery, callback_data: InboxCB, bot: Bot, t: Translator, knowledge: LiveKnowledge
) -> None:
    await acknowledge(callback)
    sort: Sort = "freq" if callback_data.sort == "freq" else "new"
    text, markup = await _inbox_page(t, knowledge, callback_data.page, sort)
    await edit(bot, callback, text, markup)


async def on_group(
    callback: CallbackQuery,
    callback_data: GroupCB,
    bot: Bot,
    t: Translator,
    knowledge: LiveKnowledge,
    state: FSMContext,
) -> None:
    found = inbox_data.find(await _groups(knowledge), callback_data.key)
    if found is None:
        await acknowledge(callback, t("staff.inbox.gone"), alert=True)
        return
    kb = knowledge.assistant.kb
    action = callback_data.action
    if action == GroupAction.OPEN:
        await acknowledge(callback)
        await edit(bot, callback, views.group(t, kb, found), keyboards.group(t, kb, found))
    elif action == GroupAction.ENTRIES:
        await acknowledge(callback)
        markup = keyboards.entries(
            t,
            kb,
            lambda entry_id: GroupCB(key=found.key, action=GroupAction.ATTACH, entry=entry_id).pack(),
            back=GroupCB(key=found.key).pack(),
        )
        await edit(bot, callback, views.group(t, kb, found), markup)
    elif action == GroupAction.ATTACH:
        if callback_data.entry not in kb.entries:
            await acknowledge(callback, t("stale.entry"), alert=True)
            return
        await acknowledge(callback)
        phrasing = found.example[:MAX_PHRASING]
        await _preview_attach(
            bot, chat_of(callback), t, knowledge, state, callback_data.entry, phrasing, found.ids
        )
    elif action == GroupAction.OUT_OF_SCOPE:
        await acknowledge(callback)
        token = _token()
        await _set(
            state,
            pending=None,
            **{
                "await": {
                    "kind": "referral",
                    "token": token,
                    "phrasing": found.example[:MAX_PHRASING],
                    "ids": found.ids,
                }
            },
        )
        text = t("staff.refer.prompt", text=esc(found.example), count=found.count)
        await edit(bot, callback, text, keyboards.cancel(t, token))
    else:  # ignore: nothing learned, the questions leave the inbox
        await knowledge.store.ignore(who(callback.from_user.id), found.ids)
        await acknowledge(callback, t("staff.ignored", count=found.count))
        text, markup = await _inbox_page(t, knowledge, 0, "new")
        await edit(bot, callback, text, markup)


async def _preview_attach(
    bot: Bot,
    chat_id: int,
    t: Translator,
    knowledge: LiveKnowledge,
    state: FSMContext,
    entry_id: str,
    phrasing: str,
    ids: list[int],
) -> None:
    token = _token()
    pending = {"kind": "attach", "token": token, "entry": entry_id, "phrasing": phrasing, "ids": ids}
    # Typed text while this preview is open replaces the wording (to drop a name or a figure).
    await _set(state, pending=pending, **{"await": {"kind": "phrasing", "token": token}})
    entry = knowledge.assistant.kb.entries[entry_id]
    text = t("staff.attach.preview", text=esc(phrasing), name=esc(heading(entry, t)), count=len(ids))
    await send(bot, chat_id, text, keyboards.confirm(t, token))


# --- the guided edit ----------------------------------------------------------------------------


async def on_edit(
    message: Message, command: CommandObject, bot: Bot, t: Translator, knowledge: LiveKnowledge
) -> None:
    kb = knowledge.assistant.kb
    target = (command.args or "").strip()
    if target and (target == overlay.DOCUMENT or target in kb.entries):
        await send(bot, message.chat.id, _fields_title(t, knowledge, target), keyboards.fields(t, target))
        return
    note = t("staff.no_entry", id=esc(target)) + "\n\n" if target else ""
    markup = keyboards.entries(
        t,
        kb,
        lambda entry_id: EditCB(target=entry_id).pack(),
        document=EditCB(target=overlay.DOCUMENT).pack(),
    )
    await send(bot, message.chat.id, note + t("staff.edit.choose_entry"), markup)


def _fields_title(t: Translator, knowledge: LiveKnowledge, target: str) -> str:
    return (
        f"<b>{esc(views.target_label(t, knowledge.assistant.kb, target))}</b>\n{t('staff.edit.choose_field')}"
    )


async def on_edit_step(
    callback: CallbackQuery,
    callback_data: EditCB,
    bot: Bot,
    t: Translator,
    knowledge: LiveKnowledge,
    state: FSMContext,
) -> None:
    kb = knowledge.assistant.kb
    target, field = callback_data.target, callback_data.field
    if not target:
        await acknowledge(callback)
        markup = keyboards.entries(
            t,
            kb,
            lambda entry_id: EditCB(target=entry_id).pack(),
            document=EditCB(target=overlay.DOCUMENT).pack(),
        )
        await edit(bot, callback, t("staff.edit.choose_entry"), markup)
        return
    if target != overlay.DOCUMENT and target not in kb.entries:
        await acknowledge(callback, t("stale.entry"), alert=True)
        return
    if not field:
        await acknowledge(callback)
        await edit(bot, callback, _fields_title(t, knowledge, target), keyboards.fields(t, target))
        return
    editable = overlay.DOCUMENT_FIELDS if target == overlay.DOCUMENT else overlay.EDITABLE_FIELDS
    if field not in editable:
        await acknowledge(callback, t("stale.button"), alert=True)
        return
    await acknowledge(callback)
    current = await knowledge.store.document(entry=None if target == overlay.DOCUMENT else target)
    value = overlay.get_field(current.raw, target, field)
    token = _token()
    await _set(
        state, pending=None, **{"await": {"kind": "value", "token": token, "target": target, "field": field}}
    )
    await edit(bot, callback, views.prompt(t, kb, target, field, value), keyboards.cancel(t, token))


async def on_input(
    message: Message, bot: Bot, t: Translator, knowledge: LiveKnowledge, state: FSMContext
) -> None:
    """Typed text a staff flow asked for."""
    staff = await _staff(state)
    waiting: dict[str, Any] = staff.get("await") or {}
    text = message.text or ""
    chat_id = message.chat.id
    kind = waiting.get("kind")
    if kind == "value":
        await _preview_edit(bot, chat_id, t, knowledge, state, waiting, text)
    elif kind == "referral":
        try:
            value = parse("title", text, t.lang, None)
        except InputError as exc:
            await send(bot, chat_id, t("staff.refused", reason=_reason(t, exc)))
            return
        message_zh = value.get("zh") or value.get("en") or ""
        message_en = value.get("en") or message_zh
        token = _token()
        pending = {
            "kind": "refer",
            "token": token,
            "phrasing": waiting.get("phrasing", ""),
            "zh": message_zh,
            "en": message_en,
            "ids": waiting.get("ids", []),
        }
        await _set(state, pending=pending)  # typing again replaces the text
        preview = t(
            "staff.refer.preview",
            text=esc(str(pending["phrasing"])),
            zh=esc(message_zh),
            en=esc(message_en),
        )
        await send(bot, chat_id, preview, keyboards.confirm(t, token))
    elif kind == "phrasing":
        pending = staff.get("pending") or {}
        phrasing = " ".join(text.split())[:MAX_PHRASING]
        entry_id = str(pending.get("entry", ""))
        if pending.get("kind") != "attach" or entry_id not in knowledge.assistant.kb.entries or not phrasing:
            await _set(state, pending=None, **{"await": None})
            await send(bot, chat_id, t("staff.stale_preview"))
            return
        ids = [int(i) for i in pending.get("ids", [])]
        await _preview_attach(bot, chat_id, t, knowledge, state, entry_id, phrasing, ids)
    else:
        await _set(state, **{"await": None})


async def _preview_edit(
    bot: Bot,
    chat_id: int,
    t: Translator,
    knowledge: LiveKnowledge,
    state: FSMContext,
    waiting: dict[str, Any],
    text: str,
) -> None:
    target, field = str(waiting.get("target")), str(waiting.get("field"))
    kb = knowledge.assistant.kb
    previewed = (await _staff(state)).get("pending") or {}
    try:
        current = await knowledge.store.document(entry=None if target == overlay.DOCUMENT else target)
        value = overlay.get_field(current.raw, target, field)
        if previewed.get("kind") == "edit" and is_patch(field, text):  # + and - lines add up
            value = previewed.get("value")
        value = parse(field, text, t.lang, value)
        plan = await knowledge.store.plan_edit(target, field, value)
    except InputError as exc:
        await send(bot, chat_id, t("staff.refused", reason=_reason(t, exc)) + "\n" + t("staff.edit.again"))
        return
    except KnowledgeError as exc:
        await send(bot, chat_id, t("staff.refused", reason=esc(str(exc))) + "\n" + t("staff.edit.again"))
        return
    token = _token()
    pending = {
        "kind": "edit",
        "token": token,
        "target": target,
        "field": field,
        "value": value,
        "base": plan.base_id,
    }
    await _set(state, pending=pending)  # typing again replaces the value
    title = t(
        "staff.edit.preview", name=esc(f"{views.target_label(t, kb, target)} · {views.field_label(t, field)}")
    )
    lines = "\n".join(esc(line) for change in plan.changes for line in describe(change))
    text = "\n\n".join([f"<b>{title}</b>", lines, t("staff.edit.preview_footer")])
    await send(bot, chat_id, text, keyboards.confirm(t, token))


async def on_staff_cancel(message: Message, bot: Bot, t: Translator, state: FSMContext) -> None:
    await _set(state, pending=None, **{"await": None})
    await send(bot, message.chat.id, t("staff.cancelled"))


# --- saving what was previewed ------------------------------------------------------------------


async def on_confirm(
    callback: CallbackQuery,
    callback_data: ConfirmCB,
    bot: Bot,
    t: Translator,
    knowledge: LiveKnowledge,
    state: FSMContext,
) -> None:
    staff = await _staff(state)
    pending: dict[str, Any] = staff.get("pending") or {}
    waiting: dict[str, Any] = staff.get("await") or {}
    token = callback_data.token
    if token not in (pending.get("token"), waiting.get("token")):
        await acknowledge(callback, t("staff.stale_preview"), alert=True)
        return
    if not callback_data.ok:
        await _set(state, pending=None, **{"await": None})
        await acknowledge(callback)
        await edit(bot, callback, t("staff.cancelled"))
        return
    if pending.get("token") != token:
        await acknowledge(callback, t("staff.stale_preview"), alert=True)
        return
    await acknowledge(callback)
    await _set(state, pending=None, **{"await": None})
    user = who(callback.from_user.id)
    kind = pending.get("kind")
    try:
        version = await _save(knowledge, user, pending)
    except KnowledgeError as exc:
        await edit(bot, callback, t("staff.refused", reason=esc(str(exc))))
        return
    await knowledge.reload()
    if version is None:
        text = t("staff.saved_nothing")
    elif kind == "attach":
        entry = knowledge.assistant.kb.get(str(pending.get("entry")))
        name = heading(entry, t) if entry is not None else str(pending.get("entry"))
        text = t("staff.attach.saved", text=esc(str(pending.get("phrasing"))), name=esc(name), id=version.id)
    elif kind == "refer":
        text = t("staff.refer.saved", id=version.id)
    elif kind == "rollback":
        text = t("staff.rollback.saved", id=version.id, change=pending.get("change"))
    else:
        text = t("staff.saved", id=version.id)
        validity = next((e for e in knowledge.assistant.kb if e.kind == "validity"), None)
        if pending.get("target") == overlay.DOCUMENT and validity is not None:  # its text names the dates
            text += "\n\n" + t("staff.edit.dates_hint", name=esc(heading(validity, t)), id=validity.id)
    undo = version.id if version is not None else None
    await edit(bot, callback, text, keyboards.saved(t, undo, inbox=kind in ("attach", "refer")))


async def _save(knowledge: LiveKnowledge, user: str, pending: dict[str, Any]) -> Version | None:
    store = knowledge.store
    kind = pending.get("kind")
    ids = [int(i) for i in pending.get("ids", [])]
    if kind == "refer":
        message = Localized(zh=str(pending["zh"]), en=str(pending["en"]))
        return await store.refer(user, str(pending["phrasing"]), message, handled=ids)
    plan: Plan
    if kind == "edit":
        plan = await store.plan_edit(str(pending["target"]), str(pending["field"]), pending["value"])
    elif kind == "attach":
        plan = await store.plan_attach(str(pending["entry"]), str(pending["phrasing"]))
    elif kind == "import":
        plan = await store.plan_import(pending["raw"], str(pending["name"]))
    elif kind == "rollback":
        plan = await store.plan_rollback(int(pending["change"]))
    else:
        raise KnowledgeError(f"unknown change '{kind}'")
    if "base" in pending and plan.base_id != pending["base"]:
        raise StaleError("the knowledge base changed since this preview; nothing was saved, start again")
    return await store.commit(plan, user, handled=ids, decision=kind if kind == "attach" else None)


# --- history, rollback, conflicts ---------------------------------------------------------------


async def on_history(
    message: Message, command: CommandObject, bot: Bot, t: Translator, knowledge: LiveKnowledge
) -> None:
    kb = knowledge.assistant.kb
    target = (command.args or "").strip() or None
    if target is not None and target != overlay.DOCUMENT and target not in kb.entries:
        await send(bot, message.chat.id, t("staff.no_entry", id=esc(target)))
        return
    versions = await knowledge.store.history(target, limit=12)
    text = views.history(t, kb, versions, target, await _conflict_count(knowledge))
    await send(bot, message.chat.id, text)


async def _preview_rollback(
    bot: Bot, chat_id: int, t: Translator, knowledge: LiveKnowledge, state: FSMContext, change: int
) -> None:
    try:
        plan = await knowledge.store.plan_rollback(change)
    except KnowledgeError as exc:
        await send(bot, chat_id, t("staff.refused", reason=esc(str(exc))))
        return
    token = _token()
    pending: dict[str, Any] = {"kind": "rollback", "token": token, "change": change}
    if plan.doc:
        pending["base"] = plan.base_id
    await _set(state, pending=pending, **{"await": None})
    kb = knowledge.assistant.kb
    text = views.preview(
        t, kb, t("staff.rollback.preview", id=change), plan.changes, t("staff.rollback.footer")
    )
    await send(bot, chat_id, text, keyboards.confirm(t, token, save="staff.button.rollback"))


async def on_rollback(
    message: Message,
    command: CommandObject,
    bot: Bot,
    t: Translator,
    knowledge: LiveKnowledge,
    state: FSMContext,
) -> None:
    args = (command.args or "").strip().lstrip("#")
    if not args.isdigit():
        await send(bot, message.chat.id, t("staff.rollback.usage"))
        return
    await _preview_rollback(bot, message.chat.id, t, knowledge, state, int(args))


async def on_undo(
    callback: CallbackQuery,
    callback_data: UndoCB,
    bot: Bot,
    t: Translator,
    knowledge: LiveKnowledge,
    state: FSMContext,
) -> None:
    await acknowledge(callback)
    await _preview_rollback(bot, chat_of(callback), t, knowledge, state, callback_data.change)


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
    await edit(
        bot, callback, t(key, id=callback_data.id), keyboards.saved(t, version.id if version else None)
    )


# --- export and import --------------------------------------------------------------------------


async def on_export(message: Message, bot: Bot, t: Translator, knowledge: LiveKnowledge) -> None:
    for current in await knowledge.store.current():
        data = (await knowledge.store.export(current)).encode("utf-8")
        caption = t("staff.export.caption", name=esc(current.name), id=current.version_id)
        await bot.send_document(
            message.chat.id, BufferedInputFile(data, filename=current.name), caption=caption
        )


async def on_upload(
    message: Message, bot: Bot, t: Translator, knowledge: LiveKnowledge, state: FSMContext
) -> None:
    """A .yaml document: validated, the differences shown, applied only after confirmation."""
    document = message.document
    assert document is not None
    name = document.file_name or "upload.yaml"
    chat_id = message.chat.id
    if not name.lower().endswith((".yaml", ".yml")):
        await send(bot, chat_id, t("staff.import.not_yaml"))
        return
    if document.file_size is not None and document.file_size > MAX_UPLOAD:
        await send(bot, chat_id, t("staff.import.too_big", limit=MAX_UPLOAD // 1000))
        return
    content = await bot.download(document)
    try:
        if content is None:
            raise KnowledgeError(f"{name}: could not be downloaded")
        try:
            text = content.read().decode("utf-8")
        except UnicodeDecodeError:
            raise KnowledgeError(f"{name}: not UTF-8 text") from None
        raw = overlay.load_raw(text, name)
        plan = await knowledge.store.plan_import(raw, name)
    except KnowledgeError as exc:
        await send(bot, chat_id, t("staff.import.refused", reason=esc(str(exc))))
        return
    token = _token()
    pending = {"kind": "import", "token": token, "name": name, "raw": raw, "base": plan.base_id}
    await _set(state, pending=pending, **{"await": None})
    kb = knowledge.assistant.kb
    entries = len({c.target for c in plan.changes})
    title = t("staff.import.preview", name=esc(name), changes=len(plan.changes), entries=entries)
    text = views.preview(t, kb, title, plan.changes, t("staff.import.footer"))
    await send(bot, chat_id, text, keyboards.confirm(t, token, save="staff.button.apply"))


# --- stats --------------------------------------------------------------------------------------


async def on_stats(
    message: Message, command: CommandObject, bot: Bot, t: Translator, knowledge: LiveKnowledge
) -> None:
    args = (command.args or "").strip()
    days = int(args) if args.isdigit() and 1 <= int(args) <= 90 else 14
    data = await collect(knowledge.store.db, days=days)
    await send(bot, message.chat.id, views.stats(t, knowledge.assistant.kb, data))


def make_router() -> Router:
    """Staff handlers; the parent (bot/handlers/admin.py) filters the sender."""
    router = Router(name="staff")
    router.message.register(on_staff_cancel, Command("cancel"), busy)
    router.message.register(on_inbox, Command("inbox"))
    router.message.register(on_edit, Command("edit"))
    router.message.register(on_history, Command("history"))
    router.message.register(on_rollback, Command("rollback"))
    router.message.register(on_conflicts, Command("conflicts"))
    router.message.register(on_export, Command("export"))
    router.message.register(on_stats, Command("stats"))
    router.message.register(on_upload, F.document)
    router.message.register(on_input, F.text, ~F.text.startswith("/"), awaiting_input)
    router.callback_query.register(on_inbox_page, InboxCB.filter())
    router.callback_query.register(on_group, GroupCB.filter())
    router.callback_query.register(on_edit_step, EditCB.filter())
    router.callback_query.register(on_confirm, ConfirmCB.filter())
    router.callback_query.register(on_undo, UndoCB.filter())
    router.callback_query.register(on_conflict, ConflictCB.filter())
    return router
