"""Answers as people type them, and profiles from files: values or a clear error."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from eligibility.facts import load_fact_specs
from eligibility.parse import AnswerError, parse_answer
from eligibility.profiles import ProfileError, read_profiles

SPECS = load_fact_specs()


@pytest.mark.parametrize(
    ("fact", "text", "value"),
    [
        ("cbec_export_usd", "80万美元", Decimal(800000)),
        ("cbec_export_usd", "八十万", Decimal(800000)),
        ("cbec_export_usd", "80w", Decimal(800000)),
        ("cbec_export_usd", "1.2亿", Decimal(120000000)),
        ("cbec_export_usd", "$500,000", Decimal(500000)),
        ("annual_social_insurance_cny", "1,200", Decimal(1200)),
        ("annual_social_insurance_cny", "六十万元", Decimal(600000)),
        ("rented_area_m2", "1200平米", Decimal(1200)),
        ("rented_area_m2", "１２００㎡", Decimal(1200)),
        ("park_new_cbec_tenants", "12家", 12),
        ("registered_in_hengyang", "是", True),
        ("registered_in_hengyang", "不是", False),
        ("registered_in_hengyang", "Yes", True),
        ("overseas_warehouses", "0", []),
        ("overseas_warehouses", "没有", []),
    ],
)
def test_accepted(fact: str, text: str, value: Any) -> None:
    assert parse_answer(SPECS[fact], text) == value


def test_warehouses_one_per_line() -> None:
    assert parse_answer(SPECS["overseas_warehouses"], "1200平米 30万元\n800平方米，年租金10万") == [
        {"area_m2": Decimal(1200), "annual_rent_cny": Decimal(300000)},
        {"area_m2": Decimal(800), "annual_rent_cny": Decimal(100000)},
    ]


@pytest.mark.parametrize(
    ("fact", "text", "says"),
    [
        ("cbec_export_usd", "-50万", "负"),
        ("cbec_export_usd", "NaN", "无法识别"),
        ("cbec_export_usd", "1e999", "科学计数法"),
        ("cbec_export_usd", "60万元", "美元"),  # wrong currency for the field
        ("annual_rent_cny", "3万美元", "人民币"),
        ("park_new_cbec_tenants", "1.5", "整数"),
        ("registered_in_hengyang", "也许吧", "是"),
        ("rented_area_m2", "", "请填写"),
        ("rented_area_m2", "很大", "无法识别"),
        ("overseas_warehouses", "1200平米", "面积和年租金"),
        ("cbec_export_usd", "8" * 600, "太长"),
    ],
)
def test_refused_with_a_reason(fact: str, text: str, says: str) -> None:
    with pytest.raises(AnswerError) as caught:
        parse_answer(SPECS[fact], text)
    assert says in caught.value.message.zh
    assert caught.value.message.en


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_profiles(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "batch.csv",
        "name,registered_in_hengyang,cbec_export_usd,overseas_warehouses\n"
        'A公司,是,80万美元,"[{""area_m2"": 1200, ""annual_rent_cny"": 300000}]"\n'
        "B公司,否,,\n",
    )
    profiles = list(read_profiles(path))
    assert [p.label for p in profiles] == ["A公司", "B公司"]
    assert profiles[0].facts.cbec_export_usd == 800000
    assert profiles[0].facts.overseas_warehouses is not None
    assert profiles[1].facts.registered_in_hengyang is False
    assert profiles[1].facts.cbec_export_usd is None


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("bad.csv", "name,colour\nA,red\n", "header: unknown fact name(s): colour"),
        ("bad.csv", "registered_in_hengyang,cbec_export_usd\n是,-5\n", "row 1: field cbec_export_usd"),
        (
            "bad.jsonl",
            '{"cbec_export_usd": 5}\n{"cbec_export_usd": "lots"}\n',
            "line 2: field cbec_export_usd",
        ),
        ("bad.jsonl", '{"cbec_export_usd": 5}\n{"exports": 5}\n', "line 2: unknown fact name(s): exports"),
        ("bad.json", "[1, 2]", "a profile is a JSON object"),
        ("bad.json", '{"rented_area_m2": -1}', "field rented_area_m2"),
        ("bad.txt", "x", "expected a .json, .jsonl or .csv file"),
    ],
)
def test_bad_profiles_name_row_and_field(tmp_path: Path, name: str, text: str, says: str) -> None:
    with pytest.raises(ProfileError) as caught:
        list(read_profiles(_write(tmp_path, name, text)))
    assert says in str(caught.value)
