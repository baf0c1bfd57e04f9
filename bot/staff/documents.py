"""/remove [DOC]: take a document out of the knowledge base — the documents and their ids
without an argument; with one, a preview first, saved by bot/staff/confirm.py. A removal is a
version like any other: /rollback brings the document back."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.format import esc
from bot.i18n import Translator
from bot.live import LiveKnowledge
from bot.replies import send
from bot.staff import keyboards, views
from bot.staff.flow import StaffFlow
from bot.staff.states import RemovePreview, new_token
from knowledge.loader import KnowledgeError
from knowledge.validity import validity_on


async def on_remove(
    message: Message,
    command: CommandObject,
    bot: Bot,
    t: Translator,
    knowledge: LiveKnowledge,
    flow: StaffFlow,
) -> None:
    doc = (command.args or "").strip()
    assistant = knowledge.assistant
    if not doc:
        lines = [t("staff.remove.usage")]
        for document in assistant.kb.documents:
            state = t(f"validity.{validity_on(document, assistant.today()).state}")
            lines.append(
                t("staff.remove.document", doc=esc(document.id), number=esc(document.number), state=state)
            )
        await send(bot, message.chat.id, "\n".join(lines))
        return
    try:
        plan = await knowledge.store.plan_remove(doc)
    except KnowledgeError as exc:
        await send(bot, message.chat.id, views.refused(t, exc))
        return
    preview = RemovePreview(token=new_token(), doc=doc, base=plan.base_id)
    await flow.show(preview)
    title = t("staff.remove.preview", doc=esc(doc))
    text = views.preview(t, assistant.kb, title, plan.changes, t("staff.remove.footer"))
    await send(bot, message.chat.id, text, keyboards.confirm(t, preview.token, save="staff.button.remove"))


def make_router() -> Router:
    router = Router(name="staff-documents")
    router.message.register(on_remove, Command("remove"))
    return router
