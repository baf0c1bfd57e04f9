"""/export sends the current knowledge base as YAML files (and the source text of each document
staff added); a .yaml sent back as a document is an import: validated, its differences previewed,
applied only when confirmed (bot/staff/confirm.py).

A new document comes as two files, in either order: its .yaml and its source text (.md or .txt,
the file its `source_file` names). The first waits in the staff flow for the second; the two are
validated together (every quote found in the text), previewed, and added when confirmed.
"""

from __future__ import annotations

from typing import Any, Final

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Document, Message

from bot.format import esc
from bot.i18n import Translator
from bot.live import LiveKnowledge
from bot.replies import send
from bot.staff import keyboards, views
from bot.staff.flow import StaffFlow
from bot.staff.states import ImportPreview, UploadPrompt, new_token
from bot.store.shipped import doc_id
from bot.store.versions import Current, printed_on
from knowledge import overlay
from knowledge.loader import KnowledgeBase, KnowledgeError, entry_keys

MAX_UPLOAD: Final = 1_000_000  # bytes
DATA: Final = (".yaml", ".yml")
TEXT: Final = (".md", ".txt")


async def on_export(message: Message, bot: Bot, t: Translator, knowledge: LiveKnowledge) -> None:
    for current in await knowledge.store.current():
        data = (await knowledge.store.export(current)).encode("utf-8")
        caption = t("staff.export.caption", name=esc(current.name), id=current.version_id)
        await bot.send_document(
            message.chat.id, BufferedInputFile(data, filename=current.name), caption=caption
        )
        if current.source is not None:  # added by staff: its text travels with it
            name = _source_file(current)
            await bot.send_document(
                message.chat.id, BufferedInputFile(current.source.encode("utf-8"), filename=name)
            )


def _source_file(current: Current) -> str:
    document = current.raw.get("document")
    name = document.get("source_file") if isinstance(document, dict) else None
    return str(name) if name else f"{current.doc}.md"


async def _read(bot: Bot, document: Document, name: str) -> str:
    content = await bot.download(document)
    if content is None:
        raise KnowledgeError(f"{name}: could not be downloaded")
    try:
        return content.read().decode("utf-8")
    except UnicodeDecodeError:
        raise KnowledgeError(f"{name}: not UTF-8 text") from None


async def on_upload(
    message: Message, bot: Bot, t: Translator, knowledge: LiveKnowledge, flow: StaffFlow
) -> None:
    """A .yaml (a document's data) or a .md/.txt (a new document's source text)."""
    document = message.document
    assert document is not None
    name = document.file_name or "upload.yaml"
    chat_id = message.chat.id
    if not name.lower().endswith(DATA + TEXT):
        await send(bot, chat_id, t("staff.import.not_yaml"))
        return
    if document.file_size is not None and document.file_size > MAX_UPLOAD:
        await send(bot, chat_id, t("staff.import.too_big", limit=MAX_UPLOAD // 1000))
        return
    waiting = await flow.prompt(UploadPrompt)
    try:
        text = await _read(bot, document, name)
        if name.lower().endswith(TEXT):
            if waiting is None or waiting.raw is None:  # the text first: wait for its data
                await _wait(
                    bot, chat_id, t, flow, UploadPrompt(token=new_token(), source_name=name, source=text)
                )
                return
            await _preview(bot, chat_id, t, knowledge, flow, waiting.raw, waiting.name, text)
            return
        raw = overlay.load_raw(text, name)
        source = waiting.source if waiting is not None else None
        if source is None and await _is_new(knowledge, raw, name):  # the data first: wait for its text
            await _wait(bot, chat_id, t, flow, UploadPrompt(token=new_token(), name=name, raw=raw), raw=raw)
            return
        await _preview(bot, chat_id, t, knowledge, flow, raw, name, source)
    except KnowledgeError as exc:
        await send(bot, chat_id, t("staff.import.refused", reason=esc(str(exc))))


async def _is_new(knowledge: LiveKnowledge, raw: dict[str, Any], name: str) -> bool:
    """A document the bot does not serve, nor ships: it needs its source text."""
    doc = doc_id(raw, name)
    served = {c.doc for c in await knowledge.store.current()}
    shipped = {s.doc for s in await knowledge.store.shipped()}
    return doc not in served | shipped


async def _wait(
    bot: Bot,
    chat_id: int,
    t: Translator,
    flow: StaffFlow,
    prompt: UploadPrompt,
    *,
    raw: dict[str, Any] | None = None,
) -> None:
    await flow.ask(prompt)
    if raw is not None:
        document = raw.get("document") if isinstance(raw.get("document"), dict) else {}
        assert isinstance(document, dict)
        text = t(
            "staff.add.need_source",
            number=esc(str(document.get("number", ""))),
            file=esc(str(document.get("source_file", ""))),
        )
    else:
        text = t("staff.add.need_data", name=esc(prompt.source_name))
    await send(bot, chat_id, text, keyboards.cancel(t, prompt.token))


def new_keys(kb: KnowledgeBase, raw: dict[str, Any], name: str) -> list[str]:
    """The keys the entries of `raw` will have beside the documents of `kb`."""
    doc = doc_id(raw, name)
    ids = [str(e.get("id")) for e in raw.get("entries", []) if isinstance(e, dict)]
    others = [(p.document.id, p.document.printed, [e.id for e in p.data.entries]) for p in kb.policies]
    keys = entry_keys([*(o for o in others if o[0] != doc), (doc, printed_on(raw), ids)])
    return [keys[(doc, i)] for i in ids]


async def _preview(
    bot: Bot,
    chat_id: int,
    t: Translator,
    knowledge: LiveKnowledge,
    flow: StaffFlow,
    raw: dict[str, Any],
    name: str,
    source: str | None,
) -> None:
    plan = await knowledge.store.plan_import(raw, name, source)
    preview = ImportPreview(token=new_token(), name=name, raw=raw, base=plan.base_id, source=source)
    await flow.show(preview)
    kb = knowledge.assistant.kb
    if plan.action == "add":
        keys = new_keys(kb, plan.raw or raw, name)
        document = raw.get("document") if isinstance(raw.get("document"), dict) else {}
        assert isinstance(document, dict)
        title = t(
            "staff.add.preview",
            number=esc(str(document.get("number", ""))),
            name=esc(name),
            entries=len(keys),
        )
        footer = t("staff.add.keys", keys=esc(", ".join(keys))) + "\n\n" + t("staff.add.footer")
        text = views.preview(t, kb, title, plan.changes, footer)
    else:
        entries = len({c.target for c in plan.changes})
        title = t("staff.import.preview", name=esc(name), changes=len(plan.changes), entries=entries)
        text = views.preview(t, kb, title, plan.changes, t("staff.import.footer"))
    await send(bot, chat_id, text, keyboards.confirm(t, preview.token, save="staff.button.apply"))


def make_router() -> Router:
    router = Router(name="staff-transfer")
    router.message.register(on_export, Command("export"))
    router.message.register(on_upload, F.document)
    return router
