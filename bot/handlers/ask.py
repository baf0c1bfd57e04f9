"""Any text is a question: answer (card + buttons), clarify (one button per candidate), or decline
(honestly, with the referral where there is one). Every question goes to the log staff triage."""

from __future__ import annotations

import re

from aiogram import Bot, F, Router
from aiogram.enums import ChatAction, ChatType
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot import keyboards, views
from bot.callbacks import PickCB
from bot.format import esc
from bot.handlers.start import send_welcome
from bot.i18n import Translator
from bot.replies import acknowledge, edit, send
from bot.store.users import QuestionLog
from eligibility.answer import Answer, Assistant
from knowledge.text import is_english

MAX_QUESTION = 1000  # characters; longer texts are cut before matching


async def question_text(message: Message, bot: Bot) -> str:
    """The text without the bot's @mention (groups)."""
    text = message.text or ""
    if message.chat.type == ChatType.PRIVATE:
        return text.strip()[:MAX_QUESTION]
    me = await bot.me()
    if me.username:
        text = re.sub(rf"@{re.escape(me.username)}\b", " ", text, flags=re.IGNORECASE)
    return text.strip()[:MAX_QUESTION]


async def log_question(qlog: QuestionLog, message: Message, lang: str, text: str, answer: Answer) -> None:
    top = answer.decision.matches[0] if answer.decision.matches else None
    await qlog.record(
        user_id=message.from_user.id if message.from_user else None,
        chat_id=message.chat.id,
        lang=lang,
        text=text,
        outcome=answer.outcome,
        top_id=top.id if top else None,
        top_score=top.score if top else None,
    )


async def on_question(
    message: Message,
    bot: Bot,
    t: Translator,
    lang: str,
    assistant: Assistant,
    qlog: QuestionLog,
    state: FSMContext,
) -> None:
    text = await question_text(message, bot)
    chat_id = message.chat.id
    if not text:
        await send(bot, chat_id, t("ask.prompt"))
        return
    await bot.send_chat_action(chat_id, ChatAction.TYPING)
    # On the event loop: the matcher takes about a millisecond (see benchmarks/latency.py), less than
    # handing it to a thread costs under load (the GIL is shared either way).
    # A question written in English gets its answer in English, whatever the interface language.
    answer = assistant.ask(text, "en" if is_english(text) else lang)
    await log_question(qlog, message, lang, text, answer)
    kb = assistant.kb
    if answer.outcome == "answer":
        entry = kb.entries[answer.entry_ids[0]]
        await send(bot, chat_id, views.card(answer.text), keyboards.answer(t, kb, entry))
    elif answer.outcome == "clarify":
        await send(bot, chat_id, esc(answer.text), keyboards.clarify(t, kb, answer.entry_ids))
    elif answer.decision.referral is not None and answer.decision.referral.kind == "greeting":
        await send_welcome(bot, chat_id, t, assistant, state)
    else:
        parts = [esc(answer.text)]
        referral = answer.decision.referral
        if referral is not None:
            if referral.office and referral.office not in answer.text:
                parts.append(t("ask.office", office=esc(referral.office)))
        elif (contact := kb.documents[0].contact) is not None:
            parts.append(t("ask.contact", contact=esc(contact.get(lang))))
        parts.append(t("ask.logged"))
        await send(bot, chat_id, "\n\n".join(parts), keyboards.after_decline(t))


async def on_pick(
    callback: CallbackQuery, callback_data: PickCB, bot: Bot, t: Translator, lang: str, assistant: Assistant
) -> None:
    """A "did you mean" candidate: the clarify message becomes that entry's answer."""
    kb = assistant.kb
    entry = kb.get(callback_data.id)
    if entry is None:
        await acknowledge(callback, t("stale.entry"), alert=True)
        return
    await acknowledge(callback)
    await edit(bot, callback, views.card(assistant.card(entry.id, lang)), keyboards.answer(t, kb, entry))


def make_router() -> Router:
    router = Router(name="ask")
    router.message.register(on_question, F.text, ~F.text.startswith("/"))
    router.callback_query.register(on_pick, PickCB.filter())
    return router
