"""The command line never pays for Telegram it does not use: ask, check, eval and kb import no
aiogram (its import alone costs about a second and ~170 MB). Speed itself is measured by
benchmarks/cold_start.py, not timed here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import sys
from bot.cli.main import main
main({argv!r})
loaded = sorted(m for m in sys.modules if m == "aiogram" or m.startswith("aiogram."))
print("AIOGRAM:" + ",".join(loaded[:3]), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["ask", "海外仓租金怎么补"],
        ["ask", "--json", "出口80万美元能拿多少"],
        ["kb", "validate"],
        ["kb", "show", "m5", "--json"],
        ["check", "PROFILE", "--json"],
    ],
    ids=["ask", "ask-json", "kb-validate", "kb-show", "check"],
)
def test_no_aiogram_is_imported(argv: list[str], tmp_path: Path) -> None:
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"cbec_export_usd": 800000}), encoding="utf-8")
    argv = [str(profile) if a == "PROFILE" else a for a in argv]
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "AIOGRAM:\n" in done.stderr or done.stderr.rstrip().endswith("AIOGRAM:"), done.stderr[-300:]


def test_kb_show_json_writes_numbers_as_numbers() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "kb", "show", "m1", "--json"], capture_output=True, text=True, timeout=60
    )
    entry = json.loads(done.stdout)
    tier = entry["benefits"][0]["tiers"][0]
    assert tier["conditions"][0]["value"] == 10
    assert tier["conditions"][1]["value"] == 20000000
    assert tier["amount"]["value"] == 500000
