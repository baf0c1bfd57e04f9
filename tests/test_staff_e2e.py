"""End to end for staff: the real `policybot run` against the Bot API stand-in over HTTP — the staff
menu set for the staff chat only, /export sent as a file, the edited file uploaded back, previewed,
applied and answered with at once; a forged press of the staff's button refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.staff.callbacks import ConfirmCB
from knowledge import overlay
from tests.botapi_stub import BotAPIStub
from tests.test_e2e import TIMEOUT, USER, start_bot, stop

STAFF = 777


@pytest.fixture
async def api() -> AsyncIterator[BotAPIStub]:
    async with BotAPIStub() as stub:
        yield stub


def confirm_button(api: BotAPIStub, message: dict[str, Any]) -> str:
    stored = api.message(STAFF, message["message_id"])
    assert stored is not None
    return next(d for d in stored.callback_data() if d.startswith("sok:") and ConfirmCB.unpack(d).ok)


async def test_staff_export_edit_and_import_over_http(api: BotAPIStub, tmp_path: Path) -> None:
    api.set_user(STAFF, first_name="工作人员", language_code="zh-hans")
    api.set_user(USER, first_name="王经理", language_code="zh-hans")
    bot = await start_bot(api, tmp_path / "bot.sqlite3", ADMIN_IDS=str(STAFF))
    try:
        await api.wait_for("deleteWebhook", timeout=TIMEOUT)  # the menus are set before polling starts
        staff_menu = [c["command"] for c in api.commands({"type": "chat", "chat_id": STAFF})]
        assert {"inbox", "edit", "history", "rollback", "export", "stats"} <= set(staff_menu)
        assert "inbox" not in [c["command"] for c in api.commands()]

        [declined] = await api.ask(USER, "给洋人卖东西有奖励吗", timeout=TIMEOUT)
        assert "没有涉及" in declined["text"]

        [exported] = await api.ask(STAFF, "/export", timeout=TIMEOUT)
        stored = api.file(exported["document"]["file_id"])
        assert stored is not None
        assert exported["document"]["file_name"] == "hengzhengfa-2024-4.yaml"
        raw = overlay.load_raw(stored.content.decode("utf-8"))
        edited = overlay.set_field(raw, "m5", "synonyms", ["给洋人卖东西"])

        cursor = api.cursor()
        api.send_document(STAFF, overlay.dump(edited).encode("utf-8"), "edited.yaml")
        preview = (await cursor.wait_for("sendMessage", chat_id=STAFF, timeout=TIMEOUT, ok=True)).result
        assert "导入 edited.yaml" in preview["text"]
        assert "+ 给洋人卖东西" in preview["text"]
        button = confirm_button(api, preview)

        # Someone else presses the staff's button (a forwarded message, a forged payload): refused.
        query = api.press_button(USER, preview["message_id"], button, chat_id=STAFF)
        await api.wait_for("answerCallbackQuery", timeout=TIMEOUT, ok=True)
        answer = api.callback_answer(query)
        assert answer is not None
        assert answer["text"] == "⛔ 仅限工作人员使用。"

        cursor = api.cursor()
        api.press_button(STAFF, preview["message_id"], button)
        saved = (await cursor.wait_for("editMessageText", chat_id=STAFF, timeout=TIMEOUT, ok=True)).result
        assert "已保存" in saved["text"]

        [answer_message] = await api.ask(USER, "给洋人卖东西有奖励吗", timeout=TIMEOUT)
        assert "【第5条" in answer_message["text"]
        assert not [c for c in api.calls if not c.ok and c.method != "getUpdates"], "a Bot API call failed"
        bot.terminate()
    finally:
        log = await stop(bot)
    assert "Traceback" not in log, log
