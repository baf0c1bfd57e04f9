"""What every command shares: the reading options (--json, --lang, --date) and the database option
(--db), defined once, and the values they give. Nothing here imports aiogram."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

DB_HELP = "SQLite database (default: DATABASE_PATH or data/policybot.sqlite3)"


def date_arg(text: str) -> str:
    """An argparse type: a YYYY-MM-DD day, kept as text."""
    try:
        date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    return text


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def add_lang(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=["zh", "en"], default="zh")


def add_date(
    parser: argparse.ArgumentParser, help: str = "judge validity as of this day (YYYY-MM-DD)"
) -> None:
    parser.add_argument("--date", type=date_arg, help=help)


def add_reading(parser: argparse.ArgumentParser, date_help: str | None = None) -> None:
    """--json, --lang and --date, as every command that shows policy content takes them."""
    add_json(parser)
    add_lang(parser)
    if date_help is None:
        add_date(parser)
    else:
        add_date(parser, date_help)


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="PATH", help=DB_HELP)


def add_kb(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kb",
        metavar="DIR",
        help="a knowledge base directory (NAME.yaml beside its source NAME.md) instead of the shipped one",
    )


def today(args: argparse.Namespace) -> date:
    value = getattr(args, "date", None)
    return date.fromisoformat(value) if value else date.today()


def database(args: argparse.Namespace) -> Path:
    from bot.config import Settings

    return Path(args.db) if getattr(args, "db", None) else Settings().database_path


def kb_dir(args: argparse.Namespace) -> Path | None:
    value = getattr(args, "kb", None)
    return Path(value) if value else None


def _plain(value: Any) -> Any:
    """Numbers stay numbers (a Decimal threshold is written as 10, not "10"), dates as ISO text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def dumps(data: Any, *, indent: int | None = None) -> str:
    return json.dumps(data, ensure_ascii=False, indent=indent, default=_plain)


def print_json(data: Any, *, indent: int | None = 2) -> None:
    print(dumps(data, indent=indent))


def fail(message: str, code: int = 2) -> int:
    print(message, file=sys.stderr)
    return code
