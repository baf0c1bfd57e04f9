"""Inline keyboards: plain functions of (translator, data) returning markup."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import (
    ROOT,
    CardCB,
    ForgetAction,
    ForgetCB,
    LangCB,
    MenuAction,
    MenuCB,
    PickCB,
    SectionCB,
    SourceCB,
)
from bot.i18n import LANGUAGE_NAMES, Translator
from bot.views import heading, named
from knowledge.loader import KnowledgeBase
from knowledge.models import Entry
from knowledge.validity import validity_on


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def menu(t: Translator) -> InlineKeyboardMarkup:
    """The three ways in."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(t("button.ask"), MenuCB(action=MenuAction.ASK).pack())],
            [button(t("button.browse"), MenuCB(action=MenuAction.BROWSE).pack())],
            [button(t("button.check"), MenuCB(action=MenuAction.CHECK).pack())],
        ]
    )


def after_decline(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(t("button.browse"), MenuCB(action=MenuAction.BROWSE).pack())],
            [button(t("button.check"), MenuCB(action=MenuAction.CHECK).pack())],
        ]
    )


def answer(t: Translator, kb: KnowledgeBase, entry: Entry) -> InlineKeyboardMarkup:
    """Under an answer: the full text, the related measures, the eligibility check."""
    # Rows built directly: InlineKeyboardBuilder.as_markup() deep-copies every button (measurable
    # under load, and these keyboards come with every answer and every result).
    rows = [[button(t("button.source"), SourceCB(id=entry.id).pack())]]
    related = [kb.entries[r] for r in entry.related if r in kb.entries]
    for other in related:
        rows.append([button(t("button.related", name=heading(other, t)), CardCB(id=other.id).pack())])
    rows.append([button(t("button.check"), MenuCB(action=MenuAction.CHECK).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def clarify(t: Translator, kb: KnowledgeBase, ids: Iterable[str]) -> InlineKeyboardMarkup:
    rows = [[button(named(kb, kb.entries[entry_id], t), PickCB(id=entry_id).pack())] for entry_id in ids]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def doc_tag(kb: KnowledgeBase, doc: str) -> str:
    """A document as browse buttons name it: "" when it is the only one (short payloads, and the
    buttons of a one-document bot stay as they were)."""
    return doc if len(kb.documents) > 1 else ""


def documents(t: Translator, kb: KnowledgeBase, on: date) -> InlineKeyboardMarkup:
    """Browse with several documents: one button per document, with its validity on `on`."""
    rows = [
        [
            button(
                t("browse.document", number=d.number, state=t(f"validity.{validity_on(d, on).state}")),
                SectionCB(id=ROOT, doc=d.id).pack(),
            )
        ]
        for d in kb.documents
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def sections(t: Translator, kb: KnowledgeBase, doc: str) -> InlineKeyboardMarkup:
    """A document's sub-sections, then its entries that are no measure (who can apply, how to
    apply…); with several documents, a way back to them."""
    policy = kb.policy(doc)
    assert policy is not None
    entries = kb.entries_of(doc)
    rows = [
        [button(s.number + s.title.get(t.lang), SectionCB(id=s.id, doc=doc_tag(kb, doc)).pack())]
        for s in policy.data.sections
        if any(e.section == s.id and e.kind == "measure" for e in entries)
    ]
    others = [
        button(e.title.get(t.lang), CardCB(id=e.id, back=ROOT).pack()) for e in entries if e.kind != "measure"
    ]
    rows += [others[i : i + 2] for i in range(0, len(others), 2)]
    if len(kb.documents) > 1:
        rows.append([button(t("button.back"), SectionCB(id=ROOT).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def section(t: Translator, kb: KnowledgeBase, doc: str, section_id: str) -> InlineKeyboardMarkup:
    rows = [
        [button(heading(entry, t), CardCB(id=entry.id, back=section_id).pack())]
        for entry in kb.entries_of(doc)
        if entry.section == section_id
    ]
    rows.append([button(t("button.back"), SectionCB(id=ROOT, doc=doc_tag(kb, doc)).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def browse_card(t: Translator, entry: Entry, back: str, doc: str) -> InlineKeyboardMarkup:
    """Under a card opened while browsing: back to its section (ROOT: its document's sections)."""
    rows = [[button(t("button.back"), SectionCB(id=back, doc=doc).pack())]]
    if entry.kind == "measure":
        rows.append([button(t("button.check"), MenuCB(action=MenuAction.CHECK).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def languages(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(name, LangCB(code=code).pack()) for code, name in LANGUAGE_NAMES.items()]]
    )


def forget(t: Translator, user_id: int) -> InlineKeyboardMarkup:
    """/forget: delete everything, or keep it."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(t("button.forget"), ForgetCB(action=ForgetAction.YES, user=user_id).pack())],
            [button(t("button.keep"), ForgetCB(action=ForgetAction.NO, user=user_id).pack())],
        ]
    )
