"""`policybot kb …`: the knowledge base. validate, list and show read the data files (the shipped
ones, or --kb DIR); export, import, history and rollback work on the bot's database (DATABASE_PATH,
or --db), the same store as /export, an uploaded file, /history and /rollback in Telegram; a running
bot picks a change up within seconds. Exit codes: 0 done, 1 refused (invalid file, unknown change:
nothing changed), 2 the database cannot be used."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.common import (
    add_db,
    add_json,
    add_kb,
    add_lang,
    add_reading,
    database,
    dumps,
    kb_dir,
    print_json,
    today,
)

if TYPE_CHECKING:
    from bot.store.versions import Change, KnowledgeStore, Plan, Version

Job = Callable[["KnowledgeStore", argparse.Namespace], Awaitable[int]]


# --- the data files ---------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from eligibility.validate import rule_problems
    from knowledge.loader import DATA_DIR, KnowledgeError, load_knowledge_base

    path = Path(args.path) if args.path else kb_dir(args) or DATA_DIR
    try:
        kb = load_knowledge_base(path)
    except KnowledgeError as exc:
        if args.json:
            print_json({"ok": False, "errors": [str(exc)]})
        else:
            print(f"invalid: {exc}", file=sys.stderr)
        return 1
    problems = rule_problems(kb)
    if args.json:
        print_json({"ok": not problems, "errors": problems, "entries": len(kb.entries)})
    elif problems:
        for problem in problems:
            print(f"invalid: {problem}", file=sys.stderr)
    else:
        docs = ", ".join(d.number for d in kb.documents)
        print(f"ok: {len(kb.entries)} entries in {len(kb.documents)} document(s) ({docs})")
    return 1 if problems else 0


def cmd_list(args: argparse.Namespace) -> int:
    from knowledge.loader import load_knowledge_base

    kb = load_knowledge_base(kb_dir(args))
    rows = [
        {
            "id": key,
            "document": kb.document_of(key).number,
            "kind": e.kind,
            "number": e.number,
            "section": e.section,
            "title": e.title.get(args.lang),
        }
        for key, e in kb.entries.items()
    ]
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['id']:<10} {row['title']}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from knowledge.loader import load_knowledge_base
    from knowledge.render import render_card
    from knowledge.validity import validity_on

    kb = load_knowledge_base(kb_dir(args))
    entry = kb.get(args.id)
    if entry is None:
        print(f"no entry '{args.id}'; try `policybot kb list`", file=sys.stderr)
        return 1
    if args.json:
        print(dumps(entry.model_dump(mode="python", exclude_defaults=True), indent=2))
        return 0
    status = validity_on(kb.document_of(args.id), today(args))
    print(render_card(kb, entry, args.lang, status))
    return 0


# --- the bot's database -------------------------------------------------------------------------


def who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def run_on_store(job: Job, args: argparse.Namespace) -> int:
    """Run `job` on the knowledge store of the bot's database, with the exit codes above."""
    import asyncio

    from pydantic import ValidationError

    from bot.store.db import DatabaseError, open_database
    from bot.store.versions import KnowledgeStore
    from knowledge.loader import DATA_DIR, KnowledgeError

    async def main() -> int:
        db = await open_database(database(args))
        try:
            return await job(KnowledgeStore(db, kb_dir(args) or DATA_DIR), args)
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
    from bot.staff.describe import describe

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


async def _export(store: KnowledgeStore, args: argparse.Namespace) -> int:
    import asyncio

    from knowledge.loader import KnowledgeError

    documents = await store.current()
    if args.doc is None and len(documents) > 1:
        raise KnowledgeError(
            f"several documents: choose one with --doc ({', '.join(d.doc for d in documents)})"
        )
    current = await store.document(args.doc)
    text = await store.export(current)
    if args.file == "-":
        sys.stdout.write(text)
    else:
        await asyncio.to_thread(Path(args.file).write_text, text, encoding="utf-8")
        print(f"exported {current.doc} (change #{current.version_id}) to {args.file}", file=sys.stderr)
        if current.source is not None:  # a document staff added: its text goes beside it
            document = current.raw.get("document") or {}
            beside = Path(args.file).parent / str(document.get("source_file") or f"{current.doc}.md")
            await asyncio.to_thread(beside.write_text, current.source, encoding="utf-8")
            print(f"exported its source text to {beside}", file=sys.stderr)
    return 0


async def _import(store: KnowledgeStore, args: argparse.Namespace) -> int:

    from knowledge import overlay

    path = Path(args.file)
    raw = overlay.load_raw(await _read(path), path.name)
    source = await _source(path, raw, args.source)
    plan = await store.plan_import(raw, path.name, source)
    if plan.action == "add":
        from bot.store.versions import summary

        number = summary(raw).get("number")
        print(f"{path.name}: valid with its source text; a new document {plan.doc} ({number}):")
    else:
        print(
            f"{path.name}: valid; {len(plan.changes)} changes to {plan.doc} (now at change #{plan.base_id}):"
        )
    return await _apply(
        store, plan, dry_run=args.dry_run, done="added" if plan.action == "add" else "imported"
    )


async def _read(path: Path) -> str:
    import asyncio

    from knowledge.loader import KnowledgeError

    try:
        return await asyncio.to_thread(path.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path.name}: cannot read: {exc}") from None


async def _source(path: Path, raw: dict[str, Any], given: str | None) -> str | None:
    """A document's source text: --source FILE, else the file its `source_file` names beside it
    (a new document needs it; the store says so when it is missing)."""
    if given:
        return await _read(Path(given))
    document = raw.get("document")
    name = document.get("source_file") if isinstance(document, dict) else None
    beside = path.parent / str(name) if isinstance(name, str) and name else None
    return await _read(beside) if beside is not None and beside.is_file() else None


async def _remove(store: KnowledgeStore, args: argparse.Namespace) -> int:
    plan = await store.plan_remove(args.doc)
    print(f"removing {args.doc} from the knowledge base (change #{plan.base_id}; a rollback restores it):")
    return await _apply(store, plan, dry_run=args.dry_run, done="removed")


async def _history(store: KnowledgeStore, args: argparse.Namespace) -> int:
    from bot.staff.describe import short, when

    versions = await store.history(args.id, limit=args.limit)
    if args.json:
        print_json([version_json(v) for v in versions])
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


def _on_store(job: Job) -> Callable[[argparse.Namespace], int]:
    return lambda args: run_on_store(job, args)


# --- the parser ---------------------------------------------------------------------------------


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kb = sub.add_parser("kb", help="the knowledge base").add_subparsers(dest="kb_command", required=True)

    validate = kb.add_parser("validate", help="check data files (default: the shipped ones)")
    validate.add_argument("path", nargs="?")
    add_json(validate)
    add_kb(validate)
    validate.set_defaults(handler=cmd_validate)

    listing = kb.add_parser("list", help="all entries")
    add_lang(listing)
    add_json(listing)
    add_kb(listing)
    listing.set_defaults(handler=cmd_list)

    show = kb.add_parser("show", help="one entry")
    show.add_argument("id")
    add_reading(show)
    add_kb(show)
    show.set_defaults(handler=cmd_show)

    export = kb.add_parser("export", help="the current knowledge base (shipped files + staff edits) as YAML")
    export.add_argument("file", help="where to write it (- for standard output)")
    export.add_argument("--doc", help="the document id, when there are several")
    add_db(export)
    add_kb(export)
    export.set_defaults(handler=_on_store(_export))

    imp = kb.add_parser(
        "import",
        help="validate a YAML file (a new document: with its source text), show the differences, apply",
    )
    imp.add_argument("file")
    imp.add_argument(
        "--source", metavar="FILE", help="the document's source text (default: its source_file beside FILE)"
    )
    imp.add_argument("--dry-run", action="store_true", help="validate and show the differences only")
    add_db(imp)
    add_kb(imp)
    imp.set_defaults(handler=_on_store(_import))

    remove = kb.add_parser(
        "remove", help="take document DOC out of the knowledge base (rollback restores it)"
    )
    remove.add_argument("doc", metavar="DOC", help="the document's id (see `policybot kb list --json`)")
    remove.add_argument("--dry-run", action="store_true", help="show what would change only")
    add_db(remove)
    add_kb(remove)
    remove.set_defaults(handler=_on_store(_remove))

    history = kb.add_parser("history", help="recent changes (of one entry, or 'document')")
    history.add_argument("id", nargs="?")
    history.add_argument("--limit", type=int, default=20)
    add_json(history)
    add_db(history)
    add_kb(history)
    history.set_defaults(handler=_on_store(_history))

    rollback = kb.add_parser("rollback", help="undo change CHANGE: back to the state before it")
    rollback.add_argument("change", type=lambda text: int(text.lstrip("#")), metavar="CHANGE")
    rollback.add_argument("--dry-run", action="store_true", help="show what would change only")
    add_db(rollback)
    add_kb(rollback)
    rollback.set_defaults(handler=_on_store(_rollback))
