"""Inline-button payloads. Prefixes are short: Telegram allows 64 bytes of callback data.

A payload that no class here unpacks (forged, or from an older version of the bot) falls through
to the fallback router, which answers "this button has expired".
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class MenuAction(StrEnum):
    ASK = "ask"
    BROWSE = "browse"
    CHECK = "check"
    HELP = "help"


class MenuCB(CallbackData, prefix="menu"):
    """The three ways in, from /start and /help."""

    action: MenuAction


ROOT = "root"


class SectionCB(CallbackData, prefix="sec"):
    """Browse: a sub-section's measures, or ROOT for the list of sub-sections, of document `doc`
    (a document id; "" with ROOT: the list of documents, or the only document's sub-sections)."""

    id: str
    doc: str = ""


class CardCB(CallbackData, prefix="card"):
    """An entry's full card (`id`: its key, "hengzhengfa-2026-9/m2" for a second document's). With
    `back` (a section id of the entry's own document) the browse message is edited in place and
    gets a back button; without it the card comes as a new message (from an answer or a result)."""

    id: str
    back: str = ""


class SourceCB(CallbackData, prefix="src"):
    """The full text of the document an entry belongs to."""

    id: str


class PickCB(CallbackData, prefix="pick"):
    """One candidate of a "did you mean" question."""

    id: str


class StepAction(StrEnum):
    YES = "y"
    NO = "n"
    SKIP = "skip"
    BACK = "back"
    CANCEL = "cancel"
    RESTART = "restart"
    TOGGLE = "t"  # tick or untick one line of a checklist
    DONE = "ok"  # the checklist is complete
    ASK = "ask"  # a question typed mid-interview: answer it now
    GO_ON = "go"  # ... or go on with the interview


class StepCB(CallbackData, prefix="iv"):
    """An interview button; `fact` names the step it answers (a fact; "@base", "@activities"… for a
    checklist, "?fact" for a confirmation) or, on a checklist line, the line — so a stale button is
    recognised."""

    action: StepAction
    fact: str = ""


class LangCB(CallbackData, prefix="lang"):
    code: str


class ForgetAction(StrEnum):
    YES = "yes"
    NO = "no"


class ForgetCB(CallbackData, prefix="forget"):
    """/forget's confirmation; `user` is whom it was asked of, so nobody else can press it (groups)."""

    action: ForgetAction
    user: int


class ReportCB(CallbackData, prefix="rpt"):
    """Under an interview's result: the one-page PDF of that result (and its picture)."""
