"""Answer quality on an evaluation set, beside a plain jieba + BM25 baseline in the same run.

The set (evaluation/questions.yaml) was written from users' point of view, apart from the
knowledge base's own sample questions; a test keeps the two disjoint.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jieba
import yaml

from knowledge.loader import KnowledgeBase
from knowledge.matcher import BM25, CJK, STOP_ZH, Decision, Match, Matcher
from knowledge.text import normalize

REPO_DIR = Path(__file__).resolve().parents[1]
EVAL_FILE = REPO_DIR / "evaluation" / "questions.yaml"


@dataclass(frozen=True)
class Question:
    q: str
    gold: tuple[str, ...]  # empty: out of scope
    style: str


def load_questions(path: Path) -> list[Question]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions = [
        Question(str(i["q"]), tuple(i["gold"]), str(i.get("style", "?"))) for i in raw.get("in_scope", [])
    ]
    questions += [
        Question(str(i["q"]), (), str(i.get("style", "out_of_scope"))) for i in raw.get("out_of_scope", [])
    ]
    return questions


class Decider(Protocol):
    def decide(self, query: str) -> Decision: ...


class BaselineBM25:
    """The bar to beat: the textbook FAQ retriever. jieba's default dictionary, BM25 over each
    entry's own text (title, summary, source), none of our search aids (keywords, synonyms,
    sample questions, pinyin, English fields); answers its top hit whenever a word matches."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._ids = [e.id for e in kb]
        docs = []
        for entry in kb:
            counts: dict[str, float] = defaultdict(float)
            for token in self._words(" ".join([entry.title.zh, entry.summary.zh, entry.source])):
                counts[token] += 1
            docs.append(counts)
        self._index = BM25.build(docs)

    @staticmethod
    def _words(text: str) -> list[str]:
        tokens = jieba.lcut_for_search(normalize(text))
        return [
            t
            for t in (t.strip() for t in tokens)
            if t and t not in STOP_ZH and (t.isalnum() or CJK.search(t))
        ]

    def decide(self, query: str) -> Decision:
        scores = self._index.scores(self._words(query))
        ranked = sorted(scores.items(), key=lambda item: -item[1])[:3]
        matches = tuple(Match(self._ids[d], round(s, 4)) for d, s in ranked)
        return Decision(query, "answer" if matches else "decline", matches)


@dataclass
class Tally:
    n: int = 0
    top1: int = 0
    top3: int = 0
    declined: int = 0
    clarified: int = 0

    def add(self, decision: Decision, gold: Sequence[str]) -> None:
        self.n += 1
        ids = [m.id for m in decision.matches]
        if decision.outcome == "decline":
            self.declined += 1
            return
        if decision.outcome == "clarify":
            self.clarified += 1
        self.top1 += bool(ids and ids[0] in gold)
        self.top3 += bool(set(ids[:3]) & set(gold))

    def rates(self) -> dict[str, float]:
        n = self.n or 1
        return {
            "n": self.n,
            "top1": self.top1 / n,
            "top3": self.top3 / n,
            "declined": self.declined / n,
            "clarified": self.clarified / n,
        }


def evaluate(decider: Decider, questions: Sequence[Question]) -> dict[str, Any]:
    in_scope = Tally()
    out_scope = Tally()
    styles: dict[str, Tally] = defaultdict(Tally)
    misses: list[dict[str, Any]] = []
    for question in questions:
        decision = decider.decide(question.q)
        if question.gold:
            in_scope.add(decision, question.gold)
            styles[question.style].add(decision, question.gold)
            top = decision.matches[0].id if decision.matches else None
            if decision.outcome == "decline" or top not in question.gold:
                misses.append(
                    {"q": question.q, "gold": list(question.gold), "got": top, "outcome": decision.outcome}
                )
        else:
            out_scope.add(decision, ())
            styles[f"oos:{question.style}"].add(decision, ())
            if decision.outcome != "decline":
                top = decision.matches[0].id if decision.matches else None
                misses.append({"q": question.q, "gold": [], "got": top, "outcome": decision.outcome})
    inside = in_scope.rates()
    return {
        "in_scope": inside["n"],
        "out_of_scope": out_scope.n,
        "top1": inside["top1"],
        "top3": inside["top3"],
        "false_decline": inside["declined"],
        "clarify": inside["clarified"],
        "oos_declined": out_scope.rates()["declined"],
        "per_style": {k: v.rates() for k, v in sorted(styles.items())},
        "misses": misses,
    }


def report(
    kb: KnowledgeBase, path: Path, make: Callable[[KnowledgeBase], Decider] = Matcher
) -> dict[str, Any]:
    questions = load_questions(path)
    matcher = make(kb)
    return {
        "set": str(path),
        "matcher": evaluate(matcher, questions),
        "baseline_bm25": evaluate(BaselineBM25(kb), questions),
    }


__all__ = ["EVAL_FILE", "BaselineBM25", "Question", "evaluate", "load_questions", "report"]
