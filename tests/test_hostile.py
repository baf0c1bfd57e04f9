"""Hostile input, property-based (hypothesis, fixed seed, bounded examples): any text up to 10,000
characters, HTML/Markdown control characters, zero-width and right-to-left marks, emoji; forged and
stale button data, and buttons of another user's message. Each gets a reply or a clear refusal —
never an exception, never Telegram-invalid markup, never another user's data. And one flooding user
cannot starve the others."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.filters.callback_data import CallbackData
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, TelegramMethod
from aiogram.types import CallbackQuery, Chat, Message, Update, User
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import callbacks
from bot.callbacks import CardCB, ForgetAction, ForgetCB, MenuAction, MenuCB, StepAction, StepCB
from bot.config import Settings
from bot.factory import create_bot, create_dispatcher
from bot.format import esc, split_message
from bot.i18n import Catalogs
from bot.middlewares import RateLimitMiddleware
from bot.store.db import Database, open_database
from eligibility.answer import Assistant
from eligibility.facts import load_fact_specs
from eligibility.parse import AnswerError, parse_answer
from knowledge.loader import load_knowledge_base
from knowledge.text import normalize
from tests.botapi_stub import parse_html, utf16_len
from tests.conftest import IN_FORCE, Conversation, MockedSession

HOSTILE = settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

VICTIM = 7_000_001
VICTIM_SECRET = "受害者的秘密问题9876543"  # logged by the victim; must never reach anyone else
CONTROL_AND_MARKUP = [
    *"<>&\"'`*_[]()~|#+-=.!{}\\/@$%^",
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",  # zero-width
    "\u202e", "\u202d", "\u200f", "\u200e", "\u2067",  # right-to-left and other direction marks
    "\u0000", "\u0007", "\u001b", "\r", "\n", "\t", "\u00a0", "\u3000",
    "😀", "👍🏻", "👨‍👩‍👧", "🇨🇳", "🏳️‍🌈",
    "<b>", "</b>", "<i>", "<a href='x'>", "</a>", "<pre>", "<code>", "&amp;", "&#", "&lt;", "**", "__", "```",
    "海外仓", "补贴", "万美元", "80万", "八十万", "1e9999", "-0", "NaN", "∞",
    "/start", "/check", "/cancel", "/forget", "/unanswered", "@policy_helper_bot",
]  # fmt: skip


def _long(piece: str, times: int) -> str:
    return (piece * times)[:10_000]


TEXTS = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(CONTROL_AND_MARKUP) | st.text(max_size=4), max_size=80).map("".join),
    st.builds(_long, st.text(min_size=1, max_size=30), st.integers(1, 10_000)),
).filter(lambda s: s.strip() != "")


class World:
    """One dispatcher on an in-memory database, driven from synchronous hypothesis tests on a loop
    of its own; a victim with an interview in progress and a logged question."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.session = MockedSession()
        self.bot: Bot = create_bot("42:HOSTILE", self.session)
        self.ids = itertools.count(1)
        self.users = itertools.count(8_000_000)
        self.assistant = Assistant(load_knowledge_base(), today=lambda: IN_FORCE)
        self.error_text = {Catalogs.load()[lang]("error.generic") for lang in ("zh", "en")}
        self.db: Database = self.run(open_database(":memory:"))
        settings_ = Settings(_env_file=None, bot_token=None)  # type: ignore[call-arg]
        self.dp: Dispatcher = create_dispatcher(settings_, assistant=self.assistant, db=self.db)
        self.run(self._victim())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self.db.close())
        self.run(self.bot.session.close())
        self.loop.close()

    # -- updates

    def user(self, user_id: int) -> User:
        return User(id=user_id, is_bot=False, first_name="用户", language_code="zh-hans")

    def message(self, user_id: int, text: str | None, chat_id: int | None = None) -> Message:
        chat = Chat(id=chat_id or user_id, type="private" if chat_id is None else "supergroup", title="群")
        return Message(
            message_id=next(self.ids),
            date=datetime.now(UTC),
            chat=chat,
            from_user=self.user(user_id),
            text=text,
        )

    async def feed(self, update: Update) -> list[TelegramMethod[Any]]:
        mark = len(self.session.requests)
        response = await self.dp.feed_update(self.bot, update)
        if isinstance(response, TelegramMethod):  # answered in the response, as a webhook would
            await self.dp.silent_call_request(self.bot, response)
        return self.session.requests[mark:]

    async def say(self, user_id: int, text: str, chat_id: int | None = None) -> list[TelegramMethod[Any]]:
        return await self.feed(Update(update_id=next(self.ids), message=self.message(user_id, text, chat_id)))

    async def press(self, user_id: int, data: str, message: Message) -> list[TelegramMethod[Any]]:
        query = CallbackQuery(
            id=str(next(self.ids)),
            from_user=self.user(user_id),
            chat_instance="ci",
            message=message,
            data=data,
        )
        return await self.feed(Update(update_id=next(self.ids), callback_query=query))

    def last_keyboard(self, chat_id: int) -> Message:
        mine = [
            m for m in self.session.messages.values() if m.chat.id == chat_id and m.reply_markup is not None
        ]
        return max(mine, key=lambda m: m.message_id)

    async def victim_state(self) -> tuple[str | None, dict[str, Any]]:
        context = self.dp.fsm.get_context(self.bot, chat_id=VICTIM, user_id=VICTIM)
        return await context.get_state(), await context.get_data()

    async def _victim(self) -> None:
        await self.say(VICTIM, VICTIM_SECRET)
        await self.say(VICTIM, "/check")
        for word in ("是", "是", "是", "是"):
            await self.say(VICTIM, word)
        self.victim_before = await self.victim_state()

    # -- checks

    def check(self, requests: list[TelegramMethod[Any]], user_id: int, chat_id: int | None = None) -> None:
        """Every call went to this user's chat, none carries the victim's data, none is an error
        message, and Telegram would have accepted every text."""
        assert self.session.rejected == [], self.session.rejected
        for request in requests:
            target = getattr(request, "chat_id", None)
            if target is not None:
                assert target == (chat_id or user_id), f"{type(request).__name__} to {target}"
            text = getattr(request, "text", None) or ""
            assert VICTIM_SECRET not in text
            assert text not in self.error_text, "a handler raised"

    async def victim_untouched(self) -> None:
        assert await self.victim_state() == self.victim_before


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = World()
    yield w
    w.close()


def replies(requests: list[TelegramMethod[Any]]) -> list[str]:
    return [r.text for r in requests if isinstance(r, SendMessage | EditMessageText) and r.text]


# --- messages ---------------------------------------------------------------------------------------


@settings(HOSTILE, max_examples=120)
@given(text=TEXTS)
def test_any_text_gets_a_reply_and_nothing_of_anyone_else(world: World, text: str) -> None:
    user = next(world.users)
    requests = world.run(world.say(user, text))
    world.check(requests, user)
    assert replies(requests), f"no reply to {text[:80]!r}"
    world.run(world.victim_untouched())


@settings(HOSTILE, max_examples=60)
@given(text=TEXTS)
def test_any_text_as_an_interview_answer(world: World, text: str) -> None:
    user = next(world.users)

    async def scenario() -> list[TelegramMethod[Any]]:
        await world.say(user, "/check")
        await world.say(user, "是")  # the base conditions hold; it exports: a question that wants a figure
        await world.press(user, StepCB(action=StepAction.TOGGLE, fact="exports").pack(), world.last_keyboard(user))
        await world.press(user, StepCB(action=StepAction.DONE, fact="@activities").pack(), world.last_keyboard(user))
        return await world.say(user, text)

    requests = world.run(scenario())
    world.check(requests, user)
    assert replies(requests), f"no reply to {text[:80]!r}"
    world.run(world.victim_untouched())


@settings(HOSTILE, max_examples=40)
@given(text=TEXTS)
def test_any_text_in_a_group(world: World, text: str) -> None:
    """Addressed or not: a reply in the group or silence, never an error."""
    user = next(world.users)
    requests = world.run(world.say(user, text, chat_id=-100_999))
    world.check(requests, user, chat_id=-100_999)
    world.run(world.victim_untouched())


# --- buttons ----------------------------------------------------------------------------------------

PREFIXES = ["iv", "card", "sec", "src", "pick", "menu", "lang", "forget", "x", ""]
FIELD = st.text(alphabet=st.characters(codec="utf-8", exclude_characters=":"), max_size=14)
FORGED = st.one_of(
    st.builds(lambda p, parts: ":".join([p, *parts]), st.sampled_from(PREFIXES), st.lists(FIELD, max_size=4)),
    st.builds(lambda a, f: StepCB(action=a, fact=f).pack(), st.sampled_from(StepAction), st.sampled_from(
        [*load_fact_specs(), "no_such_fact", ""])),
    st.builds(lambda i, b: CardCB(id=i, back=b).pack(), st.sampled_from(["m1", "m5", "m99", "scope", "x"]),
              st.sampled_from(["", "root", "s3", "nope"])),
    st.builds(lambda a, u: ForgetCB(action=a, user=u).pack(), st.sampled_from(ForgetAction),
              st.sampled_from([VICTIM, 0, -1, 2**40])),
    st.builds(lambda a: MenuCB(action=a).pack(), st.sampled_from(MenuAction)),
).filter(lambda d: 1 <= len(d.encode()) <= 64)  # fmt: skip


@settings(HOSTILE, max_examples=150)
@given(data=FORGED, foreign=st.booleans())
def test_forged_stale_and_foreign_buttons(world: World, data: str, foreign: bool) -> None:
    """A press on the user's own message, or (forged: Telegram never sends it) on a message of the
    victim's chat: answered (toast or alert), nothing sent elsewhere, the victim untouched."""
    user = next(world.users)

    async def scenario() -> list[TelegramMethod[Any]]:
        await world.say(user, "/start")
        target = world.last_keyboard(VICTIM if foreign else user)
        return await world.press(user, data, target)

    requests = world.run(scenario())
    world.check(requests, user)
    answers = [r for r in requests if isinstance(r, AnswerCallbackQuery)]
    assert len(answers) == 1, f"{data!r}: {[type(r).__name__ for r in requests]}"
    if foreign:
        assert answers[0].show_alert
        assert [r for r in requests if not isinstance(r, AnswerCallbackQuery)] == []
    world.run(world.victim_untouched())


async def test_another_users_interview_buttons_in_a_group(
    talk: Conversation, dp: Dispatcher, session: MockedSession
) -> None:
    """In a group everyone sees everyone's buttons: pressing someone else's changes nothing of theirs."""
    group = -100_4242
    await talk.send("/check", chat_id=group)
    for _ in range(2):
        fact = next(StepCB.unpack(d).fact for d in talk.buttons().values() if d.startswith("iv:"))
        await talk.press(StepCB(action=StepAction.YES, fact=fact).pack())
    owner = dp.fsm.get_context(talk.bot, chat_id=group, user_id=talk.user.id)
    before = (await owner.get_state(), await owner.get_data())
    question = talk.keyboard_message()
    data = [d for d in talk.buttons(question).values() if d.startswith("iv:")]
    intruder = Conversation(dp, talk.bot, session, user_id=31337)
    for pressed in data:
        requests = await intruder.press(pressed, question)
        assert [type(r) for r in requests] == [AnswerCallbackQuery]
        [answer] = requests
        assert isinstance(answer, AnswerCallbackQuery)
        assert answer.text
    assert (await owner.get_state(), await owner.get_data()) == before


# --- parsers ----------------------------------------------------------------------------------------

SPECS = load_fact_specs()


@settings(HOSTILE, max_examples=300)
@given(name=st.sampled_from(sorted(SPECS)), text=TEXTS)
def test_answer_parser_returns_a_value_or_a_clear_error(name: str, text: str) -> None:
    spec = SPECS[name]
    error: AnswerError | None = None
    try:
        parse_answer(spec, text)
    except AnswerError as exc:
        error = exc
    if error is not None:
        assert error.message.get("zh")
        assert error.message.get("en")


@settings(HOSTILE, max_examples=300)
@given(data=st.one_of(FORGED, st.text(max_size=80)))
def test_callback_data_unpacks_or_is_refused(data: str) -> None:
    classes = [
        c
        for c in vars(callbacks).values()
        if isinstance(c, type) and issubclass(c, CallbackData) and c is not CallbackData
    ]
    for cls in classes:
        with contextlib.suppress(ValueError, TypeError):  # the fallback answers "this button has expired"
            cls.unpack(data)


@settings(HOSTILE, max_examples=200)
@given(text=TEXTS)
def test_matcher_and_markup_never_fail(text: str) -> None:
    normalize(text)
    for piece in split_message(esc(text)):
        plain, _ = parse_html(piece)  # Telegram's HTML parser accepts it
        assert utf16_len(plain) <= 4096


@pytest.fixture(scope="module")
def assistant_() -> Assistant:
    return Assistant(load_knowledge_base(), today=lambda: IN_FORCE)


@settings(HOSTILE, max_examples=150)
@given(text=TEXTS, lang=st.sampled_from(["zh", "en"]))
def test_assistant_always_decides(assistant_: Assistant, text: str, lang: str) -> None:
    answer = assistant_.ask(text[:1000], lang)
    assert answer.outcome in ("answer", "clarify", "decline")
    assert answer.text


# --- flooding ---------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_flooding_user_cannot_starve_the_others(assistant: Assistant, db: Database) -> None:
    settings_ = Settings(_env_file=None, rate_limit_burst=5, rate_limit_per_second=1.0)  # type: ignore[call-arg]
    dp = create_dispatcher(settings_, assistant=assistant, db=db, rate_limit=True)
    limiter = next(m for m in dp.update.outer_middleware if isinstance(m, RateLimitMiddleware))
    clock = Clock()
    limiter.clock = clock
    session = MockedSession()
    bot = create_bot("42:FLOOD", session)
    ids = itertools.count(1)

    async def say(user_id: int, text: str) -> list[TelegramMethod[Any]]:
        message = Message(
            message_id=next(ids), date=datetime.now(UTC), chat=Chat(id=user_id, type="private"),
            from_user=User(id=user_id, is_bot=False, first_name="x", language_code="zh-hans"), text=text,
        )  # fmt: skip
        mark = len(session.requests)
        await dp.feed_update(bot, Update(update_id=next(ids), message=message))
        return session.requests[mark:]

    flooder, patient = 111, 222
    answered = 0
    slow_downs = 0
    for n in range(200):
        sent = replies(await say(flooder, f"海外仓补贴{n}"))
        if any("太快" in s for s in sent):
            slow_downs += 1
        elif sent:
            answered += 1
        if n == 100:  # someone else, in the middle of the flood
            [reply] = replies(await say(patient, "海外仓租金能补贴多少"))
            assert "海外仓" in reply
    assert answered == 5  # the burst
    assert slow_downs == 1  # one "please slow down", then silence
    assert limiter.dropped == 195
    clock.now += 2.0  # two tokens back: answered, and no new warning while the flood goes on
    for _ in range(2):
        [reply] = replies(await say(flooder, "海外仓"))
        assert "太快" not in reply
    assert replies(await say(flooder, "海外仓")) == []
    clock.now += 60.0  # calm again, the bucket full: a new flood is warned about once more
    for _ in range(5):
        assert replies(await say(flooder, "海外仓"))
    [again] = replies(await say(flooder, "海外仓"))
    assert "太快" in again
    assert replies(await say(flooder, "海外仓")) == []
    await bot.session.close()


async def test_rate_limit_ignores_group_chatter(assistant: Assistant, db: Database) -> None:
    """Messages in a group not addressed to the bot do not count (nor get a slow-down)."""
    settings_ = Settings(_env_file=None, rate_limit_burst=2, rate_limit_per_second=0.001)  # type: ignore[call-arg]
    dp = create_dispatcher(settings_, assistant=assistant, db=db, rate_limit=True)
    session = MockedSession()
    bot = create_bot("42:GROUP", session)
    for n in range(20):
        message = Message(
            message_id=n + 1, date=datetime.now(UTC), chat=Chat(id=-100_1, type="supergroup", title="群"),
            from_user=User(id=5, is_bot=False, first_name="x"), text=f"闲聊 {n}",
        )  # fmt: skip
        await dp.feed_update(bot, Update(update_id=n + 1, message=message))
    assert [type(r).__name__ for r in session.requests] == ["GetMe"]  # who am I: am I addressed?
    private = Message(
        message_id=99, date=datetime.now(UTC), chat=Chat(id=5, type="private"),
        from_user=User(id=5, is_bot=False, first_name="x"), text="/start",
    )  # fmt: skip
    await dp.feed_update(bot, Update(update_id=99, message=private))
    assert [type(r) for r in session.requests[1:]] == [SendMessage]
    await bot.session.close()
