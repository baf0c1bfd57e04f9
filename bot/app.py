"""`policybot run` and `policybot chat`: registered on the CLI by add_commands()."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from bot.cli import date_arg
from bot.config import Settings
from bot.db import DatabaseError


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if getattr(args, "db", None):
        settings = settings.model_copy(update={"database_path": Path(args.db)})
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    from bot.runner import SetupError, run_polling, run_webhook

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = _settings(args)
        asyncio.run(run_webhook(settings) if args.webhook else run_polling(settings))
    except (SetupError, DatabaseError, ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.terminal import chat

    day = date.fromisoformat(args.date) if args.date else None
    try:
        settings = _settings(args)
        return asyncio.run(chat(settings, lang=args.lang, today=(lambda: day) if day else date.today))
    except (DatabaseError, ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    kb: argparse._SubParsersAction[argparse.ArgumentParser] | None = None,
) -> None:
    """Add the bot's subcommands (run, chat, stats) to the CLI parser, and the staff's `kb`
    subcommands on the bot's database (export, import, history, rollback) to `kb`."""
    from bot.staff_cli import add_kb_commands, add_stats_command

    add_stats_command(sub)
    if kb is not None:
        add_kb_commands(kb)
    run = sub.add_parser("run", help="serve the bot on Telegram (BOT_TOKEN; long polling, or --webhook)")
    run.add_argument(
        "--webhook", action="store_true", help="serve a webhook (WEBHOOK_URL, WEBHOOK_*) instead of polling"
    )
    run.add_argument(
        "--db", metavar="PATH", help="SQLite database (default: DATABASE_PATH or data/policybot.sqlite3)"
    )
    run.set_defaults(handler=cmd_run)

    chat = sub.add_parser("chat", help="talk to the assistant in the terminal (no token, no network)")
    chat.add_argument("--lang", choices=["zh", "en"], default="zh", help="the interface language to start in")
    chat.add_argument(
        "--date", type=date_arg, help="pretend today is this day (YYYY-MM-DD), e.g. to see validity warnings"
    )
    chat.add_argument(
        "--db", metavar="PATH", help="SQLite database (default: DATABASE_PATH or data/policybot.sqlite3)"
    )
    chat.set_defaults(handler=cmd_chat)
