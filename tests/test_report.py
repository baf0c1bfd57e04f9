"""The one-page pre-screening report (PDF, PNG) and the staff chart: read back, not just made.

The PDF's text is extracted with pdfium and compared without whitespace (lines wrap anywhere in
Chinese). Tests that draw need a Chinese font; without one they skip, naming the package to
install, while the font lookup's own error is always tested.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest

from bot.i18n import Catalogs, Translator
from bot.report import fonts
from bot.report.chart import DayCounts, StatsChart, every_day, shorten_label, stats_png
from bot.report.content import clause_quote, shorten
from bot.report.fonts import FontMissing, find_cjk_font, printable
from bot.report.pdf import screening_pdf
from bot.report.png import pdf_to_png
from eligibility.facts import Facts, FactSpec, load_fact_specs
from eligibility.labels import fact_label
from eligibility.screening import DISCLAIMER, Screening, screen
from knowledge.loader import KnowledgeBase, load_knowledge_base
from knowledge.render import format_money

ROOT = Path(__file__).resolve().parents[1]
IN_FORCE = date(2025, 6, 1)
EXPIRED = date(2026, 8, 1)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BASE = {
    "registered_in_hengyang": True,
    "pays_tax_in_hengyang": True,
    "independent_legal_person": True,
    "cbec_in_customs_stats": True,
}
# A small exporter, as in tests/eligibility_cases/whole_profiles.yaml: m5, m6, m12, m16 eligible.
EXPORTER = Facts(
    **BASE,
    operates_park=False,
    operates_incubator=False,
    builds_cbec_platform=False,
    supervision_site_investment_cny=0,
    cbec_export_usd=300000,
    platform_promotion_fees_cny=40000,
    new_store_annual_fees_cny=6000,
    newly_entered_recognized_park=False,
    newly_introduced=False,
    o2o_store_area_m2=0,
    new_community_o2o_stores=0,
    provincial_public_overseas_warehouse=False,
    overseas_warehouses=[],
    provides_support_services=False,
    small_or_micro=True,
    insured_via_single_window=True,
    export_credit_insurance_premium_cny=15000,
    traditional_foreign_trade=False,
    staff_cbec_training_fees_cny=0,
    college_or_training_institution=False,
    runs_subsidized_training=False,
    annual_social_insurance_cny=180000,
)
# A park operator: m1–m4 and m16 eligible, the rest undecided.
PARK = Facts(
    **BASE,
    operates_park=True,
    park_recognized=True,
    park_new_cbec_tenants=12,
    park_cbec_total_usd=25000000,
    operates_incubator=True,
    incubated_enterprises=10,
    builds_cbec_platform=True,
    supervision_site_investment_cny=800000,
    annual_social_insurance_cny=90000,
)


def _everything() -> Facts:
    """Every yes/no fact yes and every figure large: all 16 measures eligible, the longest texts."""
    values: dict[str, Any] = {}
    for name, info in Facts.model_fields.items():
        kind = str(info.annotation)
        if "bool" in kind:
            values[name] = True
        elif name == "overseas_warehouses":
            values[name] = [{"area_m2": 3000, "annual_rent_cny": 900000}] * 3
        else:
            values[name] = 30 if "int" in kind else 100_000_000
    return Facts(**values)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


@pytest.fixture(scope="module")
def specs() -> dict[str, FactSpec]:
    return load_fact_specs()


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load()


@pytest.fixture(scope="module")
def font() -> Path:
    try:
        return find_cjk_font()
    except FontMissing as exc:
        pytest.skip(f"needs a Chinese font to draw the page, and this machine has none ({exc})")


def _pages_and_text(pdf: bytes) -> tuple[int, str]:
    document = pdfium.PdfDocument(pdf)
    try:
        pages = len(document)
        text = "".join(document[i].get_textpage().get_text_bounded() for i in range(pages))
    finally:
        document.close()
    return pages, text


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _heading(kb: KnowledgeBase, t: Translator, measure_id: str) -> str:
    entry = kb.entries[measure_id]
    return t("report.measure", number=entry.number, title=entry.title.get(t.lang))


def _report(
    kb: KnowledgeBase,
    specs: dict[str, FactSpec],
    screening: Screening,
    t: Translator,
    font: Path,
    enterprise: str | None,
) -> tuple[int, str]:
    pdf = screening_pdf(kb, specs, screening, t, enterprise=enterprise, font=font)
    assert pdf.startswith(b"%PDF-")
    pages, text = _pages_and_text(pdf)
    return pages, _squash(text)


# --- the font ---------------------------------------------------------------------------------


def test_a_missing_configured_font_names_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match="fonts-wqy-microhei") as caught:
        find_cjk_font(tmp_path / "no-such-font.ttc")
    assert "REPORT_FONT" in str(caught.value)
    assert "apt-get install fonts-wqy-microhei" in str(caught.value)


def test_no_font_on_the_machine_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fonts, "CANDIDATES", (tmp_path / "wqy-microhei.ttc",))
    with pytest.raises(FontMissing, match=r"apt-get install fonts-wqy-microhei"):
        find_cjk_font()


def test_a_configured_font_wins(tmp_path: Path) -> None:
    path = tmp_path / "mine.ttf"
    path.write_bytes(b"not checked here")
    assert find_cjk_font(str(path)) == path


def test_characters_the_font_lacks_are_replaced_or_dropped(font: Path) -> None:
    assert printable("⚠️ 提示", font).strip() == "提示"
    assert printable("✅ 可以", font)[0] in "✓√"


# --- the PDF ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(
    ("facts", "enterprise"),
    [(EXPORTER, "衡阳湘品出海贸易有限公司"), (PARK, "Hengyang CBEC Industrial Park Co., Ltd.")],
    ids=["exporter", "park"],
)
def test_the_report_is_one_page_holding_the_whole_result(
    kb: KnowledgeBase,
    specs: dict[str, FactSpec],
    catalogs: Catalogs,
    font: Path,
    lang: str,
    facts: Facts,
    enterprise: str,
) -> None:
    t = catalogs[lang]
    screening = screen(kb, facts, IN_FORCE)
    pages, text = _report(kb, specs, screening, t, font, enterprise)
    assert pages == 1
    assert _squash(t("report.title")) in text
    assert _squash(enterprise) in text
    assert _squash(screening.document.number) in text
    for measure in screening.measures:
        assert _squash(_heading(kb, t, measure.id)) in text, measure.id
        if measure.verdict == "eligible" and measure.max_amount_cny is not None:
            assert _squash(format_money(measure.max_amount_cny, lang)) in text, measure.id
        # What is missing, and why not: long lists may be cut ("…") to keep one page, never left out.
        if measure.verdict == "unknown":
            label = fact_label(kb, specs, measure.missing[0], lang)
            assert _squash(label)[:30] in text, (measure.id, label)
        if measure.verdict == "ineligible":
            reason = measure.reasons[0].text.get(lang)
            assert _squash(reason)[:30] in text, (measure.id, reason)
    assert _squash(format_money(screening.total_max_amount_cny, lang)) in text
    assert _squash(DISCLAIMER.get(lang)) in text
    assert screening.overlap_note is not None
    assert _squash(screening.overlap_note.get(lang)) in text


def test_the_responsible_units_are_named(
    kb: KnowledgeBase, specs: dict[str, FactSpec], catalogs: Catalogs, font: Path
) -> None:
    screening = screen(kb, EXPORTER, IN_FORCE)
    _, text = _report(kb, specs, screening, catalogs["zh"], font, None)
    for measure in screening.by_verdict("eligible"):
        assert _squash("、".join(measure.units)) in text, measure.id
    _, text = _report(kb, specs, screening, catalogs["en"], font, None)
    names = screening.document.unit_names
    for measure in screening.by_verdict("eligible"):
        assert _squash(", ".join(names[u] for u in measure.units)) in text, measure.id


def test_the_english_page_has_no_chinese_but_the_document_number(
    kb: KnowledgeBase, specs: dict[str, FactSpec], catalogs: Catalogs, font: Path
) -> None:
    screening = screen(kb, PARK, EXPIRED)
    _, text = _report(kb, specs, screening, catalogs["en"], font, "Park Co.")
    rest = text.replace(_squash(screening.document.number), "")
    assert not re.search(r"[\u4e00-\u9fff]", rest), re.findall(r"[\u4e00-\u9fff]+", rest)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_lapsed_policy_carries_its_warning(
    kb: KnowledgeBase, specs: dict[str, FactSpec], catalogs: Catalogs, font: Path, lang: str
) -> None:
    screening = screen(kb, EXPORTER, EXPIRED)
    warning = screening.validity.warning(screening.document)
    assert warning is not None
    _, text = _report(kb, specs, screening, catalogs[lang], font, None)
    assert _squash(printable(warning.get(lang), font)) in text


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("case", ["all eligible", "all unknown", "half and half"])
def test_any_result_of_sixteen_measures_fits_one_page(
    kb: KnowledgeBase,
    specs: dict[str, FactSpec],
    catalogs: Catalogs,
    font: Path,
    lang: str,
    case: str,
) -> None:
    everything = _everything()
    if case == "all eligible":
        facts = everything
    elif case == "all unknown":
        facts = Facts()
    else:  # the facts of m1–m8 given, those of m9–m16 unknown
        keep = set(list(Facts.model_fields)[: list(Facts.model_fields).index("o2o_store_area_m2")])
        facts = Facts(**{k: v for k, v in everything.model_dump().items() if k in keep})
    screening = screen(kb, facts, EXPIRED)
    assert not screening.by_verdict("ineligible")
    t = catalogs[lang]
    pages, text = _report(kb, specs, screening, t, font, "衡阳某某跨境电子商务综合服务集团股份有限公司")
    assert pages == 1
    for measure in screening.measures:
        assert _squash(_heading(kb, t, measure.id)) in text, measure.id
        if measure.max_amount_cny is not None:
            assert _squash(format_money(measure.max_amount_cny, lang)) in text, measure.id
    if screening.by_verdict("eligible"):  # lapsed: the total of what is shown, for reference
        assert _squash(format_money(screening.shown_total, lang)) in text
    assert _squash(DISCLAIMER.get(lang)) in text


def test_the_quote_is_the_clause_that_grants_the_support(kb: KnowledgeBase) -> None:
    quote = clause_quote(kb.entries["m5"])
    assert quote.startswith("对当年跨境电商出口总额破零的")
    assert "责任单位" not in quote
    assert shorten("一二三四五六七八九十", 5) == "一二三四…"
    assert shorten("the quick brown fox jumps", 18) == "the quick brown…"


# --- the picture ------------------------------------------------------------------------------


def _png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_MAGIC)
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_the_report_as_a_picture(
    kb: KnowledgeBase, specs: dict[str, FactSpec], catalogs: Catalogs, font: Path
) -> None:
    pdf = screening_pdf(kb, specs, screen(kb, EXPORTER, IN_FORCE), catalogs["zh"], font=font)
    png = pdf_to_png(pdf)
    width, height = _png_size(png)
    # A4 at 110 dpi: 909 × 1286 pixels
    assert abs(width - 909) <= 2
    assert abs(height - 1286) <= 2
    assert 50_000 < len(png) < 3_000_000
    small = _png_size(pdf_to_png(pdf, dpi=72))
    assert abs(small[0] - 595) <= 1
    assert abs(small[1] - 842) <= 1


# --- the staff chart --------------------------------------------------------------------------

CHART = StatsChart(
    since=date(2025, 5, 1),
    until=date(2025, 5, 14),
    days=[DayCounts(date(2025, 5, d), 10 + d, d % 4, d % 3) for d in range(1, 15) if d != 6],
    unanswered=[
        ("我们公司在长沙注册，但在衡阳有仓库，可以申请衡阳的跨境电商补贴吗？", 9),
        ("出口退税多久能到账 😀", 7),
        ("What about VAT in the EU for our Amazon store?", 2),
    ],
    interviews_started=40,
    interviews_finished=23,
)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_staff_chart_is_a_phone_wide_png(catalogs: Catalogs, font: Path, lang: str) -> None:
    png = stats_png(CHART, catalogs[lang], font=font)
    width, height = _png_size(png)
    assert width == 1000
    assert 800 < height < 2500
    assert len(png) > 20_000


def test_an_empty_chart_still_draws(catalogs: Catalogs, font: Path) -> None:
    empty = StatsChart(since=date(2025, 5, 1), until=date(2025, 5, 1), days=[], unanswered=[])
    width, _ = _png_size(stats_png(empty, catalogs["zh"], font=font))
    assert width == 1000


def test_chart_labels_are_short_and_days_have_no_gaps() -> None:
    label = shorten_label("我们公司在长沙注册，但在衡阳有仓库，可以申请衡阳的跨境电商补贴吗？")
    assert label.endswith("…")
    assert len(label) <= 19
    assert shorten_label("短问题") == "短问题"
    assert len(shorten_label("What about VAT in the EU for our Amazon store?")) > 18  # Latin is narrower
    days = every_day(CHART)
    assert [d.day.day for d in days] == list(range(1, 15))
    assert days[5] == DayCounts(date(2025, 5, 6), 0, 0, 0)


def test_the_report_package_imports_no_heavy_library() -> None:
    code = (
        "import sys, bot.report.pdf, bot.report.png, bot.report.chart, bot.report.fonts;"
        "print(sorted(m for m in ('aiogram', 'fpdf', 'matplotlib', 'pypdfium2') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
