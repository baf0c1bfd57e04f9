"""`policybot stats`: what /stats shows, from the bot's database."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.common import add_db, add_json, print_json
from bot.cli.kb import run_on_store

if TYPE_CHECKING:
    from bot.store.versions import KnowledgeStore


async def _stats(store: KnowledgeStore, args: argparse.Namespace) -> int:
    from bot.store.stats import OUTCOMES, collect

    data = await collect(store.db, days=args.days)
    if args.json:
        print_json(data.as_json())
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


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stats = sub.add_parser("stats", help="questions per day, outcomes, most asked entries, interviews")
    stats.add_argument("--days", type=int, default=14, choices=range(1, 91), metavar="N", help="1-90 (14)")
    add_json(stats)
    add_db(stats)
    stats.set_defaults(handler=lambda args: run_on_store(_stats, args))
