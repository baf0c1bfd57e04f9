"""`policybot run`: the bot on Telegram (or a Bot API server at TELEGRAM_API_URL), by long polling
or, with --webhook, as an aiohttp server that checks Telegram's secret token."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.commands import set_commands
from bot.config import Settings
from bot.db import open_database
from bot.factory import create_bot, create_dispatcher
from bot.i18n import Catalogs
from eligibility.answer import Assistant
from knowledge.loader import load_knowledge_base

logger = logging.getLogger("policybot")


class SetupError(RuntimeError):
    """A setting is missing or wrong; the message says what to do."""


@dataclass
class Running:
    bot: Bot
    dispatcher: Dispatcher


def make_session(settings: Settings) -> AiohttpSession:
    if settings.telegram_api_url:
        return AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/")))
    return AiohttpSession()


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Running]:
    """Bot, database and dispatcher for the time of the block; the menu of commands set."""
    if settings.bot_token is None:
        raise SetupError(
            "BOT_TOKEN is not set (environment or .env). To talk to the assistant without Telegram, "
            "run `policybot chat`."
        )
    assistant = Assistant(load_knowledge_base())
    db = await open_database(settings.database_path)
    bot = create_bot(settings.bot_token.get_secret_value(), make_session(settings))
    try:
        catalogs = Catalogs.load()
        dispatcher = create_dispatcher(settings, assistant=assistant, db=db, catalogs=catalogs)
        await set_commands(bot, catalogs)
        await asyncio.to_thread(
            assistant.ask, "跨境电商", "zh"
        )  # load the dictionaries before the first user
        yield Running(bot, dispatcher)
    finally:
        await bot.session.close()
        await db.close()


async def run_polling(settings: Settings) -> None:
    async with running(settings) as app:
        await app.bot.delete_webhook(drop_pending_updates=False)
        me = await app.bot.me()
        logger.info("polling as @%s (database %s)", me.username, settings.database_path)
        # start_polling stops cleanly on SIGINT and SIGTERM and closes the FSM storage.
        await app.dispatcher.start_polling(
            app.bot,
            allowed_updates=app.dispatcher.resolve_used_update_types(),
            close_bot_session=False,
        )


async def run_webhook(settings: Settings) -> None:
    if not settings.webhook_url:
        raise SetupError("--webhook needs WEBHOOK_URL (the public https:// base URL Telegram posts to).")
    secret = (
        settings.webhook_secret.get_secret_value() if settings.webhook_secret else secrets.token_urlsafe(32)
    )
    async with running(settings) as app:
        web_app = web.Application()
        handler = SimpleRequestHandler(dispatcher=app.dispatcher, bot=app.bot, secret_token=secret)
        handler.register(web_app, path=settings.webhook_path)
        setup_application(web_app, app.dispatcher, bot=app.bot)
        runner = web.AppRunner(web_app, handle_signals=False, access_log=None)
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
            await _until_signalled()
        finally:
            await runner.cleanup()  # runs the dispatcher's shutdown (closes the FSM storage)


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logger.info("stopping")
