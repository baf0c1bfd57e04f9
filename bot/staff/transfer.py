"""/export sends the current knowledge base as YAML files; a .yaml sent back as a document is an
import: validated, its differences previewed, applied only when confirmed (bot/staff/confirm.py)."""

from __future__ import annotations

from typing import Final

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message

from bot.format import esc
from bot.i18n import Translator
from bot.live import LiveKnowledge
from bot.replies import send
from bot.staff import keyboards, views
from bot.staff.flow import StaffFlow
from bot.staff.states import ImportPreview, new_token
from knowledge import overlay
from knowledge.loader import KnowledgeError

MAX_UPLOAD: Final = 1_000_000  # bytes


async def on_export(message: Message, bot: Bot, t: Translator, knowledge: LiveKnowledge) -> None:
    for current in await knowledge.store.current():
        data = (await knowledge.store.export(current)).encode("utf-8")
        caption = t("staff.export.caption", name=esc(current.name), id=current.version_id)
        await bot.send_document(
            message.chat.id, BufferedInputFile(data, filename=current.name), caption=caption
        )


async def on_upload(
    message: Message, bot: Bot, t: Translator, knowledge: LiveKnowledge, flow: StaffFlow
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
    preview = ImportPreview(token=new_token(), name=name, raw=raw, base=plan.base_id)
    await flow.show(preview)
    entries = len({c.target for c in plan.changes})
    title = t("staff.import.preview", name=esc(name), changes=len(plan.changes), entries=entries)
    text = views.preview(t, knowledge.assistant.kb, title, plan.changes, t("staff.import.footer"))
    await send(bot, chat_id, text, keyboards.confirm(t, preview.token, save="staff.button.apply"))


def make_router() -> Router:
    router = Router(name="staff-transfer")
    router.message.register(on_export, Command("export"))
    router.message.register(on_upload, F.document)
    return router
