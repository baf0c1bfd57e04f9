"""Staff inline keyboards: plain functions of (translator, data) returning markup."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import Translator
from bot.staff.callbacks import ConfirmCB, ConflictCB, EditCB, GroupAction, GroupCB, InboxCB, UndoCB
from bot.staff.describe import short
from bot.staff.views import field_label
from bot.store.inbox import Group, Sort
from bot.views import named
from knowledge.loader import KnowledgeBase
from knowledge.overlay import DOCUMENT, DOCUMENT_FIELDS, EDITABLE_FIELDS


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def inbox(
    t: Translator, groups: Sequence[Group], page: int, pages: int, sort: Sort, per_page: int
) -> InlineKeyboardMarkup | None:
    if not groups:
        return None
    builder = InlineKeyboardBuilder()
    start = page * per_page
    shown = groups[start : start + per_page]
    for number, group in enumerate(shown, start=start + 1):
        label = f"{number}. {short(group.example, 24)} ×{group.count}"
        builder.row(_button(label, GroupCB(key=group.key).pack()))
    nav = []
    if page > 0:
        nav.append(_button(t("staff.button.prev_page"), InboxCB(page=page - 1, sort=sort).pack()))
    if page + 1 < pages:
        nav.append(_button(t("staff.button.next_page"), InboxCB(page=page + 1, sort=sort).pack()))
    if nav:
        builder.row(*nav)
    other: Sort = "new" if sort == "freq" else "freq"
    label = t("staff.button.sort_new" if other == "new" else "staff.button.sort_freq")
    builder.row(_button(label, InboxCB(page=0, sort=other).pack()))
    return builder.as_markup()


def group(t: Translator, kb: KnowledgeBase, found: Group) -> InlineKeyboardMarkup:
    """Attach to one of the matcher's candidates (or any entry), out of scope, ignore, back."""
    builder = InlineKeyboardBuilder()
    candidates = [m.id for m in (found.decision.matches if found.decision else ()) if m.id in kb.entries][:3]
    for entry_id in candidates:
        label = t("staff.button.attach_to", name=named(kb, kb.entries[entry_id], t))
        builder.row(_button(label, GroupCB(key=found.key, action=GroupAction.ATTACH, entry=entry_id).pack()))
    builder.row(
        _button(t("staff.button.other_entry"), GroupCB(key=found.key, action=GroupAction.ENTRIES).pack())
    )
    builder.row(
        _button(
            t("staff.button.out_of_scope"), GroupCB(key=found.key, action=GroupAction.OUT_OF_SCOPE).pack()
        ),
        _button(t("staff.button.ignore"), GroupCB(key=found.key, action=GroupAction.IGNORE).pack()),
    )
    builder.row(_button(t("staff.button.inbox"), InboxCB().pack()))
    return builder.as_markup()


def entries(
    t: Translator,
    kb: KnowledgeBase,
    data: Callable[[str], str],
    *,
    back: str | None = None,
    document: Callable[[str], str] | None = None,
) -> InlineKeyboardMarkup:
    """Every entry, two a row (`data` makes each button's payload); each document's dates last
    (`document` makes their payloads from the document's key)."""
    builder = InlineKeyboardBuilder()
    for entry in kb:
        builder.button(text=named(kb, entry, t, short=True) if len(kb.documents) > 1 else named(kb, entry, t), callback_data=data(entry.id))
    builder.adjust(2)
    if document is not None:
        for doc in kb.documents:
            label = t("staff.button.document") if len(kb.documents) == 1 else t("staff.button.document_of", number=doc.number)
            builder.row(_button(label, document(kb.document_key(doc.id))))
    if back is not None:
        builder.row(_button(t("button.back"), back))
    return builder.as_markup()


def fields(t: Translator, target: str, *, document: bool = False) -> InlineKeyboardMarkup:
    """The fields of an entry, or (`document`, or the target "document") of a document."""
    names = DOCUMENT_FIELDS if document or target == DOCUMENT else EDITABLE_FIELDS
    builder = InlineKeyboardBuilder()
    for name in names:
        builder.button(text=field_label(t, name), callback_data=EditCB(target=target, field=name).pack())
    builder.adjust(3)
    builder.row(_button(t("button.back"), EditCB().pack()))
    return builder.as_markup()


def confirm(t: Translator, token: str, *, save: str = "staff.button.save") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(t(save), ConfirmCB(token=token, ok=True).pack()),
                _button(t("staff.button.cancel"), ConfirmCB(token=token, ok=False).pack()),
            ]
        ]
    )


def cancel(t: Translator, token: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[_button(t("staff.button.cancel"), ConfirmCB(token=token, ok=False).pack())]]
    )


def saved(t: Translator, change: int | None, *, inbox: bool = False) -> InlineKeyboardMarkup | None:
    rows = []
    if change is not None:
        rows.append([_button(t("staff.button.undo", id=change), UndoCB(change=change).pack())])
    if inbox:
        rows.append([_button(t("staff.button.inbox"), InboxCB().pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def conflict(t: Translator, conflict_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(t("staff.button.keep_ours"), ConflictCB(id=conflict_id, keep=True).pack()),
                _button(t("staff.button.take_release"), ConflictCB(id=conflict_id, keep=False).pack()),
            ]
        ]
    )
