"""The command line as staff scripts use it: exit codes, JSON shapes, batch modes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from knowledge.loader import DATA_DIR, SOURCE_DIR

BASE = {
    "registered_in_hengyang": True,
    "pays_tax_in_hengyang": True,
    "independent_legal_person": True,
    "cbec_in_customs_stats": True,
}


def test_kb_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "validate"]) == 0
    assert "ok: 20 entries" in capsys.readouterr().out


def test_kb_validate_names_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (DATA_DIR / "hengzhengfa-2024-4.yaml").read_text(encoding="utf-8")
    (tmp_path / "hengzhengfa-2024-4.md").write_text(
        (SOURCE_DIR / "hengzhengfa-2024-4.md").read_text(encoding="utf-8"), encoding="utf-8"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        text.replace("rate: 10, of: annual_social_insurance_cny", "rate: 10, of: annual_pension_cny"),
        encoding="utf-8",
    )
    assert main(["kb", "validate", str(bad), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert "entry m16: benefits[0].amount: unknown fact 'annual_pension_cny'" in report["errors"][0]


def test_kb_show_and_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "show", "m10", "--lang", "en", "--date", "2025-01-01"]) == 0
    out = capsys.readouterr().out
    assert "Measure 10" in out
    assert "1,000 m²" in out
    assert "lapsed" not in out
    assert main(["kb", "show", "m10"]) == 0
    assert "已于 2026-05-06 届满" in capsys.readouterr().out
    assert main(["kb", "list", "--json"]) == 0
    assert [row["id"] for row in json.loads(capsys.readouterr().out)][:2] == ["scope", "m1"]
    assert main(["kb", "show", "m99"]) == 1


def test_ask_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", "我们去年跨境出口80万美元能拿多少"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert set(answer) == {"query", "outcome", "matches", "answer", "direct"}
    assert answer["outcome"] == "answer"
    assert answer["matches"][0]["id"] == "m5"
    assert "超过50万美元" in answer["answer"]
    assert "最高10万元" in answer["answer"]


def test_ask_batch_from_stdin_one_process() -> None:
    questions = ["出口退税怎么办理", "海外苍租金补贴", "hello", ""] * 250
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", "-"],
        input="\n".join(questions),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 750
    assert [line["outcome"] for line in lines[:3]] == ["decline", "answer", "decline"]
    assert lines[1]["matches"][0]["id"] == "m10"
    assert "税务局" in lines[0]["answer"]


def _profile(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_check_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _profile(
        tmp_path,
        "p.json",
        json.dumps(BASE | {"cbec_export_usd": 800000, "annual_social_insurance_cny": 2_000_000}),
    )
    assert main(["check", path, "--json", "--date", "2025-06-01"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["date"] == "2025-06-01"
    assert result["in_force"] is True
    measures = {m["id"]: m for m in result["measures"]}
    assert measures["m5"]["verdict"] == "eligible"
    assert measures["m5"]["max_amount_cny"] == 100000
    assert measures["m16"]["max_amount_cny"] == 100000
    assert measures["m1"]["verdict"] == "unknown"
    assert measures["m1"]["missing"][0] == "operates_park"
    assert set(measures["m5"]) >= {"id", "verdict", "max_amount_cny", "reasons", "missing"}
    assert result["disclaimer"]
    assert result["overlap_note"]


def test_check_after_validity_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _profile(tmp_path, "p.json", json.dumps(BASE | {"cbec_export_usd": 1}))
    assert main(["check", path, "--json", "--date", "2026-11-27"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["in_force"] is False
    assert "市商务局" in result["warning"]


def test_check_jsonl_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [json.dumps(BASE | {"cbec_export_usd": n}) for n in (0, 500000, 500001)]
    assert main(["check", _profile(tmp_path, "p.jsonl", "\n".join(lines)), "--date", "2025-06-01"]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [next(m["max_amount_cny"] for m in r["measures"] if m["id"] == "m5") for r in results] == [
        None,
        20000,
        100000,
    ]

    header = ",".join(["name", *BASE, "cbec_export_usd"])
    rows = ["A,是,是,是,是,120万美元", "B,否,是,是,是,"]
    assert (
        main(["check", _profile(tmp_path, "p.csv", "\n".join([header, *rows])), "--date", "2025-06-01"]) == 0
    )
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert table[0]["profile"] == "A"
    assert table[0]["m5_verdict"] == "eligible"
    assert table[0]["m5_max_amount_cny"] == "500000"
    assert table[1]["m5_verdict"] == "ineligible"
    assert table[1]["m5_max_amount_cny"] == ""


def test_check_reports_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _profile(tmp_path, "p.jsonl", json.dumps(BASE) + "\n" + json.dumps({"exports": 5}))
    assert main(["check", path]) == 2
    assert "line 2: unknown fact name(s): exports" in capsys.readouterr().err
