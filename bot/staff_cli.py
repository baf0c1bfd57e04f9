"""`policybot kb export|import|history|rollback` and `policybot stats`: the staff's work on the
command line, on the bot's database (DATABASE_PATH, or --db). The same store as /export, an
uploaded file, /history, /rollback and /stats in Telegram; a running bot picks a change up within
seconds. Exit codes: 0 done, 1 refused (invalid file, unknown change: nothing changed), 2 the
database cannot be used.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.config import Settings
from bot.db import DatabaseError, open_database
from bot.kb_store import Change, KnowledgeStore, Plan, Version
from bot.staff_views import describe, short, when
from bot.stats import OUTCOMES, collect
from knowledge import overlay
from knowledge.loader import KnowledgeError

Job = Callable[[KnowledgeStore, argparse.Namespace], Awaitable[int]]


def who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _database(args: argparse.Namespace) -> Path:
    return Path(args.db) if getattr(args, "db", None) else Settings().database_path


def _run(job: Job, args: argparse.Namespace) -> int:
    async def main() -> int:
        db = await open_database(_database(args))
        try:
            return await job(KnowledgeStore(db), args)
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except (DatabaseError, ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KnowledgeError as exc:
        print(f"refused: {exc}\nnothing changed", file=sys.stderr)
        return 1


def change_lines(change: Change) -> list[str]:
    head = f"{change.target}.{change.field}" if change.field != "*" else change.target
    lines = describe(change)
    return [f"    {head}: {lines[0]}", *(f"    {' ' * len(head)}  {line}" for line in lines[1:])]


def version_json(version: Version) -> dict[str, Any]:
    return {
        "id": version.id,
        "ts": datetime.fromtimestamp(version.ts, UTC).isoformat(),
        "who": version.who,
        "action": version.action,
        "doc": version.doc,
        "note": version.note,
        "changes": [
            {"target": c.target, "field": c.field, "before": c.before, "after": c.after}
            for c in version.changes
        ],
    }


def _print_changes(changes: tuple[Change, ...] | list[Change]) -> None:
    for change in changes:
        print("\n".join(change_lines(change)))


# --- the commands -----------------------------------------------------------------------------


async def _export(store: KnowledgeStore, args: argparse.Namespace) -> int:
    documents = await store.current()
    if args.doc is None and len(documents) > 1:
        raise KnowledgeError(
            f"several documents: choose one with --doc ({', '.join(d.doc for d in documents)})"
        )
    current = await store.document(args.doc)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"# {current.doc}: exported from 政策助手 at {stamp}, change #{current.version_id}\n"
    text += overlay.dump(current.raw)
    if args.file == "-":
        sys.stdout.write(text)
    else:
        await asyncio.to_thread(Path(args.file).write_text, text, encoding="utf-8")
        print(f"exported {current.doc} (change #{current.version_id}) to {args.file}", file=sys.stderr)
    return 0


async def _import(store: KnowledgeStore, args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path.name}: cannot read: {exc}") from None
    plan = await store.plan_import(overlay.load_raw(text, path.name), path.name)
    print(f"{path.name}: valid; {len(plan.changes)} changes to {plan.doc} (now at change #{plan.base_id}):")
    return await _apply(store, plan, dry_run=args.dry_run, done="imported")


async def _history(store: KnowledgeStore, args: argparse.Namespace) -> int:
    versions = await store.history(args.id, limit=args.limit)
    if args.json:
        print(json.dumps([version_json(v) for v in versions], ensure_ascii=False, indent=2))
        return 0
    if not versions:
        print("no changes" + (f" to {args.id}" if args.id else ""))
    for version in versions:
        note = f"  ({version.note})" if version.note else ""
        print(f"#{version.id:<5} {when(version.ts)}  {version.who:<14} {version.action}{note}")
        _print_changes(version.changes)
    conflicts = await store.conflicts()
    if conflicts and not args.id:
        print(
            f"\n{len(conflicts)} open conflicts between the release and staff edits (settle them with /conflicts):"
        )
        for conflict in conflicts:
            print(
                f"  {conflict.id}: {conflict.target}.{conflict.field}: staff {short(conflict.ours)} · "
                f"release {short(conflict.theirs)}"
            )
    return 0


async def _rollback(store: KnowledgeStore, args: argparse.Namespace) -> int:
    plan = await store.plan_rollback(args.change)
    print(f"rolling back change #{args.change} (back to the state before it):")
    return await _apply(store, plan, dry_run=args.dry_run, done="rolled back")


async def _apply(store: KnowledgeStore, plan: Plan, *, dry_run: bool, done: str) -> int:
    """Show a planned change, then commit it (not on a dry run)."""
    _print_changes(plan.changes)
    if dry_run:
        print("dry run: nothing changed")
        return 0
    version = await store.commit(plan, who())
    print(f"{done} as change #{version.id}" if version else "nothing changed")
    return 0


async def _stats(store: KnowledgeStore, args: argparse.Namespace) -> int:
    data = await collect(store.db, days=args.days)
    if args.json:
        print(json.dumps(data.as_json(), ensure_ascii=False, indent=2))
        return 0
    kb, _ = await store.knowledge()
    print(f"{data.since} to {data.until} (UTC): {data.questions} questions")
    for day, count in data.per_day:
        print(f"  {day}  {count:>5}")
    shares = "  ".join(f"{o} {data.outcomes.get(o, 0)} ({data.share(o):.0%})" for o in OUTCOMES)
    print(f"outcomes: {shares}")
    if data.top_entries:
        print("most asked entries:")
        for entry_id, count in data.top_entries:
            entry = kb.get(entry_id)
            print(f"  {entry_id:<10} {count:>5}  {entry.title.zh if entry else ''}")
    print(f"interviews: {data.interviews_started} started, {data.interviews_finished} finished")
    return 0


# --- the parser -------------------------------------------------------------------------------

DB_HELP = "SQLite database (default: DATABASE_PATH or data/policybot.sqlite3)"


def _bind(job: Job) -> Callable[[argparse.Namespace], int]:
    return lambda args: _run(job, args)


def add_kb_commands(kb: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = kb.add_parser("export", help="the current knowledge base (shipped files + staff edits) as YAML")
    export.add_argument("file", help="where to write it (- for standard output)")
    export.add_argument("--doc", help="the document id, when there are several")
    export.add_argument("--db", metavar="PATH", help=DB_HELP)
    export.set_defaults(handler=_bind(_export))

    imp = kb.add_parser("import", help="validate a YAML file, show the differences and apply it")
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="validate and show the differences only")
    imp.add_argument("--db", metavar="PATH", help=DB_HELP)
    imp.set_defaults(handler=_bind(_import))

    history = kb.add_parser("history", help="recent changes (of one entry, or 'document')")
    history.add_argument("id", nargs="?")
    history.add_argument("--limit", type=int, default=20)
    history.add_argument("--json", action="store_true")
    history.add_argument("--db", metavar="PATH", help=DB_HELP)
    history.set_defaults(handler=_bind(_history))

    rollback = kb.add_parser("rollback", help="undo change CHANGE: back to the state before it")
    rollback.add_argument("change", type=lambda text: int(text.lstrip("#")), metavar="CHANGE")
    rollback.add_argument("--dry-run", action="store_true", help="show what would change only")
    rollback.add_argument("--db", metavar="PATH", help=DB_HELP)
    rollback.set_defaults(handler=_bind(_rollback))


def add_stats_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stats = sub.add_parser("stats", help="questions per day, outcomes, most asked entries, interviews")
    stats.add_argument("--days", type=int, default=14, choices=range(1, 91), metavar="N", help="1-90 (14)")
    stats.add_argument("--json", action="store_true")
    stats.add_argument("--db", metavar="PATH", help=DB_HELP)
    stats.set_defaults(handler=_bind(_stats))
