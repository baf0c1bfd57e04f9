"""/stats and `policybot stats`: questions per day (and how each day's were answered), the most
asked entries, the most frequent unanswered questions (declined ones, similar texts grouped as in
the inbox), eligibility interviews started and finished.

Questions come from the question log (kept 90 days). Interviews are counted as the interview
tells `InterviewEvents` it started or finished: no user ids are stored with the counts.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from bot.store.db import Database
from bot.store.inbox import MAX_QUESTIONS, Asked, group

if TYPE_CHECKING:
    from knowledge.matcher import Matcher

OUTCOMES: Final = ("answer", "clarify", "decline")
STARTED: Final = "interview_started"
FINISHED: Final = "interview_finished"


@dataclass(frozen=True)
class Stats:
    since: date
    until: date
    per_day: tuple[tuple[date, int], ...]
    outcomes: dict[str, int]
    top_entries: tuple[tuple[str, int], ...]
    interviews_started: int
    interviews_finished: int
    by_day: tuple[tuple[date, dict[str, int]], ...] = ()  # each day's questions by outcome
    unanswered: tuple[tuple[str, int], ...] = ()  # (a declined question, how often it or alike came)

    @property
    def questions(self) -> int:
        return sum(self.outcomes.values())

    def share(self, outcome: str) -> float:
        return self.outcomes.get(outcome, 0) / self.questions if self.questions else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "questions": self.questions,
            "per_day": [
                {"date": d.isoformat(), "questions": sum(n.values()), **{o: n.get(o, 0) for o in OUTCOMES}}
                for d, n in self.by_day
            ],
            "outcomes": {o: self.outcomes.get(o, 0) for o in OUTCOMES},
            "shares": {o: round(self.share(o), 4) for o in OUTCOMES},
            "top_entries": [{"id": i, "questions": n} for i, n in self.top_entries],
            "top_unanswered": [{"text": q, "questions": n} for q, n in self.unanswered],
            "interviews": {"started": self.interviews_started, "finished": self.interviews_finished},
        }


async def collect(
    db: Database, *, days: int = 14, now: float | None = None, top: int = 10, matcher: Matcher | None = None
) -> Stats:
    """The last `days` days (UTC), today included. With `matcher`, declined questions are grouped
    by their words too (as the inbox does) and greetings left out of the unanswered ones."""
    today = datetime.fromtimestamp(time.time() if now is None else now, UTC).date()
    since = today - timedelta(days=days - 1)
    start = int(datetime(since.year, since.month, since.day, tzinfo=UTC).timestamp())
    by_day: dict[date, dict[str, int]] = {since + timedelta(days=i): {} for i in range(days)}
    for day, outcome, count in await db.fetchall(
        "SELECT date(ts, 'unixepoch'), outcome, COUNT(*) FROM question_log WHERE ts >= ? GROUP BY 1, 2",
        (start,),
    ):
        when = date.fromisoformat(str(day))
        if when in by_day:
            by_day[when][str(outcome)] = int(count)
    per_day = {day: sum(counts.values()) for day, counts in by_day.items()}
    outcomes = {
        str(o): int(n)
        for o, n in await db.fetchall(
            "SELECT outcome, COUNT(*) FROM question_log WHERE ts >= ? GROUP BY outcome", (start,)
        )
    }
    entries = await db.fetchall(
        "SELECT top_id, COUNT(*) FROM question_log WHERE ts >= ? AND outcome = 'answer' AND top_id IS NOT NULL "
        "GROUP BY top_id ORDER BY COUNT(*) DESC, top_id LIMIT ?",
        (start, top),
    )
    events = {
        str(k): int(n)
        for k, n in await db.fetchall(
            "SELECT kind, COUNT(*) FROM bot_events WHERE ts >= ? GROUP BY kind", (start,)
        )
    }
    return Stats(
        since,
        today,
        tuple(per_day.items()),
        outcomes,
        tuple((str(i), int(n)) for i, n in entries),
        events.get(STARTED, 0),
        events.get(FINISHED, 0),
        tuple(by_day.items()),
        tuple(await unanswered(db, start, matcher, top=top)),
    )


async def unanswered(db: Database, start: int, matcher: Matcher | None, *, top: int) -> list[tuple[str, int]]:
    """The most frequent declined questions since `start`: similar texts grouped (newest wording
    shown), most asked first."""
    rows = await db.fetchall(
        "SELECT id, ts, text, outcome, top_id, top_score FROM question_log "
        "WHERE ts >= ? AND outcome = 'decline' ORDER BY id DESC LIMIT ?",
        (start, MAX_QUESTIONS),
    )
    items = [Asked(int(r[0]), int(r[1]), str(r[2]), str(r[3]), r[4], r[5]) for r in rows]
    return await asyncio.to_thread(_most_asked, items, matcher, top)  # grouping is CPU work


def _most_asked(items: list[Asked], matcher: Matcher | None, top: int) -> list[tuple[str, int]]:
    groups = sorted(group(items, matcher), key=lambda g: (g.count, g.latest), reverse=True)
    found: list[tuple[str, int]] = []
    for candidate in groups:
        if len(found) == top:
            break
        referral = matcher.decide(candidate.example).referral if matcher is not None else None
        if referral is None or referral.kind != "greeting":  # a greeting declined is no gap
            found.append((candidate.example, candidate.count))
    return found


async def record_event(db: Database, kind: str, *, ts: int | None = None) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO bot_events (ts, kind) VALUES (?, ?)", (int(time.time()) if ts is None else ts, kind)
        )


class InterviewEvents:
    """Counts interviews started and finished (no user ids), told by the interview itself."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def started(self) -> None:
        await record_event(self.db, STARTED)

    async def finished(self) -> None:
        await record_event(self.db, FINISHED)
