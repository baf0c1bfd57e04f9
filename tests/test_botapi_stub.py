"""The Bot API stub against the real aiogram client: what the bot's tests will rely on."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import Command
from aiogram.methods import SendMessage
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import ClientSession, web

from tests.botapi_stub import BotAPIStub, parse_html

TOKEN = "123456:TEST-token"


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data)] for text, data in pairs]
    )


@pytest.fixture
async def api() -> AsyncIterator[BotAPIStub]:
    async with BotAPIStub() as stub:
        yield stub


@pytest.fixture
async def bot(api: BotAPIStub) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    yield bot
    await bot.session.close()


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def test_get_me(api: BotAPIStub, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username == api.bot_username
    assert [c.method for c in api.calls] == ["getMe"]
    # Without files aiogram posts a urlencoded form, not multipart.
    assert api.calls[0].content_type == "application/x-www-form-urlencoded"


async def test_send_message_with_keyboard_then_edit(api: BotAPIStub, bot: Bot) -> None:
    sent = await bot.send_message(
        42,
        "<b>请选择</b>措施 &lt;1&gt;",
        parse_mode="HTML",
        reply_markup=keyboard(("一", "m:1"), ("二", "m:2")),
    )
    assert sent.message_id == 1
    assert sent.chat.id == 42
    assert sent.from_user is not None
    assert sent.from_user.id == 123456
    assert sent.text == "请选择措施 <1>"
    assert sent.entities is not None
    assert sent.entities[0].type == "bold"
    assert sent.entities[0].length == 3
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[1][0].callback_data == "m:2"

    call = await api.wait_for("sendMessage", chat_id=42)
    method, params = call
    assert method == "sendMessage"
    assert params["chat_id"] == 42  # JSON-decoded from the form's "42"
    assert params["reply_markup"]["inline_keyboard"][0][0] == {"text": "一", "callback_data": "m:1"}

    edited = await bot.edit_message_text(
        "已选择：一", chat_id=42, message_id=sent.message_id, reply_markup=keyboard(("返回", "back"))
    )
    assert isinstance(edited, Message)
    assert edited.text == "已选择：一"
    assert edited.edit_date is not None
    [current] = api.messages(42)
    assert current["text"] == "已选择：一"
    assert current["reply_markup"] == {"inline_keyboard": [[{"text": "返回", "callback_data": "back"}]]}
    stored = api.message(42, sent.message_id)
    assert stored is not None
    assert [v["text"] for v in stored.versions] == ["请选择措施 <1>", "已选择：一"]

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "已选择：一", chat_id=42, message_id=sent.message_id, reply_markup=keyboard(("返回", "back"))
        )
    # As on Telegram, a text edit without reply_markup drops the inline keyboard.
    await bot.edit_message_text("完成", chat_id=42, message_id=sent.message_id)
    assert "reply_markup" not in api.messages(42)[0]
    await bot.edit_message_reply_markup(
        chat_id=42, message_id=sent.message_id, reply_markup=keyboard(("再来", "again"))
    )
    assert api.messages(42)[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "again"

    edit_call = await api.wait_for("editMessageText", chat_id=42)
    assert edit_call.ok
    assert edit_call.params["text"] == "已选择：一"
    failed = await api.wait_for("editMessageText", chat_id=42)
    assert not failed.ok
    assert failed.error_code == 400

    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=42, message_id=999)
    assert await bot.delete_message(42, sent.message_id)
    assert api.messages(42) == []


async def test_validation_like_telegram(api: BotAPIStub, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(1, "第一条<br>第二条", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(1, "<b>未闭合", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(1, "政" * 4097)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(1, "x", reply_markup=keyboard(("长", "数" * 22)))
    assert (await bot.send_message(1, "政" * 4096)).message_id == 1
    assert parse_html('<a href="https://x.cn/?a=1&amp;b=2">链接</a>😀<i>斜</i>') == (
        "链接😀斜",
        [
            {"type": "text_link", "offset": 0, "length": 2, "url": "https://x.cn/?a=1&b=2"},
            {"type": "italic", "offset": 4, "length": 1},  # the emoji counts two UTF-16 units
        ],
    )

    assert await bot.set_my_commands([BotCommand(command="start", description="开始")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    assert await bot.send_chat_action(1, "typing")


async def test_cursors_consume_each_call_once(api: BotAPIStub, bot: Bot) -> None:
    late = api.cursor()
    await bot.send_message(7, "一")
    await bot.send_message(8, "二")
    await bot.send_message(7, "三")
    assert (await api.wait_for("sendMessage", chat_id=7)).params["text"] == "一"
    assert (await api.wait_for("sendMessage", chat_id=7)).params["text"] == "三"
    assert (await api.wait_for("sendMessage")).params["text"] == "二"
    # Another cursor sees the same calls independently; a predicate filters on params.
    assert (await late.wait_for("sendMessage", predicate=lambda p: p["text"] == "三")).params["chat_id"] == 7
    with pytest.raises(TimeoutError, match="no sendMessage"):
        await api.wait_for("sendMessage", timeout=0.05)
    assert [m["text"] for m in api.replies_since(0, 7)] == ["一", "三"]


async def test_polling_dispatcher_echo_and_button(api: BotAPIStub, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message(Command("menu"))
    async def menu(message: Message) -> None:
        await message.answer("请选择", reply_markup=keyboard(("确认", "ok")))

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"回声：{message.text}")

    @dp.callback_query(F.data == "ok")
    async def confirm(query: CallbackQuery) -> None:
        await query.answer("好的")
        assert isinstance(query.message, Message)
        await query.message.edit_text("已确认")

    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=5))
    try:
        sent = api.send_text(42, "你好", first_name="小王")
        assert sent["chat"] == {"id": 42, "type": "private", "first_name": "小王"}
        reply = await api.wait_for("sendMessage", chat_id=42)
        assert reply.params["text"] == "回声：你好"
        assert reply.result["message_id"] == sent["message_id"] + 1  # ids shared per chat

        [menu_message] = await api.ask(42, "/menu")
        query_id = api.press_button(42, menu_message["message_id"], "ok")
        answer = await api.wait_for("answerCallbackQuery")
        assert answer.params == {"callback_query_id": query_id, "text": "好的"}
        assert api.callback_answer(query_id) == answer.params
        await api.wait_for("editMessageText", chat_id=42)
        assert [m.get("text") for m in api.messages(42)] == ["回声：你好", "已确认"]
        with pytest.raises(ValueError, match="no button"):
            api.press_button(42, menu_message["message_id"], "nope")

        polls = [c for c in api.calls if c.method == "getUpdates"]
        assert polls[0].params["timeout"] == 5
        assert sorted(polls[0].params["allowed_updates"]) == ["callback_query", "message"]
        await api.idle(quiet=0.05)
    finally:
        await dp.stop_polling()
        await polling
    assert all(c.ok for c in api.calls)


async def test_get_updates_long_polling(api: BotAPIStub, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    api.send_text(5, "在吗")
    updates = await poll
    assert time.monotonic() - started < 2
    assert [u.message.text for u in updates if u.message] == ["在吗"]

    # offset confirms, limit caps the batch.
    for text in ("一", "二", "三"):
        api.send_text(5, text)
    first = await bot.get_updates(offset=updates[-1].update_id + 1, limit=2)
    assert [u.message.text for u in first if u.message] == ["一", "二"]
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["三"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == []
    assert api.pending_updates == []

    # Nothing queued: the poll is held for its timeout (fractions allowed here), then answers [].
    started = time.monotonic()
    async with ClientSession() as http, http.get(f"{api.base_url}/bot{TOKEN}/getUpdates?timeout=0.3") as resp:
        assert await resp.json() == {"ok": True, "result": []}
    assert time.monotonic() - started >= 0.28

    # allowed_updates filters updates created after it, like Telegram.
    await bot.get_updates(allowed_updates=["message"])
    api.send_update(
        {
            "callback_query": {
                "id": "1",
                "from": {"id": 5, "is_bot": False, "first_name": "x"},
                "chat_instance": "1",
                "data": "d",
            }
        }
    )
    assert len(api.dropped_updates) == 1
    assert await bot.get_updates() == []

    # Two pollers at once: the older one gets 409, as with two bot instances.
    older = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    newer = asyncio.create_task(bot.get_updates(timeout=5))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await older
    api.send_text(5, "新")
    assert [u.update_id for u in await newer] == [api.updates[-1]["update_id"]]


async def test_fault_injection(api: BotAPIStub, bot: Bot) -> None:
    api.fail_next("sendMessage", error_code=429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as excinfo:
        await bot.send_message(42, "一")
    assert excinfo.value.retry_after == 3
    assert "Too Many Requests: retry after 3" in excinfo.value.message
    assert (await bot.send_message(42, "一")).message_id == 1
    failed = await api.wait_for("sendMessage", chat_id=42, ok=False)
    assert failed.error_code == 429

    api.block_user(43)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(43, "在吗")
    await bot.send_message(42, "别的用户不受影响")
    api.unblock_user(43)
    await bot.send_message(43, "好了")

    api.fail_next("*", error_code=500, count=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Internal Server Error"):
            await bot.get_me()
    api.drop_next("sendMessage")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(42, "断线")

    api.per_chat_per_second = 2
    await bot.send_message(44, "1")
    await bot.send_message(44, "2")
    with pytest.raises(TelegramRetryAfter) as limited:
        await bot.send_message(44, "3")
    assert limited.value.retry_after == 1
    await bot.send_message(45, "其他聊天不受限")

    async with ClientSession() as http, http.post(f"{api.base_url}/bot{TOKEN}/noSuchMethod") as resp:
        assert resp.status == 404
        assert await resp.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }
    # JSON bodies work too, and method names are case-insensitive as on Telegram.
    async with (
        ClientSession() as http,
        http.post(f"{api.base_url}/bot{TOKEN}/sendmessage", json={"chat_id": 46, "text": "json"}) as resp,
    ):
        assert (await resp.json())["result"]["text"] == "json"


async def test_send_document_and_download(api: BotAPIStub, bot: Bot) -> None:
    payload = "衡政发〔2024〕4号 摘要\n".encode() * 100
    sent = await bot.send_document(
        42, BufferedInputFile(payload, "政策摘要.txt"), caption="<b>摘要</b>", parse_mode="HTML"
    )
    assert sent.document is not None
    assert sent.document.file_name == "政策摘要.txt"
    assert sent.document.file_size == len(payload)
    assert sent.caption == "摘要"

    call = await api.wait_for("sendDocument", chat_id=42)
    assert call.content_type == "multipart/form-data"
    assert call.params["document"].startswith("attach://")  # aiogram names the part at random
    assert call.files["document"].content == payload
    assert api.uploads[-1].filename == "政策摘要.txt"

    file = await bot.get_file(sent.document.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None
    assert downloaded.read() == payload

    # A user's upload: the bot receives it in a message and downloads it.
    message = api.send_document(42, b"%PDF-1.4 fake", "申请表.pdf", caption="材料")
    assert message["document"]["mime_type"] == "application/pdf"
    data = await bot.download(message["document"]["file_id"])
    assert data is not None
    assert data.read() == b"%PDF-1.4 fake"
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nope")


async def test_webhook_delivers_to_aiohttp_server(api: BotAPIStub, bot: Bot) -> None:
    received: asyncio.Queue[tuple[str | None, Any]] = asyncio.Queue()
    fail_first = [True]

    async def hook(request: web.Request) -> web.Response:
        if fail_first:
            fail_first.clear()
            return web.Response(status=500)
        await received.put((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner, base = await serve(app)
    try:
        api.webhook_retry_delay = 0.05
        assert await bot.set_webhook(f"{base}/hook", secret_token="s3cret-Token_1")
        assert (await bot.get_webhook_info()).url == f"{base}/hook"
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()

        api.send_text(42, "webhook 你好")
        secret, update = await asyncio.wait_for(received.get(), 5)
        assert secret == "s3cret-Token_1"
        assert update["message"]["text"] == "webhook 你好"
        assert update["update_id"] == api.updates[-1]["update_id"]
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0
        assert info.last_error_message is not None
        assert "500" in info.last_error_message

        assert await bot.delete_webhook()
        api.send_text(42, "回到轮询")
        assert [u.message.text for u in await bot.get_updates() if u.message] == ["回到轮询"]
    finally:
        await runner.cleanup()


async def test_webhook_reply_in_response_with_aiogram(api: BotAPIStub, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message()
    async def answer_in_response(message: Message) -> SendMessage:
        return message.answer(f"收到：{message.text}")  # returned, not awaited: goes in the HTTP reply

    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token="tok", handle_in_background=False).register(
        app, path="/tg"
    )
    runner, base = await serve(app)
    try:
        await bot.set_webhook(f"{base}/tg", secret_token="tok")
        api.send_text(42, "测试")
        call = await api.wait_for("sendMessage", chat_id=42)
        assert call.via_webhook_reply
        assert call.ok
        assert call.params["text"] == "收到：测试"
        assert api.messages(42)[-1]["text"] == "收到：测试"

        # A wrong secret is refused by aiogram; the stub keeps retrying and reports the error.
        await bot.set_webhook(f"{base}/tg", secret_token="wrong")
        api.webhook_retry_delay = 0.05
        api.send_text(42, "不会到")
        for _ in range(100):
            info = await bot.get_webhook_info()
            if info.last_error_message:
                break
            await asyncio.sleep(0.02)
        assert info.last_error_message is not None
        assert "401" in info.last_error_message
        assert info.pending_update_count == 1
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


async def test_standalone_control_api(api: BotAPIStub, bot: Bot) -> None:
    async with ClientSession() as http:
        async with http.post(f"{api.base_url}/_stub/send_text", json={"user_id": 9, "text": "控制"}) as resp:
            assert (await resp.json())["result"]["text"] == "控制"
        [update] = await bot.get_updates()
        assert update.message is not None
        assert update.message.text == "控制"
        await bot.send_message(9, "回复")
        async with http.get(f"{api.base_url}/_stub/messages", params={"chat_id": "9"}) as resp:
            assert [m["text"] for m in (await resp.json())["result"]] == ["回复"]
        async with http.get(f"{api.base_url}/_stub/calls", params={"since": "1"}) as resp:
            body = json.loads(await resp.text())
            assert [c["method"] for c in body["result"]] == ["sendMessage"]
