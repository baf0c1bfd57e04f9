"""`policybot run` (Telegram) and `policybot chat` (the terminal): the doors that serve users."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import add_date, add_db, add_kb, add_lang

if TYPE_CHECKING:
    from bot.config import Settings


def settings(args: argparse.Namespace) -> Settings:
    from bot.config import Settings

    found = Settings()
    if getattr(args, "db", None):
        found = found.model_copy(update={"database_path": Path(args.db)})
    if getattr(args, "kb", None):
        found = found.model_copy(update={"kb_dir": Path(args.kb)})
    return found


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio

    from pydantic import ValidationError

    from bot.store.db import DatabaseError
    from bot.transport.runner import SetupError, run_polling, run_webhook

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        found = settings(args)
        asyncio.run(run_webhook(found) if args.webhook else run_polling(found))
    except (SetupError, DatabaseError, ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    import asyncio

    from pydantic import ValidationError

    from bot.cli.chat import chat
    from bot.store.db import DatabaseError

    day = date.fromisoformat(args.date) if args.date else None
    try:
        found = settings(args)
        return asyncio.run(chat(found, lang=args.lang, today=(lambda: day) if day else date.today))
    except (DatabaseError, ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="serve the bot on Telegram (BOT_TOKEN; long polling, or --webhook)")
    run.add_argument(
        "--webhook", action="store_true", help="serve a webhook (WEBHOOK_URL, WEBHOOK_*) instead of polling"
    )
    add_db(run)
    add_kb(run)
    run.set_defaults(handler=cmd_run)

    chat = sub.add_parser("chat", help="talk to the assistant in the terminal (no token, no network)")
    add_lang(chat)
    add_date(chat, "pretend today is this day (YYYY-MM-DD), e.g. to see validity warnings")
    add_db(chat)
    add_kb(chat)
    chat.set_defaults(handler=cmd_chat)
