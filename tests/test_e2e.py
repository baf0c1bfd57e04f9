"""End to end: the real `policybot run` process against a local Bot API stand-in over HTTP.

/start, a question answered, a clarify button pressed, an interview started, the process killed
(SIGKILL) and started again, the interview continued to its result. And the webhook mode, with
its secret-token check.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from bot.callbacks import StepAction, StepCB
from tests.botapi_stub import BotAPIStub

ROOT = Path(__file__).resolve().parents[1]
USER = 424242
TIMEOUT = 60.0


async def start_bot(api: BotAPIStub, db: Path, *args: str, **env: str) -> asyncio.subprocess.Process:
    """`policybot run` (as `python -m bot run`, the same entry point) in its own process."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": "123456:E2E-token",
        "TELEGRAM_API_URL": api.base_url,
        "DATABASE_PATH": str(db),
        "RATE_LIMIT_BURST": "0",  # the scripted user answers at machine speed
        **env,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", *args,
        cwd=db.parent, env=environment,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def stop(process: asyncio.subprocess.Process) -> str:
    if process.returncode is None:
        process.kill()
    _, stderr = await process.communicate()
    return stderr.decode(errors="replace")


@pytest.fixture
async def api() -> AsyncIterator[BotAPIStub]:
    async with BotAPIStub() as stub:
        yield stub


async def reply_to(api: BotAPIStub, action: Any) -> dict[str, Any]:
    """Do something as the user; the bot's next message to them (sent or edited)."""
    cursor = api.cursor()
    action()
    call = await cursor.wait_for(("sendMessage", "editMessageText"), chat_id=USER, timeout=TIMEOUT, ok=True)
    result: dict[str, Any] = call.result
    return result


def step_buttons(message: dict[str, Any]) -> dict[str, StepCB]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    found = {}
    for row in rows:
        for button in row:
            data = button.get("callback_data", "")
            if data.startswith("iv:"):
                found[data] = StepCB.unpack(data)
    return found


async def answer_current(api: BotAPIStub, question: dict[str, Any], *, tick: tuple[str, ...] = ()) -> dict[str, Any]:
    """Answer the step in `question` (the interview message): a checklist with the lines `tick`
    ticked and Done, yes to a yes/no question, else type 0. The interview message as it is then
    (edited in place), or the result once it comes."""
    buttons = step_buttons(question)
    done = next((b for b in buttons.values() if b.action == StepAction.DONE), None)
    cursor = api.cursor()
    if done is not None:
        for line in tick:
            api.press_button(USER, question["message_id"], StepCB(action=StepAction.TOGGLE, fact=line).pack())
            await cursor.wait_for("editMessageReplyMarkup", chat_id=USER, timeout=TIMEOUT, ok=True)
        api.press_button(USER, question["message_id"], done.pack())
    elif any(b.action == StepAction.YES for b in buttons.values()):
        fact = next(b.fact for b in buttons.values() if b.action == StepAction.YES)
        api.press_button(USER, question["message_id"], StepCB(action=StepAction.YES, fact=fact).pack())
    else:
        api.send_text(USER, "0")
    call = await cursor.wait_for("editMessageText", chat_id=USER, timeout=TIMEOUT, ok=True)
    result: dict[str, Any] = call.result
    if not step_buttons(result):  # answered to the end: the result comes as a new message
        call = await cursor.wait_for("sendMessage", chat_id=USER, timeout=TIMEOUT, ok=True)
        result = call.result
    return result


async def test_a_conversation_survives_sigkill(api: BotAPIStub, tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    api.set_user(USER, first_name="王经理", language_code="zh-hans")
    bot = await start_bot(api, db)
    try:
        await api.wait_for("getUpdates", timeout=TIMEOUT)
        assert [c["command"] for c in api.commands()][:3] == ["start", "measures", "check"]
        assert api.commands(language_code="en")[2]["description"] == "Check eligibility"

        [welcome] = await api.ask(USER, "/start", timeout=TIMEOUT)
        assert "衡政发〔2024〕4号" in welcome["text"]

        [answer] = await api.ask(USER, "租海外仓有补贴吗", timeout=TIMEOUT)
        assert "【第10条 海外仓建设和租赁扶持】" in answer["text"]
        assert any(c.method == "sendChatAction" for c in api.calls)

        [clarify] = await api.ask(USER, "培训", timeout=TIMEOUT)
        assert clarify["text"].startswith("您是想问")
        picks = [d for d in api.message(USER, clarify["message_id"]).callback_data() if d.startswith("pick:")]  # type: ignore[union-attr]
        assert len(picks) >= 2
        edited = await reply_to(api, lambda: api.press_button(USER, clarify["message_id"], picks[0]))
        assert edited["message_id"] == clarify["message_id"]
        assert "原文" in edited["text"]

        [question] = await api.ask(USER, "/check", timeout=TIMEOUT)
        assert "第 1 题" in question["text"]
        question = await answer_current(api, question)  # the base conditions hold
        question = await answer_current(api, question, tick=("supervision_site", "exports"))
        assert "第 3 题" in question["text"]
        await api.idle(quiet=0.3, timeout=TIMEOUT)
    finally:
        first_run = await stop(bot)  # SIGKILL: no shutdown of any kind

    assert bot.returncode == -9, first_run
    bot = await start_bot(api, db)
    try:
        # The user carries on with the buttons of the question they were looking at.
        question = await answer_current(api, question)
        assert "第 4 题" in question["text"]
        for _ in range(60):
            if "资格自测结果" in question["text"]:
                break
            question = await answer_current(api, question)
        else:
            raise AssertionError("the interview did not end")
        assert "暂未发现可能符合的措施" in question["text"]
        assert "不是审批决定" in question["text"]
        assert not [c for c in api.calls if not c.ok and c.method != "getUpdates"], "a Bot API call failed"
        bot.terminate()  # SIGTERM: polling stops cleanly
        assert await asyncio.wait_for(bot.wait(), timeout=TIMEOUT) == 0
    finally:
        log = await stop(bot)
    assert "Traceback" not in log, log


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_checks_the_secret(api: BotAPIStub, tmp_path: Path) -> None:
    port = free_port()
    bot = await start_bot(
        api,
        tmp_path / "bot.sqlite3",
        "--webhook",
        WEBHOOK_URL=f"http://127.0.0.1:{port}",
        WEBHOOK_PORT=str(port),
        WEBHOOK_SECRET="s3cret-token",
    )
    try:
        await api.wait_for("setWebhook", timeout=TIMEOUT, ok=True)
        assert api.webhook_url == f"http://127.0.0.1:{port}/telegram/webhook"
        [welcome] = await api.ask(USER, "/start", timeout=TIMEOUT)
        assert "衡政发〔2024〕4号" in welcome["text"]
        async with ClientSession() as client:
            forged = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": 1, "type": "private"},
                    "text": "/start",
                },
            }
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with client.post(f"{api.webhook_url}", json=forged, headers=headers) as response:
                    assert response.status == 401
        assert not api.calls_since(0, "sendMessage", chat_id=1)
        bot.terminate()  # SIGTERM: a clean stop
        assert await asyncio.wait_for(bot.wait(), timeout=TIMEOUT) == 0
    finally:
        log = await stop(bot)
    assert "Traceback" not in log, log
