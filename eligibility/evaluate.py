"""Answer quality on situational sets (evaluation/answers/*.yaml): not only which clause, but the
direct answer (yes / no / depends) and the maximum for the situation stated, with follow-ups read
with their context — beside a plain jieba + BM25 baseline on the same messages, in the same run.

An item: {q, context?: [earlier messages], style, gold: [ids] ([] = must be declined), yes_no?,
amount?}; the set's `date` is the day the answers are judged on.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from eligibility.answer import Answer, Assistant
from knowledge.evaluate import BaselineBM25
from knowledge.loader import KnowledgeBase
from knowledge.matcher import Decision


@dataclass(frozen=True)
class Item:
    q: str
    context: tuple[str, ...]
    style: str
    gold: tuple[str, ...]
    yes_no: str | None
    amount: int | None


def _yes_no(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):  # an unquoted yes/no in YAML 1.1
        return "yes" if value else "no"
    return str(value)


def load_items(path: Path) -> tuple[date, list[Item]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    on = raw.get("date") or date(2025, 6, 1)
    items = [
        Item(
            str(i["q"]),
            tuple(str(c) for c in i.get("context") or ()),
            str(i.get("style", "?")),
            tuple(i.get("gold") or ()),
            _yes_no(i.get("yes_no")),
            None if i.get("amount") is None else int(i["amount"]),
        )
        for i in raw["items"]
    ]
    return (on if isinstance(on, date) else date.fromisoformat(str(on))), items


@dataclass
class _Tally:
    n: int = 0
    top1: int = 0
    top3: int = 0
    declined: int = 0
    yes_no_n: int = 0
    yes_no_ok: int = 0
    amount_n: int = 0
    amount_ok: int = 0

    def rates(self) -> dict[str, float | int]:
        def share(a: int, b: int) -> float:
            return round(a / b, 3) if b else 0.0

        return {
            "n": self.n,
            "top1": share(self.top1, self.n),
            "top3": share(self.top3, self.n),
            "declined": share(self.declined, self.n),
            "yes_no": share(self.yes_no_ok, self.yes_no_n),
            "yes_no_n": self.yes_no_n,
            "amount": share(self.amount_ok, self.amount_n),
            "amount_n": self.amount_n,
        }


def _amount_ok(answer: Answer, expected: int) -> bool:
    got = answer.direct.max_amount_cny if answer.direct is not None else None
    if expected == 0:
        return got in (0, None) and (answer.direct is None or answer.direct.answer != "yes")
    return got == expected


def evaluate_answers(assistant: Assistant, kb: KnowledgeBase, items: list[Item]) -> dict[str, Any]:
    inside, outside = _Tally(), _Tally()
    styles: dict[str, _Tally] = defaultdict(_Tally)
    baseline_in, baseline_out = _Tally(), _Tally()
    bm25 = BaselineBM25(kb)
    misses: list[dict[str, Any]] = []
    for item in items:
        answer = assistant.ask(item.q, "en" if item.style == "english" else "zh", context=list(item.context))
        ids = [m.id for m in answer.decision.matches]
        declined = answer.outcome == "decline"
        base = bm25.decide(item.q)
        base_ids = [m.id for m in base.matches]
        style = styles[item.style if item.gold else f"oos:{item.style}"]
        if not item.gold:
            for tally in (outside, style):
                tally.n += 1
                tally.declined += declined
            baseline_out.n += 1
            baseline_out.declined += base.outcome == "decline"
            if not declined:
                misses.append({"q": item.q, "gold": [], "got": ids[:1], "outcome": answer.outcome})
            continue
        hit = not declined and bool(ids) and ids[0] in item.gold
        for tally in (inside, style):
            tally.n += 1
            tally.declined += declined
            tally.top1 += hit
            tally.top3 += not declined and bool(set(ids[:3]) & set(item.gold))
        baseline_in.n += 1
        baseline_in.top1 += bool(base_ids) and base_ids[0] in item.gold
        baseline_in.top3 += bool(set(base_ids[:3]) & set(item.gold))
        baseline_in.declined += base.outcome == "decline"
        miss: dict[str, Any] = {}
        if not hit:
            miss["got"] = ids[:1] if not declined else "decline"
        if item.yes_no is not None:
            got = answer.direct.answer if answer.direct is not None else None
            ok = got == item.yes_no
            for tally in (inside, style):
                tally.yes_no_n += 1
                tally.yes_no_ok += ok
            if not ok:
                miss["yes_no"] = f"{got} (expected {item.yes_no})"
        if item.amount is not None:
            ok = _amount_ok(answer, item.amount)
            for tally in (inside, style):
                tally.amount_n += 1
                tally.amount_ok += ok
            if not ok:
                got_amount = answer.direct.max_amount_cny if answer.direct else None
                miss["amount"] = f"{got_amount} (expected {item.amount})"
        if miss:
            misses.append({"q": item.q, "context": list(item.context), "gold": list(item.gold), **miss})
    return {
        "in_scope": inside.n,
        "out_of_scope": outside.n,
        "assistant": {**inside.rates(), "oos_declined": outside.rates()["declined"]},
        "baseline_bm25": {**baseline_in.rates(), "oos_declined": baseline_out.rates()["declined"]},
        "per_style": {k: v.rates() for k, v in sorted(styles.items())},
        "misses": misses,
    }


class AssistantDecider:
    """The assistant's own choice of clause for a message (what `ask` shows the user), for the
    question sets that grade only the clause: the matcher's decision as the assistant revises it
    with the situation the message states."""

    def __init__(self, kb: KnowledgeBase, on: date | None = None) -> None:
        self.assistant = Assistant(kb, today=(lambda: on) if on else date.today)

    def decide(self, query: str) -> Decision:
        return self.assistant.ask(query).decision


def report_answers(kb: KnowledgeBase, path: Path) -> dict[str, Any]:
    on, items = load_items(path)
    assistant = Assistant(kb, today=lambda: on)
    return {"set": str(path), "date": on.isoformat(), **evaluate_answers(assistant, kb, items)}
