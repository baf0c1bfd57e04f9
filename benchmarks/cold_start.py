"""Cold start of the command line, as whole processes: `policybot ask` against a bare jieba
initialisation measured in the same run (alternating, so a drift of the machine hits both), with
each run's peak memory.

    python -m benchmarks.cold_start            # 9 runs each
    python -m benchmarks.cold_start --runs 15

Prints the median wall time of each, the median ratio of the pairs, and the peak RSS (the target:
ask within 1.5× of jieba, under 150 MB).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

ASK = [sys.executable, "-m", "bot", "ask", "海外仓租金怎么补"]
JIEBA = [sys.executable, "-c", "import jieba; jieba.initialize()"]


def run(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one whole process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}")
    return wall, usage.ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    run(ASK), run(JIEBA)  # warm the file cache and jieba's own dictionary cache
    asks, bares, ratios, peaks = [], [], [], []
    for _ in range(args.runs):
        wall, peak = run(ASK)
        bare, _ = run(JIEBA)
        asks.append(wall)
        bares.append(bare)
        ratios.append(wall / bare)
        peaks.append(peak)
    print(f"policybot ask   median {statistics.median(asks):.3f} s   peak RSS {statistics.median(peaks):.0f} MiB")
    print(f"jieba.initialize median {statistics.median(bares):.3f} s")
    print(f"ratio (pairs)    median {statistics.median(ratios):.2f}x   min {min(ratios):.2f}x   max {max(ratios):.2f}x")


if __name__ == "__main__":
    main()
