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
from bot.handlers.welcome import send_welcome
from bot.i18n import Catalogs, Translator
from bot.replies import acknowledge, chat_of, edit, send
from bot.store.conversations import Conversations
from bot.store.users import QuestionLog
from eligibility.answer import Answer, Assistant
from knowledge.text import is_english
from knowledge.validity import governing

MAX_QUESTION = 1000  # characters; longer texts are cut before matching


async def question_text(message: Message, bot: Bot) -> str:
    """The text without the bot's @mention (groups)."""
    text = message.text or message.caption or ""
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


_MARKUP = re.compile(r"<[^>]*>|&[a-z]+;|[^\w\u4e00-\u9fff]+", re.IGNORECASE)


def has_words(text: str) -> bool:
    """Anything to read besides emoji, markup and punctuation ("👍", "<b>x</b>" has: x)."""
    return bool(_MARKUP.sub("", text).strip())


async def on_question(
    message: Message,
    bot: Bot,
    t: Translator,
    lang: str,
    assistant: Assistant,
    qlog: QuestionLog,
    state: FSMContext,
    catalogs: Catalogs,
    conversations: Conversations,
) -> None:
    text = await question_text(message, bot)
    chat_id = message.chat.id
    if not text:
        await send(bot, chat_id, t("ask.prompt"))
        return
    if not has_words(re.sub(r"<[^>]*>", "", text)):  # emoji or markup only: nothing to answer or log
        await send(bot, chat_id, t("fallback.sticker"), keyboards.menu(t))
        return
    await bot.send_chat_action(chat_id, ChatAction.TYPING)
    # On the event loop: the matcher takes about a millisecond (see benchmarks/latency.py), less than
    # handing it to a thread costs under load (the GIL is shared either way).
    # One language per reply: a question written in English is answered in English, whatever the
    # interface language (its buttons and notes too).
    reply_lang = "en" if is_english(text) else lang
    says = catalogs[reply_lang]
    user_id = message.from_user.id if message.from_user else chat_id
    context = await conversations.get(chat_id, user_id)
    answer = assistant.ask(text, reply_lang, context=context)
    await conversations.put(chat_id, user_id, answer.context)
    if answer.thanks:
        await send(bot, chat_id, esc(answer.text))
        return
    await log_question(qlog, message, lang, text, answer)
    await reply(bot, chat_id, says, reply_lang, assistant, state, answer)


async def reply(
    bot: Bot, chat_id: int, t: Translator, lang: str, assistant: Assistant, state: FSMContext, answer: Answer
) -> None:
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
            office = referral.office_in(lang)
            if office and office not in answer.text:
                parts.append(t("ask.office", office=esc(office)))
        elif (contact := governing(kb.documents, assistant.today()).contact) is not None:
            # no clause answers it: the contact of the document in force today
            parts.append(t("ask.contact", contact=esc(contact.get(lang))))
        parts.append(t("ask.logged"))
        await send(bot, chat_id, "\n\n".join(parts), keyboards.after_decline(t))


async def on_pick(
    callback: CallbackQuery,
    callback_data: PickCB,
    bot: Bot,
    t: Translator,
    lang: str,
    assistant: Assistant,
    conversations: Conversations,
) -> None:
    """A "did you mean" candidate: the clarify message becomes that entry's answer — to the
    question that was asked, with its figures."""
    kb = assistant.kb
    entry = kb.get(callback_data.id)
    if entry is None:
        await acknowledge(callback, t("stale.entry"), alert=True)
        return
    await acknowledge(callback)
    chat_id = chat_of(callback)
    context = await conversations.get(chat_id, callback.from_user.id)
    if context.pending:
        answer = assistant.answer_with(entry.id, context, lang)
        await conversations.put(chat_id, callback.from_user.id, answer.context)
        text = answer.text
    else:
        text = assistant.card(entry.id, lang)
    await edit(bot, callback, views.card(text), keyboards.answer(t, kb, entry))


def make_router() -> Router:
    router = Router(name="ask")
    router.message.register(on_question, F.text, ~F.text.startswith("/"))
    # a photo or a document with a caption: the caption is the question
    router.message.register(on_question, F.caption, ~F.caption.startswith("/"))
    router.callback_query.register(on_pick, PickCB.filter())
    return router
