"""`policybot web`: the chat page and its JSON API (bot/web/), on WEB_HOST:WEB_PORT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.cli.common import add_db, add_kb


def port(text: str) -> int:
    """An argparse type: a TCP port."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a port (1-65535): {text!r}")
    return value


def cmd_web(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from bot.cli.serve import settings
    from bot.store.db import DatabaseError
    from bot.web.app import run_web

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        found = settings(args)
        overrides = {"web_host": args.host, "web_port": args.port}
        found = found.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(run_web(found))
    except DatabaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the address is taken, or not this machine's
        print(f"error: cannot listen on {found.web_host}:{found.web_port}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    web = sub.add_parser("web", help="serve the chat page and its JSON API (default 127.0.0.1:8080)")
    web.add_argument("--host", help="address to listen on (default: WEB_HOST or 127.0.0.1)")
    web.add_argument("--port", type=port, help="port to listen on (default: WEB_PORT or 8080)")
    add_db(web)
    add_kb(web)
    web.set_defaults(handler=cmd_web)
