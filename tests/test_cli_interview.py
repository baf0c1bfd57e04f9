"""`policybot interview --simulate` and what `policybot check` says a result depends on."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
PROFILES = Path(__file__).parent / "interview_profiles.jsonl"
BASE = {
    "registered_in_hengyang": True,
    "pays_tax_in_hengyang": True,
    "independent_legal_person": True,
    "cbec_in_customs_stats": True,
}
INSURED = BASE | {"export_credit_insurance_premium_cny": 80000}  # small or micro? Single Window? not said


def test_simulate_json_shape_and_the_same_result_as_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["interview", "--simulate", str(PROFILES), "--json", "--date", "2025-06-01"]) == 0
    runs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["check", str(PROFILES), "--date", "2025-06-01"]) == 0
    checks = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(runs) == len(checks) >= 15
    for run, checked in zip(runs, checks, strict=True):
        assert set(run) == {"profile", "steps", "facts_asked", "result"}
        assert run["profile"] == checked["profile"]
        assert isinstance(run["steps"], int)
        assert 1 <= run["steps"] <= 12
        assert all(isinstance(name, str) for name in run["facts_asked"])
        assert len(set(run["facts_asked"])) == len(run["facts_asked"])
        # the same measures array as check --json: every verdict and amount the same
        assert [set(m) for m in run["result"]] == [set(m) for m in checked["measures"]]
        got = [(m["id"], m["verdict"], m["max_amount_cny"]) for m in run["result"]]
        want = [(m["id"], m["verdict"], m["max_amount_cny"]) for m in checked["measures"]]
        assert got == want, run["profile"]


def test_simulate_reads_any_profile_file_and_summarises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(BASE | {"name": "A", "cbec_export_usd": 800000}), encoding="utf-8")
    assert main(["interview", "--simulate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "A: " in out
    assert "steps: median" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"exports": 5}), encoding="utf-8")
    assert main(["interview", "--simulate", str(bad)]) == 2
    assert "unknown fact name(s): exports" in capsys.readouterr().err


def test_the_interview_command_does_not_load_aiogram() -> None:
    code = (
        "import sys; from bot.cli.main import build_parser; build_parser(); "
        "assert not [m for m in sys.modules if m.startswith('aiogram')], 'aiogram imported'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_check_says_what_an_amount_depends_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(INSURED), encoding="utf-8")
    assert main(["check", str(path), "--date", "2025-06-01"]) == 0
    out = capsys.readouterr().out
    assert "m12   eligible max 40000  missing: small_or_micro, insured_via_single_window" in out
    assert "是否属于小微企业、是否通过“单一窗口”投保出口信用保险会影响金额：最高 4万元 或 8万元" in out
    assert "→ 不符合 或 最高 50万元" in out  # m5: unknown, what the exports could bring
    assert main(["check", str(path), "--json", "--date", "2025-06-01"]) == 0
    m12 = next(m for m in json.loads(capsys.readouterr().out)["measures"] if m["id"] == "m12")
    assert m12["verdict"] == "eligible"
    assert m12["max_amount_cny"] == 40000
    assert m12["missing"] == ["small_or_micro", "insured_via_single_window"]
    assert main(["check", str(path), "--lang", "en", "--date", "2025-06-01"]) == 0
    assert "up to CNY 40,000 or CNY 80,000" in capsys.readouterr().out


def test_check_csv_has_a_depends_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header = ",".join(
        ["name", *BASE, "export_credit_insurance_premium_cny", "small_or_micro", "insured_via_single_window"]
    )
    rows = ["A,是,是,是,是,8万,,", "B,是,是,是,是,8万,是,是"]
    path = tmp_path / "p.csv"
    path.write_text("\n".join([header, *rows]), encoding="utf-8")
    assert main(["check", str(path), "--date", "2025-06-01"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(table[0])[-2:] == ["total_max_amount_cny", "depends"]
    assert table[0]["m12_max_amount_cny"] == "40000"
    assert (
        "m12: 是否属于小微企业、是否通过“单一窗口”投保出口信用保险会影响金额：最高 4万元 或 8万元"
        in table[0]["depends"]
    )
    assert table[1]["m12_max_amount_cny"] == "80000"
    assert "m12:" not in table[1]["depends"]  # answered both: nothing left to hang on
