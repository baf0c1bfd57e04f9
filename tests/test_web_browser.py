"""The web door in a real browser: the system Chromium (Debian's `chromium`, driven by Playwright)
against the real `python -m bot web` process on 127.0.0.1, typing, clicking and reading as a user
does. Screenshots at desktop and phone width go to /tmp/web-*.png.

Skipped when /usr/bin/chromium is missing (`.ci/run` installs it).
"""

from __future__ import annotations

import contextlib
import http.server
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
TIMEOUT_MS = 15_000
XSS = "<img src=x onerror=alert(1)>"
SENTINEL = "跨站表单提交测试"

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (Debian package chromium)", allow_module_level=True)

from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    def __init__(self, directory: Path) -> None:
        self.db = directory / "web.sqlite3"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / "server.log"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "RATE_LIMIT_BURST": "0",  # Playwright clicks at machine speed
            "WEB_RATE_SESSION_BURST": "1000",
            "WEB_RATE_ADDRESS_BURST": "10000",
            "WEB_NEW_SESSIONS_BURST": "1000",
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "web", "--port", str(self.port), "--db", str(self.db)],
                cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"`policybot web` exited: {self.log.read_text()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"`policybot web` did not listen: {self.log.read_text()}")

    def rows(self, sql: str, *params: Any) -> int:
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as conn:
            return int(conn.execute(sql, params).fetchone()[0])

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("web"))
    yield running
    assert running.stop() == 0, running.log.read_text()  # SIGTERM: a clean stop


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


def launch(playwright: Playwright) -> Browser:
    # Playwright gives every launch a fresh temporary user-data dir (no profile, no cookies).
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """A fresh browser context (its own cookies): a new visitor, at desktop width."""
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    # Console errors: script errors and CSP violations ("Refused to …"); a refused request's
    # "Failed to load resource" is what some tests provoke.
    opened.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    opened.goto(server.url + "/")
    welcome(opened)
    yield opened
    context.close()
    assert errors == []  # no script errors, no CSP violations


def welcome(page: Page) -> None:
    expect(page.locator(".msg.bot").first).to_contain_text("政策助手")
    idle(page)


def idle(page: Page) -> None:
    """Wait until no request is in flight (the typing indicator is gone)."""
    expect(page.locator(".msg.typing")).to_have_count(0)


def say(page: Page, text: str) -> None:
    box = page.locator("#input")
    box.fill(text)
    box.press("Enter")
    idle(page)


def last_bot(page: Page) -> Any:
    return page.locator(".msg.bot").last


def click(page: Page, label: str, *, exact: bool = True) -> None:
    """Press a button of the latest bot message, by its label."""
    last_bot(page).get_by_role("button", name=label, exact=exact).click()
    idle(page)


def test_question_gets_its_answer_card(page: Page) -> None:
    say(page, "我们去年跨境出口80万美元能拿多少")
    answer = last_bot(page)
    expect(answer).to_contain_text("第5条")
    expect(answer.locator("b").first).to_be_visible()  # the card's markup, rendered
    expect(answer.locator("button.key", has_text="政策全文")).to_be_visible()
    expect(page.locator(".msg.user").last).to_have_text("我们去年跨境出口80万美元能拿多少")
    page.screenshot(path="/tmp/web-desktop-answer.png")


def test_clarify_button_turns_the_question_into_the_answer(page: Page) -> None:
    say(page, "培训")
    asked = last_bot(page)
    expect(asked).to_contain_text("您是想问")
    message_id = asked.get_attribute("data-id")
    count = page.locator(".msg").count()
    asked.locator("button.key", has_text="第13条").click()
    idle(page)
    same = page.locator(f'.msg[data-id="{message_id}"]')
    expect(same).to_contain_text("原文")
    expect(same).not_to_contain_text("您是想问")
    assert page.locator(".msg").count() == count  # edited in place, not appended


def test_measures_are_browsed_in_one_message(page: Page) -> None:
    page.locator("button.chip", has_text="/measures").click()
    idle(page)
    listing = last_bot(page)
    message_id = listing.get_attribute("data-id")
    first_section = listing.locator("button.key").first
    first_section.click()
    idle(page)
    same = page.locator(f'.msg[data-id="{message_id}"]')
    expect(same.locator("button.key", has_text="返回")).to_be_visible()
    same.locator("button.key").first.click()
    idle(page)
    expect(same).to_contain_text("【")  # a measure's card, in the same message
    assert page.locator(".msg.bot").count() == 2  # the welcome and the browse message


def test_keyboard_only(page: Page) -> None:
    say(page, "/measures")
    listing = last_bot(page)
    before = listing.inner_text()
    page.keyboard.press("Shift+Tab")  # from the message box back into the conversation's buttons
    focused = page.evaluate("document.activeElement.className")
    for _ in range(40):
        if "key" in focused:
            break
        page.keyboard.press("Shift+Tab")
        focused = page.evaluate("document.activeElement.className")
    assert "key" in focused
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # a visible focus ring
    page.keyboard.press("Enter")
    idle(page)
    assert page.locator(".msg.bot").last.inner_text() != before
    assert page.evaluate("document.activeElement.tagName") == "BUTTON"  # focus kept in the chat


def test_whole_check_to_its_result(page: Page) -> None:
    """Yes to everything, every line of a checklist ticked, the exports typed, 0 for other figures."""
    page.set_viewport_size(PHONE)
    say(page, "/check")
    typed = 0
    for _ in range(80):
        question = last_bot(page)
        keys = question.locator("button.key")
        labels = keys.all_inner_texts()
        if not any(label in ("不清楚/跳过", "✔ 确定", "是", "是，没错") for label in labels):
            break  # no question: the result
        if "↩ 继续自测" in labels:
            click(page, "↩ 继续自测")
        elif any(label[:1] in "☐☑" for label in labels):
            for label in labels:
                if label.startswith("☐"):
                    question.get_by_role("button", name=label, exact=True).click()
                    idle(page)
                    expect(
                        last_bot(page).get_by_role("button", name="☑" + label[1:], exact=True)
                    ).to_be_visible()
            if not typed:
                page.screenshot(path="/tmp/web-phone-checklist.png")
            click(page, "✔ 确定")
        elif "是" in labels or "是，没错" in labels:
            click(page, "是" if "是" in labels else "是，没错")
        else:
            text = question.inner_text().rsplit("题（", 1)[-1]  # the question, not a note above it
            if "海外仓" in text:
                click(page, "不清楚/跳过")
            else:
                say(page, "120万美元" if "美元" in text else "0")
                typed += 1
    else:
        raise AssertionError(f"the interview did not end: {last_bot(page).inner_text()[-300:]!r}")
    result = last_bot(page)
    expect(result).to_contain_text("资格自测结果")
    expect(result.get_by_role("button", name="✅ 第5条")).to_be_visible()  # the typed exports count
    assert typed >= 1  # figures were typed, not only pressed
    page.screenshot(path="/tmp/web-phone-result.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing sticks out


def test_reload_keeps_the_history(page: Page) -> None:
    say(page, "跨境电商海外仓有什么支持")
    say(page, "/measures")
    before = page.locator(".msg").all_inner_texts()
    page.reload()
    welcome(page)
    expect(page.locator(".msg")).to_have_count(len(before))
    assert page.locator(".msg").all_inner_texts() == before


def test_xss_is_shown_as_text(page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    say(page, XSS)
    expect(page.locator(".msg.user").last).to_have_text(XSS)
    page.reload()
    welcome(page)
    expect(page.locator(".msg.user").last).to_have_text(XSS)
    assert page.locator("img").count() == 0
    assert dialogs == []


def test_typing_indicator_and_phone_layout(page: Page) -> None:
    page.set_viewport_size(PHONE)
    release = threading.Event()

    def slow(route: Any) -> None:
        release.wait(timeout=0.8)  # the answer takes a moment: the indicator shows meanwhile
        route.continue_()

    page.route("**/api/send", slow)
    page.locator("#input").fill("出口退税怎么办")
    page.locator("#input").press("Enter")
    expect(page.locator(".msg.typing")).to_be_visible()
    expect(page.locator(".msg.user.pending")).to_have_text("出口退税怎么办")
    page.screenshot(path="/tmp/web-phone-typing.png")
    idle(page)
    page.unroute("**/api/send")
    expect(page.locator(".msg.user").last).to_have_text("出口退税怎么办")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path="/tmp/web-phone.png")


def test_desktop_screenshot(page: Page) -> None:
    say(page, "/check")
    page.screenshot(path="/tmp/web-desktop.png")
    say(page, "/lang")
    click(page, "English")
    expect(page.locator("#send")).to_have_text("Send")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.screenshot(path="/tmp/web-desktop-en.png")


class _Attacker(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        page = (
            '<!doctype html><meta charset="utf-8"><title>elsewhere</title>'
            f'<form method="post" action="{self.target}/api/send">'
            f'<input name="text" value="{SENTINEL}"><button id="go">go</button></form>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_cross_site_form_post_is_refused(page: Page, server: Server) -> None:
    _Attacker.target = server.url
    attacker = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Attacker)
    thread = threading.Thread(target=attacker.serve_forever, daemon=True)
    thread.start()
    try:
        # The visitor has a session (a cookie) and then opens another site, whose form posts here.
        before = server.rows("SELECT COUNT(*) FROM web_messages")
        page.goto(f"http://127.0.0.1:{attacker.server_address[1]}/")
        with page.expect_navigation():
            page.locator("#go").click()
        assert "forbidden" in page.content()
        assert server.rows("SELECT COUNT(*) FROM question_log WHERE text = ?", SENTINEL) == 0
        assert server.rows("SELECT COUNT(*) FROM web_messages WHERE body = ?", SENTINEL) == 0
        assert server.rows("SELECT COUNT(*) FROM web_messages") == before
    finally:
        attacker.shutdown()
        attacker.server_close()
        thread.join()
