"""`policybot check PROFILE --pdf FILE`: a one-page PDF whose text holds every measure's verdict and
amount from `check --json` for the same profile (read back from the PDF itself)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.report.fonts import FontMissing, find_cjk_font
from knowledge.loader import load_knowledge_base
from knowledge.render import format_money

PROFILE = {
    "name": "衡阳某跨境电商有限公司",
    "registered_in_hengyang": True,
    "pays_tax_in_hengyang": True,
    "independent_legal_person": True,
    "cbec_in_customs_stats": True,
    "cbec_export_usd": 800000,
    "platform_promotion_fees_cny": 300000,
    "annual_social_insurance_cny": 600000,
    "operates_park": False,
    "overseas_warehouses": [
        {"area_m2": 1500, "annual_rent_cny": 500000},
        {"area_m2": 800, "annual_rent_cny": 100000},
    ],
}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=120)


def test_the_pdf_holds_every_verdict_and_amount_of_check_json(tmp_path: Path) -> None:
    try:
        find_cjk_font()
    except FontMissing as exc:
        pytest.skip(f"needs a Chinese font to draw the page, and this machine has none ({exc})")
    import pypdfium2

    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(PROFILE, ensure_ascii=False), encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    png = tmp_path / "report.png"
    done = _run("check", str(profile), "--date", "2025-06-01", "--pdf", str(pdf), "--png", str(png))
    assert done.returncode == 0, done.stderr
    result = json.loads(_run("check", str(profile), "--date", "2025-06-01", "--json").stdout)
    document = pypdfium2.PdfDocument(pdf.read_bytes())
    assert len(document) == 1
    text = "".join(document[0].get_textpage().get_text_bounded().split())
    kb = load_knowledge_base()
    assert PROFILE["name"] in text
    for measure in result["measures"]:
        entry = kb.entries[measure["id"]]
        assert f"第{entry.number}条" in text
        if measure["verdict"] == "eligible" and measure["max_amount_cny"]:
            assert format_money(measure["max_amount_cny"], "zh") in text, measure["id"]
    groups = {"eligible": "可能符合", "unknown": "尚待确认", "ineligible": "不符合"}
    for verdict in {m["verdict"] for m in result["measures"]}:
        assert groups[verdict] in text
    assert format_money(result["total_max_amount_cny"], "zh") in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_batch_file_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    batch = tmp_path / "many.jsonl"
    batch.write_text("\n".join(json.dumps(PROFILE, ensure_ascii=False) for _ in range(2)), encoding="utf-8")
    done = _run("check", str(batch), "--pdf", str(tmp_path / "r.pdf"))
    assert done.returncode == 2
    assert "one profile" in done.stderr
