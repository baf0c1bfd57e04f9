"""`policybot ask` and `policybot eval`: answers, one or a batch, and their quality."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from bot.cli.common import add_json, add_kb, add_reading, dumps, kb_dir, print_json, today


def _read_line(line: str) -> tuple[str, list[str]]:
    """A plain question, or {"text": ..., "context": [earlier messages, oldest first]}."""
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            data: Any = json.loads(stripped)
        except json.JSONDecodeError:
            return stripped, []
        if isinstance(data, dict) and isinstance(data.get("text"), str):
            context = data.get("context") or []
            return data["text"], [str(c) for c in context if isinstance(c, str)] if isinstance(
                context, list
            ) else []
    return stripped, []


def cmd_ask(args: argparse.Namespace) -> int:
    from eligibility.answer import Assistant
    from knowledge.loader import load_knowledge_base

    assistant = Assistant(load_knowledge_base(kb_dir(args)), today=lambda: today(args))
    if args.question != "-":
        answer = assistant.ask(args.question, args.lang)
        print(dumps(answer.as_json(assistant.kb)) if args.json else answer.text)
        return 0
    # One question a line, one answer (a JSON object with --json) a line: one process for the batch.
    for line in sys.stdin:
        if not line.strip():
            continue
        text, context = _read_line(line)
        answer = assistant.ask(text, args.lang, context=context)
        sys.stdout.write((dumps(answer.as_json(assistant.kb)) if args.json else answer.text + "\n") + "\n")
        sys.stdout.flush()
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from knowledge.evaluate import EVAL_FILE, report
    from knowledge.loader import load_knowledge_base

    path = Path(args.path) if args.path else EVAL_FILE
    if "items" in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}):
        return _eval_answers(args, path)
    from eligibility.evaluate import AssistantDecider

    result = report(load_knowledge_base(kb_dir(args)), path, make=AssistantDecider)
    if args.json:
        print_json(result)
        return 0
    print(
        f"evaluation set: {path} ({result['matcher']['in_scope']} in scope, {result['matcher']['out_of_scope']} out of scope)"
    )
    print(f"{'':<26}{'top-1':>7}{'top-3':>7}{'oos declined':>14}{'false decline':>15}{'clarify':>9}")
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


def _eval_answers(args: argparse.Namespace, path: Path) -> int:
    """A situational set: clause, direct answer and amount, follow-ups with their context."""
    from eligibility.evaluate import report_answers
    from knowledge.loader import load_knowledge_base

    result = report_answers(load_knowledge_base(kb_dir(args)), path)
    if args.json:
        print_json(result)
        return 0
    print(
        f"evaluation set: {path} ({result['in_scope']} in scope, {result['out_of_scope']} out of scope), on {result['date']}"
    )
    print(
        f"{'':<16}{'top-1':>7}{'top-3':>7}{'oos declined':>14}{'false decline':>15}{'yes/no':>8}{'amount':>8}"
    )
    for name in ("assistant", "baseline_bm25"):
        r = result[name]
        print(
            f"{name:<16}{r['top1']:>7.3f}{r['top3']:>7.3f}{r['oos_declined']:>14.3f}{r['declined']:>15.3f}"
            f"{r['yes_no']:>8.3f}{r['amount']:>8.3f}"
        )
    print("\nper style:")
    for style, r in result["per_style"].items():
        if style.startswith("oos:"):
            print(f"  {style:<22} n={r['n']:<4} declined {r['declined']:.2f}")
        else:
            extra = f"   yes/no {r['yes_no']:.2f} (n={r['yes_no_n']})" if r["yes_no_n"] else ""
            extra += f"   amount {r['amount']:.2f} (n={r['amount_n']})" if r["amount_n"] else ""
            print(
                f"  {style:<22} n={r['n']:<4} top-1 {r['top1']:.2f}   top-3 {r['top3']:.2f}   declined {r['declined']:.2f}{extra}"
            )
    if args.misses:
        print("\nmisses:")
        for miss in result["misses"]:
            print(f"  {miss}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ask = sub.add_parser("ask", help="answer a question (- reads one question a line from stdin)")
    ask.add_argument("question")
    add_reading(ask)
    add_kb(ask)
    ask.set_defaults(handler=cmd_ask)

    evaluate = sub.add_parser("eval", help="answer quality on the evaluation set, beside a BM25 baseline")
    evaluate.add_argument("path", nargs="?", help="default: evaluation/questions.yaml")
    add_json(evaluate)
    add_kb(evaluate)
    evaluate.add_argument("--misses", action="store_true", help="list the questions it got wrong")
    evaluate.set_defaults(handler=cmd_eval)
