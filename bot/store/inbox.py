"""The staff inbox: questions the bot declined, asked back about, or answered with low
confidence, similar ones grouped, for staff to decide on (attach, out of scope, ignore).

Nothing is learned without a staff decision. A group drops out of the inbox once decided, or
when the current knowledge base answers its example confidently (an edit fixed it), or when it
is a greeting.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from rapidfuzz import fuzz

from bot.store.db import Database
from bot.store.versions import STAFF_REFERRAL
from knowledge.matcher import Decision, Matcher
from knowledge.text import normalize, strip_punct

LOW_CONFIDENCE: Final = 7.0  # an answer whose evidence is under this is "low confidence" (decline is < 3.0)
WINDOW_DAYS: Final = 90  # questions older than this are not shown (the log keeps 90 days)
MAX_QUESTIONS: Final = 2000  # the newest undecided questions looked at
MAX_GROUPS: Final = 300
SAME_GROUP: Final = 80  # rapidfuzz ratio of the texts (or of their words) that puts two questions together

Sort = Literal["new", "freq"]


@dataclass(frozen=True)
class Asked:
    id: int
    ts: int
    text: str
    outcome: str
    top_id: str | None
    top_score: float | None


@dataclass
class Group:
    items: list[Asked]  # newest first
    decision: Decision | None = None  # the current knowledge base's answer to the example
    _keys: list[tuple[str, str]] = field(default_factory=list, repr=False)

    @property
    def key(self) -> int:
        """The id of the newest question: what the inbox's buttons name a group by."""
        return self.items[0].id

    @property
    def example(self) -> str:
        return self.items[0].text

    @property
    def latest(self) -> int:
        return self.items[0].ts

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def ids(self) -> list[int]:
        return [item.id for item in self.items]

    def phrasings(self, limit: int = 5) -> list[str]:
        """Distinct wordings, newest first."""
        return list(dict.fromkeys(item.text for item in self.items))[:limit]

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.items:
            kind = "low" if item.outcome == "answer" else item.outcome
            counts[kind] = counts.get(kind, 0) + 1
        return counts


def _key(text: str) -> str:
    """Normalised, no punctuation or spaces: 吗/呢, commas and typos count little."""
    return re.sub(r"\s+", "", strip_punct(normalize(text).lower()))


def _similar(a: tuple[str, str], b: tuple[str, str]) -> bool:
    (text_a, words_a), (text_b, words_b) = a, b
    if fuzz.ratio(text_a, text_b) >= SAME_GROUP:
        return True
    return " " in words_a and " " in words_b and fuzz.token_sort_ratio(words_a, words_b) >= SAME_GROUP + 5


def group(items: Sequence[Asked], matcher: Matcher | None) -> list[Group]:
    """Greedy grouping, newest first: a question joins the first group it is similar to (its
    text, or its words in any order; without a matcher to cut words, its text)."""
    groups: list[Group] = []
    for item in items:
        key = _key(item.text)
        words = " ".join(sorted(set(matcher.words(normalize(item.text).lower())))) if matcher else ""
        keys = (key, words)
        for candidate in groups:
            if any(_similar(keys, other) for other in candidate._keys[:5]):
                candidate.items.append(item)
                if keys not in candidate._keys:
                    candidate._keys.append(keys)
                break
        else:
            groups.append(Group([item], _keys=[keys]))
    return groups


def _open(decision: Decision, matcher: Matcher) -> bool:
    """Does the current knowledge base still leave this question to staff?"""
    referral = decision.referral
    if referral is not None and (referral.kind == "greeting" or referral.id.startswith(STAFF_REFERRAL)):
        return False  # a greeting, or staff ruled it out of scope already
    if decision.outcome == "answer":
        return decision.matches[0].score < LOW_CONFIDENCE
    return True


async def undecided(db: Database, *, now: int | None = None) -> list[Asked]:
    since = (int(time.time()) if now is None else now) - WINDOW_DAYS * 86400
    rows = await db.fetchall(
        "SELECT id, ts, text, outcome, top_id, top_score FROM question_log "
        "WHERE ts >= ? AND (outcome IN ('decline', 'clarify') OR (outcome = 'answer' AND top_score < ?)) "
        "AND id NOT IN (SELECT question_id FROM inbox_handled) ORDER BY id DESC LIMIT ?",
        (since, LOW_CONFIDENCE, MAX_QUESTIONS),
    )
    return [Asked(int(r[0]), int(r[1]), str(r[2]), str(r[3]), r[4], r[5]) for r in rows]


def _triage(items: list[Asked], matcher: Matcher) -> list[Group]:
    groups = group(items, matcher)[:MAX_GROUPS]
    kept = []
    for candidate in groups:
        candidate.decision = matcher.decide(candidate.example)
        if _open(candidate.decision, matcher):
            kept.append(candidate)
    return kept


async def pending(
    db: Database, matcher: Matcher, *, sort: Sort = "new", now: int | None = None
) -> list[Group]:
    """The inbox: undecided groups, newest (or most asked) first."""
    items = await undecided(db, now=now)
    groups = await asyncio.to_thread(_triage, items, matcher)
    if sort == "freq":
        groups.sort(key=lambda g: (g.count, g.latest), reverse=True)
    else:
        groups.sort(key=lambda g: g.latest, reverse=True)
    return groups


def find(groups: Sequence[Group], key: int) -> Group | None:
    """The group a button names (by its newest question then; new questions may have joined)."""
    return next((g for g in groups if key in g.ids), None)
