"""What keeps the web door safe by default: session tokens, the check that a state-changing request
comes from our own page, rate limits, the client's address behind a proxy, and the allow-list the
bot's HTML is rendered through. No aiogram; the refusals' texts (zh/en) are here too."""

from __future__ import annotations

import hashlib
import html
import re
import secrets
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

COOKIE: Final = "policybot_session"
HEADER: Final = "X-Requested-With"
HEADER_VALUE: Final = "policybot"

_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str | None:
    """What the database keeps of a cookie's token; None for anything we never issued."""
    if not _TOKEN.fullmatch(token):
        return None
    return hashlib.sha256(token.encode()).hexdigest()


def refusal(request: web.Request) -> str | None:
    """Why a state-changing request is refused (an error code), or None.

    Only JSON with our custom header: a cross-site form can send neither, and a cross-site fetch
    that sets the header needs a CORS preflight this server never grants. A browser's own word
    (Origin, Sec-Fetch-Site) that the request comes from another site is refused as well.
    """
    if request.headers.get(HEADER) != HEADER_VALUE:
        return "forbidden"
    if request.content_type != "application/json":
        return "forbidden"
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return "forbidden"
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        return "forbidden"
    return None


def client_address(request: web.Request, trusted_proxies: Collection[str]) -> str:
    """The browser's address: the peer's, or, when the peer is our reverse proxy, the last address
    it appended to X-Forwarded-For (entries before it are the client's own word, not evidence)."""
    peer = request.remote or ""
    if peer in trusted_proxies:
        forwarded = request.headers.get("X-Forwarded-For", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return peer


def proxies(setting: str) -> frozenset[str]:
    """WEB_TRUSTED_PROXIES: addresses separated by commas or spaces."""
    return frozenset(setting.replace(",", " ").split())


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class Buckets:
    """A token bucket per key (a session, an address): `burst` at once, refilled at `rate` a second."""

    def __init__(
        self,
        burst: int,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_tracked: int = 100_000,
    ) -> None:
        self.burst = float(burst)
        self.rate = rate
        self.clock = clock
        self.max_tracked = max_tracked
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        """0 when allowed (a token taken), else the seconds until a token is back."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_tracked:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.stamp) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_tracked:  # a flood of distinct keys: start over
            self._buckets.clear()


def accept_language(header: str | None) -> str | None:
    """The browser's preferred language tag (Accept-Language), as Telegram's language_code would be."""
    best, best_q = None, 0.0
    for part in (header or "").split(","):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or tag == "*" or not re.fullmatch(r"[a-z]{1,8}(-[a-z0-9]{1,8})*", tag):
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        if q > best_q:
            best, best_q = tag, q
    return best


# The Telegram HTML subset the bot writes; everything else is shown as its text.
ALLOWED_TAGS: Final = frozenset({"b", "strong", "i", "em", "u", "s", "code", "pre", "a", "br"})
_DROP_CONTENT: Final = frozenset({"script", "style", "template", "iframe", "object", "noscript"})


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_CONTENT:
            self.dropping += 1
            return
        if self.dropping or tag not in ALLOWED_TAGS:
            return
        if tag == "br":
            self.out.append("<br>")
            return
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if urlsplit(href.strip()).scheme.lower() not in ("http", "https"):
                return  # shown as its text, without a link (its end tag is then a stray one)
            self.out.append(
                f'<a href="{html.escape(href.strip(), quote=True)}" rel="noopener noreferrer" target="_blank">'
            )
        else:
            self.out.append(f"<{tag}>")
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" and not self.dropping:
            self.out.append("<br>")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_CONTENT:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping or tag not in ALLOWED_TAGS or tag == "br":
            return
        if tag not in self.open:
            return  # a stray closing tag
        while self.open:  # close what was left open inside it
            inner = self.open.pop()
            self.out.append(f"</{inner}>")
            if inner == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(html.escape(data, quote=False))

    def result(self) -> str:
        self.close()
        closing = [f"</{tag}>" for tag in reversed(self.open)]
        return "".join(self.out + closing)


def sanitize_html(text: str) -> str:
    """The bot's HTML through the allow-list: b/strong/i/em/u/s/code/pre/br, links to http(s) only
    (opening in a new tab, without access to this page); other tags dropped, their text kept."""
    parser = _Sanitizer()
    parser.feed(text)
    return parser.result()


ERRORS: Final[dict[str, tuple[str, str]]] = {
    "forbidden": (
        "请求被拒绝：只接受本页面发出的请求。",
        "Refused: only requests from this page are accepted.",
    ),
    "too_large": ("请求太大。", "The request is too large."),
    "bad_json": ("请求格式不正确。", "The request is malformed."),
    "empty_text": ("请输入内容。", "Please type something."),
    "text_too_long": (
        "消息太长：最多 {limit} 个字，现在是 {length} 个字。请分几次发送。",
        "The message is too long: {limit} characters at most, this one has {length}. Please split it.",
    ),
    "rate_limited": (
        "操作太频繁，请 {seconds} 秒后再试。",
        "Too many requests: please try again in {seconds} s.",
    ),
    "no_session": (
        "会话不存在或已过期，请刷新页面。",
        "No such session (or it expired): please reload the page.",
    ),
    "unknown_message": ("找不到这条消息。", "That message was not found."),
    "unknown_button": (
        "这个按钮已失效，请使用最新消息中的按钮。",
        "That button is no longer valid: use the latest one.",
    ),
    "not_found": ("找不到该页面或文件。", "Not found."),
    "method_not_allowed": ("不支持该请求方法。", "Method not allowed."),
    "internal": ("出错了，请稍后再试。", "Something went wrong; please try again."),
}


def error_text(code: str, lang: str, **values: object) -> str:
    zh, en = ERRORS.get(code, ERRORS["internal"])
    text = en if lang == "en" else zh
    return text.format(**values) if values else text
