"""Reading the situation a message states, and the direct answer it gets: the facts bound to the
words that name them, items of a list, statements of status, follow-ups read with their context —
and, for every question with figures, the free answer's amount equal to what the screening
(`policybot check`) gives for the same facts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eligibility.answer import Assistant, Context, assumed
from eligibility.facts import Facts, load_fact_specs
from eligibility.screening import screen
from eligibility.situation import read_situation
from knowledge.loader import KnowledgeBase

ON = date(2025, 6, 1)
SPECS = load_fact_specs()


@pytest.fixture(scope="module")
def helper(kb: KnowledgeBase) -> Assistant:
    return Assistant(kb, today=lambda: ON)


def facts(text: str) -> dict[str, Any]:
    return read_situation(text, SPECS).facts


def test_figures_bind_to_the_fact_their_words_name() -> None:
    assert facts("推广费30万，新开店铺年费20万") == {
        "platform_promotion_fees_cny": 300000,
        "new_store_annual_fees_cny": 200000,
    }
    assert facts("出口80万美元，社保交了60万") == {
        "cbec_export_usd": 800000,
        "annual_social_insurance_cny": 600000,
    }
    assert facts("园区新入驻12家跨境企业，进出口总额2500万美元") == {
        "park_new_cbec_tenants": 12,
        "park_cbec_total_usd": 25000000,
    }
    # the tenant's own trade, not the park's, when no tenants are counted
    tenant = facts("新入驻园区，租了150平，年租金20万，进出口15万美元")
    assert tenant["cbec_total_usd"] == 150000
    assert tenant["rented_area_m2"] == 150
    assert tenant["annual_rent_cny"] == 200000


def test_each_item_of_a_list_keeps_its_own_figures() -> None:
    two = facts("两个海外仓都是1500平，年租金各50万，一共能补多少")["overseas_warehouses"]
    assert two == [{"area_m2": 1500, "annual_rent_cny": 500000}] * 2
    mixed = facts("海外仓1200平米年租金30万，另一个800平米年租金15万")["overseas_warehouses"]
    assert mixed == [{"area_m2": 1200, "annual_rent_cny": 300000}, {"area_m2": 800, "annual_rent_cny": 150000}]
    three = facts("我们三个海外仓：1000平租金40万、1100平租金50万、950平租金30万")["overseas_warehouses"]
    assert [w["area_m2"] for w in three] == [1000, 1100, 950]


@pytest.mark.parametrize(
    ("text", "fact", "value"),
    [
        ("我们是分公司能申请吗", "independent_legal_person", False),
        ("个体户可以申请吗", "independent_legal_person", False),
        ("Can a branch office apply?", "independent_legal_person", False),
        ("我们不是分公司，是独立法人", "independent_legal_person", True),
        ("我们在长沙注册的可以申请吗", "registered_in_hengyang", False),
        ("走深圳海关报关的能申请吗", "cbec_in_customs_stats", False),
        ("已在园区两年了", "newly_entered_recognized_park", False),
        ("我们是小微企业，通过单一窗口投保", "small_or_micro", True),
        ("我们是小微企业，通过单一窗口投保", "insured_via_single_window", True),
    ],
)
def test_statements_of_status(text: str, fact: str, value: bool) -> None:
    assert facts(text)[fact] is value


def test_spoken_numbers_and_units() -> None:
    assert facts("八十万美金的出口")["cbec_export_usd"] == 800000
    assert facts("We rent a 2,500 square metre overseas warehouse for 600,000 yuan a year.")[
        "overseas_warehouses"
    ] == [{"area_m2": 2500, "annual_rent_cny": 600000}]


# --- the direct answer ---------------------------------------------------------------------------


def direct(helper: Assistant, text: str, context: list[str] | None = None) -> dict[str, Any]:
    answer = helper.ask(text, context=context or [])
    assert answer.direct is not None, answer.text
    return answer.direct.as_json()


def test_the_free_answer_applies_the_combined_cap(helper: Assistant) -> None:
    assert direct(helper, "在亚马逊上做推广一年花了50万，能补贴多少钱")["max_amount_cny"] == 200000
    assert direct(helper, "推广费30万，新开店铺年费20万，能补多少")["max_amount_cny"] == 200000


def test_every_warehouse_counts_and_one_under_the_floor_is_said(helper: Assistant) -> None:
    assert direct(helper, "两个海外仓都是1500平，年租金各50万，一共能补多少")["max_amount_cny"] == 400000
    answer = helper.ask("海外仓一个1200平米年租金30万，另一个800平米年租金15万，能补多少")
    assert answer.direct is not None
    assert answer.direct.max_amount_cny == 150000
    assert "✗ 第2个：租赁海外仓面积1000平方米以上" in answer.text


def test_what_the_user_says_about_itself_decides(helper: Assistant) -> None:
    small = direct(helper, "我们是小微企业，通过单一窗口投保，保费一年8万，能补多少")
    assert small["max_amount_cny"] == 80000  # the full premium, not the general 50%
    for text in ("我们是分公司能申请吗", "个体户可以申请吗", "我们在长沙注册的可以申请吗"):
        assert direct(helper, text)["answer"] == "no", text
    answer = helper.ask("我们是分公司能申请吗")
    assert answer.text.startswith("不可以")
    assert "分公司" in answer.text.split("\n")[0]
    assert helper.ask("Can a branch office apply?", "en").text.startswith("No")


def test_exact_boundaries(helper: Assistant) -> None:
    assert direct(helper, "出口刚好50万美元能拿多少")["max_amount_cny"] == 20000  # 超过 excludes 50万
    assert direct(helper, "出口50.01万美元能拿多少")["max_amount_cny"] == 100000
    assert direct(helper, "海外仓正好1000平，年租金10万，能补多少")["max_amount_cny"] == 50000
    assert direct(helper, "海外仓999平，年租金10万，能补吗")["answer"] == "no"


def test_a_follow_up_is_read_with_the_conversation(helper: Assistant) -> None:
    first = helper.ask("我们租了一个海外仓800平米，年租金30万，能补吗")
    assert first.direct is not None
    assert first.direct.answer == "no"
    second = helper.ask("那如果是1500平米呢", context=first.context)
    assert second.direct is not None
    assert second.direct.measure == "m10"
    assert second.direct.max_amount_cny == 150000  # the rent carried over, the area replaced
    fresh = helper.ask("社保补贴怎么算", context=second.context)
    assert fresh.entry_ids == ("m16",)  # a new topic starts afresh


def test_context_lines_of_the_command_line_give_the_same_answer(helper: Assistant) -> None:
    replayed = helper.ask("那如果是1500平米呢", context=["我们租了一个海外仓800平米，年租金30万，能补吗"])
    assert replayed.direct is not None
    assert replayed.direct.max_amount_cny == 150000


def test_a_clarification_keeps_the_figures(helper: Assistant) -> None:
    context = Context(pending="我们今年跨境出口80万美元能拿多少", facts={"cbec_export_usd": Decimal(800000)})
    answer = helper.answer_with("m5", context)
    assert answer.direct is not None
    assert answer.direct.max_amount_cny == 100000


def test_thanks_gets_a_short_reply(helper: Assistant) -> None:
    assert helper.ask("谢谢").thanks
    assert len(helper.ask("thanks").text) < 120


# --- one computation ------------------------------------------------------------------------------


def check_amount(kb: KnowledgeBase, measure: str, stated: dict[str, Any], ids: set[str]) -> int | None:
    """What `policybot check` gives for the same facts (the general eligibility taken as met)."""
    screening = screen(kb, Facts.model_validate(assumed(kb, measure, stated)), ON)
    amounts = [
        m.max_amount_cny for m in screening.measures if m.id in ids and m.verdict == "eligible" and m.max_amount_cny
    ]
    return sum(amounts) if amounts else None


money = st.integers(min_value=1, max_value=3_000_000)


@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    export=money,
    social=money,
    fees=st.tuples(money, money),
    warehouses=st.lists(st.tuples(st.integers(200, 5000), money), min_size=1, max_size=3),
    which=st.sampled_from(["export", "social", "export+social", "fees", "warehouses"]),
)
def test_the_free_answer_and_the_screening_agree(
    helper: Assistant,
    kb: KnowledgeBase,
    export: int,
    social: int,
    fees: tuple[int, int],
    warehouses: list[tuple[int, int]],
    which: str,
) -> None:
    texts = {
        "export": f"我们今年跨境出口{export}美元，能拿多少",
        "social": f"今年给员工交社保{social}元，能补多少",
        "export+social": f"今年跨境出口{export}美元，社保交了{social}元，一共能拿多少",
        "fees": f"亚马逊推广费{fees[0]}元，新开店铺年费{fees[1]}元，能补多少",
        "warehouses": "我们的海外仓：" + "；".join(f"一个{a}平米年租金{r}元" for a, r in warehouses) + "，能补多少",
    }
    expected_facts = {
        "export": {"cbec_export_usd": export},
        "social": {"annual_social_insurance_cny": social},
        "export+social": {"cbec_export_usd": export, "annual_social_insurance_cny": social},
        "fees": {"platform_promotion_fees_cny": fees[0], "new_store_annual_fees_cny": fees[1]},
        "warehouses": {"overseas_warehouses": [{"area_m2": a, "annual_rent_cny": r} for a, r in warehouses]},
    }[which]
    answer = helper.ask(texts[which])
    assert answer.direct is not None, texts[which]
    assert answer.direct.facts == expected_facts
    ids = {r.id for r in answer.direct.results}
    assert answer.direct.measure is not None
    got = answer.direct.max_amount_cny
    want = check_amount(kb, answer.direct.measure, dict(answer.direct.facts), ids)
    assert (got or None) == want, texts[which]
