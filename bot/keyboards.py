"""Inline keyboards: plain functions of (translator, data) returning markup."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

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
    StepAction,
    StepCB,
)
from bot.i18n import LANGUAGE_NAMES, Translator
from bot.views import heading, measure_number
from eligibility.facts import FactSpec, Kind
from eligibility.rules import MeasureResult
from knowledge.loader import KnowledgeBase
from knowledge.models import Entry

VERDICT_MARKS = {"eligible": "✅", "unknown": "❓", "ineligible": "✖"}


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def menu(t: Translator) -> InlineKeyboardMarkup:
    """The three ways in."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(t("button.ask"), MenuCB(action=MenuAction.ASK).pack())],
            [_button(t("button.browse"), MenuCB(action=MenuAction.BROWSE).pack())],
            [_button(t("button.check"), MenuCB(action=MenuAction.CHECK).pack())],
        ]
    )


def check_only(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[_button(t("button.check"), MenuCB(action=MenuAction.CHECK).pack())]]
    )


def after_decline(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(t("button.browse"), MenuCB(action=MenuAction.BROWSE).pack())],
            [_button(t("button.check"), MenuCB(action=MenuAction.CHECK).pack())],
        ]
    )


def answer(t: Translator, kb: KnowledgeBase, entry: Entry) -> InlineKeyboardMarkup:
    """Under an answer: the full text, the related measures, the eligibility check."""
    # Rows built directly: InlineKeyboardBuilder.as_markup() deep-copies every button (measurable
    # under load, and these keyboards come with every answer and every result).
    rows = [[_button(t("button.source"), SourceCB(id=entry.id).pack())]]
    related = [kb.entries[r] for r in entry.related if r in kb.entries]
    for other in related:
        rows.append([_button(t("button.related", name=heading(other, t)), CardCB(id=other.id).pack())])
    rows.append([_button(t("button.check"), MenuCB(action=MenuAction.CHECK).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def clarify(t: Translator, kb: KnowledgeBase, ids: Iterable[str]) -> InlineKeyboardMarkup:
    rows = [[_button(heading(kb.entries[entry_id], t), PickCB(id=entry_id).pack())] for entry_id in ids]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def sections(t: Translator, kb: KnowledgeBase) -> InlineKeyboardMarkup:
    """The seven sub-sections, then the entries that are no measure (who can apply, how to apply…)."""
    policy = kb.policies[0]
    rows = [
        [_button(s.number + s.title.get(t.lang), SectionCB(id=s.id).pack())]
        for s in policy.data.sections
        if any(e.section == s.id and e.kind == "measure" for e in policy.data.entries)
    ]
    others = [
        _button(e.title.get(t.lang), CardCB(id=e.id, back=ROOT).pack())
        for e in policy.data.entries
        if e.kind != "measure"
    ]
    rows += [others[i : i + 2] for i in range(0, len(others), 2)]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def section(t: Translator, kb: KnowledgeBase, section_id: str) -> InlineKeyboardMarkup:
    rows = [
        [_button(heading(entry, t), CardCB(id=entry.id, back=section_id).pack())]
        for entry in kb.policies[0].data.entries
        if entry.section == section_id
    ]
    rows.append([_button(t("button.back"), SectionCB(id=ROOT).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def browse_card(t: Translator, entry: Entry, back: str) -> InlineKeyboardMarkup:
    rows = [[_button(t("button.back"), SectionCB(id=back).pack())]]
    if entry.kind == "measure":
        rows.append([_button(t("button.check"), MenuCB(action=MenuAction.CHECK).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


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


def languages(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[_button(name, LangCB(code=code).pack()) for code, name in LANGUAGE_NAMES.items()]]
    )


def forget(t: Translator, user_id: int) -> InlineKeyboardMarkup:
    """/forget: delete everything, or keep it."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(t("button.forget"), ForgetCB(action=ForgetAction.YES, user=user_id).pack())],
            [_button(t("button.keep"), ForgetCB(action=ForgetAction.NO, user=user_id).pack())],
        ]
    )
