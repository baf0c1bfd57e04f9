"""`policybot`: the command line door. The parser is built without importing what a subcommand
needs (each imports inside its handler), so `ask`, `check`, `eval` and `kb` never load aiogram."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bot.cli import ask, check, interview, kb, serve, stats, web

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policybot", description="政策助手 — 衡政发〔2024〕4号 policy assistant"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (kb, ask, check, interview, serve, stats, web):
        group.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from knowledge.loader import KnowledgeError

    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KnowledgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
