"""The web door under load: N browsers at once against the real `python -m bot web` process.

    python -m benchmarks.load --mode web [--users 500] [--seed 1]
    python -m benchmarks.load_web [--users 500] [--seed 1]

Everything runs on 127.0.0.1, with the production settings (rate limits on). Each simulated browser
has its own cookie jar and, as if behind the bureau's reverse proxy, its own client address in
X-Forwarded-For (documentation addresses: a header only, nothing is sent there). Paced like people
(1–3 s between messages, about half a second between checklist ticks), each: loads the page's
history, sends /start, a question carrying its own figure ("我们去年跨境出口N万美元能拿多少"), then a
whole /check to its result (checklist ticks, yes/no, typed figures, skips).

Checked per browser: every request answered with 200 and the bot's reply (else *lost*); every message
in every answer is this browser's own — its texts as it typed them, its figure in its answer card
(else *crossed*); at the end its whole history is exactly what its answers showed, in order. Reported:
requests, requests a second, median and p99 latency of a request (the bot's whole reply included).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, CookieJar

from bot.callbacks import StepAction, StepCB
from eligibility.facts import FactSpec, Kind, load_fact_specs

ROOT = Path(__file__).resolve().parents[1]
HEADERS = {"X-Requested-With": "policybot", "Accept-Language": "zh-CN,zh;q=0.9"}


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


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


@dataclass
class Browser:
    number: int
    rng: random.Random
    specs: dict[str, FactSpec]
    base: str
    think: tuple[float, float]
    timeout: float
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    kind: str = ""  # what the next request is, for the per-kind figures
    sent: list[str] = field(default_factory=list)  # the texts this browser typed, in order
    seen: dict[int, dict[str, Any]] = field(default_factory=dict)  # the transcript its answers showed
    rev: int = 0
    lost: int = 0
    crossed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    finished: bool = False

    @property
    def figure(self) -> int:
        return 51 + self.number  # this browser's own export figure, in 万美元

    @property
    def address(self) -> str:
        block = ("203.0.113", "198.51.100", "192.0.2")[self.number // 250 % 3]
        return f"{block}.{self.number % 250 + 1}"

    async def pause(self, low: float | None = None, high: float | None = None) -> None:
        a, b = (self.think[0] if low is None else low), (self.think[1] if high is None else high)
        if b > 0:
            await asyncio.sleep(self.rng.uniform(a, b))

    async def call(
        self, http: ClientSession, method: str, path: str, body: Any = None
    ) -> dict[str, Any] | None:
        started = time.monotonic()
        try:
            async with http.request(
                method, self.base + path, json=body, headers={**HEADERS, "X-Forwarded-For": self.address}
            ) as response:
                data = await response.json(content_type=None)
                status = response.status
        except (TimeoutError, OSError, ValueError) as exc:
            self.lost += 1
            self.errors.append(f"{method} {path}: {type(exc).__name__} {exc}")
            return None
        self.latencies.append(time.monotonic() - started)
        self.by_kind.setdefault(self.kind or path, []).append(self.latencies[-1])
        if status != 200 or not isinstance(data, dict):
            self.lost += 1
            self.errors.append(f"{method} {path}: {status} {str(data)[:120]}")
            return None
        self.apply(data)
        return data

    def apply(self, reply: dict[str, Any]) -> None:
        if reply.get("reset"):
            self.seen.clear()
        for message in reply.get("messages", []):
            if message["from"] == "user" and message.get("text") not in self.sent:
                self.crossed.append(f"a message this browser never typed: {str(message.get('text'))[:60]!r}")
            if message.get("deleted"):
                self.seen.pop(message["id"], None)
            else:
                self.seen[message["id"]] = message
        self.rev = int(reply.get("rev", self.rev))

    async def say(self, http: ClientSession, text: str) -> dict[str, Any] | None:
        self.sent.append(text)
        self.kind = text if text.startswith("/") else "question" if "能拿多少" in text else "typed figure"
        reply = await self.call(http, "POST", "/api/send", {"text": text, "since": self.rev})
        if reply is not None and not any(m["from"] == "bot" for m in reply["messages"]):
            self.lost += 1
            self.errors.append(f"no reply to {text!r}")
        return reply

    async def press(self, http: ClientSession, message: dict[str, Any], data: str) -> dict[str, Any] | None:
        self.kind = "button"
        return await self.call(
            http, "POST", "/api/press", {"message_id": message["id"], "data": data, "since": self.rev}
        )

    def keyboard(self) -> dict[str, Any] | None:
        with_buttons = [m for _, m in sorted(self.seen.items()) if m["from"] == "bot" and m.get("buttons")]
        return with_buttons[-1] if with_buttons else None

    def steps(self) -> tuple[dict[str, Any] | None, list[tuple[str, StepCB]]]:
        message = self.keyboard()
        if message is None:
            return None, []
        found = [
            (b["text"], StepCB.unpack(b["data"]))
            for row in message["buttons"]
            for b in row
            if b.get("data", "").startswith("iv:")
        ]
        return message, found

    async def run(self) -> None:
        async with ClientSession(
            cookie_jar=CookieJar(unsafe=True), timeout=ClientTimeout(total=self.timeout)
        ) as http:
            await self.pause(0, self.think[1])  # people do not all arrive in the same millisecond
            self.kind = "history (load)"
            if await self.call(http, "GET", "/api/history") is None or await self.say(http, "/start") is None:
                return
            await self.pause()
            question = f"我们去年跨境出口{self.figure}万美元能拿多少"
            answer = await self.say(http, question)
            if answer is None:
                return
            card = "".join(m.get("html", "") for m in answer["messages"] if m["from"] == "bot")
            if f"{self.figure}万美元" not in card:
                self.crossed.append(f"an answer card without this browser's figure {self.figure}万美元")
            await self.pause()
            if await self.say(http, "/check") is None:
                return
            for _ in range(80):
                message, step = self.steps()
                if message is None or not step:
                    break
                await self.pause()
                if not await self.answer(http, message, step):
                    return
            else:
                self.errors.append("the interview did not end")
                return
            result = self.keyboard()
            self.finished = result is not None and "资格自测结果" in result.get("html", "")
            if not self.finished:
                self.errors.append("no result")
            shown = dict(self.seen)
            self.kind = "history (reload)"
            if await self.call(http, "GET", "/api/history") is not None and self.seen != shown:
                self.crossed.append("the history is not what the answers showed")

    async def answer(
        self, http: ClientSession, message: dict[str, Any], step: list[tuple[str, StepCB]]
    ) -> bool:
        actions = {cb.action: cb for _, cb in step}
        if StepAction.GO_ON in actions:
            return await self.press(http, message, actions[StepAction.GO_ON].pack()) is not None
        if StepAction.TOGGLE in actions:  # a checklist: tick some lines, then done
            for label, cb in step:
                if cb.action == StepAction.TOGGLE and (label.startswith("☑") != (self.rng.random() < 0.5)):
                    await self.pause(0.4, 1.0)
                    if await self.press(http, message, cb.pack()) is None:
                        return False
            await self.pause(0.4, 1.0)
            return await self.press(http, message, actions[StepAction.DONE].pack()) is not None
        if StepAction.YES in actions:
            yes = self.rng.random() < 0.7
            choice = actions[StepAction.YES if yes or StepAction.NO not in actions else StepAction.NO]
            return await self.press(http, message, choice.pack()) is not None
        fact = step[0][1].fact
        spec = self.specs.get(fact)
        if spec is None or spec.kind == Kind.WAREHOUSES or self.rng.random() < 0.1:
            return await self.press(http, message, actions[StepAction.SKIP].pack()) is not None
        return await self.say(http, self.typed(spec)) is not None

    def typed(self, spec: FactSpec) -> str:
        if spec.kind == Kind.COUNT:
            return str(self.rng.randint(0, 12))
        if spec.kind == Kind.USD:
            return f"{self.rng.randint(0, 300)}万美元"
        if spec.kind == Kind.AREA:
            return f"{self.rng.randint(0, 3000)}平米"
        return f"{self.rng.randint(0, 80)}万"


async def wait_listening(port: int, process: asyncio.subprocess.Process, timeout: float = 90.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError("`python -m bot web` exited at start")
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("`python -m bot web` did not listen")


async def web_phase(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The phase: the server started, the browsers run, the server stopped with SIGTERM."""
    port = free_port()
    log = workdir / "web.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_PATH": str(workdir / "web.sqlite3")}
    profile = ("-m", "cProfile", "-o", str(workdir / "web.prof")) if getattr(args, "profile", False) else ()
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *profile, "-m", "bot", "web", "--port", str(port),
            cwd=workdir, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    try:
        await wait_listening(port, process)
        specs = dict(load_fact_specs())
        browsers = [
            Browser(
                n, random.Random(args.seed * 1_000_003 + n), specs, f"http://127.0.0.1:{port}",
                (args.think_min, args.think_max), args.action_timeout,
            )
            for n in range(args.users)
        ]  # fmt: skip
        started, cpu = time.monotonic(), cpu_seconds(process.pid)
        await asyncio.wait_for(asyncio.gather(*(b.run() for b in browsers)), args.phase_timeout)
        seconds = time.monotonic() - started
        cpu = cpu_seconds(process.pid) - cpu
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
    latencies = [x for b in browsers for x in b.latencies]
    kinds: dict[str, list[float]] = {}
    for b in browsers:
        for kind, values in b.by_kind.items():
            kinds.setdefault(kind, []).extend(values)
    samples = [f"browser {b.number}: {p}" for b in browsers for p in (b.crossed + b.errors)[:1]][:5]
    return {
        "mode": "web",
        "phase": "paced",
        "users": len(browsers),
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / seconds, 1) if seconds else None,
        "median_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "lost": sum(b.lost for b in browsers),
        "crossed": sum(len(b.crossed) for b in browsers),
        "errors": sum(len(b.errors) for b in browsers),
        "finished": sum(b.finished for b in browsers),
        "server_cpu_ms_per_request": round(cpu / len(latencies) * 1000, 2) if latencies else None,
        "exit_code": process.returncode,
        "samples": samples,
        "by_kind": {
            k: {
                "n": len(v),
                "median_ms": round(statistics.median(v) * 1000, 1),
                "p99_ms": round(percentile(v, 99) * 1000, 1),
            }
            for k, v in sorted(kinds.items())
        },
    }


def report(result: dict[str, Any]) -> None:
    print(
        f"web      paced (HTTP)       {result['users']:>5} requests {result['requests']:>6}  "
        f"{result['requests_per_s']}/s  median {result['median_ms']} ms  p99 {result['p99_ms']} ms  "
        f"lost {result['lost']}  crossed {result['crossed']}  errors {result['errors']}  "
        f"interviews finished {result['finished']}/{result['users']}  SIGTERM exit {result['exit_code']}  "
        f"server CPU {result['server_cpu_ms_per_request']} ms/request",
        flush=True,
    )
    for kind, figures in result["by_kind"].items():
        print(
            f"         · {kind:<18} {figures['n']:>5}  median {figures['median_ms']} ms  p99 {figures['p99_ms']} ms"
        )
    for sample in result["samples"]:
        print(f"         ! {sample}", flush=True)


def run(args: argparse.Namespace) -> int:
    """`--mode web` of benchmarks/load.py (and this module's own entry)."""
    workdir = Path(tempfile.mkdtemp(prefix="policybot-load-web-", dir=getattr(args, "tmp", None)))
    result = asyncio.run(web_phase(args, workdir))
    report(result)
    if getattr(args, "keep", False):
        print(f"log and database: {workdir}")
    else:
        for path in sorted(workdir.iterdir()):
            path.unlink()
        workdir.rmdir()
    return 0 if result["lost"] == result["crossed"] == result["errors"] == 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--think-min", type=float, default=1.0)
    parser.add_argument("--think-max", type=float, default=3.0)
    parser.add_argument("--action-timeout", type=float, default=60.0)
    parser.add_argument("--phase-timeout", type=float, default=600.0)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the server (with --keep)")
    parser.add_argument("--tmp", metavar="DIR")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
