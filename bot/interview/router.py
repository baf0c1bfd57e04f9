"""/check: the eligibility interview, driven by eligibility.interview, in one message.

The interview is one message, edited in place: the answer just recorded as a line, the next step
below it, the buttons replaced; the result comes as a new message. A typed answer (a new message
of the user's) edits the interview message too while it is still near the bottom of the chat (at
most MAX_BELOW of the user's own messages under it, nothing else since); otherwise the next step
comes as a new message and the old one loses its buttons.

Yes/no questions and checklists have buttons; figures are typed and parsed (a bad one is
explained, an implausible one confirmed); "嗯", "对", "没有" are answers; a message that reads as a
question is offered an answer first; one that describes the enterprise is read for its facts
(eligibility.situation) and shown to confirm. Every step can be skipped (不清楚), undone (上一题) or
the whole interview cancelled, by a button or in words: each of those is written once, in `Turn`.
The interview lives in the FSM storage (SQLite), so a restart loses nothing; it tells `events`
when one starts and finishes. A button press is answered in the webhook's response where the door
allows it: the handler returns the AnswerCallbackQuery instead of calling it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiogram import BaseMiddleware, Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, Chat, InlineKeyboardMarkup, Message, TelegramObject
from pydantic import ValidationError

from bot import keyboards
from bot.callbacks import StepAction, StepCB
from bot.format import esc
from bot.i18n import Catalogs, Translator
from bot.interview import keyboards as buttons
from bot.interview import views, words
from bot.interview.report import remember
from bot.interview.states import MAX_BELOW, InterviewStates, Screen
from bot.replies import acknowledge, chat_of, send
from bot.store.conversations import Conversations
from bot.store.stats import InterviewEvents
from bot.store.users import QuestionLog
from eligibility.answer import Assistant
from eligibility.depends import depends_all
from eligibility.facts import FactSpec, Kind
from eligibility.interview import TICKED_BY_DEFAULT, Interview, Plan, Step
from eligibility.parse import AnswerError, parse_answer, parse_yes_no
from eligibility.screening import screen
from eligibility.situation import read_situation
from knowledge.text import normalize

Specs = Mapping[str, FactSpec]
MAX_QUESTION = 1000


@dataclass(frozen=True)
class Via:
    """How the update reached the interview: a button on `pressed`, a typed message, or neither."""

    pressed: Message | None = None
    typed: bool = False


FRESH = Via()
TYPED = Via(typed=True)


async def load(state: FSMContext) -> Interview | None:
    """The interview in progress, or None."""
    if await state.get_state() != InterviewStates.asking.state:
        return None
    return _interview(await state.get_data())


def _interview(data: Mapping[str, Any]) -> Interview | None:
    raw = data.get("interview")
    if not isinstance(raw, dict):
        return None
    try:
        return Interview.from_json(raw)
    except (ValidationError, TypeError, ValueError, KeyError):
        return None  # written by an incompatible version: start afresh


async def save(state: FSMContext, interview: Interview, screen: Screen) -> None:
    """One write: the state is set once, when the interview begins."""
    if await state.get_state() != InterviewStates.asking.state:
        await state.set_state(InterviewStates.asking)
    await state.set_data({"interview": interview.to_json(), "screen": screen.model_dump()})


@dataclass
class Turn:
    """What one update of the interview works with: where to answer, in which language, and the
    services. Every way through the interview (buttons, typed words, /check, the menu) goes
    through these methods, so showing a step, cancel, back and the result are written once."""

    bot: Bot
    chat_id: int
    t: Translator
    assistant: Assistant
    specs: Specs
    plan: Plan
    state: FSMContext
    events: InterviewEvents
    screen: Screen = field(default_factory=Screen)  # what the interview message shows now

    async def current(self) -> Interview | None:
        """The interview in progress (and its screen), or None."""
        if await self.state.get_state() != InterviewStates.asking.state:
            return None
        data = await self.state.get_data()
        self.screen = Screen.of(data)
        return _interview(data)

    # -- showing a step

    async def show(
        self,
        interview: Interview,
        *,
        head: str | None = None,
        via: Via = FRESH,
        seen: int | None = None,
        resuming: bool = False,
        question: str | None = None,
    ) -> None:
        """Show the next step (or the result when no answer could change it) in the interview
        message, then save. Shown before saved (with `seen`, the id of the typed answer that led
        here): a crash in between leaves the update to be handled again, which shows the same step
        again rather than losing the answer."""
        kb, t, plan = self.assistant.kb, self.t, self.plan
        step = interview.step(kb, plan)
        if step is None:
            await self.finish(interview, head=head, via=via)
            return
        checked = list(step.names) if step.kind in TICKED_BY_DEFAULT else []
        text = views.message(t, kb, plan, interview, step, self._head(head, question))
        markup = self._markup(interview, step, checked, resuming=resuming, asking=question is not None)
        msg, below = await self.deliver(text, markup, via)
        screen = Screen(
            msg=msg, below=below, head=head, checked=checked, question=question, resuming=resuming,
            seen=self.screen.seen if seen is None else seen,
        )  # fmt: skip
        await save(self.state, interview, screen)

    def _head(self, head: str | None, question: str | None) -> str | None:
        return head if question is None else self.t("iv.question", question=esc(_short(question, 80)))

    def _markup(
        self, interview: Interview, step: Step, checked: list[str], *, resuming: bool, asking: bool
    ) -> InlineKeyboardMarkup:
        can_go_back = bool(interview.history) or interview.pending is not None
        return buttons.for_step(
            self.t,
            self.plan,
            step,
            checked,
            interview.answers,
            can_go_back=can_go_back,
            resuming=resuming,
            asking=asking,
        )

    async def deliver(self, text: str, markup: InlineKeyboardMarkup | None, via: Via) -> tuple[int, int]:
        """Put `text` in the interview message: the pressed one, or (a typed answer) the current one
        while it is near the bottom; else a new message, the old one's buttons removed. Returns the
        message's id and how many of the user's messages are under it."""
        msg, below = self.screen.msg, self.screen.below
        if via.pressed is not None:
            target = via.pressed.message_id
            if await self._edit(target, text, markup):
                if msg is not None and msg != target:  # pressed on an older message: it is the one now
                    await self._strip(msg)
                    below = MAX_BELOW
                return target, below
        elif via.typed and msg is not None and below < MAX_BELOW and await self._edit(msg, text, markup):
            return msg, below + 1
        if msg is not None and (via.pressed is None or via.pressed.message_id != msg):
            await self._strip(msg)
        sent = await send(self.bot, self.chat_id, text, markup)
        return sent.message_id, 0

    async def _edit(self, message_id: int, text: str, markup: InlineKeyboardMarkup | None) -> bool:
        try:
            await self.bot.edit_message_text(
                text=text, chat_id=self.chat_id, message_id=message_id, reply_markup=markup
            )
        except TelegramBadRequest as exc:
            return "message is not modified" in exc.message  # the same edit again (redelivered)
        return True

    async def _strip(self, message_id: int) -> None:
        """An old interview message keeps its text and loses its buttons."""
        with contextlib.suppress(TelegramBadRequest):
            await self.bot.edit_message_reply_markup(
                chat_id=self.chat_id, message_id=message_id, reply_markup=None
            )

    async def redraw(self, interview: Interview, step: Step, checked: list[str], via: Via) -> None:
        """A checklist's ticks changed: its buttons are redrawn (the text stays)."""
        markup = self._markup(
            interview, step, checked, resuming=self.screen.resuming, asking=self.screen.question is not None
        )
        target = via.pressed.message_id if via.pressed is not None else self.screen.msg
        if target is not None:
            with contextlib.suppress(TelegramBadRequest):
                await self.bot.edit_message_reply_markup(
                    chat_id=self.chat_id, message_id=target, reply_markup=markup
                )

    # -- the ends

    async def finish(self, interview: Interview, *, head: str | None = None, via: Via = FRESH) -> None:
        """The interview message keeps the last answer (no buttons); the result comes as a new message."""
        kb, t = self.assistant.kb, self.t
        screening = screen(kb, interview.facts, self.assistant.today())
        hanging = depends_all(kb, interview.facts, screening.measures, self.specs)
        target = via.pressed.message_id if via.pressed is not None else self.screen.msg
        if target is not None:
            await self._edit(target, views.finished(t, head), None)
        unrelated = interview.unrelated(kb, screening.measures)
        text = views.result(t, kb, self.specs, screening, hanging, unrelated)
        await send(self.bot, self.chat_id, text, buttons.result(t, kb, screening.current))
        # after sending: a crash in between shows the result again, never loses it
        await remember(self.state, interview.facts)  # for its 📄 report button
        await self.state.clear()
        await self.events.finished()

    async def start(self, known: Mapping[str, Any] | None = None, *, via: Via = FRESH) -> None:
        """A new interview, starting from what is `known` already (confirmed first)."""
        old = self.screen.msg  # (the state is replaced whole when the first step is saved)
        self.screen = Screen(msg=old if via.pressed is None else None)
        await self.events.started()
        interview = Interview.start(known)
        head = self.t("iv.intro_known" if interview.unconfirmed else "iv.intro")
        await self.show(interview, head=head, via=via)

    async def begin(self, known: Mapping[str, Any] | None = None) -> None:
        """Start an interview from what is `known` (facts the conversation established: fact name →
        value, as a profile holds them), or pick up the one in progress."""
        current = await self.current()
        if current is not None and (current.history or current.unconfirmed or current.pending):
            await self.show(current, head=self.t("iv.resumed"), resuming=True)
            return
        await self.start(known)

    async def cancel(self, via: Via = FRESH) -> None:
        msg = self.screen.msg
        await self.state.clear()
        t = self.t
        if via.pressed is not None and await self._edit(
            via.pressed.message_id, t("iv.cancelled"), keyboards.menu(t)
        ):
            return
        if msg is not None:
            await self._strip(msg)
        await send(self.bot, self.chat_id, t("iv.cancelled"), keyboards.menu(t))

    def title(self, step: Step) -> str:
        return views.step_title(self.t, self.plan, step)

    def said(self, step: Step, answer: str) -> str:
        """The line an answer leaves: "今年跨境电商出口额 → 80万美元"."""
        return views.recorded(self.t, self.title(step), answer)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _matches(step: Step, data: StepCB) -> bool:
    """The button belongs to the step shown now (not to an earlier one, not forged)."""
    if data.action == StepAction.TOGGLE:
        return step.is_checklist and data.fact in step.names
    return data.fact == step.key


async def on_check(
    message: Message,
    bot: Bot,
    t: Translator,
    assistant: Assistant,
    specs: Specs,
    plan: Plan,
    state: FSMContext,
    events: InterviewEvents,
    conversations: Conversations,
) -> None:
    # what the chat already said (我们出口80万美元…) is confirmed, not asked again
    user_id = message.from_user.id if message.from_user else message.chat.id
    known = (await conversations.get(message.chat.id, user_id)).known
    await Turn(bot, message.chat.id, t, assistant, specs, plan, state, events).begin(known)


async def on_nothing_to_cancel(message: Message, bot: Bot, t: Translator) -> None:
    await send(bot, message.chat.id, t("iv.nothing_to_cancel"))


async def on_cancel(message: Message, bot: Bot, t: Translator, state: FSMContext) -> None:
    msg = Screen.of(await state.get_data()).msg
    await state.clear()
    if msg is not None:
        with contextlib.suppress(TelegramBadRequest):
            await bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=msg, reply_markup=None)
    await send(bot, message.chat.id, t("iv.cancelled"), keyboards.menu(t))


async def on_step(
    callback: CallbackQuery,
    callback_data: StepCB,
    bot: Bot,
    t: Translator,
    assistant: Assistant,
    specs: Specs,
    plan: Plan,
    state: FSMContext,
    events: InterviewEvents,
) -> AnswerCallbackQuery | None:
    """An interview button. Returns the callback's answer (a webhook sends it in its response)."""
    here = Turn(bot, chat_of(callback), t, assistant, specs, plan, state, events)
    interview = await here.current()
    if interview is None:
        await acknowledge(callback, t("iv.over"), alert=True)
        return None
    via = Via(pressed=callback.message if isinstance(callback.message, Message) else None)
    action = callback_data.action
    if action == StepAction.CANCEL:
        await here.cancel(via)
        return callback.answer()
    if action == StepAction.RESTART:
        await here.start(via=via)
        return callback.answer()
    step = interview.step(assistant.kb, plan)
    if step is None:  # answered, but the result was not sent (a crash in between)
        await here.finish(interview, via=via)
        return callback.answer()
    if not _matches(step, callback_data):
        await acknowledge(callback, t("iv.stale"))
        return None
    head: str | None
    if action == StepAction.GO_ON:
        if here.screen.question is None:
            await acknowledge(callback, t("iv.stale"))
            return None
        head = here.screen.head  # a question is not read for facts: asking about 小微企业 is not being one
    elif action == StepAction.BACK:
        previous, again = interview.back()
        if again is None:
            await acknowledge(callback, t("iv.no_back"))
            return None
        interview, head = previous, t("iv.answered", answer=esc(t("button.prev")))
    elif action == StepAction.SKIP:
        interview, head = interview.skip_step(step, plan), here.said(step, t("button.skip"))
    elif step.is_checklist and action in (StepAction.TOGGLE, StepAction.DONE):
        checked = [n for n in here.screen.checked if n in step.names]
        if action == StepAction.TOGGLE:
            # A tick is the one step that is not idempotent: the same press handled twice (delivered
            # again after a crash) would untick. The presses applied are remembered with the ticks.
            if callback.id in here.screen.toggled:
                return callback.answer()
            name = callback_data.fact
            checked = [n for n in checked if n != name] if name in checked else [*checked, name]
            await here.redraw(interview, step, checked, via)
            toggled = [*here.screen.toggled, callback.id][-20:]
            await save(
                state, interview, here.screen.model_copy(update={"checked": checked, "toggled": toggled})
            )
            return callback.answer()
        answer = views.checklist_answer(t, plan, step, checked, interview.answers)
        interview, head = interview.answer_checklist(step, plan, checked), here.said(step, answer)
    elif step.kind == "confirm" and action in (StepAction.YES, StepAction.NO):
        interview, head = _confirmed(here, interview, step, action == StepAction.YES)
    elif (
        step.kind == "fact"
        and specs[step.names[0]].kind == Kind.YES_NO
        and action in (StepAction.YES, StepAction.NO)
    ):
        yes = action == StepAction.YES
        interview, head = (
            interview.answer(step.names[0], yes),
            here.said(step, t("button.yes" if yes else "button.no")),
        )
    else:  # a button of another kind of step (forged)
        await acknowledge(callback, t("iv.stale"))
        return None
    await here.show(interview, head=head, via=via)
    return callback.answer()


def _confirmed(here: Turn, interview: Interview, step: Step, yes: bool) -> tuple[Interview, str]:
    if not yes:
        return interview.confirm(False), here.t("iv.confirm_again")
    spec = here.specs[step.names[0]]
    return interview.confirm(True), here.said(step, views.plain_value(here.t, spec, step.value))


async def on_ask_now(
    callback: CallbackQuery,
    bot: Bot,
    t: Translator,
    lang: str,
    assistant: Assistant,
    specs: Specs,
    plan: Plan,
    state: FSMContext,
    events: InterviewEvents,
    qlog: QuestionLog,
    catalogs: Catalogs,
    conversations: Conversations,
) -> AnswerCallbackQuery | None:
    """Answer it now: the question typed mid-interview is answered (as any question is), and the
    interview comes back below the answer, where it was."""
    from bot.handlers.ask import on_question  # the ask router imports the interview's (via start)

    here = Turn(bot, chat_of(callback), t, assistant, specs, plan, state, events)
    interview = await here.current()
    question = here.screen.question
    if interview is None:
        await acknowledge(callback, t("iv.over"), alert=True)
        return None
    step = interview.step(assistant.kb, plan)
    data = StepCB.unpack(callback.data or "")
    if step is None or data.fact != step.key or not isinstance(question, str):
        await acknowledge(callback, t("iv.stale"))
        return None
    if isinstance(callback.message, Message):  # the interview message steps aside
        await here._edit(callback.message.message_id, t("iv.paused"), None)
    asked = Message(
        message_id=callback.message.message_id if callback.message else 0,
        date=datetime.now(UTC),
        chat=callback.message.chat if callback.message else Chat(id=here.chat_id, type="private"),
        from_user=callback.from_user,
        text=question,
    )
    await on_question(
        message=asked, bot=bot, t=t, lang=lang, assistant=assistant, qlog=qlog, state=state,
        catalogs=catalogs, conversations=conversations,
    )  # fmt: skip
    here.screen = here.screen.model_copy(update={"msg": None})  # the interview comes anew, under the answer
    await here.show(interview, head=here.screen.head)
    return callback.answer()


def _yes_no(text: str) -> bool | None:
    try:
        return parse_yes_no(text)
    except AnswerError:
        return None


async def on_typed(
    message: Message,
    bot: Bot,
    t: Translator,
    lang: str,
    assistant: Assistant,
    specs: Specs,
    plan: Plan,
    state: FSMContext,
    events: InterviewEvents,
) -> None:
    """Typed words in the interview: an answer to the current step (a figure, 是/否, 嗯嗯, 没有…),
    不清楚/上一题/取消, a question (offered an answer first) or a description (read for its facts)."""
    here = Turn(bot, message.chat.id, t, assistant, specs, plan, state, events)
    interview = await here.current()
    if interview is None:
        await here.begin()
        return
    seen = here.screen.seen
    if seen is not None and message.message_id <= seen:
        return  # the same update again (redelivered after a crash): it was applied already
    mark = message.message_id  # saved with the interview as `seen`, once the reply is shown
    step = interview.step(assistant.kb, plan)
    if step is None:
        await here.finish(interview, via=TYPED)
        return
    text = message.text or ""
    word = normalize(text).strip(" .。!！")
    if word in words.CANCEL:
        await here.cancel()
        return
    head: str | None
    if word in words.BACK:
        previous, again = interview.back()
        head = t("iv.no_back") if again is None else t("iv.answered", answer=esc(t("button.prev")))
        await here.show(previous, head=head, via=TYPED, seen=mark)
        return
    if word in words.SKIP:
        await here.show(
            interview.skip_step(step, plan), head=here.said(step, t("button.skip")), via=TYPED, seen=mark
        )
        return
    if word in words.GO_ON and here.screen.question is not None:
        await here.show(interview, head=here.screen.head, via=TYPED, seen=mark)
        return
    yes = _yes_no(text)
    if yes is None and words.looks_like_a_question(text):
        # every time: answer it now and come back, or go on (the step's own buttons still work)
        await here.show(interview, head=here.screen.head, via=TYPED, seen=mark, question=text[:MAX_QUESTION])
        return
    interview, head = read_answer(here, interview, step, text, word, yes, lang)
    await here.show(interview, head=head, via=TYPED, seen=mark)


def read_answer(
    here: Turn, interview: Interview, step: Step, text: str, word: str, yes: bool | None, lang: str
) -> tuple[Interview, str | None]:
    """The interview after a typed answer to `step`, and the line that says what was taken (or
    why nothing was)."""
    t, plan = here.t, here.plan
    if step.is_checklist:
        checked = [n for n in here.screen.checked if n in step.names]
        ticked: list[str] | None = None
        if step.kind in TICKED_BY_DEFAULT and yes is True:  # "是", "对", "嗯": confirmed as ticked
            ticked = checked
        elif step.kind not in TICKED_BY_DEFAULT and (word in words.NONE or yes is False):  # none applies
            ticked = []
        if ticked is not None:
            answer = views.checklist_answer(t, plan, step, ticked, interview.answers)
            return interview.answer_checklist(step, plan, ticked), here.said(step, answer)
        described = _described(here, interview, text)
        if described is not None:
            return described
        note = {"base": "iv.base_use_buttons", "understood": "iv.understood_use_buttons"}.get(
            step.kind, "iv.use_buttons"
        )
        return interview, t(note)
    name = step.names[0]
    spec = here.specs[name]
    if step.kind == "confirm" and yes is not None:
        return _confirmed(here, interview, step, yes)
    if spec.kind == Kind.YES_NO:
        if yes is not None:
            return interview.answer(name, yes), here.said(step, t("button.yes" if yes else "button.no"))
        try:
            parse_answer(spec, text)
        except AnswerError as exc:
            return _described(here, interview, text) or (
                interview,
                t("iv.error", message=esc(exc.message.get(lang))),
            )
    if spec.kind != Kind.WAREHOUSES and word in words.NONE:
        text = "0"
    try:
        value = parse_answer(spec, text)
        proposed = interview.propose(name, value, here.specs)
    except AnswerError as exc:
        return _described(here, interview, text) or (
            interview,
            t("iv.error", message=esc(exc.message.get(lang))),
        )
    except ValidationError:
        return interview, t("iv.invalid")
    if proposed.pending is not None:
        return proposed, None
    return proposed, here.said(step, views.plain_value(t, spec, proposed.answers.get(name)))


def _described(here: Turn, interview: Interview, text: str) -> tuple[Interview, str | None] | None:
    """A message describing the enterprise: the facts it states, to confirm next."""
    learned = interview.learn(read_situation(text, here.specs).facts)
    return None if learned is interview else (learned, None)


class BuryMiddleware(BaseMiddleware):
    """A command, or a button of another feature, during an interview: its reply lands under the
    interview message, so the next typed answer brings the step anew rather than editing a message
    far up the chat. (Typed answers and the interview's own buttons are counted by the interview.)"""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        state = data.get("state")
        if (
            isinstance(state, FSMContext)
            and _buries(event)
            and await state.get_state() == InterviewStates.asking.state
        ):
            screen = Screen.of(await state.get_data())
            if screen.below < MAX_BELOW:
                await state.update_data(screen=screen.model_copy(update={"below": MAX_BELOW}).model_dump())
        return await handler(event, data)


def _buries(event: TelegramObject) -> bool:
    if isinstance(event, Message):
        return event.text is None or event.text.startswith("/")
    if isinstance(event, CallbackQuery):
        return not (event.data or "").startswith(StepCB.__prefix__ + ":")
    return False


def make_router() -> Router:
    router = Router(name="interview")
    router.message.register(on_check, Command("check"))
    router.message.register(on_cancel, Command("cancel"), InterviewStates.asking)
    router.callback_query.register(on_ask_now, StepCB.filter(F.action == StepAction.ASK))
    router.callback_query.register(on_step, StepCB.filter())
    router.message.register(on_typed, InterviewStates.asking, F.text, ~F.text.startswith("/"))
    return router


def make_idle_router() -> Router:
    """/cancel with no interview in progress (and no staff form, whose router has its own)."""
    router = Router(name="no-interview")
    router.message.register(on_nothing_to_cancel, Command("cancel"))
    return router
