"""/inbox: the questions declined, asked back about or answered with low confidence, similar ones
grouped (bot/store/inbox.py), and what staff decide about a group: attach it to an entry (a
preview whose wording can be retyped first, to drop a name or a figure), rule it out of scope
with a typed referral (previewed), or ignore it. Saving is bot/staff/confirm.py's."""

from __future__ import annotations

import math
from typing import Final

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.format import esc
from bot.i18n import Translator
from bot.live import LiveKnowledge
from bot.replies import acknowledge, chat_of, edit, send
from bot.staff import keyboards, views
from bot.staff.callbacks import GroupAction, GroupCB, InboxCB
from bot.staff.confirm import stale, who
from bot.staff.flow import At, StaffFlow
from bot.staff.forms import InputError, parse
from bot.staff.states import (
    AttachPreview,
    PhrasingPrompt,
    ReferPreview,
    ReferralPrompt,
    StaffStates,
    new_token,
)
from bot.store import inbox as inbox_data
from bot.store.inbox import Group, Sort
from bot.views import named

PER_PAGE: Final = 6
MAX_PHRASING: Final = 300  # characters of a phrasing attached or ruled out of scope


async def _groups(knowledge: LiveKnowledge, sort: Sort = "new") -> list[Group]:
    return await inbox_data.pending(knowledge.store.db, knowledge.assistant.matcher, sort=sort)


async def _page(
    t: Translator, knowledge: LiveKnowledge, page: int, sort: Sort
) -> tuple[str, InlineKeyboardMarkup | None]:
    groups = await _groups(knowledge, sort)
    pages = max(1, math.ceil(len(groups) / PER_PAGE))
    page = min(max(page, 0), pages - 1)
    conflicts = len(await knowledge.store.conflicts())
    text = views.inbox(t, groups, page, pages, sort, conflicts, PER_PAGE)
    return text, keyboards.inbox(t, groups, page, pages, sort, PER_PAGE)


async def on_inbox(message: Message, bot: Bot, t: Translator, knowledge: LiveKnowledge) -> None:
    text, markup = await _page(t, knowledge, 0, "new")
    await send(bot, message.chat.id, text, markup)


async def on_page(
    callback: CallbackQuery, callback_data: InboxCB, bot: Bot, t: Translator, knowledge: LiveKnowledge
) -> None:
    await acknowledge(callback)
    sort: Sort = "freq" if callback_data.sort == "freq" else "new"
    text, markup = await _page(t, knowledge, callback_data.page, sort)
    await edit(bot, callback, text, markup)


async def on_group(
    callback: CallbackQuery,
    callback_data: GroupCB,
    bot: Bot,
    t: Translator,
    knowledge: LiveKnowledge,
    flow: StaffFlow,
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
        attach = AttachPreview(
            token=new_token(), entry=callback_data.entry, phrasing=found.example[:MAX_PHRASING], ids=found.ids
        )
        await _preview_attach(bot, chat_of(callback), t, knowledge, flow, attach)
    elif action == GroupAction.OUT_OF_SCOPE:
        await acknowledge(callback)
        prompt = ReferralPrompt(token=new_token(), phrasing=found.example[:MAX_PHRASING], ids=found.ids)
        await flow.ask(prompt)
        text = t("staff.refer.prompt", text=esc(found.example), count=found.count)
        await edit(bot, callback, text, keyboards.cancel(t, prompt.token))
    else:  # ignore: nothing learned, the questions leave the inbox
        await knowledge.store.ignore(who(callback.from_user.id), found.ids)
        await acknowledge(callback, t("staff.ignored", count=found.count))
        text, first_page = await _page(t, knowledge, 0, "new")
        await edit(bot, callback, text, first_page)


async def _preview_attach(
    bot: Bot, chat_id: int, t: Translator, knowledge: LiveKnowledge, flow: StaffFlow, attach: AttachPreview
) -> None:
    # Typed text while this preview is open replaces the wording (to drop a name or a figure).
    await flow.ask(PhrasingPrompt(token=attach.token), attach)
    entry = knowledge.assistant.kb.entries[attach.entry]
    text = t(
        "staff.attach.preview",
        text=esc(attach.phrasing),
        name=esc(named(knowledge.assistant.kb, entry, t)),
        count=len(attach.ids),
    )
    await send(bot, chat_id, text, keyboards.confirm(t, attach.token))


async def on_phrasing(
    message: Message, bot: Bot, t: Translator, knowledge: LiveKnowledge, flow: StaffFlow
) -> None:
    """A new wording for the question the attach preview shows."""
    previewed = await flow.preview()
    phrasing = " ".join((message.text or "").split())[:MAX_PHRASING]
    if (
        not isinstance(previewed, AttachPreview)
        or previewed.entry not in knowledge.assistant.kb.entries
        or not phrasing
    ):
        await stale(bot, message.chat.id, t, flow)
        return
    attach = previewed.model_copy(update={"token": new_token(), "phrasing": phrasing})
    await _preview_attach(bot, message.chat.id, t, knowledge, flow, attach)


async def on_referral(message: Message, bot: Bot, t: Translator, flow: StaffFlow) -> None:
    """The referral for a group ruled out of scope: previewed; typing again replaces it."""
    prompt = await flow.prompt(ReferralPrompt)
    if prompt is None:
        await stale(bot, message.chat.id, t, flow)
        return
    try:
        value = parse("title", message.text or "", t.lang, None)
    except InputError as exc:
        await send(bot, message.chat.id, views.refused(t, exc))
        return
    message_zh = value.get("zh") or value.get("en") or ""
    message_en = value.get("en") or message_zh
    refer = ReferPreview(
        token=new_token(), phrasing=prompt.phrasing, zh=message_zh, en=message_en, ids=prompt.ids
    )
    await flow.replace(refer)
    text = t("staff.refer.preview", text=esc(refer.phrasing), zh=esc(refer.zh), en=esc(refer.en))
    await send(bot, message.chat.id, text, keyboards.confirm(t, refer.token))


def make_router() -> Router:
    router = Router(name="staff-inbox")
    typed = (F.text, ~F.text.startswith("/"))
    router.message.register(on_inbox, Command("inbox"))
    router.message.register(on_phrasing, *typed, At(StaffStates.typing_phrasing))
    router.message.register(on_referral, *typed, At(StaffStates.typing_referral))
    router.callback_query.register(on_page, InboxCB.filter())
    router.callback_query.register(on_group, GroupCB.filter())
    return router
