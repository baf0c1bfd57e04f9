"""The interview's buttons: yes/no, confirmations, checklists, skip/back/cancel, the result's cards."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import lru_cache
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import CardCB, MenuAction, MenuCB, ReportCB, StepAction, StepCB
from bot.i18n import Translator
from bot.interview import views
from bot.keyboards import button as _button
from bot.views import named
from eligibility.facts import Kind
from eligibility.interview import Plan, Step
from eligibility.rules import MeasureResult
from knowledge.loader import KnowledgeBase

VERDICT_MARKS = {"eligible": "✅", "unknown": "❓", "ineligible": "✖"}


@lru_cache(maxsize=4096)
def _cb(action: StepAction, fact: str) -> str:
    return StepCB(action=action, fact=fact).pack()


def _navigation(
    t: Translator, step: Step, *, can_go_back: bool, resuming: bool
) -> list[list[InlineKeyboardButton]]:
    """Skip (not under a list of what was understood), back (once there is something to go back to),
    cancel, and "start over" when an interview is picked up again."""
    key = step.key
    second = [] if step.kind == "understood" else [_button(t("button.skip"), _cb(StepAction.SKIP, key))]
    if can_go_back:
        second.append(_button(t("button.prev"), _cb(StepAction.BACK, key)))
    rows = [second] if second else []
    rows.append([_button(t("button.cancel"), _cb(StepAction.CANCEL, key))])
    if resuming:
        rows.append([_button(t("button.restart"), _cb(StepAction.RESTART, key))])
    return rows


def line_label(t: Translator, plan: Plan, step: Step, name: str, answers: Mapping[str, Any]) -> str:
    """A checklist line: an activity, a fact's short label, or (understood) the fact and its value."""
    if step.kind == "activities":
        return plan.activity(name).label.get(t.lang)
    spec = plan.specs[name]
    if step.kind == "understood":
        return t(
            "iv.label_value", label=spec.short(t.lang), value=views.plain_value(t, spec, answers.get(name))
        )
    return spec.short(t.lang)


def for_step(
    t: Translator,
    plan: Plan,
    step: Step,
    checked: Collection[str],
    answers: Mapping[str, Any],
    *,
    can_go_back: bool,
    resuming: bool = False,
    asking: bool = False,
) -> InlineKeyboardMarkup:
    """The buttons of one step: yes/no for a yes/no fact or a confirmation, one toggle per line
    (☑/☐) and "done" for a checklist, none for a typed figure; then the navigation. With `asking`
    (a question was typed) first: answer it now, or go on."""
    if step.kind == "understood":  # its lines show the values stated: not worth remembering
        return _for_step(t, plan, step, frozenset(checked), answers, can_go_back, resuming, asking)
    # the same step with the same ticks looks the same for everyone: built once (a checklist is
    # twenty buttons, redrawn at every tick)
    return _remembered(t, plan, step, frozenset(checked), can_go_back, resuming, asking)


@lru_cache(maxsize=2048)
def _remembered(
    t: Translator,
    plan: Plan,
    step: Step,
    checked: frozenset[str],
    can_go_back: bool,
    resuming: bool,
    asking: bool,
) -> InlineKeyboardMarkup:
    return _for_step(t, plan, step, checked, {}, can_go_back, resuming, asking)


def _for_step(
    t: Translator,
    plan: Plan,
    step: Step,
    checked: frozenset[str],
    answers: Mapping[str, Any],
    can_go_back: bool,
    resuming: bool,
    asking: bool,
) -> InlineKeyboardMarkup:
    key = step.key
    rows: list[list[InlineKeyboardButton]] = []
    if asking:
        rows.append(
            [
                _button(t("button.ask_now"), _cb(StepAction.ASK, key)),
                _button(t("button.go_on"), _cb(StepAction.GO_ON, key)),
            ]
        )
    if step.kind == "confirm":
        rows.append(
            [
                _button(t("button.confirm_yes"), _cb(StepAction.YES, key)),
                _button(t("button.confirm_no"), _cb(StepAction.NO, key)),
            ]
        )
    elif step.kind == "fact" and plan.specs[step.names[0]].kind == Kind.YES_NO:
        rows.append(
            [
                _button(t("button.yes"), _cb(StepAction.YES, key)),
                _button(t("button.no"), _cb(StepAction.NO, key)),
            ]
        )
    elif step.is_checklist:
        for name in step.names:
            mark = "☑" if name in checked else "☐"
            rows.append(
                [_button(f"{mark} {line_label(t, plan, step, name, answers)}", _cb(StepAction.TOGGLE, name))]
            )
        rows.append([_button(t("button.done"), _cb(StepAction.DONE, key))])
    return InlineKeyboardMarkup(
        inline_keyboard=rows + _navigation(t, step, can_go_back=can_go_back, resuming=resuming)
    )


def result(t: Translator, kb: KnowledgeBase, measures: Sequence[MeasureResult]) -> InlineKeyboardMarkup:
    """One button per measure to its card, marked with its verdict, then "check again"."""
    order = ("eligible", "unknown", "ineligible")
    buttons = [
        _button(
            f"{VERDICT_MARKS[item.verdict]} {named(kb, kb.entries[item.id], t, short=True)}",
            CardCB(id=item.id).pack(),
        )
        for item in sorted(measures, key=lambda m: order.index(m.verdict))
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    rows.append([_button(t("button.report"), ReportCB().pack())])
    rows.append([_button(t("button.check_again"), MenuCB(action=MenuAction.CHECK).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)
