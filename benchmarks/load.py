"""Load, crashes and Telegram's limits: the real bot process against a local Bot API stand-in.

    python -m benchmarks.load [--users 500] [--mode polling|webhook|both|web] [--seed 1]

Everything runs on 127.0.0.1. This process serves the stand-in (tests/botapi_stub.py) and runs N
simulated users (asyncio); the bot is a real ``python -m bot run`` subprocess (``--webhook`` in
webhook mode) with TELEGRAM_API_URL pointing at the stand-in, on a fresh SQLite database.

Phases, per mode:

* **echo**: a minimal aiogram echo bot (benchmarks/echo_bot.py), every user sending texts as fast
  as the replies come: the framework's ceiling on this machine and stand-in.
* **flat out**: our bot, every user as fast as the replies come (rate limit off): /start, a question
  carrying the user's own figure, then a whole eligibility interview (buttons, typed figures,
  checklists, skips) to its result. Updates handled per second, and our/echo ratio.
* **paced**: our bot with its production settings (rate limit on), users pausing 1–3 s between
  messages as people do; the latency bar is measured here.
* **kill**: hundreds of interviews in flight, the bot SIGKILLed and restarted; every interview must
  resume where it was, no answer lost (a reply handled twice is counted, not failed).
* **limits** (polling only): the stand-in enforces Telegram's limits (1 message a second per chat,
  30 a second overall) and answers 429 with retry_after; every reply must still arrive. Latency is
  shown with and without the time spent waiting out 429s.

The interview is one message edited in place: a user waits for the edit of that message (or, once
its own answers pile up under it, the step sent anew and the old one's buttons removed), a tick
for the redrawn buttons, the last answer for the result sent as a new message; every button press
must be answered (in the webhook's response, or as a call). The users tick about four of the
activities, keep the base conditions' ticks, type figures, confirm a figure outside its plausible
range and skip one step in ten.

Each user checks that it got exactly the replies meant for it, in order: after the run every
transcript is replayed through the interview rules (eligibility.interview) and rendered with the
bot's own views: each step must be the one this user's answers lead to, each result the
screening of this user's answers, each answer card must quote this user's figure, each echo its text.
``--json`` also prints, last, a summary per mode: updates_per_s, echo_updates_per_s, ratio_vs_echo,
p99_ms (paced, 429 waits aside), lost, crossed (and each phase's figures).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bot.callbacks import StepAction, StepCB
from bot.i18n import Catalogs, Translator
from bot.interview import views
from eligibility.depends import depends_all
from eligibility.facts import FactSpec, Kind, load_fact_specs
from eligibility.interview import Interview, Plan, Step
from eligibility.parse import AnswerError, parse_answer
from eligibility.screening import screen
from knowledge.loader import KnowledgeBase, load_knowledge_base
from tests.botapi_stub import BotAPIStub, Call

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:LOAD-harness"
WRITES = ("sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery")


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), 0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Process:
    """A bot (ours or the echo bot) as a subprocess, its output in a log file."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, list(argv), env, log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, *self.argv, cwd=self.log.parent, env=self.env,
                stdout=out, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid) if self.proc is not None else 0.0

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def stop(self, timeout: float = 30.0) -> int | None:  # noqa: ASYNC109
        """SIGTERM and wait; the exit code (0 = a clean stop)."""
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                await self.kill()
        return self.proc.returncode

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def quiet_gc() -> Iterator[None]:
    """No garbage collection in this process while users wait: a full collection over the stand-in's
    record of every call would pause the stand-in, and the pause would count as the bot's latency."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def bot_process(api: BotAPIStub, mode: str, name: str, workdir: Path, *pre: str, **env: str) -> Process:
    """`python -m bot run` against the stand-in, on workdir/NAME.sqlite3, logging to NAME.log."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api.base_url,
        "DATABASE_PATH": str(workdir / f"{name}.sqlite3"),
        **env,
    }
    argv = [*pre, "-m", "bot", "run"]
    if mode == "webhook":
        port = free_port()
        environment.update(
            WEBHOOK_URL=f"http://127.0.0.1:{port}", WEBHOOK_PORT=str(port), WEBHOOK_SECRET="load-harness"
        )
        argv.append("--webhook")
    return Process(name, argv, environment, workdir / f"{name}.log")


PROBE = 999_999_999  # a user that only checks the bot is up


async def wait_ready(api: BotAPIStub, mode: str, process: Process, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    """Wait until the process answers: a probe user sends /privacy and gets its reply. (A long
    poll is recorded by the stand-in only when it returns, so "it polls" cannot be seen sooner.)"""
    cursor = api.cursor()
    if mode == "webhook":
        await _or_died(process, cursor.wait_for("setWebhook", timeout=timeout, ok=True))
    api.send_text(PROBE, "/privacy")
    await _or_died(process, cursor.wait_for("sendMessage", chat_id=PROBE, timeout=timeout, ok=True))


async def _or_died(process: Process, waiting: Any) -> None:
    assert process.proc is not None
    waiter = asyncio.ensure_future(waiting)
    died = asyncio.create_task(process.proc.wait())
    done, _ = await asyncio.wait({waiter, died}, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        waiter.cancel()
        raise RuntimeError(f"{process.name} exited before it was ready:\n{process.tail()}")
    died.cancel()
    waiter.result()


# --------------------------------------------------------------------------------------------
# Simulated users
# --------------------------------------------------------------------------------------------


@dataclass
class Action:
    label: str
    sent_at: float
    done_at: float | None = None
    backoff: float = 0.0  # seconds the bot spent waiting out 429s for this action's replies
    replies: list[Call] = field(default_factory=list)

    @property
    def latency(self) -> float | None:
        return None if self.done_at is None else self.done_at - self.sent_at


@dataclass
class Entry:
    """One line of a user's transcript, replayed by the oracle after the run."""

    kind: str  # welcome, card, echo, question, typed, yes_no, skip, group, result, cancelled
    text: str = ""
    facts: tuple[str, ...] = ()
    value: Any = None


class Stand:
    """The stand-in and the users' mailboxes: every call of the bot goes to the user it is for."""

    def __init__(self, api: BotAPIStub) -> None:
        self.api = api
        self.users: dict[int, SimUser] = {}
        self.queries: dict[str, SimUser] = {}
        self.strays: list[Call] = []
        api.add_listener(self._route)

    def _route(self, call: Call) -> None:
        if call.method not in WRITES and call.method != "sendChatAction":
            return
        if call.method == "answerCallbackQuery":
            user = self.queries.get(str(call.params.get("callback_query_id")))
        else:
            chat = call.chat_id
            user = self.users.get(chat) if isinstance(chat, int) else None
        if user is None:
            if call.chat_id != PROBE:
                self.strays.append(call)
        else:
            user.inbox.put_nowait(call)


def _markup_data(call: Call) -> list[str]:
    markup = call.params.get("reply_markup")
    if not isinstance(markup, dict):
        return []
    return [
        str(button.get("callback_data"))
        for row in markup.get("inline_keyboard") or []
        for button in row
        if isinstance(button, dict) and button.get("callback_data")
    ]


class SimUser:
    """One user in a private chat. Acts, waits for the reply, records what it saw."""

    def __init__(
        self,
        stand: Stand,
        user_id: int,
        rng: random.Random,
        *,
        specs: dict[str, FactSpec],
        think: tuple[float, float] = (0.0, 0.0),
        timeout: float = 60.0,
        tolerate_duplicates: bool = False,
    ) -> None:
        self.stand, self.api, self.user_id, self.rng = stand, stand.api, user_id, rng
        self.specs = specs
        self.think = think
        self.timeout = timeout
        self.tolerate_duplicates = tolerate_duplicates
        self.inbox: asyncio.Queue[Call] = asyncio.Queue()
        self.actions: list[Action] = []
        self.transcript: list[Entry] = []
        self.problems: list[str] = []  # wrong, extra or failed replies
        self.lost = 0  # actions never answered
        self.duplicates = 0  # replies repeated after a crash (tolerated in the kill phase)
        self.figure = 51 + user_id % 10_000  # this user's own export figure, in 万美元
        self.last_text: str | None = None
        self.pressed: set[str] = set()  # callback queries sent, and those the bot answered
        self.answered: set[str] = set()
        self.in_interview = False
        self.done = False
        stand.users[user_id] = self
        self.api.set_user(user_id, first_name=f"用户{user_id}", language_code="zh-hans")

    # -- acting

    async def pause(self) -> None:
        low, high = self.think
        if high > 0:
            await asyncio.sleep(self.rng.uniform(low, high))

    async def tap(self) -> None:
        """Between ticks of a checklist: a paced user taps every half second or so."""
        if self.think[1] > 0:
            await asyncio.sleep(self.rng.uniform(0.4, 1.0))

    def _is_duplicate(self, call: Call) -> bool:
        return self.tolerate_duplicates and call.params.get("text") == self.last_text

    def _drain(self, where: str) -> None:
        while not self.inbox.empty():
            call = self.inbox.get_nowait()
            if call.method == "answerCallbackQuery":  # a webhook answers a press after its reply
                self.answered.add(str(call.params.get("callback_query_id")))
                continue
            if call.method == "sendChatAction" or (not call.ok and call.error_code in (400, 429)):
                continue
            if self.tolerate_duplicates:
                self.duplicates += 1
            else:
                self.problems.append(
                    f"unexpected {call.method} {where}: {str(call.params.get('text'))[:60]!r}"
                )

    async def act(
        self,
        label: str,
        send: Callable[[], str | None],
        *,
        target: int | None = None,
        until: str = "markup",
    ) -> Action | None:
        """Send one update; wait for its reply. The bot may edit `target` (the interview message):
        `until="markup"` waits for a message with buttons, sent or `target` edited (an edit without
        them, the interview answered to its end, is followed by the result); `until="edit"` for
        `target` edited (a tick); `until="message"` for any message. None if it never came."""
        self._drain(f"before {label}")
        action = Action(label, time.monotonic())
        self.actions.append(action)
        query = send()
        if query is not None:
            self.stand.queries[query] = self
            self.pressed.add(query)
        failed: dict[tuple[str, str], float] = {}
        deadline = action.sent_at + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.lost += 1
                self.problems.append(f"no reply to {label} within {self.timeout:.0f} s")
                return None
            try:
                call = await asyncio.wait_for(self.inbox.get(), remaining)
            except TimeoutError:
                continue
            key = (call.method, str(call.params.get("text") or call.params.get("message_id")))
            if call.method == "sendChatAction":
                continue
            if call.method == "answerCallbackQuery":
                self.answered.add(str(call.params.get("callback_query_id")))
                continue
            if not call.ok:
                if call.error_code == 429:
                    failed.setdefault(key, call.started)
                elif not (self.tolerate_duplicates and call.error_code == 400):
                    self.problems.append(f"{call.method} failed: {call.error_code} {call.description}")
                continue
            if key in failed:
                action.backoff += call.started - failed.pop(key)
            if call.method in ("editMessageText", "editMessageReplyMarkup"):
                if target is None or call.params.get("message_id") != target:
                    self._extra(call, label)
                    continue
                action.replies.append(call)
                if until == "edit" or (
                    until == "markup" and call.method == "editMessageText" and _markup_data(call)
                ):
                    break
                continue
            if self._is_duplicate(call):  # sendMessage
                self.duplicates += 1
                continue
            action.replies.append(call)
            if until == "message" or (until == "markup" and _markup_data(call)):
                break
        action.done_at = call.finished
        last = action.replies[-1]
        self.last_text = str(last.params.get("text"))
        return action

    def _extra(self, call: Call, label: str) -> None:
        if self.tolerate_duplicates:
            self.duplicates += 1
        else:
            self.problems.append(f"unexpected {call.method} during {label}")

    def text(self, text: str) -> Callable[[], None]:
        def send() -> None:
            self.api.send_text(self.user_id, text)

        return send

    def press(self, message_id: int, data: str) -> Callable[[], str]:
        return lambda: self.api.press_button(self.user_id, message_id, data)

    # -- scripts

    async def echo(self, count: int) -> None:
        for n in range(count):
            text = f"echo {self.user_id} {n}"
            action = await self.act("echo", self.text(text), until="message")
            if action is None:
                return
            self.transcript.append(Entry("echo", str(action.replies[-1].params.get("text")), value=text))
            await self.pause()
        self.done = True

    async def chat(self, *, questions: bool = True, steps: int | None = None) -> None:
        """/start, a question with this user's figure, then the interview (`steps` questions and
        /cancel, or to its result)."""
        if questions:
            action = await self.act("/start", self.text("/start"))
            if action is None:
                return
            self.transcript.append(Entry("welcome", _joined(action)))
            await self.pause()
            action = await self.act("question", self.text(f"我们去年跨境出口{self.figure}万美元能拿多少"))
            if action is None:
                return
            self.transcript.append(Entry("card", _joined(action), value=self.figure))
            await self.pause()
        self.in_interview = True
        action = await self.act("/check", self.text("/check"))
        asked = 0
        while action is not None:
            last = action.replies[-1]
            steps_here = [StepCB.unpack(d) for d in _markup_data(last) if d.startswith("iv:")]
            if not steps_here:
                self.transcript.append(Entry("result", str(last.params.get("text"))))
                break
            message_id = int(last.result["message_id"])
            if steps is not None and asked >= steps:
                await self.pause()
                action = await self.act("/cancel", self.text("/cancel"), target=message_id)
                if action is not None:
                    self.transcript.append(Entry("cancelled", _joined(action)))
                break
            asked += 1
            await self.pause()
            action = await self._answer(last, message_id, steps_here)
        self.in_interview = False
        self.done = action is not None

    async def _answer(self, question: Call, message_id: int, buttons: list[StepCB]) -> Action | None:
        """One step of the interview message, answered: a checklist ticked, yes/no pressed, a figure
        confirmed, typed or skipped."""
        text = str(question.params.get("text"))
        rng = self.rng
        done = next((b.fact for b in buttons if b.action == StepAction.DONE), None)
        if done is not None:  # a checklist: some lines ticked (or the base's ticks kept), then done
            lines = [b.fact for b in buttons if b.action == StepAction.TOGGLE]
            self.transcript.append(Entry("question", text, (done, *lines)))
            if done in ("@base", "@understood"):  # ticked already: nearly always right as it is
                flips = [f for f in lines if rng.random() < 0.02]
                ticked = [f for f in lines if f not in flips]
            else:  # about four of the seventeen activities, as the profiles in evaluation/interview do
                flips = [f for f in lines if rng.random() < 0.25]
                ticked = flips
            for fact in flips:
                await self.tap()
                data = StepCB(action=StepAction.TOGGLE, fact=fact).pack()
                if await self.act("tick", self.press(message_id, data), target=message_id, until="edit") is None:
                    return None
            self.transcript.append(Entry("group", facts=(done,), value=ticked))
            await self.tap()
            data = StepCB(action=StepAction.DONE, fact=done).pack()
            return await self.act("done", self.press(message_id, data), target=message_id)
        key = buttons[0].fact
        self.transcript.append(Entry("question", text, (key,)))
        if key.startswith("?"):  # a figure outside its plausible range: it was meant
            self.transcript.append(Entry("confirm", facts=(key,), value=True))
            data = StepCB(action=StepAction.YES, fact=key).pack()
            return await self.act("confirm", self.press(message_id, data), target=message_id)
        spec = self.specs[key]
        if spec.kind == Kind.WAREHOUSES or rng.random() < 0.1:
            self.transcript.append(Entry("skip", facts=(key,)))
            skip = StepCB(action=StepAction.SKIP, fact=key).pack()
            return await self.act("skip", self.press(message_id, skip), target=message_id)
        if spec.kind == Kind.YES_NO:
            yes = rng.random() < 0.5
            self.transcript.append(Entry("yes_no", facts=(key,), value=yes))
            data = StepCB(action=StepAction.YES if yes else StepAction.NO, fact=key).pack()
            return await self.act("yes/no", self.press(message_id, data), target=message_id)
        typed = self._figure(spec)
        self.transcript.append(Entry("typed", facts=(key,), value=typed))
        return await self.act("figure", self.text(typed), target=message_id)

    def _figure(self, spec: FactSpec) -> str:
        rng = self.rng
        if spec.kind == Kind.COUNT:
            return str(rng.randint(0, 12))
        if spec.kind == Kind.USD:
            return f"{rng.randint(0, 300)}万美元"
        if spec.kind == Kind.AREA:
            return f"{rng.randint(0, 3000)}平米"
        return f"{rng.randint(0, 80)}万"


def _joined(action: Action) -> str:
    return "\n".join(str(c.params.get("text")) for c in action.replies if c.method == "sendMessage")


# --------------------------------------------------------------------------------------------
# The oracle: what each user should have seen
# --------------------------------------------------------------------------------------------


class Oracle:
    def __init__(self) -> None:
        self.kb: KnowledgeBase = load_knowledge_base()
        self.specs = dict(load_fact_specs())
        self.plan = Plan.load(specs=self.specs)
        self.t: Translator = Catalogs.load()["zh"]
        self.today = date.today()

    def check(self, user: SimUser) -> list[str]:
        """Differences between what the user saw and what its own actions lead to."""
        kb, specs, plan, t = self.kb, self.specs, self.plan, self.t
        wrong: list[str] = []
        interview = Interview()
        step: Step | None = None
        for entry in user.transcript:
            if entry.kind == "welcome" and "衡政发〔2024〕4号" not in entry.text:
                wrong.append("welcome without the policy's number")
            elif entry.kind == "card" and f"{entry.value}万美元" not in entry.text:
                wrong.append(f"answer card without the user's figure {entry.value}万美元")
            elif entry.kind == "echo" and entry.text != entry.value:
                wrong.append(f"echo {entry.text!r} for {entry.value!r}")
            elif entry.kind == "question":
                step = interview.step(kb, plan)
                expected = () if step is None else (step.key, *(step.names if step.is_checklist else ()))
                if entry.facts != expected:
                    wrong.append(f"asked {entry.facts} where this user's answers lead to {expected}")
                    break
                assert step is not None
                if not entry.text.endswith(views.body(t, kb, plan, interview, step)):
                    wrong.append(f"question {expected} worded for someone else: {entry.text[:80]!r}")
            elif step is None:
                if entry.kind == "result":
                    wrong.append("a result without an interview")
                continue
            elif entry.kind == "typed":
                spec = specs[entry.facts[0]]
                with contextlib.suppress(AnswerError, ValueError):
                    interview = interview.propose(spec.name, parse_answer(spec, str(entry.value)), specs)
            elif entry.kind == "yes_no":
                interview = interview.answer(entry.facts[0], entry.value)
            elif entry.kind == "confirm":
                interview = interview.confirm(bool(entry.value))
            elif entry.kind == "skip":
                interview = interview.skip_step(step, plan)
            elif entry.kind == "group":
                interview = interview.answer_checklist(step, plan, entry.value)
            elif entry.kind == "result":
                if interview.step(kb, plan) is not None:
                    wrong.append("a result before the interview was over")
                screening = screen(kb, interview.facts, self.today)
                hanging = depends_all(kb, interview.facts, screening.measures, specs)
                unrelated = interview.unrelated(kb, screening.measures)
                if entry.text != views.result(t, kb, specs, screening, hanging, unrelated):
                    wrong.append("a result that is not the screening of this user's answers")
        return wrong


# --------------------------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    mode: str
    phase: str
    users: int
    updates: int
    seconds: float
    latencies: list[float]  # seconds, per action
    waits: list[float]  # the same minus 429 back-off
    problems: int
    lost: int
    crossed: int
    duplicates: int
    bot_cpu: float
    stand_cpu: float
    retries_429: int = 0
    calls_per_update: float | None = None  # Bot API calls (getUpdates aside), HTTP or in webhook responses
    notes: list[str] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return self.updates / self.seconds if self.seconds > 0 else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


class Harness:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.oracle = Oracle()
        self.results: list[Outcome] = []
        self._spies: list[asyncio.subprocess.Process] = []
        self._next_user = 100_000

    def new_users(
        self, stand: Stand, count: int, *, think: tuple[float, float] = (0.0, 0.0), tolerate: bool = False
    ) -> list[SimUser]:
        users = []
        for _ in range(count):
            self._next_user += 1
            rng = random.Random(self.args.seed * 1_000_003 + self._next_user)
            users.append(
                SimUser(
                    stand, self._next_user, rng, specs=self.oracle.specs, think=think,
                    timeout=self.args.action_timeout, tolerate_duplicates=tolerate,
                )
            )  # fmt: skip
        return users

    def bot_process(self, mode: str, name: str, api: BotAPIStub, **env: str) -> Process:
        pre: tuple[str, ...] = ()
        if self.args.profile and name.endswith("flat"):
            pre = ("-m", "cProfile", "-o", str(self.workdir / f"{name}.prof"))
        return bot_process(api, mode, name, self.workdir, *pre, **env)

    def echo_process(self, mode: str, api: BotAPIStub) -> Process:
        environment = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api.base_url,
        }
        argv = ["-m", "benchmarks.echo_bot"]
        if mode == "webhook":
            argv += ["--webhook", str(free_port())]
        return Process(f"echo-{mode}", argv, environment, self.workdir / f"echo-{mode}.log")

    async def ready(self, api: BotAPIStub, mode: str, process: Process) -> None:
        await wait_ready(api, mode, process)

    def outcome(
        self,
        mode: str,
        phase: str,
        users: list[SimUser],
        started: float,
        process_cpu: float,
        stand_cpu: float,
        stand: Stand,
    ) -> Outcome:
        actions = [a for u in users for a in u.actions]
        done = [a for a in actions if a.done_at is not None]
        end = max((a.done_at for a in done if a.done_at is not None), default=time.monotonic())
        crossed = 0
        samples: list[str] = []
        for user in users:
            wrong = self.oracle.check(user)
            crossed += len(wrong)
            samples += [f"user {user.user_id}: {w}" for w in wrong[:1]]
            samples += [f"user {user.user_id}: {p}" for p in user.problems[:1]]
        for user in users:  # every press answered (the spinner stops), in the webhook's response or not
            unanswered = user.pressed - user.answered
            if unanswered:
                user.problems.append(f"{len(unanswered)} button presses never answered")
                samples.append(f"user {user.user_id}: {len(unanswered)} button presses never answered")
        problems = sum(len(u.problems) for u in users) + len(stand.strays)
        if stand.strays:
            samples.append(f"{len(stand.strays)} calls to chats of no simulated user")
        return Outcome(
            mode=mode,
            phase=phase,
            users=len(users),
            updates=len(actions),
            seconds=end - started,
            latencies=[a.latency for a in done if a.latency is not None],
            waits=[a.latency - a.backoff for a in done if a.latency is not None],
            problems=problems,
            lost=sum(u.lost for u in users),
            crossed=crossed,
            duplicates=sum(u.duplicates for u in users),
            bot_cpu=process_cpu,
            stand_cpu=stand_cpu,
            retries_429=sum(1 for a in done if a.backoff > 0),
            samples=samples[:5],
        )

    async def settle(self, users: Iterable[SimUser], quiet: float = 0.5) -> None:
        """Let late replies arrive, then count anything a user was not waiting for."""
        await asyncio.sleep(quiet)
        for user in users:
            user._drain("after the end")

    async def run_users(
        self,
        api: BotAPIStub,
        mode: str,
        phase: str,
        process: Process,
        users: list[SimUser],
        script: Callable[[SimUser], Any],
        stand: Stand,
    ) -> Outcome:
        cpu_before, stand_before = process.cpu(), time.process_time()
        calls_before = len(api.calls)
        started = time.monotonic()
        with quiet_gc():
            await asyncio.wait_for(asyncio.gather(*(script(u) for u in users)), self.args.phase_timeout)
        await self.settle(users)
        outcome = self.outcome(
            mode, phase, users, started, process.cpu() - cpu_before, time.process_time() - stand_before, stand
        )
        calls = [c for c in api.calls[calls_before:] if c.method != "getUpdates"]
        polls = len(api.calls) - calls_before - len(calls)
        in_responses = sum(1 for c in calls if c.via_webhook_reply)
        outcome.calls_per_update = len(calls) / max(1, outcome.updates)
        outcome.notes.append(
            f"Bot API calls per update: {outcome.calls_per_update:.2f} ({in_responses} in webhook responses; "
            f"+ {polls} getUpdates); "
            f"stand-in + users CPU {outcome.stand_cpu / max(1, outcome.updates) * 1000:.2f} ms/update"
        )
        self.results.append(outcome)
        return outcome

    async def echo_phase(self, api: BotAPIStub, stand: Stand, mode: str) -> Outcome:
        process = self.echo_process(mode, api)
        await process.start()
        try:
            await self.ready(api, mode, process)
            users = self.new_users(stand, self.args.users)
            count = self.args.echo_messages

            async def script(user: SimUser) -> None:
                await user.echo(count)

            return await self.run_users(api, mode, "echo bot", process, users, script, stand)
        finally:
            await process.stop()

    async def bot_phase(self, api: BotAPIStub, stand: Stand, mode: str, phase: str, **env: str) -> Outcome:
        process = self.bot_process(mode, f"bot-{mode}-{phase.split()[0]}", api, **env)
        await process.start()
        try:
            await self.ready(api, mode, process)
            if self.args.spy:  # a sampling profile of the bot while the users run (py-spy)
                spy = await asyncio.create_subprocess_exec(
                    "py-spy", "record", "-p", str(process.pid), "-d", str(self.args.spy), "-r", "250",
                    "-f", "raw", "-o", str(self.workdir / f"{process.name}.spy"), "--nonblocking", "--gil",
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                )  # fmt: skip
                self._spies.append(spy)
            paced = phase.startswith("paced")
            think = (self.args.think_min, self.args.think_max) if paced else (0.0, 0.0)
            users = self.new_users(stand, self.args.users, think=think)

            async def script(user: SimUser) -> None:
                if paced:  # people do not all start in the same millisecond
                    await asyncio.sleep(user.rng.uniform(0, self.args.think_max))
                await user.chat()

            flooder = flood = None
            if paced and self.args.flood > 0:  # one user sending as fast as a script can, meanwhile
                [flooder] = self.new_users(stand, 1)
                flood = asyncio.create_task(self.flood(flooder, self.args.flood))
            outcome = await self.run_users(api, mode, phase, process, users, script, stand)
            if flood is not None and flooder is not None:
                flood.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flood
                outcome.notes.append(self.flood_report(flooder))
        finally:
            code = await process.stop()
        outcome.notes.append(f"SIGTERM exit code {code}")
        if code != 0:
            outcome.problems += 1
            outcome.samples.append(f"exit code {code} after SIGTERM:\n{process.tail()}")
        return outcome

    async def flood(self, user: SimUser, per_second: float) -> None:
        self.flood_sent = 0
        while True:
            user.api.send_text(user.user_id, f"海外仓补贴 {self.flood_sent}")
            self.flood_sent += 1
            await asyncio.sleep(1 / per_second)

    def flood_report(self, user: SimUser) -> str:
        replies = slow = 0
        while not user.inbox.empty():
            call = user.inbox.get_nowait()
            if call.ok and call.method == "sendMessage":
                replies += 1
                slow += "太快" in str(call.params.get("text"))
        return (
            f"a flooding user sent {self.flood_sent} messages meanwhile: {replies - slow} answered, "
            f"{slow} 'please slow down', the rest dropped before any work"
        )

    async def kill_phase(self, api: BotAPIStub, stand: Stand, mode: str) -> Outcome:
        process = self.bot_process(mode, f"bot-{mode}-kill", api, RATE_LIMIT_BURST="0")
        await process.start()
        await self.ready(api, mode, process)
        users = self.new_users(stand, self.args.kill_users, tolerate=True)
        cpu_before, stand_before = process.cpu(), time.process_time()
        started = time.monotonic()
        runs = [asyncio.create_task(u.chat(questions=False)) for u in users]
        # kill once the users are, on average, a few questions into their interviews
        target = self.args.kill_after * len(users)
        while sum(len(u.actions) for u in users) < target and not all(r.done() for r in runs):  # noqa: ASYNC110 (a count over hundreds of users, not one event)
            await asyncio.sleep(0.05)
        in_flight = sum(1 for u in users if u.in_interview)
        answered = sum(len(u.actions) for u in users)
        bot_cpu = process.cpu() - cpu_before
        killed_at = time.monotonic()
        await process.kill()
        restart = self.bot_process(mode, f"bot-{mode}-kill", api, RATE_LIMIT_BURST="0")
        await restart.start()
        try:
            await self.ready(api, mode, restart)
            back = time.monotonic() - killed_at
            cpu_before = restart.cpu()
            await asyncio.wait_for(asyncio.gather(*runs), self.args.phase_timeout)
            await self.settle(users)
            bot_cpu += restart.cpu() - cpu_before
        finally:
            code = await restart.stop()
        outcome = self.outcome(
            mode, "kill -9 + restart", users, started, bot_cpu, time.process_time() - stand_before, stand
        )
        finished = sum(1 for u in users if u.done)
        outcome.notes += [
            f"killed with {in_flight} interviews in progress after {answered} updates; "
            f"polling again {back:.1f} s later",
            f"interviews completed {finished}/{len(users)}; SIGTERM exit code {code}",
        ]
        self.results.append(outcome)
        return outcome

    async def limits_phase(self, api: BotAPIStub, stand: Stand, mode: str) -> Outcome:
        api.per_chat_per_second, api.global_per_second = 1.0, 30.0
        process = self.bot_process(mode, f"bot-{mode}-limits", api, RATE_LIMIT_BURST="0")
        await process.start()
        try:
            await self.ready(api, mode, process)
            users = self.new_users(stand, self.args.limit_users)
            rejected_before = sum(1 for c in api.calls if c.error_code == 429)

            async def script(user: SimUser) -> None:
                await asyncio.sleep(user.rng.uniform(0, 2))
                await user.chat(steps=3)

            outcome = await self.run_users(api, mode, "Telegram limits", process, users, script, stand)
            rejected = sum(1 for c in api.calls if c.error_code == 429) - rejected_before
            outcome.notes.append(f"the stand-in answered 429 {rejected} times; every reply still arrived")
        finally:
            await process.stop()
            api.per_chat_per_second = api.global_per_second = None
        return outcome

    async def run(self) -> None:
        modes = ["polling", "webhook"] if self.args.mode == "both" else [self.args.mode]
        async with BotAPIStub() as api:
            stand = Stand(api)
            for mode in modes:
                echo = await self.echo_phase(api, stand, mode)
                self.report_line(echo)
                if self.args.only in (None, "flat"):
                    flat = await self.bot_phase(api, stand, mode, "flat out", RATE_LIMIT_BURST="0")
                    flat.notes.append(f"throughput {flat.throughput / echo.throughput:.2f} x the echo bot's")
                    self.report_line(flat)
                if self.args.only in (None, "paced"):
                    self.report_line(await self.bot_phase(api, stand, mode, "paced"))
                if self.args.only is not None:
                    continue
                if not self.args.skip_kill:
                    self.report_line(await self.kill_phase(api, stand, mode))
                if mode == "polling" and not self.args.skip_limits:
                    self.report_line(await self.limits_phase(api, stand, mode))
        self.summary()

    # -- printing

    HEADER = (
        f"{'mode':<8} {'phase':<18} {'users':>5} {'updates':>7} {'upd/s':>7} {'med ms':>7} {'p99 ms':>7} "
        f"{'p99-429':>7} {'lost':>4} {'cross':>5} {'err':>4} {'dup':>4} {'bot cpu/upd':>11}"
    )

    def report_line(self, o: Outcome) -> None:
        if not hasattr(self, "_header_printed"):
            print(self.HEADER, flush=True)
            self._header_printed = True
        med = statistics.median(o.latencies) * 1000 if o.latencies else float("nan")
        p99 = percentile(o.latencies, 99) * 1000
        p99w = percentile(o.waits, 99) * 1000
        per = o.bot_cpu / o.updates * 1000 if o.updates else float("nan")
        print(
            f"{o.mode:<8} {o.phase:<18} {o.users:>5} {o.updates:>7} {o.throughput:>7.0f} {med:>7.1f} {p99:>7.1f} "
            f"{p99w:>7.1f} {o.lost:>4} {o.crossed:>5} {o.problems:>4} {o.duplicates:>4} {per:>8.2f} ms",
            flush=True,
        )
        for note in o.notes:
            print(f"{'':<9}· {note}", flush=True)
        for sample in o.samples:
            print(f"{'':<9}! {sample}", flush=True)

    def summary_json(self) -> dict[str, Any]:
        """Per mode: our throughput against the echo bot's in the same run, the paced p99 (429 waits
        aside), and what was lost or crossed (in any phase of ours)."""
        modes: dict[str, Any] = {}
        for mode in dict.fromkeys(o.mode for o in self.results):
            phases = {o.phase: o for o in self.results if o.mode == mode}
            echo, flat, paced = phases.get("echo bot"), phases.get("flat out"), phases.get("paced")
            ours = [o for o in self.results if o.mode == mode and o.phase != "echo bot"]
            modes[mode] = {
                "updates_per_s": round(flat.throughput, 1) if flat else None,
                "echo_updates_per_s": round(echo.throughput, 1) if echo else None,
                "ratio_vs_echo": round(flat.throughput / echo.throughput, 3) if flat and echo else None,
                "p99_ms": round(percentile(paced.waits, 99) * 1000, 1) if paced else None,
                "lost": sum(o.lost for o in ours),
                "crossed": sum(o.crossed for o in ours),
                "errors": sum(o.problems for o in ours),
                "calls_per_update": round(flat.calls_per_update, 3) if flat and flat.calls_per_update else None,
                "phases": [
                    {
                        "phase": o.phase,
                        "users": o.users,
                        "updates": o.updates,
                        "updates_per_s": round(o.throughput, 1),
                        "median_ms": round(statistics.median(o.latencies) * 1000, 1) if o.latencies else None,
                        "p99_ms": round(percentile(o.latencies, 99) * 1000, 1) if o.latencies else None,
                        "p99_without_429_ms": round(percentile(o.waits, 99) * 1000, 1) if o.waits else None,
                        "lost": o.lost,
                        "crossed": o.crossed,
                        "errors": o.problems,
                        "duplicates": o.duplicates,
                    }
                    for o in self.results
                    if o.mode == mode
                ],
            }
        return {"users": self.args.users, "cpus": os.cpu_count(), "modes": modes}

    def summary(self) -> None:
        print()
        print(
            f"machine: {os.cpu_count()} CPUs; stand-in and {self.args.users} users in this process; bot in its own"
        )
        for o in self.results:
            if o.phase == "paced":
                p99w = percentile(o.waits, 99) * 1000
                ok = p99w < 200 and o.lost == o.crossed == o.problems == 0
                print(
                    f"bar {o.mode} paced: p99 {p99w:.0f} ms < 200 ms, nothing lost or crossed: {'PASS' if ok else 'FAIL'}"
                )
            if o.phase == "flat out":
                echo = next(e for e in self.results if e.mode == o.mode and e.phase == "echo bot")
                ratio = o.throughput / echo.throughput
                ok = ratio >= 0.5 and o.lost == o.crossed == o.problems == 0
                print(
                    f"bar {o.mode} throughput: {o.throughput:.0f} upd/s = {ratio:.2f} x echo "
                    f"({echo.throughput:.0f}) >= 0.5, nothing lost or crossed: {'PASS' if ok else 'FAIL'}"
                )
            if o.phase.startswith("kill"):
                ok = o.lost == o.crossed == o.problems == 0
                print(f"bar {o.mode} kill -9: zero interviews lost: {'PASS' if ok else 'FAIL'}")
        if self.args.json:
            print(json.dumps(self.summary_json(), ensure_ascii=False))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument(
        "--mode", choices=["polling", "webhook", "both", "web"], default="both",
        help="web: the web door over HTTP instead (benchmarks/load_web.py)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--echo-messages", type=int, default=20, help="texts per user in the echo phase")
    parser.add_argument("--think-min", type=float, default=1.0, help="paced users' pause, seconds")
    parser.add_argument("--think-max", type=float, default=3.0)
    parser.add_argument(
        "--flood", type=float, default=50.0, help="messages a second from one flooder (paced)"
    )
    parser.add_argument("--kill-users", type=int, default=300)
    parser.add_argument("--kill-after", type=float, default=6.0, help="updates per user before the kill")
    parser.add_argument("--limit-users", type=int, default=60)
    parser.add_argument("--skip-kill", action="store_true")
    parser.add_argument("--skip-limits", action="store_true")
    parser.add_argument("--action-timeout", type=float, default=60.0)
    parser.add_argument("--phase-timeout", type=float, default=600.0)
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    parser.add_argument("--tmp", metavar="DIR", help="where the databases go (default: the system's temp)")
    parser.add_argument(
        "--profile", action="store_true", help="profile the flat-out bot (cProfile; with --keep)"
    )
    parser.add_argument("--spy", type=int, default=0, metavar="SECONDS", help="py-spy the bot (with --keep)")
    parser.add_argument("--only", choices=["echo", "flat", "paced"], help="run one phase (and the echo bot)")
    parser.add_argument("--json", action="store_true", help="also print a machine-readable summary (last line)")
    args = parser.parse_args(argv)
    if args.mode == "web":  # its own phase: browsers over HTTP against `python -m bot web`
        from benchmarks.load_web import run as run_web

        return run_web(args)
    workdir = Path(tempfile.mkdtemp(prefix="policybot-load-", dir=args.tmp))
    try:
        asyncio.run(Harness(args, workdir).run())
    finally:
        if args.keep:
            print(f"logs and databases: {workdir}")
        else:
            for path in sorted(workdir.iterdir()):
                path.unlink()
            workdir.rmdir()
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        sys.exit(main())
