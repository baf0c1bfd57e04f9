"""`policybot stats`: what /stats shows, from the bot's database (`--png FILE`: its chart too)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import add_db, add_json, add_kb, add_lang, fail, print_json
from bot.cli.kb import run_on_store

if TYPE_CHECKING:
    from bot.store.stats import Stats
    from bot.store.versions import KnowledgeStore


async def _stats(store: KnowledgeStore, args: argparse.Namespace) -> int:
    import asyncio

    from bot.store.stats import OUTCOMES, collect
    from knowledge.matcher import Matcher

    kb, rulings = await store.knowledge()
    # the unanswered questions grouped by their words too, and greetings left out, as /stats does
    matcher = await asyncio.to_thread(Matcher, kb, rulings=rulings)
    data = await collect(store.db, days=args.days, matcher=matcher)
    if args.png:
        code = await asyncio.to_thread(_chart, data, args)
        if code:
            return code
    if args.json:
        print_json(data.as_json())
        return 0
    print(f"{data.since} to {data.until} (UTC): {data.questions} questions")
    for day, counts in data.by_day:
        by_outcome = "  ".join(f"{o} {counts.get(o, 0):>4}" for o in OUTCOMES)
        print(f"  {day}  {sum(counts.values()):>5}   {by_outcome}")
    shares = "  ".join(f"{o} {data.outcomes.get(o, 0)} ({data.share(o):.0%})" for o in OUTCOMES)
    print(f"outcomes: {shares}")
    if data.top_entries:
        print("most asked entries:")
        for entry_id, count in data.top_entries:
            entry = kb.get(entry_id)
            print(f"  {entry_id:<10} {count:>5}  {entry.title.zh if entry else ''}")
    if data.unanswered:
        print("most frequent unanswered questions:")
        for text, count in data.unanswered:
            print(f"  {count:>5}  {text}")
    print(f"interviews: {data.interviews_started} started, {data.interviews_finished} finished")
    return 0


def _chart(data: Stats, args: argparse.Namespace) -> int:
    """Draw the chart to --png (matplotlib: off the event loop); 2 without a Chinese font."""
    from bot.config import Settings
    from bot.i18n import Catalogs
    from bot.report.chart import from_stats, stats_png
    from bot.report.fonts import FontMissing, find_cjk_font

    try:
        font = find_cjk_font(args.font or Settings().report_font)
    except FontMissing as exc:
        return fail(f"error: {exc}")
    Path(args.png).write_bytes(stats_png(from_stats(data), Catalogs.load()[args.lang], font=font))
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stats = sub.add_parser(
        "stats", help="questions per day by outcome, most asked entries, unanswered questions, interviews"
    )
    stats.add_argument("--days", type=int, default=14, choices=range(1, 91), metavar="N", help="1-90 (14)")
    stats.add_argument("--png", metavar="FILE", help="also draw the chart /stats sends, as a PNG")
    stats.add_argument(
        "--font", metavar="FILE", help="a Chinese .ttf/.ttc font (default: REPORT_FONT or a system one)"
    )
    add_lang(stats)
    add_json(stats)
    add_db(stats)
    add_kb(stats)
    stats.set_defaults(handler=lambda args: run_on_store(_stats, args))
