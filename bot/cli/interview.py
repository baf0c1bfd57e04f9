"""`policybot interview --simulate PROFILES`: the interview taken by a simulated user whose answers
are each profile's facts (a fact the profile lacks is "not sure"), through the same steps the bot
shows (eligibility.interview): how many steps, which facts were asked, and the result."""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from bot.cli.common import add_kb, add_reading, dumps, fail, kb_dir, today


def cmd_simulate(args: argparse.Namespace) -> int:
    from eligibility.interview import shipped_plan, simulate
    from eligibility.profiles import ProfileError, read_profiles
    from eligibility.screening import screen
    from knowledge.loader import load_knowledge_base

    kb = load_knowledge_base(kb_dir(args))
    plan = shipped_plan()
    on = today(args)
    try:
        profiles = list(read_profiles(Path(args.simulate)))
    except ProfileError as exc:
        return fail(f"error: {exc}")
    counts = []
    for profile in profiles:
        run = simulate(kb, plan, profile.facts.model_dump(mode="json", exclude_none=True))
        result = screen(kb, run.interview.facts, on)
        label = profile.label if profile.label is not None else profile.row
        counts.append(run.steps)
        if args.json:
            data = {
                "profile": label,
                "steps": run.steps,
                "facts_asked": list(run.facts_asked),
                "result": result.as_dict(args.lang)["measures"],
            }
            print(dumps(data))
        else:
            eligible = [f"{m.id} {m.max_amount_cny or ''}".strip() for m in result.by_verdict("eligible")]
            print(
                f"{label}: {run.steps} steps ({len(run.facts_asked)} facts); eligible: {', '.join(eligible) or '-'}"
            )
    if not args.json and counts:
        print(f"\nsteps: median {statistics.median(counts):g}, max {max(counts)} over {len(counts)} profiles")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    interview = sub.add_parser("interview", help="the eligibility interview, simulated on profiles")
    interview.add_argument(
        "--simulate",
        metavar="PROFILES",
        required=True,
        help="profiles (.json, .jsonl, .csv): each answers the interview with its own facts",
    )
    add_reading(interview, "screen as of this day (YYYY-MM-DD)")
    add_kb(interview)
    interview.set_defaults(handler=cmd_simulate)
