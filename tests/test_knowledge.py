"""The knowledge base against the policy text: coverage, verbatim quotes, every figure."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from knowledge.loader import DATA_DIR, SOURCE_DIR, KnowledgeBase, KnowledgeError, load_knowledge_base, squash
from knowledge.models import Amount, Entry, Op
from knowledge.units import Unit
from knowledge.validity import validity_on

SHARED_POLICY = Path(__file__).resolve().parents[2] / "shared" / "policy" / "hengzhengfa-2024-4.md"
SOURCE = (SOURCE_DIR / "hengzhengfa-2024-4.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def test_project_copy_of_the_policy_is_the_shared_text() -> None:
    if not SHARED_POLICY.exists():
        pytest.skip("shared/ is not beside this checkout")
    assert SHARED_POLICY.read_text(encoding="utf-8") == SOURCE


def test_every_source_text_is_verbatim_in_the_policy(kb: KnowledgeBase) -> None:
    for entry in kb:
        assert squash(entry.source) in squash(SOURCE), entry.id


def test_every_numbered_measure_is_covered_once(kb: KnowledgeBase) -> None:
    numbered = re.findall(r"^(\d+)\.", SOURCE, flags=re.M)
    assert [int(n) for n in numbered] == list(range(1, 17))
    numbers = [e.number for e in kb.measures()]
    assert sorted(n for n in numbers if n is not None) == list(range(1, 17))
    assert [e.id for e in kb.measures()] == [f"m{n}" for n in range(1, 17)]
    for entry in kb.measures():
        assert entry.source.startswith(f"{entry.number}."), entry.id


def test_sections_and_implementation_paragraphs_are_covered_once(kb: KnowledgeBase) -> None:
    kinds = [e.kind for e in kb if e.kind != "measure"]
    assert sorted(kinds) == ["apply", "overlap", "scope", "validity"]
    # Each paragraph of 一、 and 三、 is the source of exactly one entry.
    body = SOURCE.split("## 一、支持范围")[1].split("## 二、")[0].strip()
    implementation = SOURCE.split("## 三、组织实施")[1].split("---")[0].strip()
    paragraphs = [body] + [p.strip() for p in implementation.split("\n\n") if p.strip()]
    for paragraph in paragraphs:
        owners = [e.id for e in kb if squash(e.source) == squash(paragraph)]
        assert len(owners) == 1, (paragraph[:20], owners)
    # The seven sub-sections of 二、 each hold at least one measure.
    used = {e.section for e in kb.measures()}
    assert {f"s2_{i}" for i in range(1, 8)} == used


def test_every_entry_has_both_languages_and_search_aids(kb: KnowledgeBase) -> None:
    for entry in kb:
        assert entry.title.zh
        assert entry.title.en
        assert entry.summary.zh
        assert entry.summary.en
        assert len(entry.keywords) >= 5, entry.id
        assert entry.keywords_en, entry.id
        assert len(entry.questions) >= 4, entry.id
        assert entry.units, entry.id


def test_document_metadata(kb: KnowledgeBase) -> None:
    (doc,) = kb.documents
    assert doc.number == "衡政发〔2024〕4号"
    assert doc.printed == date(2024, 5, 7)
    assert doc.issuer.zh == "衡阳市人民政府"
    assert len(doc.implements) == 4
    assert doc.validity.effective_from == date(2024, 5, 7)
    assert doc.validity.effective_until == date(2026, 5, 6)


@pytest.mark.parametrize(
    ("day", "state"),
    [
        (date(2024, 5, 6), "not_yet"),
        (date(2024, 5, 7), "in_force"),
        (date(2026, 5, 6), "in_force"),
        (date(2026, 5, 7), "expired"),
        (date(2026, 11, 27), "expired"),
    ],
)
def test_validity_window(kb: KnowledgeBase, day: date, state: str) -> None:
    status = validity_on(kb.documents[0], day)
    assert status.state == state
    warning = status.warning(kb.documents[0])
    assert (warning is None) == (state == "in_force")
    if state == "expired":
        assert warning is not None
        assert "市商务局" in warning.zh
        assert "Bureau of Commerce" in warning.en


# --- the figures of every entry, against the text ----------------------------------------


def _tiers(entry: Entry, benefit: int = 0) -> list[tuple[list[tuple[str, Op, Decimal | None]], int | None]]:
    return [
        ([(c.fact, c.op, c.value) for c in tier.conditions], tier.amount.value)
        for tier in entry.benefits[benefit].tiers
    ]


def _amount(entry: Entry, benefit_id: str) -> Amount:
    benefit = next(b for b in entry.benefits if b.id == benefit_id)
    assert benefit.amount is not None
    return benefit.amount


def test_scope_conditions(kb: KnowledgeBase) -> None:
    facts = [c.fact for c in kb.entries["scope"].conditions]
    assert facts == [
        "registered_in_hengyang",
        "pays_tax_in_hengyang",
        "independent_legal_person",
        "cbec_in_customs_stats",
    ]
    assert all(c.op == Op.IS_TRUE for c in kb.entries["scope"].conditions)


def test_m1_park_tiers(kb: KnowledgeBase) -> None:
    m1 = kb.entries["m1"]
    assert [c.fact for c in m1.conditions] == ["operates_park", "park_recognized"]
    assert _tiers(m1) == [
        ([("park_new_cbec_tenants", Op.GT, 10), ("park_cbec_total_usd", Op.GE, 20_000_000)], 500_000),
        ([("park_new_cbec_tenants", Op.GT, 20), ("park_cbec_total_usd", Op.GE, 50_000_000)], 1_000_000),
    ]
    assert m1.units == ["市商务局", "市财政局", "衡阳高新区管委会"]


def test_m2_incubator(kb: KnowledgeBase) -> None:
    m2 = kb.entries["m2"]
    threshold = next(c for c in m2.conditions if c.fact == "incubated_enterprises")
    assert (threshold.op, threshold.value, threshold.unit) == (Op.GE, 10, Unit.COUNT)  # 10 家以上
    assert _amount(m2, "incubator_award").value == 500_000


def test_m3_and_m11_and_m15_give_no_figure(kb: KnowledgeBase) -> None:
    for entry_id in ("m3", "m11", "m15"):
        assert all(b.amount is None and not b.tiers for b in kb.entries[entry_id].benefits), entry_id


def test_m4_supervision_site(kb: KnowledgeBase) -> None:
    amount = _amount(kb.entries["m4"], "site_subsidy")
    assert (amount.kind, amount.rate, amount.of, amount.cap) == (
        "percent",
        50,
        "supervision_site_investment_cny",
        500_000,
    )


def test_m5_export_tiers(kb: KnowledgeBase) -> None:
    assert _tiers(kb.entries["m5"]) == [
        ([("cbec_export_usd", Op.GT, 0)], 20_000),
        ([("cbec_export_usd", Op.GT, 500_000)], 100_000),
        ([("cbec_export_usd", Op.GT, 1_000_000)], 500_000),
    ]
    assert all(c.unit == Unit.USD for t in kb.entries["m5"].benefits[0].tiers for c in t.conditions)


def test_m6_platform_fees(kb: KnowledgeBase) -> None:
    m6 = kb.entries["m6"]
    assert (
        _amount(m6, "promotion").rate == 50
    )
    assert (
        _amount(m6, "promotion").of == "platform_promotion_fees_cny"
    )
    assert _amount(m6, "new_store").rate == 50
    assert _amount(m6, "new_store").of == "new_store_annual_fees_cny"
    assert (m6.cap, m6.combine) == (200_000, "sum")


def test_m7_rent_and_startup(kb: KnowledgeBase) -> None:
    m7 = kb.entries["m7"]
    assert [(c.fact, c.op, c.value, c.unit) for c in m7.conditions] == [
        ("newly_entered_recognized_park", Op.IS_TRUE, None, None),
        ("rented_area_m2", Op.GE, 100, Unit.M2),
        ("cbec_total_usd", Op.GE, 100_000, Unit.USD),
    ]
    rent = _amount(m7, "rent")
    assert (rent.rate, rent.of, rent.cap) == (30, "annual_rent_cny", 100_000)
    assert _amount(m7, "startup").value == 50_000


def test_m8_leading_enterprise_tiers(kb: KnowledgeBase) -> None:
    assert _tiers(kb.entries["m8"]) == [
        ([("cbec_total_usd", Op.GE, 50_000_000)], 500_000),
        ([("cbec_total_usd", Op.GE, 100_000_000)], 1_000_000),
    ]


def test_m9_o2o(kb: KnowledgeBase) -> None:
    m9 = kb.entries["m9"]
    assert _tiers(m9) == [
        ([("o2o_store_area_m2", Op.GT, 500)], 100_000),
        ([("o2o_store_area_m2", Op.GT, 1000)], 200_000),
        ([("o2o_store_area_m2", Op.GT, 2000)], 300_000),
    ]
    community = _amount(m9, "community_stores")
    assert (community.kind, community.value, community.cap) == ("per_unit", 50_000, 400_000)


def test_m10_overseas_warehouses(kb: KnowledgeBase) -> None:
    m10 = kb.entries["m10"]
    assert _amount(m10, "provincial_warehouse").value == 200_000
    rented = next(b for b in m10.benefits if b.id == "rented_warehouse")
    assert rented.for_each == "overseas_warehouses"
    area = next(c for c in rented.conditions if c.fact == "area_m2")
    assert (area.op, area.value) == (Op.GE, 1000)
    assert rented.amount is not None
    assert (rented.amount.rate, rented.amount.cap) == (50, 200_000)
    assert rented.amount.per == ["warehouse", "year"]


def test_m12_export_credit_insurance(kb: KnowledgeBase) -> None:
    m12 = kb.entries["m12"]
    assert m12.combine == "best"
    assert (_amount(m12, "small_micro_premium").rate, _amount(m12, "small_micro_premium").cap) == (100, None)
    assert (_amount(m12, "general_premium").rate, _amount(m12, "general_premium").cap) == (50, 300_000)
    assert m12.units == ["市商务局", "市财政局", "人民银行衡阳市分行"]


def test_m13_m14_m16(kb: KnowledgeBase) -> None:
    assert _amount(kb.entries["m13"], "staff_training").cap == 50_000
    assert _amount(kb.entries["m14"], "talent_base").cap == 200_000
    social = _amount(kb.entries["m16"], "social_insurance")
    assert (social.rate, social.of, social.cap) == (10, "annual_social_insurance_cny", 100_000)
    assert kb.entries["m16"].units == ["市商务局", "市财政局", "市人社局"]


def test_every_responsible_unit_list_matches_the_text(kb: KnowledgeBase) -> None:
    for entry in kb.measures():
        match = re.search(r"（责任单位：(.+?)）", entry.source)
        assert match, entry.id
        assert entry.units == match.group(1).split("、"), entry.id


# --- strict loading: bad files are refused with a message naming the problem ------------

SHIPPED = (DATA_DIR / "hengzhengfa-2024-4.yaml").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "hengzhengfa-2024-4.md").write_text(SOURCE, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  - id: m4\n", "  - kind_of: m4\n", "entries[4] (no id): id: Field required"),
        ("  - id: m4\n", "  - id: m3\n", "duplicate entry id 'm3'"),
        (
            "cap: 500000, per: [enterprise], quote: 按投入费用",
            "cap: -5, per: [enterprise], quote: 按投入费用",
            "entry m4: benefits[0].amount.cap",
        ),
        (
            "rate: 50, of: supervision_site_investment_cny",
            "rate: 150, of: supervision_site_investment_cny",
            "entry m4: benefits[0].amount.rate",
        ),
        (
            "unit: count\n        label: {zh: 当年成功孵化",
            "unit: dozen\n        label: {zh: 当年成功孵化",
            "entry m2: conditions[1].unit",
        ),
        (
            "quote: 当年跨境电商出口总额破零",
            "quote: 当年跨境电商出口总额超过一亿",
            "entry m5: benefits[0].tiers[0].conditions[0].quote: quote not found",
        ),
        (
            "    units: [市商务局, 市财政局, 衡阳综保局]\n    benefits:\n      - id: site",
            "    units: [市商务局, 市财政局, 衡阳综保局]\n    units: [x]\n    benefits:\n      - id: site",
            "duplicate key 'units'",
        ),
        (
            "  - id: m4\n    kind: measure\n",
            "  - id: m4\n    kind: measure\n    colour: red\n",
            "entry m4: colour: Extra inputs are not permitted",
        ),
    ],
)
def test_invalid_files_are_refused_with_the_reason(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in SHIPPED
    path = _write(tmp_path, SHIPPED.replace(old, new, 1))
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge_base(path)
    assert "policy.yaml" in str(caught.value)
    assert message in str(caught.value)


def test_shipped_data_loads_from_a_directory_of_files(tmp_path: Path) -> None:
    _write(tmp_path, SHIPPED)
    kb = load_knowledge_base(tmp_path)
    assert len(kb.entries) == 20


def test_every_responsible_unit_has_an_english_name(kb: KnowledgeBase) -> None:
    (doc,) = kb.documents
    units = {u for entry in kb for u in entry.units}
    assert units <= set(doc.unit_names), units - set(doc.unit_names)
