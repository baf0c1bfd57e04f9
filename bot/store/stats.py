"""/stats and `policybot stats`: questions per day, how they were answered, the most asked
entries, eligibility interviews started and finished.

Questions come from the question log (kept 90 days). Interviews are counted as the interview
tells `InterviewEvents` it started or finished: no user ids are stored with the counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from bot.store.db import Database

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
            "per_day": [{"date": d.isoformat(), "questions": n} for d, n in self.per_day],
            "outcomes": {o: self.outcomes.get(o, 0) for o in OUTCOMES},
            "shares": {o: round(self.share(o), 4) for o in OUTCOMES},
            "top_entries": [{"id": i, "questions": n} for i, n in self.top_entries],
            "interviews": {"started": self.interviews_started, "finished": self.interviews_finished},
        }


async def collect(db: Database, *, days: int = 14, now: float | None = None, top: int = 10) -> Stats:
    """The last `days` days (UTC), today included."""
    today = datetime.fromtimestamp(time.time() if now is None else now, UTC).date()
    since = today - timedelta(days=days - 1)
    start = int(datetime(since.year, since.month, since.day, tzinfo=UTC).timestamp())
    per_day = {since + timedelta(days=i): 0 for i in range(days)}
    for day, count in await db.fetchall(
        "SELECT date(ts, 'unixepoch'), COUNT(*) FROM question_log WHERE ts >= ? GROUP BY 1", (start,)
    ):
        when = date.fromisoformat(str(day))
        if when in per_day:
            per_day[when] = int(count)
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
    )


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
