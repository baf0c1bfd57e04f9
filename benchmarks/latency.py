"""Answer speed: warm per-question latency of the matcher on the real base and on a synthetic
base of 5,000 entries, of the whole answer (the assistant: the matcher, the situation read, the
direct answer worked out) on the real base with situational questions, and the cold start to the
first answer.

    python -m benchmarks.latency [--entries 5000] [--rounds 3]

Targets (issue 3): p99 ≤ 5 ms on the real base, ≤ 30 ms on 5,000 entries, cold start ≤ 2 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

from eligibility.answer import Assistant
from knowledge.evaluate import load_questions
from knowledge.loader import KnowledgeBase, Policy, load_knowledge_base
from knowledge.matcher import Matcher
from knowledge.models import Entry, Localized, PolicyFile

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "evaluation" / "dev.yaml"
SITUATIONS = ROOT / "evaluation" / "answers" / "dev.yaml"


def synthetic_base(real: KnowledgeBase, size: int, seed: int = 7) -> KnowledgeBase:
    """`size` entries made of the real base's vocabulary, shuffled: realistic token statistics."""
    rng = random.Random(seed)
    words = sorted({w for e in real for w in (*e.keywords, *e.synonyms)})
    english = sorted({w for e in real for w in e.keywords_en})
    questions = [q for e in real for q in e.questions]
    policy = real.policies[0]
    entries = []
    for n in range(size):
        picked = rng.sample(words, 8)
        entries.append(
            Entry(
                id=f"x{n}",
                kind="apply",
                section=policy.data.sections[-1].id,
                title=Localized(zh="".join(picked[:2]), en=" ".join(rng.sample(english, 2))),
                summary=Localized(zh="，".join(picked), en=" ".join(rng.sample(english, 6))),
                source="；".join(rng.sample(words, 12)),
                units=["市商务局"],
                keywords=picked,
                keywords_en=rng.sample(english, 4),
                synonyms=rng.sample(words, 3),
                questions=rng.sample(questions, 3),
            )
        )
    data = PolicyFile(document=policy.document, sections=policy.data.sections, entries=entries)
    return KnowledgeBase((Policy(data=data, source_text=policy.source_text),))


def warm(matcher: Matcher, questions: list[str], rounds: int) -> list[float]:
    for q in questions[:20]:
        matcher.decide(q)
    times = []
    for _ in range(rounds):
        for q in questions:
            start = time.perf_counter()
            matcher.decide(q)
            times.append((time.perf_counter() - start) * 1000)
    return times


def warm_answers(assistant: Assistant, questions: list[str], rounds: int) -> list[float]:
    for q in questions[:20]:
        assistant.ask(q)
    times = []
    for _ in range(rounds):
        for q in questions:
            start = time.perf_counter()
            assistant.ask(q)
            times.append((time.perf_counter() - start) * 1000)
    return times


def p99(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[98]


COLD = (
    "import time; t=time.perf_counter();"
    "from eligibility.answer import Assistant; from knowledge.loader import load_knowledge_base;"
    "a=Assistant(load_knowledge_base()); a.ask('海外仓租金能补多少');"
    "print(time.perf_counter()-t)"
)


def cold_start(runs: int = 3) -> list[float]:
    out = []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", COLD], capture_output=True, text=True, check=True, cwd=ROOT
        )
        out.append(float(result.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    questions = [q.q for q in load_questions(QUESTIONS)]
    real = load_knowledge_base()
    start = time.perf_counter()
    real_matcher = Matcher(real)
    build_real = time.perf_counter() - start
    real_times = warm(real_matcher, questions, args.rounds)
    big = synthetic_base(real, args.entries)
    start = time.perf_counter()
    big_matcher = Matcher(big)
    build_big = time.perf_counter() - start
    big_times = warm(big_matcher, questions, args.rounds)
    situations = [str(i["q"]) for i in yaml.safe_load(SITUATIONS.read_text(encoding="utf-8"))["items"]]
    answer_times = warm_answers(Assistant(real), situations, args.rounds)
    colds = cold_start()
    print(f"questions: {len(questions)} x {args.rounds} rounds (evaluation/dev.yaml)")
    print(f"{'base':<22}{'entries':>8}{'build s':>9}{'median ms':>11}{'p99 ms':>9}{'target p99':>12}")
    print(
        f"{'real':<22}{len(real.entries):>8}{build_real:>9.2f}{statistics.median(real_times):>11.2f}{p99(real_times):>9.2f}{'5 ms':>12}"
    )
    print(
        f"{'synthetic':<22}{len(big.entries):>8}{build_big:>9.2f}{statistics.median(big_times):>11.2f}{p99(big_times):>9.2f}{'30 ms':>12}"
    )
    print(
        f"{'real, whole answer':<22}{len(real.entries):>8}{'':>9}{statistics.median(answer_times):>11.2f}{p99(answer_times):>9.2f}{'5 ms':>12}"
    )
    ratio = statistics.median(big_times) / statistics.median(real_times)
    print(
        f"median ratio synthetic/real: {ratio:.1f}x for {len(big.entries) / len(real.entries):.0f}x the entries"
    )
    print(
        f"cold start to first answer: median {statistics.median(colds):.2f} s (runs: {', '.join(f'{c:.2f}' for c in colds)}; target 2 s)"
    )


if __name__ == "__main__":
    main()
