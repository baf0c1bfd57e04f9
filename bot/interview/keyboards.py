"""The interview's buttons: yes/no, checklists, skip/back/cancel, the result's cards."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import CardCB, MenuAction, MenuCB, StepAction, StepCB
from bot.i18n import Translator
from bot.keyboards import button as _button
from bot.views import measure_number
from eligibility.facts import FactSpec, Kind
from eligibility.rules import MeasureResult
from knowledge.loader import KnowledgeBase

VERDICT_MARKS = {"eligible": "✅", "unknown": "❓", "ineligible": "✖"}


def _navigation(t: Translator, fact: str, *, can_go_back: bool) -> list[list[InlineKeyboardButton]]:
    """Skip, back (once there is something to go back to) and cancel, under every question."""
    second = [_button(t("button.skip"), StepCB(action=StepAction.SKIP, fact=fact).pack())]
    if can_go_back:
        second.append(_button(t("button.prev"), StepCB(action=StepAction.BACK, fact=fact).pack()))
    return [second, [_button(t("button.cancel"), StepCB(action=StepAction.CANCEL, fact=fact).pack())]]


def step(t: Translator, spec: FactSpec, *, can_go_back: bool) -> InlineKeyboardMarkup:
    """Yes/no buttons for a yes/no question; for typed answers only skip, back and cancel."""
    fact = spec.name
    rows: list[list[InlineKeyboardButton]] = []
    if spec.kind == Kind.YES_NO:
        rows.append(
            [
                _button(t("button.yes"), StepCB(action=StepAction.YES, fact=fact).pack()),
                _button(t("button.no"), StepCB(action=StepAction.NO, fact=fact).pack()),
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows + _navigation(t, fact, can_go_back=can_go_back))


def checklist(
    t: Translator,
    specs: Mapping[str, FactSpec],
    step: Sequence[str],
    checked: Collection[str],
    *,
    can_go_back: bool,
) -> InlineKeyboardMarkup:
    """One toggle per line (☑/☐), then "done"; skip, back and cancel as for any question."""
    rows = [
        [
            _button(
                f"{'☑' if name in checked else '☐'} {specs[name].short(t.lang)}",
                StepCB(action=StepAction.TOGGLE, fact=name).pack(),
            )
        ]
        for name in step
    ]
    rows.append([_button(t("button.done"), StepCB(action=StepAction.DONE, fact=step[0]).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows + _navigation(t, step[0], can_go_back=can_go_back))


def resume(t: Translator, spec: FactSpec, *, can_go_back: bool) -> InlineKeyboardMarkup:
    markup = step(t, spec, can_go_back=can_go_back)
    restart = [_button(t("button.restart"), StepCB(action=StepAction.RESTART, fact=spec.name).pack())]
    return InlineKeyboardMarkup(inline_keyboard=[*markup.inline_keyboard, restart])


def result(t: Translator, kb: KnowledgeBase, measures: Sequence[MeasureResult]) -> InlineKeyboardMarkup:
    """One button per measure to its card, marked with its verdict, then "check again"."""
    order = ("eligible", "unknown", "ineligible")
    buttons = [
        _button(
            f"{VERDICT_MARKS[item.verdict]} {measure_number(kb.entries[item.id], t)}",
            CardCB(id=item.id).pack(),
        )
        for item in sorted(measures, key=lambda m: order.index(m.verdict))
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    rows.append([_button(t("button.check_again"), MenuCB(action=MenuAction.CHECK).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)
