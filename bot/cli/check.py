"""`policybot check PROFILE`: screen enterprise profiles (.json, .jsonl, .csv) against every measure."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.common import add_kb, add_reading, dumps, fail, kb_dir, today

if TYPE_CHECKING:
    from eligibility.profiles import Profile
    from eligibility.screening import Screening
    from knowledge.loader import KnowledgeBase


def cmd_check(args: argparse.Namespace) -> int:
    from eligibility.depends import depends_all
    from eligibility.facts import load_fact_specs
    from eligibility.profiles import ProfileError, read_profiles
    from eligibility.screening import screen
    from knowledge.loader import load_knowledge_base

    kb = load_knowledge_base(kb_dir(args))
    on = today(args)
    path = Path(args.profile)
    try:
        profiles = list(read_profiles(path))
    except ProfileError as exc:
        return fail(f"error: {exc}")
    results = [(p, screen(kb, p.facts, on)) for p in profiles]
    if args.pdf or args.png:
        return _report(args, kb, results)
    # what a verdict or an amount still hangs on (facts not given), said plainly
    specs = load_fact_specs()
    hanging = [depends_all(kb, p.facts, r.measures, specs) for p, r in results]
    if path.suffix.lower() == ".csv":
        said = [{i: d.text(specs, args.lang) for i, d in found.items()} for found in hanging]
        _write_csv(results, [m.id for m in kb.measures()], said)
        return 0
    for (profile, result), depends in zip(results, hanging, strict=True):
        data = result.as_dict(args.lang)
        if profile.label is not None:
            data = {"profile": profile.label, **data}
        if args.json or path.suffix.lower() == ".jsonl":
            print(dumps(data, indent=None if path.suffix.lower() == ".jsonl" else 2))
        else:
            # an unknown measure lists its missing facts already: what they could come to is enough
            _print_screening(
                data,
                {
                    i: d.text(specs, args.lang) if d.low.verdict == "eligible" else "→ " + d.outcomes(args.lang)
                    for i, d in depends.items()
                },
            )
    return 0


def _report(args: argparse.Namespace, kb: KnowledgeBase, results: list[tuple[Profile, Screening]]) -> int:
    """The one-page report of a single profile, as a PDF (and/or a PNG of the same page)."""
    from bot.i18n import Catalogs
    from bot.report.fonts import FontMissing, find_cjk_font
    from bot.report.pdf import screening_pdf
    from bot.report.png import pdf_to_png
    from eligibility.facts import load_fact_specs

    if len(results) != 1:
        return fail(f"error: --pdf/--png report one profile; {args.profile} has {len(results)}")
    profile, screening = results[0]
    try:
        font = find_cjk_font(args.font)
    except FontMissing as exc:
        return fail(f"error: {exc}")
    pdf = screening_pdf(
        kb, load_fact_specs(), screening, Catalogs.load()[args.lang], enterprise=profile.label, font=font
    )
    if args.pdf:
        Path(args.pdf).write_bytes(pdf)
    if args.png:
        Path(args.png).write_bytes(pdf_to_png(pdf))
    return 0


def _write_csv(
    results: list[tuple[Profile, Screening]], ids: list[str], hanging: list[dict[str, str]]
) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(
        [
            "row",
            "profile",
            "date",
            "in_force",
            *[f"{i}_{c}" for i in ids for c in ("verdict", "max_amount_cny")],
            "total_max_amount_cny",
            "depends",
        ]
    )
    for (profile, result), depends in zip(results, hanging, strict=True):
        cells: list[Any] = [profile.row, profile.label or "", result.on.isoformat(), result.in_force]
        by_id = {m.id: m for m in result.measures}
        for i in ids:
            amount = by_id[i].max_amount_cny
            cells += [by_id[i].verdict, "" if amount is None else amount]
        said = "; ".join(f"{i}: {text}" for i, text in depends.items())
        writer.writerow([*cells, result.total_max_amount_cny, said])


def _print_screening(data: dict[str, Any], depends: dict[str, str]) -> None:
    if data["warning"]:
        print(data["warning"], end="\n\n")
    for verdict in ("eligible", "unknown", "ineligible"):
        for m in (m for m in data["measures"] if m["verdict"] == verdict):
            amount = f" max {m['max_amount_cny']}" if m["max_amount_cny"] is not None else ""
            lapsed = "" if m["in_force"] else f" ({m['document']} not in force: not counted)"
            print(
                f"{m['id']:<5} {verdict}{amount}{lapsed}"
                + (f"  missing: {', '.join(m['missing'])}" if m["missing"] else "")
            )
            if m["id"] in depends:
                print(f"      {depends[m['id']]}")
    print(f"\ntotal max: {data['total_max_amount_cny']} (measures in force)")
    if len(data["documents"]) > 1 and data["overlap_note"]:
        print(data["overlap_note"])
    print(data["disclaimer"])


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser("check", help="screen profiles (.json, .jsonl, .csv) against every measure")
    check.add_argument("profile")
    add_reading(check, "screen as of this day (YYYY-MM-DD)")
    add_kb(check)
    check.add_argument("--pdf", metavar="FILE", help="write the one-page pre-screening report as a PDF")
    check.add_argument("--png", metavar="FILE", help="…and/or the same page as a PNG picture")
    check.add_argument("--font", metavar="FILE", help="a Chinese .ttf/.ttc font (default: a system one)")
    check.set_defaults(handler=cmd_check)
