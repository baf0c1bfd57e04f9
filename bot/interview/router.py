"""/check: the eligibility interview, one step at a time, driven by eligibility.interview.

Yes/no questions have buttons; figures are typed and parsed (a bad one is explained and asked
again). Every step can be skipped (不清楚), undone (上一题) or the whole interview cancelled, by a
button or in words: each of those is written once, in `Turn`. The interview lives in the FSM
storage (SQLite), so a restart loses nothing; it tells `events` when one starts and finishes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from pydantic import ValidationError

from bot import keyboards
from bot.callbacks import StepAction, StepCB
from bot.format import esc
from bot.i18n import Translator
from bot.interview import keyboards as buttons
from bot.interview import views, words
from bot.interview.states import InterviewStates
from bot.replies import acknowledge, chat_of, edit, send
from bot.store.stats import InterviewEvents
from eligibility.answer import Assistant
from eligibility.facts import FactSpec, Kind
from eligibility.interview import Interview
from eligibility.parse import AnswerError, parse_answer
from eligibility.screening import screen
from knowledge.text import normalize

Specs = Mapping[str, FactSpec]


async def load(state: FSMContext) -> Interview | None:
    """The interview in progress, or None."""
    if await state.get_state() != InterviewStates.asking.state:
        return None
    data = await state.get_data()
    raw = data.get("interview")
    if not isinstance(raw, dict):
        return None
    try:
        return Interview.from_json(raw)
    except (ValidationError, TypeError, ValueError):
        return None  # written by an incompatible version: start afresh


async def save(state: FSMContext, interview: Interview, **extra: Any) -> None:
    await state.set_state(InterviewStates.asking)
    await state.update_data(interview=interview.to_json(), **extra)


@dataclass(frozen=True)
class Turn:
    """What one update of the interview works with: where to answer, in which language, and the
    services. Every way through the interview (buttons, typed words, /check, the menu) goes
    through these methods, so cancel, back and the result are written once."""

    bot: Bot
    chat_id: int
    t: Translator
    assistant: Assistant
    specs: Specs
    state: FSMContext
    events: InterviewEvents

    async def ask_next(
        self,
        interview: Interview,
        *,
        note: str | None = None,
        resuming: bool = False,
        seen: int | None = None,
    ) -> None:
        """Ask the next step, or show the result when no answer could change it.

        The question is sent before the interview is saved (with `seen`, the id of the typed answer
        that led here): a crash in between leaves the update to be handled again, which asks the
        same question again rather than losing it.
        """
        extra = {} if seen is None else {"seen": seen}
        kb, t, specs = self.assistant.kb, self.t, self.specs
        step = interview.next_step(kb, specs)
        if not step:
            await self.finish(interview)
            return
        can_go_back = bool(interview.history)
        if len(step) > 1:
            text = views.checklist(t, specs, interview, kb, note=note)
            await send(
                self.bot, self.chat_id, text, buttons.checklist(t, specs, step, (), can_go_back=can_go_back)
            )
            await save(self.state, interview, checked=[], **extra)
            return
        spec = specs[step[0]]
        markup = (buttons.resume if resuming else buttons.step)(t, spec, can_go_back=can_go_back)
        await send(self.bot, self.chat_id, views.question(t, spec, interview, kb, specs, note=note), markup)
        await save(self.state, interview, **extra)

    async def finish(self, interview: Interview) -> None:
        kb = self.assistant.kb
        screening = screen(kb, interview.facts, self.assistant.today())
        text = views.result(self.t, kb, self.specs, screening)
        await send(self.bot, self.chat_id, text, buttons.result(self.t, kb, screening.measures))
        # after sending: a crash in between shows the result again, never loses it
        await self.state.clear()
        await self.events.finished()

    async def start(self) -> None:
        await self.state.clear()
        await self.events.started()
        await self.ask_next(Interview(), note=self.t("iv.intro"))

    async def begin(self) -> None:
        """Start an interview, or pick up the one in progress."""
        current = await load(self.state)
        if current is not None and current.history:
            await self.ask_next(current, note=self.t("iv.resumed"), resuming=True)
            return
        await self.start()

    async def cancel(self, callback: CallbackQuery | None = None) -> None:
        await self.state.clear()
        if callback is not None:
            await acknowledge(callback)
            await edit(self.bot, callback, self.t("iv.cancelled"), keyboards.menu(self.t))
        else:
            await send(self.bot, self.chat_id, self.t("iv.cancelled"), keyboards.menu(self.t))

    def back(self, interview: Interview) -> Interview | None:
        """The interview one step back, or None (and the user told) when there is nothing before."""
        previous, asked_again = interview.back()
        if asked_again is None:
            return None
        return previous


async def on_check(
    message: Message,
    bot: Bot,
    t: Translator,
    assistant: Assistant,
    specs: Specs,
    state: FSMContext,
    events: InterviewEvents,
) -> None:
    await Turn(bot, message.chat.id, t, assistant, specs, state, events).begin()


async def on_cancel(message: Message, bot: Bot, t: Translator, state: FSMContext) -> None:
    if await load(state) is None:
        await send(bot, message.chat.id, t("iv.nothing_to_cancel"))
        return
    await state.clear()
    await send(bot, message.chat.id, t("iv.cancelled"), keyboards.menu(t))


async def on_step(
    callback: CallbackQuery,
    callback_data: StepCB,
    bot: Bot,
    t: Translator,
    assistant: Assistant,
    specs: Specs,
    state: FSMContext,
    events: InterviewEvents,
) -> None:
    interview = await load(state)
    if interview is None:
        await acknowledge(callback, t("iv.over"), alert=True)
        return
    here = Turn(bot, chat_of(callback), t, assistant, specs, state, events)
    action = callback_data.action
    if action == StepAction.CANCEL:
        await here.cancel(callback)
        return
    if action == StepAction.RESTART:
        await acknowledge(callback)
        await here.start()
        return
    step = interview.next_step(assistant.kb, specs)
    if not step or callback_data.fact not in step:
        await acknowledge(callback, t("iv.stale"))
        return
    if len(step) > 1:
        await on_checklist(callback, callback_data, here, interview, step)
        return
    current = step[0]
    spec = specs[current]
    if action == StepAction.BACK:
        previous = here.back(interview)
        if previous is None:
            await acknowledge(callback, t("iv.no_back"))
            return
        interview, shown = previous, t("button.prev")
    elif action == StepAction.SKIP:
        interview, shown = interview.skip(current), t("button.skip")
    elif spec.kind == Kind.YES_NO and action in (StepAction.YES, StepAction.NO):
        yes = action == StepAction.YES
        interview, shown = interview.answer(current, yes), t("button.yes" if yes else "button.no")
    else:  # a yes/no or checklist button under a question that wants a figure: forged
        await acknowledge(callback, t("iv.stale"))
        return
    await acknowledge(callback)
    await edit(bot, callback, views.answered(t, spec, shown))
    await here.ask_next(interview)  # saves once the next is sent


async def on_checklist(
    callback: CallbackQuery, callback_data: StepCB, here: Turn, interview: Interview, step: tuple[str, ...]
) -> None:
    """A button of a checklist: tick/untick a line (the message is redrawn), or finish it."""
    t, specs, bot = here.t, here.specs, here.bot
    data = await here.state.get_data()
    checked = [n for n in data.get("checked") or [] if n in step]
    action = callback_data.action
    can_go_back = bool(interview.history)
    if action == StepAction.TOGGLE:
        # A tick is the one step that is not idempotent: the same press handled twice (delivered
        # again after a crash) would untick. The presses applied are remembered with the ticks.
        toggled = [q for q in data.get("toggled") or [] if isinstance(q, str)]
        if callback.id in toggled:
            await acknowledge(callback)
            return
        name = callback_data.fact
        checked = [n for n in checked if n != name] if name in checked else [*checked, name]
        await acknowledge(callback)
        markup = buttons.checklist(t, specs, step, checked, can_go_back=can_go_back)
        await edit(bot, callback, views.checklist(t, specs, interview, here.assistant.kb), markup)
        await save(here.state, interview, checked=checked, toggled=[*toggled, callback.id][-20:])
        return
    if action == StepAction.DONE:
        interview = interview.answer_group({name: name in checked for name in step})
        text = views.checklist_answered(t, specs, [n for n in step if n in checked])
    elif action == StepAction.SKIP:
        interview, text = interview.skip(*step), views.checklist_answered(t, specs, []).split("\n")[0]
        text += "\n" + t("iv.answered", answer=esc(t("button.skip")))
    elif action == StepAction.BACK:
        previous = here.back(interview)
        if previous is None:
            await acknowledge(callback, t("iv.no_back"))
            return
        interview, text = previous, t("iv.checklist") + "\n" + t("iv.answered", answer=esc(t("button.prev")))
    else:  # yes/no under a checklist: forged
        await acknowledge(callback, t("iv.stale"))
        return
    await acknowledge(callback)
    await edit(bot, callback, text)
    await here.ask_next(interview)  # saves once the next is sent


def looks_like_a_question(text: str) -> bool:
    """Words rather than an answer: the user may want to ask something else."""
    return len(text.strip()) >= 6 and not any(c.isdigit() for c in text)


async def on_typed(
    message: Message,
    bot: Bot,
    t: Translator,
    lang: str,
    assistant: Assistant,
    specs: Specs,
    state: FSMContext,
    events: InterviewEvents,
) -> None:
    """A typed answer to the current question (figures, or 是/否, 不清楚, 上一题 in words)."""
    here = Turn(bot, message.chat.id, t, assistant, specs, state, events)
    data = await state.get_data()
    seen = data.get("seen")
    if isinstance(seen, int) and message.message_id <= seen:
        return  # the same update again (redelivered after a crash): it was applied already
    mark = message.message_id  # saved with the interview as `seen`, once the reply is sent
    interview = await load(state)
    if interview is None:
        await here.begin()
        return
    step = interview.next_step(assistant.kb, specs)
    if not step:
        await here.finish(interview)
        return
    current = step[0]
    spec = specs[current]
    text = message.text or ""
    word = normalize(text).strip(" .。!！")
    if word in words.CANCEL:
        await here.cancel()
        return
    if word in words.BACK:
        previous = here.back(interview)
        if previous is None:
            await send(bot, here.chat_id, t("iv.no_back"))
        await here.ask_next(previous or interview, seen=mark)
        return
    if word in words.SKIP:
        await here.ask_next(interview.skip(*step), seen=mark)
        return
    if len(step) > 1:  # a checklist is ticked with its buttons; "none" in words is an answer too
        if word in words.NONE:
            await here.ask_next(interview.answer_group(dict.fromkeys(step, False)), seen=mark)
        else:
            await here.ask_next(interview, note=t("iv.use_buttons"), seen=mark)
        return
    if spec.kind not in (Kind.YES_NO, Kind.WAREHOUSES) and word in words.NONE:
        text = "0"
    try:
        value = parse_answer(spec, text)
        interview = interview.answer(current, value)
    except AnswerError as exc:
        note = t("iv.error", message=esc(exc.message.get(lang)))
        if looks_like_a_question(text):
            note += "\n" + t("iv.asking_instead")
        await here.ask_next(interview, note=note, seen=mark)
        return
    except ValidationError:
        await here.ask_next(interview, note=t("iv.invalid"), seen=mark)
        return
    await here.ask_next(interview, seen=mark)


def make_router() -> Router:
    router = Router(name="interview")
    router.message.register(on_check, Command("check"))
    router.message.register(on_cancel, Command("cancel"))
    router.callback_query.register(on_step, StepCB.filter())
    router.message.register(on_typed, InterviewStates.asking, F.text, ~F.text.startswith("/"))
    return router
