"""`policybot web`: the chat page and its JSON API (aiohttp), a fourth door into the one dispatcher.

    GET  /                  the page (static/index.html; its script and styles under /static/)
    GET  /api/history       the transcript (?since=REV: only what changed after revision REV)
    POST /api/send          {"text": str, "since"?: int}: a message to the bot
    POST /api/press         {"message_id": int, "data": str, "since"?: int}: a button of its message
    GET  /api/files/TOKEN   a document the bot sent into this session's chat
    GET  /healthz           {"ok": true}

The three transcript endpoints answer {"rev", "reset", "messages", "notice", "lang", "commands"}
(bot/web/door.py reply_json); errors are {"error": code, "message": text} with a 4xx status.
A session is created by the first POST (an HttpOnly, SameSite=Strict cookie). POSTs must be JSON
with the X-Requested-With: policybot header, of at most WEB_MAX_BODY_BYTES.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.resources import files
from typing import Final, TypeVar
from urllib.parse import quote

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.config import Settings
from bot.factory import create_bot, create_dispatcher
from bot.i18n import Catalogs, language_of
from bot.live import current_assistant
from bot.store.db import open_database
from bot.store.privacy import Privacy, housekeeping
from bot.store.web import WebStore
from bot.web import safety
from bot.web.door import Refused, WebDoor, WebPrivacy, reply_json
from bot.web.session import WebSession
from eligibility.answer import Assistant

logger = logging.getLogger("policybot")

DOOR: Final = web.AppKey("door", WebDoor)
DAY: Final = 24 * 60 * 60

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
STATIC: Final = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "style.css": "text/css",
}


class SendBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    text: str
    since: int | None = Field(default=None, ge=0)


class PressBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    message_id: int = Field(ge=1)
    data: str = Field(min_length=1, max_length=64)  # Telegram's limit for callback data
    since: int | None = Field(default=None, ge=0)


Body = TypeVar("Body", SendBody, PressBody)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Limits:
    """The per-process rate limits (bot/web/safety.py Buckets)."""

    def __init__(self, settings: Settings) -> None:
        self.session = safety.Buckets(settings.web_rate_session_burst, settings.web_rate_session_per_second)
        self.address = safety.Buckets(settings.web_rate_address_burst, settings.web_rate_address_per_second)
        self.new_sessions = safety.Buckets(
            settings.web_new_sessions_burst, settings.web_new_sessions_per_minute / 60
        )


SETTINGS: Final = web.AppKey("settings", Settings)
LANG: Final = web.RequestKey("lang", str)  # the session's language, once known
LIMITS: Final = web.AppKey("limits", Limits)
PROXIES: Final = web.AppKey("proxies", frozenset[str])


def _lang(request: web.Request) -> str:
    """The language of a refusal: the session's, once known, else the browser's."""
    known = request.get(LANG)
    return (
        known
        if isinstance(known, str)
        else language_of(safety.accept_language(request.headers.get("Accept-Language")))
    )


def _error(request: web.Request, status: int, code: str, **values: object) -> web.Response:
    response = web.json_response(
        {"error": code, "message": safety.error_text(code, _lang(request), **values)}, status=status
    )
    if status == 429:
        response.headers["Retry-After"] = str(values.get("seconds", 1))
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every refusal as JSON with a clear message; nothing unexpected becomes a stack trace."""
    try:
        return await handler(request)
    except Refused as refused:
        return _error(request, refused.status, refused.code, **refused.values)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status, "bad_json")
        return _error(request, exc.status, code)
    except Exception:
        logger.exception("web request %s %s failed", request.method, request.path)
        return _error(request, 500, "internal")


async def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")


def _limit(bucket: safety.Buckets, key: str) -> None:
    wait = bucket.take(key)
    if wait:
        raise Refused(429, "rate_limited", seconds=max(1, math.ceil(wait)))


def _address(request: web.Request) -> str:
    trusted: frozenset[str] = request.app[PROXIES]
    return safety.client_address(request, trusted)


def _language_code(request: web.Request) -> str | None:
    return safety.accept_language(request.headers.get("Accept-Language"))


async def _user(request: web.Request) -> int | None:
    digest = safety.token_hash(request.cookies.get(safety.COOKIE, ""))
    if digest is None:
        return None
    user_id = await request.app[DOOR].store.session_user(digest)
    if user_id is not None:
        request[LANG] = await request.app[DOOR].language(user_id, _language_code(request))
    return user_id


async def _body(request: web.Request, model: type[Body]) -> Body:
    """The JSON body, checked before anything else happens: origin, size, shape."""
    if safety.refusal(request) is not None:
        raise Refused(403, "forbidden")
    cap = request.app[SETTINGS].web_max_body_bytes
    if request.content_length is not None and request.content_length > cap:
        raise Refused(413, "too_large")
    try:
        raw = await request.read()  # the app's client_max_size is the same cap (chunked bodies)
    except web.HTTPRequestEntityTooLarge:
        raise Refused(413, "too_large") from None
    _limit(request.app[LIMITS].address, _address(request))
    try:
        return model.model_validate_json(raw)
    except ValidationError:
        raise Refused(400, "bad_json") from None


async def page(request: web.Request) -> web.Response:
    return _static(request, "index.html")


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC or name == "index.html":
        raise Refused(404, "not_found")
    return _static(request, name)


def _static(request: web.Request, name: str) -> web.Response:
    data = (files("bot.web") / "static" / name).read_bytes()
    response = web.Response(body=data, content_type=STATIC[name], charset="utf-8")
    response.headers["Cache-Control"] = "no-cache"
    return response


async def history(request: web.Request) -> web.Response:
    _limit(request.app[LIMITS].address, _address(request))
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        raise Refused(400, "bad_json") from None
    door = request.app[DOOR]
    user_id = await _user(request)
    reply = await door.history(user_id, max(0, since), _language_code(request))
    return web.json_response({**reply_json(door, reply), "session": user_id is not None})


async def send(request: web.Request) -> web.Response:
    body = await _body(request, SendBody)
    settings = request.app[SETTINGS]
    text = body.text.strip()
    if not text:
        raise Refused(422, "empty_text")
    if len(body.text) > settings.web_max_text_chars:
        raise Refused(422, "text_too_long", limit=settings.web_max_text_chars, length=len(body.text))
    door = request.app[DOOR]
    user_id = await _user(request)
    token = None
    if user_id is None:
        _limit(request.app[LIMITS].new_sessions, _address(request))
        token = safety.new_token()
        user_id = await door.store.create_session(str(safety.token_hash(token)))
    _limit(request.app[LIMITS].session, str(user_id))
    reply = await door.say(user_id, text, language_code=_language_code(request), since=body.since)
    response = web.json_response(reply_json(door, reply))
    if token is not None:
        response.set_cookie(
            safety.COOKIE,
            token,
            max_age=settings.web_session_days * DAY,
            httponly=True,
            samesite="Strict",
            secure=settings.web_secure_cookies,
            path="/",
        )
    return response


async def press(request: web.Request) -> web.Response:
    body = await _body(request, PressBody)
    door = request.app[DOOR]
    user_id = await _user(request)
    if user_id is None:
        raise Refused(404, "unknown_message")  # no session has no messages
    _limit(request.app[LIMITS].session, str(user_id))
    reply = await door.press(
        user_id, body.message_id, body.data, language_code=_language_code(request), since=body.since
    )
    return web.json_response(reply_json(door, reply))


async def download(request: web.Request) -> web.Response:
    _limit(request.app[LIMITS].address, _address(request))
    user_id = await _user(request)
    found = None
    if user_id is not None:
        found = await request.app[DOOR].store.file(user_id, request.match_info["token"])
    if found is None:
        raise Refused(404, "not_found")  # also another session's file: it does not exist for this one
    fallback = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in found.name)
    response = web.Response(body=found.data, content_type=found.mime)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(found.name)}"
    )
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def create_app(settings: Settings, *, assistant: Assistant | None = None) -> web.Application:
    """The web door on DATABASE_PATH; `assistant` (tests) skips building one from the store."""
    app = web.Application(middlewares=[errors], client_max_size=settings.web_max_body_bytes)
    app[SETTINGS] = settings
    app[LIMITS] = Limits(settings)
    app[PROXIES] = safety.proxies(settings.web_trusted_proxies)
    app.on_response_prepare.append(_secure_headers)

    def lifetime(app: web.Application) -> AsyncIterator[None]:
        return _lifetime(app, assistant)

    app.cleanup_ctx.append(lifetime)
    app.router.add_get("/", page)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/api/history", history)
    app.router.add_post("/api/send", send)
    app.router.add_post("/api/press", press)
    app.router.add_get("/api/files/{token}", download)
    app.router.add_get("/healthz", health)
    return app


async def _lifetime(app: web.Application, given: Assistant | None) -> AsyncIterator[None]:
    """The database, the bot and the dispatcher for the app's life, shut down in reverse."""
    settings = app[SETTINGS]
    db = await open_database(settings.database_path)  # first: a bad database fails at once, clearly
    try:
        # the shipped files (or KB_DIR's) with the staff's edits
        assistant = given or await current_assistant(db, kb_dir=settings.kb_dir)
        store = WebStore(db)
        session = WebSession(store)
        bot = create_bot("1:web", session)
        catalogs = Catalogs.load()
        # Web users are never staff: whatever ADMIN_IDS holds, the staff router sees nobody here.
        door_settings = settings.model_copy(update={"admin_ids": frozenset()})
        dispatcher = create_dispatcher(
            door_settings, assistant=assistant, db=db, catalogs=catalogs, rate_limit=True
        )
        privacy = WebPrivacy(dispatcher["privacy"], store)
        dispatcher["privacy"] = privacy  # /forget deletes the transcript too
        door = WebDoor(dispatcher, bot, session, store, catalogs, assistant)
        app[DOOR] = door
        workflow = {"dispatcher": dispatcher, "bot": bot, **dispatcher.workflow_data}
        await dispatcher.emit_startup(**workflow)
    except BaseException:
        await db.close()
        raise
    expiry = asyncio.create_task(_expire_daily(door, settings.web_session_days, privacy), name="web-expiry")
    try:
        async with housekeeping(privacy):  # the question log's retention, as for Telegram
            yield
    finally:
        expiry.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await expiry
        await dispatcher.emit_shutdown(**workflow)
        await dispatcher.storage.close()
        await bot.session.close()
        await db.close()


async def _expire_daily(door: WebDoor, days: int, privacy: Privacy) -> None:
    while True:
        try:
            await door.expire(days, privacy)
        except Exception:  # a failed purge must not stop the door; the next one catches up
            logger.exception("expiring idle web sessions failed")
        await asyncio.sleep(DAY)


async def run_web(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM; requests in flight get SHUTDOWN_TIMEOUT seconds to finish."""
    app = create_app(settings)
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, shutdown_timeout=settings.shutdown_timeout
    )
    await runner.setup()  # opens the database: a bad one fails here, before listening
    try:
        door = app[DOOR]
        # the dictionaries, loaded before the first user
        await asyncio.to_thread(door.assistant.ask, "跨境电商", "zh")
        gc.collect()
        gc.freeze()  # what is loaded lives as long as the process (see bot/transport/runner.py)
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)
        site = web.TCPSite(runner, settings.web_host, settings.web_port)
        await site.start()
        logger.info(
            "web chat on http://%s:%s/ (database %s)",
            settings.web_host,
            settings.web_port,
            settings.database_path,
        )
        await _stop_event().wait()
        logger.info("stopping: finishing the requests in flight")
    finally:
        await runner.cleanup()


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop
