"""`policybot chat` driven through its standard input: a question answered, an interview completed."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "\n> "


class ChatProcess:
    """The terminal chat as a user sees it: write a line, read up to the next prompt."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.buffer = ""

    @classmethod
    async def start(cls, tmp_path: Path, *args: str) -> ChatProcess:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_PATH": str(tmp_path / "chat.sqlite3")}
        env.pop("BOT_TOKEN", None)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "chat", *args,
            cwd=tmp_path, env=env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        return cls(process)

    async def read_reply(self) -> str:
        assert self.process.stdout is not None
        while not self.buffer.endswith(PROMPT):
            chunk = await asyncio.wait_for(self.process.stdout.read(4096), timeout=60)
            if not chunk:
                raise AssertionError(f"the chat ended early: {self.buffer[-2000:]}")
            self.buffer += chunk.decode()
        reply, self.buffer = self.buffer[: -len(PROMPT)], ""
        return reply

    async def say(self, line: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        return await self.read_reply()

    async def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return await asyncio.wait_for(self.process.wait(), timeout=30)


async def test_chat_answers_a_question_and_completes_an_interview(tmp_path: Path) -> None:
    chat = await ChatProcess.start(tmp_path)
    try:
        welcome = await chat.read_reply()
        assert "衡政发〔2024〕4号" in welcome
        assert "[1] 💬 提问" in welcome

        answer = await chat.say("租海外仓有补贴吗")
        assert "【第10条 海外仓建设和租赁扶持】" in answer
        assert "<b>" not in answer
        assert "&lt;" not in answer
        assert "[1] 📄 政策全文" in answer

        reply = await chat.say("/check")
        for _ in range(60):
            if "资格自测结果" in reply:
                break
            question = re.search(r"第 (\d+) 题", reply)
            assert question or reply.startswith("\n✎\n"), reply  # a question, or a checklist redrawn
            if "[1] 是" in reply and question:  # yes/no: a number presses the button
                reply = await chat.say("1" if int(question.group(1)) <= 4 else "2")
            elif exports := re.search(r"\[(\d+)\] ☐ 跨境电商出口", reply):  # what it does: it exports
                reply = await chat.say(exports.group(1))
            elif "[1] ☐" in reply or "[1] ☑" in reply:  # a checklist as it stands: press Done
                done = re.search(r"\[(\d+)\] ✔ 确定", reply)
                assert done, reply
                reply = await chat.say(done.group(1))
            else:  # a figure: typed; the buttons are "#1"…
                assert "[#1] 不清楚/跳过" in reply
                reply = await chat.say("80万美元" if "出口总额是多少美元" in reply else "0")
        else:
            raise AssertionError("the interview did not end")
        assert "✅ 可能符合（1 项，合计最高 10万元）" in reply
        assert "第5条 跨境电商出口业绩奖励（衡品出海）：最高 10万元" in reply
        assert "不是审批决定" in reply
        assert "[1] ✅ 第5条" in reply

        card = await chat.say("1")
        assert "【第5条" in card
        assert chat.process.stdin is not None
        chat.process.stdin.write(b"/quit\n")
        assert await asyncio.wait_for(chat.process.wait(), timeout=30) == 0
    finally:
        if chat.process.returncode is None:
            chat.process.kill()
            await chat.process.wait()


async def test_chat_in_english_ends_on_end_of_input(tmp_path: Path) -> None:
    chat = await ChatProcess.start(tmp_path, "--lang", "en", "--date", "2026-06-01")
    welcome = await chat.read_reply()
    assert "Policy assistant" in welcome
    assert "lapsed after 2026-05-06" in welcome
    answer = await chat.say("Is there support for overseas warehouses?")
    assert "Measure 10" in answer
    assert await chat.close() == 0
