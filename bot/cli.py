"""`policybot`: the command line door. Each subcommand is a thin call into knowledge/ or
eligibility/ (or, for `run` and `chat`, the bot)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from knowledge.loader import DATA_DIR, KnowledgeError, load_knowledge_base
from knowledge.render import render_card
from knowledge.validity import validity_on


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _today(args: argparse.Namespace) -> date:
    value = getattr(args, "date", None)
    return date.fromisoformat(value) if value else date.today()


def _date_arg(text: str) -> str:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    return text


# --- kb ---------------------------------------------------------------------------------


def cmd_kb_validate(args: argparse.Namespace) -> int:
    from eligibility.validate import rule_problems

    path = Path(args.path) if args.path else DATA_DIR
    try:
        kb = load_knowledge_base(path)
    except KnowledgeError as exc:
        if args.json:
            _print_json({"ok": False, "errors": [str(exc)]})
        else:
            print(f"invalid: {exc}", file=sys.stderr)
        return 1
    problems = rule_problems(kb)
    if args.json:
        _print_json({"ok": not problems, "errors": problems, "entries": len(kb.entries)})
    elif problems:
        for problem in problems:
            print(f"invalid: {problem}", file=sys.stderr)
    else:
        docs = ", ".join(d.number for d in kb.documents)
        print(f"ok: {len(kb.entries)} entries in {len(kb.documents)} document(s) ({docs})")
    return 1 if problems else 0


def cmd_kb_list(args: argparse.Namespace) -> int:
    kb = load_knowledge_base()
    rows = [
        {
            "id": e.id,
            "kind": e.kind,
            "number": e.number,
            "section": e.section,
            "title": e.title.get(args.lang),
        }
        for e in kb
    ]
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(f"{row['id']:<10} {row['title']}")
    return 0


def cmd_kb_show(args: argparse.Namespace) -> int:
    kb = load_knowledge_base()
    entry = kb.get(args.id)
    if entry is None:
        print(f"no entry '{args.id}'; try `policybot kb list`", file=sys.stderr)
        return 1
    if args.json:
        _print_json(entry.model_dump(mode="json", exclude_defaults=True))
        return 0
    status = validity_on(kb.document_of(entry.id), _today(args))
    print(render_card(kb, entry, args.lang, status))
    return 0


# --- parser -----------------------------------------------------------------------------


Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policybot", description="政策助手 — 衡政发〔2024〕4号 policy assistant"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    kb = sub.add_parser("kb", help="the knowledge base").add_subparsers(dest="kb_command", required=True)
    validate = kb.add_parser("validate", help="check data files (default: the shipped ones)")
    validate.add_argument("path", nargs="?")
    validate.add_argument("--json", action="store_true")
    validate.set_defaults(handler=cmd_kb_validate)
    listing = kb.add_parser("list", help="all entries")
    listing.add_argument("--lang", choices=["zh", "en"], default="zh")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_kb_list)
    show = kb.add_parser("show", help="one entry")
    show.add_argument("id")
    show.add_argument("--lang", choices=["zh", "en"], default="zh")
    show.add_argument("--date", type=_date_arg, help="judge validity as of this day (YYYY-MM-DD)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_kb_show)

    from bot.app import add_commands

    add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
