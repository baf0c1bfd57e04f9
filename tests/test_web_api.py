"""The web door over HTTP: the real aiohttp app (aiohttp's test server and client), the real
dispatcher and handlers, on a SQLite file. Everything a page does: questions, clarify, /measures
edited in place, a whole /check, history after a reload and after a restart; and everything a
hostile page or script might try."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, FSInputFile, URLInputFile
from aiohttp import ClientResponse, ClientSession, CookieJar
from aiohttp.test_utils import TestClient, TestServer

from bot.callbacks import CardCB, SectionCB, StepAction, StepCB
from bot.config import Settings
from bot.store.db import WEB_USER_BASE, open_database
from bot.store.web import WebStore
from bot.web.app import DOOR, create_app
from bot.web.safety import COOKIE
from eligibility.answer import Assistant
from eligibility.facts import Kind, load_fact_specs
from tests.conftest import ADMIN

HEADERS = {"X-Requested-With": "policybot"}
XSS = "<img src=x onerror=alert(1)>"

SPECS = load_fact_specs()
EXPORTS = "120万美元"  # what this enterprise exported: over 100万美元, the top tier of 第5条


def web_settings(path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_path": path,
        "rate_limit_burst": 0,  # the scripted user answers at machine speed
        "web_rate_session_burst": 1000,
        "web_rate_address_burst": 1000,
        "web_new_sessions_burst": 1000,
        # misconfigured on purpose: web users' ids among the staff's must change nothing
        "admin_ids": frozenset({ADMIN, WEB_USER_BASE, WEB_USER_BASE + 1}),
        **overrides,
    }
    return Settings(_env_file=None, **values)


class Page:
    """One browser: its own cookie jar; does what the page's script does (JSON with the header,
    the transcript kept by message id)."""

    def __init__(self, client: TestClient[Any, Any], lang: str = "zh-CN,zh;q=0.9") -> None:
        self.base = str(client.make_url(""))
        self.http = ClientSession(cookie_jar=CookieJar(unsafe=True))  # unsafe: cookies of an IP address
        self.lang = lang
        self.messages: dict[int, dict[str, Any]] = {}
        self.rev = 0
        self.last: dict[str, Any] = {}

    def url(self, path: str) -> str:
        return self.base.rstrip("/") + path

    def cookie(self) -> str | None:
        found = [c.value for c in self.http.cookie_jar if c.key == COOKIE]
        return found[0] if found else None

    async def post(self, path: str, body: Any, **headers: str) -> ClientResponse:
        return await self.http.post(
            self.url(path), json=body, headers={**HEADERS, "Accept-Language": self.lang, **headers}
        )

    async def get(self, path: str) -> ClientResponse:
        return await self.http.get(self.url(path), headers={"Accept-Language": self.lang})

    def apply(self, reply: dict[str, Any]) -> dict[str, Any]:
        if reply["reset"]:
            self.messages.clear()
        for message in reply["messages"]:
            if message["deleted"]:
                self.messages.pop(message["id"], None)
            else:
                self.messages[message["id"]] = message
        self.rev = reply["rev"]
        self.last = reply
        return reply

    async def say(self, text: str) -> dict[str, Any]:
        response = await self.post("/api/send", {"text": text, "since": self.rev})
        assert response.status == 200, await response.text()
        return self.apply(await response.json())

    async def press(self, data: str, message: dict[str, Any] | None = None) -> dict[str, Any]:
        target = message or self.keyboard()
        response = await self.post(
            "/api/press", {"message_id": target["id"], "data": data, "since": self.rev}
        )
        assert response.status == 200, await response.text()
        return self.apply(await response.json())

    async def reload(self) -> dict[str, Any]:
        self.messages.clear()
        response = await self.get("/api/history")
        assert response.status == 200
        return self.apply(await response.json())

    def bot(self) -> list[dict[str, Any]]:
        return [m for _, m in sorted(self.messages.items()) if m["from"] == "bot"]

    def keyboard(self) -> dict[str, Any]:
        """The latest bot message with buttons."""
        return [m for m in self.bot() if m["buttons"]][-1]

    def buttons(self, message: dict[str, Any] | None = None) -> dict[str, str]:
        target = message or self.keyboard()
        return {b["text"]: b["data"] for row in target["buttons"] for b in row if "data" in b}

    def step(self) -> list[StepCB]:
        return [StepCB.unpack(d) for d in self.buttons().values() if d.startswith("iv:")]


@asynccontextmanager
async def serving(settings: Settings, assistant: Assistant) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(settings, assistant=assistant))) as client:
        yield client


@pytest.fixture
async def client(tmp_path: Path, assistant: Assistant) -> AsyncIterator[TestClient[Any, Any]]:
    async with serving(web_settings(tmp_path / "web.sqlite3"), assistant) as running:
        yield running


@pytest.fixture
async def browsers(client: TestClient[Any, Any]) -> AsyncIterator[Callable[..., Page]]:
    """Pages, each a browser of its own, closed after the test."""
    opened: list[Page] = []

    def open_page(lang: str = "zh-CN,zh;q=0.9", on: TestClient[Any, Any] | None = None) -> Page:
        opened.append(Page(on or client, lang))
        return opened[-1]

    yield open_page
    for page in opened:
        await page.http.close()


@pytest.fixture
async def page(browsers: Callable[..., Page]) -> Page:
    return browsers()


async def advance(page: Page) -> bool:
    """Answer the interview's current step as an exporter that says yes to everything: every line
    of a checklist ticked, yes to yes/no, its exports typed, 0 for other figures (warehouses, a
    list, skipped). False when there is no step (the result is shown)."""
    step = page.step()
    if not step:
        return False
    actions = {b.action: b for b in step}
    if StepAction.GO_ON in actions:
        await page.press(actions[StepAction.GO_ON].pack())
    elif StepAction.TOGGLE in actions:
        for label, data in list(page.buttons().items()):
            if data.startswith("iv:") and StepCB.unpack(data).action == StepAction.TOGGLE and label[0] == "☐":
                await page.press(data)
        await page.press(actions[StepAction.DONE].pack())
    elif StepAction.YES in actions:
        await page.press(actions[StepAction.YES].pack())
    else:
        fact = step[0].fact
        kind = SPECS[fact].kind
        if kind == Kind.WAREHOUSES:
            await page.press(actions[StepAction.SKIP].pack())
        else:
            await page.say(EXPORTS if kind == Kind.USD else "0")
    return True


async def run_interview(page: Page) -> dict[str, Any]:
    """Press and type through /check as a user would; the result message."""
    await page.say("/check")
    for _ in range(80):
        if not await advance(page):
            return page.bot()[-1]
    raise AssertionError("the interview did not end")


async def test_page_and_its_headers(client: TestClient[Any, Any]) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    html = await response.text()
    assert '<script src="/static/app.js" defer></script>' in html
    assert "<script>" not in html  # no inline script: the CSP allows none
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        asset = await client.get(f"/static/{name}")
        assert asset.status == 200
        assert asset.content_type == kind
    assert (await client.get("/static/../app.py")).status == 404
    missing = await client.get("/nowhere")
    assert missing.status == 404
    assert (await missing.json())["error"] == "not_found"


async def test_first_visit_has_no_session_until_it_speaks(page: Page) -> None:
    reply = await page.reload()
    assert reply["messages"] == []
    assert reply["session"] is False
    assert "/measures" in [c["command"] for c in reply["commands"]]
    welcome = await page.say("/start")
    assert [m["from"] for m in welcome["messages"]] == ["user", "bot"]
    assert "<b>政策助手</b>" in welcome["messages"][1]["html"]
    assert set(page.buttons().values()) == {"menu:ask", "menu:browse", "menu:check"}
    assert len(page.cookie() or "") == 43  # 32 random bytes


async def test_session_cookie_is_httponly_and_strict(client: TestClient[Any, Any]) -> None:
    response = await client.post("/api/send", json={"text": "/start"}, headers=HEADERS)
    header = response.headers["Set-Cookie"]
    assert header.startswith(f"{COOKIE}=")
    assert "HttpOnly" in header
    assert "SameSite=Strict" in header
    assert "Path=/" in header
    assert "Secure" not in header  # WEB_SECURE_COOKIES is off by default (plain http on loopback)


async def test_secure_cookies_setting(tmp_path: Path, assistant: Assistant) -> None:
    settings = web_settings(tmp_path / "web.sqlite3", web_secure_cookies=True)
    async with serving(settings, assistant) as client:
        response = await client.post("/api/send", json={"text": "/start"}, headers=HEADERS)
        assert "Secure" in response.headers["Set-Cookie"]


async def test_question_gets_its_answer_card_with_buttons(page: Page) -> None:
    reply = await page.say("我们去年跨境出口80万美元能拿多少")
    user, answer = reply["messages"]
    assert user == {**user, "from": "user", "text": "我们去年跨境出口80万美元能拿多少"}
    assert "第5条" in answer["html"]
    assert "<b>" in answer["html"]  # the card's markup, through the allow-list
    data = list(page.buttons(answer).values())
    assert "src:m5" in data
    assert "menu:check" in data
    assert answer["document"] is None


async def test_clarify_button_edits_the_question_into_the_answer(page: Page) -> None:
    reply = await page.say("培训")
    asked = reply["messages"][-1]
    assert asked["html"].startswith("您是想问")
    picks = page.buttons(asked)
    assert all(d.startswith("pick:") for d in picks.values())
    assert len(picks) >= 2
    count = len(page.messages)
    picked = await page.press("pick:m13", asked)
    [edited] = picked["messages"]
    assert edited["id"] == asked["id"]
    assert edited["edited"] is True
    assert "第13条" in edited["html"]
    assert len(page.messages) == count  # changed in place, nothing appended
    assert "📄 政策全文" in page.buttons(edited)


async def test_measures_browsing_edits_the_same_message(page: Page) -> None:
    listing = (await page.say("/measures"))["messages"][-1]
    sections = [d for d in page.buttons(listing).values() if d.startswith("sec:")]
    assert SectionCB(id="s2_3").pack() in sections
    section = await page.press(SectionCB(id="s2_3").pack(), listing)
    [edited] = section["messages"]
    assert edited["id"] == listing["id"]
    cards = [d for d in page.buttons(edited).values() if d.startswith("card:")]
    assert cards
    card = await page.press(cards[0], edited)
    [shown] = card["messages"]
    assert shown["id"] == listing["id"]
    assert "【" in shown["html"]
    assert page.buttons(shown)["⬅️ 返回"] == SectionCB(id="s2_3").pack()
    assert len(page.bot()) == 1


async def test_whole_interview_to_its_result(page: Page) -> None:
    result = await run_interview(page)
    assert "资格自测结果" in result["html"]
    buttons = page.buttons(result)
    assert len([d for d in buttons.values() if d.startswith("card:")]) == 16
    assert buttons["✅ 第5条"] == CardCB(id="m5").pack()  # the typed exports count
    typed = [m["text"] for m in page.messages.values() if m["from"] == "user"]
    assert EXPORTS in typed
    # the questions answered were edited in place, and kept no buttons
    answered = [m for m in page.bot() if m["edited"]]
    assert answered
    assert all(not m["buttons"] for m in answered)
    card = await page.press(buttons["✅ 第5条"], result)
    assert "【第5条" in card["messages"][-1]["html"]


async def test_checklist_ticks_edit_the_same_message(page: Page) -> None:
    await page.say("/check")
    for _ in range(60):  # on until the interview asks a checklist
        step = page.step()
        if not step:  # the questions are data (eligibility/data/facts.yaml)
            pytest.skip("this interview asks no checklist")
        if any(b.action == StepAction.TOGGLE for b in step):
            break
        await advance(page)
    checklist = page.keyboard()
    before = page.buttons(checklist)
    label, tick = next((k, d) for k, d in before.items() if StepCB.unpack(d).action == StepAction.TOGGLE)
    count = len(page.messages)
    reply = await page.press(tick, checklist)
    [redrawn] = reply["messages"]
    assert redrawn["id"] == checklist["id"]
    assert redrawn["edited"] is True
    after = {d: k for k, d in page.buttons(redrawn).items()}
    flipped = {"☑": "☐", "☐": "☑"}[label[0]] + label[1:]
    assert after[tick] == flipped  # that line, and only that line, changed
    assert sorted(k for k in after.values() if k != flipped) == sorted(k for k in before if k != label)
    back = await page.press(tick, redrawn)
    assert {d: k for k, d in page.buttons(back["messages"][0]).items()}[tick] == label
    assert len(page.messages) == count  # ticks redraw the message, nothing is appended
    asked = page.step()
    await page.press(next(b for b in asked if b.action == StepAction.DONE).pack())
    assert page.step() != asked  # done: the interview went on


async def test_history_survives_a_reload_and_a_restart(tmp_path: Path, assistant: Assistant) -> None:
    settings = web_settings(tmp_path / "web.sqlite3")
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(serving(settings, assistant))
        page = Page(client)
        stack.push_async_callback(page.http.close)  # the browser outlives the server
        await page.say("我们去年跨境出口80万美元能拿多少")
        await page.say("/check")
        await advance(page)
        step = page.step()
        before = dict(page.messages)
        reloaded = await page.reload()  # a new GET with the same cookie
        assert reloaded["reset"] is True
        assert page.messages == before
        since = await page.get(f"/api/history?since={page.rev}")
        assert (await since.json())["messages"] == []  # nothing new since
        await client.close()  # the server stops…

        async with serving(settings, assistant) as client:  # …and starts again on the same file
            page.base = str(client.make_url(""))  # same browser, same cookie (cookies ignore ports)
            await page.reload()
            assert page.messages == before
            # the interview carries on where it was: the question's buttons still work
            assert page.step() == step
            rev = page.rev
            assert await advance(page)
            assert page.rev > rev
            assert page.step() != step
            new = [m for m in page.messages if m not in before]
            assert all(m > max(before) for m in new)  # message ids go on after a restart, never reused


async def test_xss_comes_back_as_text(page: Page) -> None:
    reply = await page.say(XSS)
    user = reply["messages"][0]
    assert user["text"] == XSS  # kept as typed; the page sets it with textContent
    assert "html" not in user
    for message in page.bot():
        assert "<img" not in message["html"]
    history = await page.reload()
    assert history["messages"][-2]["text"] == XSS


def test_sanitizer_keeps_only_the_telegram_subset() -> None:
    from bot.web.safety import sanitize_html

    assert sanitize_html("<b>x</b> &lt;img&gt;") == "<b>x</b> &lt;img&gt;"
    assert sanitize_html(XSS + "hi") == "hi"
    assert sanitize_html('<a href="javascript:alert(1)">x</a>') == "x"
    assert sanitize_html('<a href="https://example.org/a?b=1&amp;c=2">x</a>') == (
        '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer" target="_blank">x</a>'
    )
    assert sanitize_html("<script>alert(1)</script>z<style>*{}</style>") == "z"
    assert sanitize_html("<b><i>x</b>y") == "<b><i>x</i></b>y"
    assert (
        sanitize_html('<pre><code class="language-py">1 &lt; 2</code></pre>')
        == "<pre><code>1 &lt; 2</code></pre>"
    )
    assert sanitize_html('<b onclick="alert(1)">x</b>') == "<b>x</b>"


async def test_cross_site_form_post_is_refused(page: Page, db_rows: Any) -> None:
    response = await page.http.post(
        page.url("/api/send"), data={"text": "表单攻击"}
    )  # a form: no header, no JSON
    assert response.status == 403
    body = await response.json()
    assert body["error"] == "forbidden"
    assert body["message"]
    assert "Set-Cookie" not in response.headers
    with_header = await page.http.post(
        page.url("/api/send"), data={"text": "表单攻击"}, headers=HEADERS
    )  # the header alone does not make a form JSON
    assert with_header.status == 403
    assert await db_rows("SELECT COUNT(*) FROM question_log") == 0
    assert await db_rows("SELECT COUNT(*) FROM web_sessions") == 0


async def test_missing_header_and_foreign_origin_are_refused(page: Page) -> None:
    plain = await page.http.post(page.url("/api/send"), json={"text": "你好"})
    assert plain.status == 403
    foreign = await page.post("/api/send", {"text": "你好"}, Origin="https://evil.example")
    assert foreign.status == 403
    cross = await page.post("/api/send", {"text": "你好"}, **{"Sec-Fetch-Site": "cross-site"})
    assert cross.status == 403
    press = await page.http.post(page.url("/api/press"), json={"message_id": 1, "data": "menu:ask"})
    assert press.status == 403


async def test_oversized_body_and_overlong_text(page: Page) -> None:
    big = await page.http.post(
        page.url("/api/send"),
        data=json.dumps({"text": "a" * 17_000}).encode(),  # 17 KB of JSON
        headers={**HEADERS, "Content-Type": "application/json"},
    )
    assert big.status == 413
    assert (await big.json())["error"] == "too_large"
    long = await page.post("/api/send", {"text": "a" * 2001})
    assert long.status == 422
    error = await long.json()
    assert error["error"] == "text_too_long"
    assert "2000" in error["message"]
    assert "2001" in error["message"]
    english = await page.post("/api/send", {"text": "a" * 2001}, **{"Accept-Language": "en-US,en;q=0.9"})
    assert "2000 characters at most" in (await english.json())["message"]
    empty = await page.post("/api/send", {"text": "   "})
    assert empty.status == 422
    assert (await page.post("/api/send", {"text": "a" * 2000})).status == 200


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"text": 5}',
        b'{"text": "hi", "admin": true}',
        b'{"text": "hi", "since": -1}',
        b"",
    ],
    ids=["malformed", "array", "wrong-type", "unknown-field", "negative-since", "empty"],
)
async def test_malformed_requests_get_a_clear_error(page: Page, body: bytes) -> None:
    response = await page.http.post(
        page.url("/api/send"), data=body, headers={**HEADERS, "Content-Type": "application/json"}
    )
    assert response.status == 400
    error = await response.json()
    assert error["error"] == "bad_json"
    assert error["message"]


async def test_forged_and_foreign_buttons_are_refused(browsers: Callable[..., Page]) -> None:
    victim = browsers()
    for _ in range(3):
        await victim.say("/help")
    await victim.say("/check")
    question = victim.keyboard()
    step = victim.step()
    valid = victim.step()[0].pack()  # a button really on the victim's question
    victim_state = dict(victim.messages)
    forged = await victim.post("/api/press", {"message_id": question["id"], "data": "iv:y:operates_park!"})
    assert forged.status == 400
    assert (await forged.json())["error"] == "unknown_button"
    not_there = await victim.post("/api/press", {"message_id": 999_999, "data": "menu:ask"})
    assert not_there.status == 404
    own_text = min(victim.messages)  # the user's own message has no buttons
    assert (await victim.post("/api/press", {"message_id": own_text, "data": "menu:ask"})).status == 404

    attacker = browsers()  # another browser, another session
    no_session = await attacker.post("/api/press", {"message_id": question["id"], "data": "menu:ask"})
    assert no_session.status == 404
    await attacker.say("/start")
    foreign = await attacker.post("/api/press", {"message_id": question["id"], "data": valid})
    assert foreign.status == 404  # the victim's message id is none of the attacker's chat
    assert (await foreign.json())["error"] == "unknown_message"
    # ids are per chat: the same number in the attacker's own chat is their own message
    colliding = await attacker.post("/api/press", {"message_id": 2, "data": valid})
    assert colliding.status == 400
    assert (await colliding.json())["error"] == "unknown_button"
    await attacker.reload()
    assert not any(m.get("buttons") and "iv:" in str(m["buttons"]) for m in attacker.messages.values())
    await victim.reload()
    assert victim.messages == victim_state  # untouched
    assert victim.step() == step


async def test_forget_deletes_the_sessions_data(page: Page, db_rows: Any) -> None:
    await page.say("我们去年跨境出口80万美元能拿多少")
    await page.say("/lang")
    await page.press("lang:en")
    await page.say("/check")
    user_id = WEB_USER_BASE
    assert await db_rows("SELECT COUNT(*) FROM question_log WHERE user_id = ?", user_id) == 1
    assert await db_rows("SELECT COUNT(*) FROM user_settings WHERE user_id = ?", user_id) == 1
    assert await db_rows("SELECT COUNT(*) FROM fsm_storage WHERE user_id = ?", user_id) == 1
    await page.say("/forget")
    yes = next(d for d in page.buttons().values() if d.startswith("forget:yes"))
    reply = await page.press(yes)
    assert reply["reset"] is True
    [left] = reply["messages"]  # the transcript is gone; only the confirmation shows
    assert left["from"] == "bot"
    for table, column in (
        ("question_log", "user_id"),
        ("user_settings", "user_id"),
        ("fsm_storage", "user_id"),
    ):
        assert await db_rows(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", user_id) == 0
    assert (
        await db_rows(
            "SELECT COUNT(*) FROM web_messages WHERE chat_id = ? AND message_id < ?", user_id, left["id"]
        )
        == 0
    )
    history = await page.reload()
    assert [m["id"] for m in history["messages"]] == [left["id"]]


async def test_staff_commands_are_unknown_on_the_web(page: Page) -> None:
    await page.say("/start")
    for command in ("/inbox", "/unanswered", "/stats", "/export"):
        reply = await page.say(command)
        assert reply["messages"][-1]["html"].startswith("没有这个命令")
    forged = await page.post("/api/press", {"message_id": page.keyboard()["id"], "data": "st:inbox"})
    assert forged.status == 400  # a staff button that is not on the message: never reaches the bot


async def test_language_from_the_browser_and_lang(browsers: Callable[..., Page]) -> None:
    page = browsers("en-US,en;q=0.9")
    welcome = await page.say("/start")
    assert welcome["lang"] == "en"
    assert "<b>Policy assistant</b>" in welcome["messages"][-1]["html"]
    assert any(c["description"] == "Check eligibility" for c in welcome["commands"])
    await page.say("/lang")
    switched = await page.press("lang:zh")
    assert switched["lang"] == "zh"
    assert "<b>政策助手</b>" in (await page.say("/start"))["messages"][-1]["html"]
    assert page.last["lang"] == "zh"  # the choice wins over the browser's language


async def test_documents_are_served_to_their_session_only(
    client: TestClient[Any, Any], browsers: Callable[..., Page]
) -> None:
    owner = browsers()
    await owner.say("/start")
    door = client.server.app[DOOR]
    await door.bot.send_document(
        WEB_USER_BASE,
        BufferedInputFile(b"%PDF-1.4 report", filename="资格自测报告.pdf"),
        caption="<b>报告</b>",
    )
    reply = await owner.get("/api/history?since=" + str(owner.rev))
    [message] = owner.apply(await reply.json())["messages"]
    document = message["document"]
    assert document["name"] == "资格自测报告.pdf"
    assert document["size"] == 15
    assert message["html"] == "<b>报告</b>"
    download = await owner.get(document["url"])
    assert download.status == 200
    assert await download.read() == b"%PDF-1.4 report"
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    stranger = browsers()
    assert (await stranger.get(document["url"])).status == 404  # no session
    await stranger.say("/start")
    assert (await stranger.get(document["url"])).status == 404  # another session
    assert (await owner.get("/api/files/guessed-token")).status == 404


async def test_a_local_file_is_served_too_and_a_url_refused(
    client: TestClient[Any, Any], browsers: Callable[..., Page], tmp_path: Path
) -> None:
    owner = browsers()
    await owner.say("/start")
    bot = client.server.app[DOOR].bot
    export = tmp_path / "hengzhengfa-2024-4.yaml"
    export.write_text("document: hengzhengfa-2024-4\n", encoding="utf-8")
    await bot.send_document(WEB_USER_BASE, FSInputFile(export))
    reply = await owner.get(f"/api/history?since={owner.rev}")
    [message] = owner.apply(await reply.json())["messages"]
    download = await owner.get(message["document"]["url"])
    assert await download.read() == export.read_bytes()
    with pytest.raises(TelegramBadRequest):
        await bot.send_document(WEB_USER_BASE, URLInputFile("https://example.org/report.pdf"))
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(12345, "not a web chat")


async def test_rate_limits_answer_429_with_a_message(tmp_path: Path, assistant: Assistant) -> None:
    settings = web_settings(
        tmp_path / "web.sqlite3", web_rate_session_burst=3, web_rate_session_per_second=0.01
    )
    async with serving(settings, assistant) as client:
        page = Page(client)
        try:
            for _ in range(3):
                await page.say("/help")
            limited = await page.post("/api/send", {"text": "/help"})
            assert limited.status == 429
            error = await limited.json()
            assert error["error"] == "rate_limited"
            assert "秒后再试" in error["message"]
            assert int(limited.headers["Retry-After"]) >= 1
        finally:
            await page.http.close()
    settings = web_settings(
        tmp_path / "other.sqlite3", web_new_sessions_burst=2, web_new_sessions_per_minute=0.1
    )
    async with serving(settings, assistant) as client:
        for _ in range(2):
            fresh = await client.post("/api/send", json={"text": "/start"}, headers=HEADERS)
            assert fresh.status == 200
            client.session.cookie_jar.clear()
        flood = await client.post("/api/send", json={"text": "/start"}, headers=HEADERS)
        assert flood.status == 429


@pytest.fixture
def db_rows(tmp_path: Path) -> Any:
    """A count from the test's database file, read on a connection of its own."""

    async def count(sql: str, *params: Any) -> int:
        database = await open_database(tmp_path / "web.sqlite3")
        try:
            row = await database.fetchone(sql, params)
            return int(row[0]) if row is not None else 0
        finally:
            await database.close()

    return count


async def test_store_memory_and_database_agree(tmp_path: Path) -> None:
    """What a chat's changes are, from the memory of the process that made them and from the file."""
    db = await open_database(tmp_path / "store.sqlite3")
    try:
        store = WebStore(db)
        chat = await store.create_session("a" * 64)
        for n in range(5):
            sent = await store.add_message(chat, "bot", f"<b>{n}</b>", markup='{"inline_keyboard":[]}')
            assert sent is not None
            assert (
                await store.edit_message(chat, sent.message_id, f"<b>{n}</b>", '{"inline_keyboard":[]}')
                is False
            )
            await store.edit_message(chat, sent.message_id, f"<i>{n}</i>", None)
        await store.delete_message(chat, 3)
        await store.add_message(chat, "user", "你好")
        fresh = WebStore(db)  # another process, after a restart: everything read from the file
        for since in range(await store.rev(chat) + 2):
            assert await store.changes(chat, since) == await fresh.changes(chat, since), since
        assert await fresh.rev(chat) == await store.rev(chat)
        assert (await fresh.message(chat, 2)) == (await store.message(chat, 2))
        assert await store.forget(chat) > 0
        again = WebStore(db)
        assert (await again.changes(chat, 1)).reset is True
        latest = await again.add_message(chat, "user", "再来")
        assert latest is not None
        assert latest.message_id == 7  # ids go on after /forget and a restart
    finally:
        await db.close()
