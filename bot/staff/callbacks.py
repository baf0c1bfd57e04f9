"""Staff buttons' payloads. Every handler of these checks the sender again (the staff router's
filter); one pressed by anyone else gets a refusal (bot/handlers/admin.py)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery


class InboxCB(CallbackData, prefix="ibx"):
    """A page of the inbox."""

    page: int = 0
    sort: str = "new"  # new | freq


class GroupAction(StrEnum):
    OPEN = "open"
    ENTRIES = "entries"  # choose among all entries
    ATTACH = "attach"  # attach to `entry`
    OUT_OF_SCOPE = "oos"
    IGNORE = "ignore"


class GroupCB(CallbackData, prefix="igr"):
    """One group of the inbox, named by its newest question's id."""

    key: int
    action: GroupAction = GroupAction.OPEN
    entry: str = ""


class EditCB(CallbackData, prefix="edt"):
    """The guided edit: no target → the entries; a target → its fields; both → ask for the value."""

    target: str = ""
    field: str = ""


class ConfirmCB(CallbackData, prefix="sok"):
    """Save or cancel the change previewed; `token` names the preview, so an old one does nothing."""

    token: str
    ok: bool


class UndoCB(CallbackData, prefix="undo"):
    """Roll back change `change` (a preview comes first)."""

    change: int


class ConflictCB(CallbackData, prefix="cfl"):
    """Settle conflict `id`: keep the staff value, or take the release's."""

    id: int
    keep: bool


STAFF_PREFIXES = frozenset(cb.__prefix__ for cb in (InboxCB, GroupCB, EditCB, ConfirmCB, UndoCB, ConflictCB))


def is_staff_button(callback: CallbackQuery) -> bool:
    return (callback.data or "").split(":", 1)[0] in STAFF_PREFIXES
