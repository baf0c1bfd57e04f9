"""`policybot run`: the bot on Telegram (or a Bot API server at TELEGRAM_API_URL), by long polling
or, with --webhook, as an aiohttp server that checks Telegram's secret token.

Both lose nothing to a crash and finish what they started on SIGTERM: polling journals every batch
before confirming it (bot/polling.py); the webhook answers Telegram only once an update is handled,
so Telegram sends again whatever a crash interrupted, and a stop waits for the requests in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import TelegramMethod
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import JsonPayload, web
from aiohttp.payload import Payload

from bot.commands import set_commands
from bot.config import Settings
from bot.factory import create_bot, create_dispatcher
from bot.i18n import Catalogs
from bot.live import current_assistant
from bot.staff.menu import set_staff_commands
from bot.store.db import Database, open_database
from bot.store.privacy import Privacy, housekeeping
from bot.transport.delivery import BlockedChats, RetryPolicy
from bot.transport.json_session import JsonSession
from bot.transport.polling import Poller, UpdateJournal

logger = logging.getLogger("policybot")


class SetupError(RuntimeError):
    """A setting is missing or wrong; the message says what to do."""


@dataclass
class Running:
    bot: Bot
    dispatcher: Dispatcher
    db: Database


def make_session(settings: Settings) -> AiohttpSession:
    """aiogram's aiohttp session, speaking JSON (bot/session.py)."""
    if settings.telegram_api_url:
        return JsonSession(api=TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/")))
    return JsonSession()


class JsonReplyHandler(SimpleRequestHandler):
    """aiogram's webhook handler, with a method returned by a handler (an interview button's
    AnswerCallbackQuery) sent back as one JSON document — the Bot API takes application/json in a
    webhook's response — rather than a multipart form built field by field."""

    def _build_response_writer(self, bot: Bot, result: TelegramMethod[Any] | None) -> Payload:
        if not result:
            return JsonPayload({})
        files: dict[str, Any] = {}
        payload: dict[str, Any] = {"method": result.__api_method__}
        for key, value in result.model_dump(warnings=False).items():
            prepared = bot.session.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is None or prepared == "":
                continue
            payload[key] = prepared
        if files:  # an upload cannot go as JSON: aiogram's form
            return super()._build_response_writer(bot, result)
        return JsonPayload(payload)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Running]:
    """Bot, database and dispatcher for the time of the block; the menu of commands set."""
    if settings.bot_token is None:
        raise SetupError(
            "BOT_TOKEN is not set (environment or .env). To talk to the assistant without Telegram, "
            "run `policybot chat`."
        )
    db = await open_database(settings.database_path)  # first: a bad database fails at once, clearly
    try:
        # the shipped files (or KB_DIR's) with the staff's edits (bot/store/versions.py)
        assistant = await current_assistant(db, kb_dir=settings.kb_dir)
        blocked = BlockedChats(db)
        await blocked.load()
        retry = RetryPolicy(
            max_retries=settings.api_max_retries, max_retry_after=settings.api_max_retry_after
        )
        bot = create_bot(
            settings.bot_token.get_secret_value(), make_session(settings), retry=retry, blocked=blocked
        )
    except BaseException:
        await db.close()
        raise
    try:
        catalogs = Catalogs.load()
        dispatcher = create_dispatcher(
            settings, assistant=assistant, db=db, catalogs=catalogs, rate_limit=True
        )
        await set_commands(bot, catalogs)
        await set_staff_commands(bot, catalogs, settings.admin_ids, db)
        await asyncio.to_thread(
            assistant.ask, "跨境电商", "zh"
        )  # load the dictionaries before the first user
        # Everything loaded so far (knowledge base, matcher indexes, dictionaries) lives as long as
        # the process: out of the garbage collector's sight, a full collection costs a fraction of a
        # millisecond instead of ~30 ms, which otherwise lands on some unlucky user's reply.
        gc.collect()
        gc.freeze()
        # One INFO line per update from aiogram is noise at this volume (and costs CPU): warnings only.
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)
        privacy: Privacy = dispatcher["privacy"]
        async with housekeeping(privacy):  # the question log's retention: purged now and daily
            yield Running(bot, dispatcher, db)
    finally:
        await bot.session.close()
        await db.close()


async def run_polling(settings: Settings) -> None:
    async with running(settings) as app:
        await app.bot.delete_webhook(drop_pending_updates=False)
        me = await app.bot.me()
        logger.info("polling as @%s (database %s)", me.username, settings.database_path)
        poller = Poller(
            app.dispatcher,
            app.bot,
            UpdateJournal(app.db, me.id),
            allowed_updates=app.dispatcher.resolve_used_update_types(),
            shutdown_timeout=settings.shutdown_timeout,
        )
        await poller.run(_stop_event())  # SIGINT/SIGTERM: stop polling, finish what is in flight
        logger.info("stopped")


async def run_webhook(settings: Settings) -> None:
    if not settings.webhook_url:
        raise SetupError("--webhook needs WEBHOOK_URL (the public https:// base URL Telegram posts to).")
    secret = (
        settings.webhook_secret.get_secret_value() if settings.webhook_secret else secrets.token_urlsafe(32)
    )
    async with running(settings) as app:
        web_app = web.Application()
        # Answer Telegram once the update is handled (not before): a crash mid-update means no answer,
        # and Telegram delivers the update again.
        handler = JsonReplyHandler(
            dispatcher=app.dispatcher, bot=app.bot, secret_token=secret, handle_in_background=False
        )
        handler.register(web_app, path=settings.webhook_path)
        setup_application(web_app, app.dispatcher, bot=app.bot)
        # On stop, requests in flight get SHUTDOWN_TIMEOUT seconds to finish.
        runner = web.AppRunner(
            web_app, handle_signals=False, access_log=None, shutdown_timeout=settings.shutdown_timeout
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
            await site.start()
            url = settings.webhook_url.rstrip("/") + settings.webhook_path
            await app.bot.set_webhook(
                url,
                secret_token=secret,
                allowed_updates=app.dispatcher.resolve_used_update_types(),
                drop_pending_updates=False,
            )
            logger.info("webhook %s, listening on %s:%s", url, settings.webhook_host, settings.webhook_port)
            await _stop_event().wait()
            logger.info("stopping: finishing the updates in flight")
        finally:
            await runner.cleanup()  # waits for requests in flight; runs the dispatcher's shutdown


def _stop_event() -> asyncio.Event:
    """An event set on SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop
