"""The framework's ceiling for benchmarks/load.py: the smallest aiogram bot, echoing every text.

    BOT_TOKEN=1:x TELEGRAM_API_URL=http://127.0.0.1:8081 python -m benchmarks.echo_bot [--webhook PORT]

Polling uses aiogram's own ``start_polling``; ``--webhook PORT`` serves aiogram's
``SimpleRequestHandler`` on 127.0.0.1:PORT, answering once the update is handled, as our bot does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

PATH = "/echo"


async def echo(message: Message, bot: Bot) -> None:
    await bot.send_message(message.chat.id, message.text or "")


async def serve(webhook_port: int | None) -> None:
    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"].rstrip("/"))
    bot = Bot(os.environ["BOT_TOKEN"], session=AiohttpSession(api=api))
    dispatcher = Dispatcher()
    dispatcher.message.register(echo, F.text)
    if webhook_port is None:
        await bot.delete_webhook()
        await dispatcher.start_polling(bot, handle_signals=True)
        return
    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False).register(app, path=PATH)
    setup_application(app, dispatcher, bot=bot)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", webhook_port).start()
    await bot.set_webhook(f"http://127.0.0.1:{webhook_port}{PATH}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    await bot.session.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--webhook", type=int, metavar="PORT", help="serve a webhook on 127.0.0.1:PORT")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.webhook))


if __name__ == "__main__":
    main()
