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


def date_arg(text: str) -> str:
    """An argparse type: a YYYY-MM-DD day, kept as text."""
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


# --- ask and eval -------------------------------------------------------------------------


def cmd_ask(args: argparse.Namespace) -> int:
    from eligibility.answer import Assistant

    assistant = Assistant(load_knowledge_base(), today=lambda: _today(args))
    if args.question != "-":
        answer = assistant.ask(args.question, args.lang)
        if args.json:
            print(json.dumps(answer.as_json(), ensure_ascii=False))
        else:
            print(answer.text)
        return 0
    # One question a line, one JSON object a line: the process stays up for the whole batch.
    for line in sys.stdin:
        question = line.rstrip("\n")
        if not question.strip():
            continue
        answer = assistant.ask(question, args.lang)
        if args.json:
            sys.stdout.write(json.dumps(answer.as_json(), ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(answer.text + "\n\n")
        sys.stdout.flush()
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from knowledge.evaluate import EVAL_FILE, report

    path = Path(args.path) if args.path else EVAL_FILE
    result = report(load_knowledge_base(), path)
    if args.json:
        _print_json(result)
        return 0
    print(
        f"evaluation set: {path} ({result['matcher']['in_scope']} in scope, {result['matcher']['out_of_scope']} out of scope)"
    )
    header = f"{'':<26}{'top-1':>7}{'top-3':>7}{'oos declined':>14}{'false decline':>15}{'clarify':>9}"
    print(header)
    for name in ("matcher", "baseline_bm25"):
        r = result[name]
        print(
            f"{name:<26}{r['top1']:>7.3f}{r['top3']:>7.3f}{r['oos_declined']:>14.3f}"
            f"{r['false_decline']:>15.3f}{r['clarify']:>9.3f}"
        )
    print("\nper style (matcher | baseline):")
    base_styles = result["baseline_bm25"]["per_style"]
    for style, r in result["matcher"]["per_style"].items():
        b = base_styles[style]
        if style.startswith("oos:"):
            print(f"  {style:<22} n={r['n']:<4} declined {r['declined']:.2f} | {b['declined']:.2f}")
        else:
            print(
                f"  {style:<22} n={r['n']:<4} top-1 {r['top1']:.2f} | {b['top1']:.2f}   top-3 {r['top3']:.2f}"
                f"   declined {r['declined']:.2f}   clarified {r['clarified']:.2f}"
            )
    if args.misses:
        print("\nmisses:")
        for miss in result["matcher"]["misses"]:
            print(f"  {miss}")
    return 0


# --- check ------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    from eligibility.profiles import ProfileError, read_profiles
    from eligibility.screening import screen

    kb = load_knowledge_base()
    on = _today(args)
    path = Path(args.profile)
    try:
        profiles = list(read_profiles(path))
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = [(p, screen(kb, p.facts, on)) for p in profiles]
    if path.suffix.lower() == ".csv":
        _write_csv(results, [m.id for m in kb.measures()])
        return 0
    for profile, result in results:
        data = result.as_dict(args.lang)
        if profile.label is not None:
            data = {"profile": profile.label, **data}
        if args.json or path.suffix.lower() == ".jsonl":
            print(json.dumps(data, ensure_ascii=False, indent=None if path.suffix.lower() == ".jsonl" else 2))
        else:
            _print_screening(data)
    return 0


def _write_csv(results: list[tuple[Any, Any]], ids: list[str]) -> None:
    import csv

    writer = csv.writer(sys.stdout)
    writer.writerow(
        [
            "row",
            "profile",
            "date",
            "in_force",
            *[f"{i}_{c}" for i in ids for c in ("verdict", "max_amount_cny")],
            "total_max_amount_cny",
        ]
    )
    for profile, result in results:
        cells: list[Any] = [profile.row, profile.label or "", result.on.isoformat(), result.validity.in_force]
        by_id = {m.id: m for m in result.measures}
        for i in ids:
            amount = by_id[i].max_amount_cny
            cells += [by_id[i].verdict, "" if amount is None else amount]
        writer.writerow([*cells, result.total_max_amount_cny])


def _print_screening(data: dict[str, Any]) -> None:
    if data["warning"]:
        print(data["warning"], end="\n\n")
    for verdict in ("eligible", "unknown", "ineligible"):
        for m in (m for m in data["measures"] if m["verdict"] == verdict):
            amount = f" max {m['max_amount_cny']}" if m["max_amount_cny"] is not None else ""
            print(
                f"{m['id']:<5} {verdict}{amount}"
                + (f"  missing: {', '.join(m['missing'])}" if m["missing"] else "")
            )
    print(f"\ntotal max: {data['total_max_amount_cny']}")
    print(data["disclaimer"])


# --- parser -----------------------------------------------------------------------------


Handler = Callable[[argparse.Namespace], int]


def _reading_options(parser: argparse.ArgumentParser, date_help: str) -> None:
    """--json, --lang and --date, as every command that shows policy content takes them."""
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--lang", choices=["zh", "en"], default="zh")
    parser.add_argument("--date", type=date_arg, help=date_help)


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
    _reading_options(show, "judge validity as of this day (YYYY-MM-DD)")
    show.set_defaults(handler=cmd_kb_show)

    ask = sub.add_parser("ask", help="answer a question (- reads one question a line from stdin)")
    ask.add_argument("question")
    _reading_options(ask, "judge validity as of this day (YYYY-MM-DD)")
    ask.set_defaults(handler=cmd_ask)

    evaluate = sub.add_parser("eval", help="answer quality on the evaluation set, beside a BM25 baseline")
    evaluate.add_argument("path", nargs="?", help="default: evaluation/questions.yaml")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--misses", action="store_true", help="list the questions it got wrong")
    evaluate.set_defaults(handler=cmd_eval)

    check = sub.add_parser("check", help="screen profiles (.json, .jsonl, .csv) against every measure")
    check.add_argument("profile")
    _reading_options(check, "screen as of this day (YYYY-MM-DD)")
    check.set_defaults(handler=cmd_check)

    from bot.app import add_commands

    add_commands(sub, kb)  # run, chat, stats; kb export/import/history/rollback (bot/staff_cli.py)
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
