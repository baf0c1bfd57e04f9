"""What people type as an answer, turned into a fact value, or a clear reason why not."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from eligibility.facts import FactSpec, Kind
from knowledge.models import Localized
from knowledge.numbers import NumberError, find_quantities, parse_quantity
from knowledge.text import normalize
from knowledge.units import Unit

YES = frozenset(
    [
        "是",
        "是的",
        "对",
        "对的",
        "有",
        "有的",
        "已",
        "已经",
        "肯定",
        "嗯",
        "y",
        "yes",
        "yep",
        "yeah",
        "true",
        "1",
        "ok",
        "确认",
        "属于",
        "符合",
        "算",
        "可以",
    ]
)
NO = frozenset(
    [
        "否",
        "不",
        "不是",
        "没",
        "没有",
        "无",
        "未",
        "还没",
        "还没有",
        "暂无",
        "不属于",
        "不符合",
        "不算",
        "n",
        "no",
        "nope",
        "false",
        "0",
        "none",
    ]
)
NONE_WORDS = frozenset(["0", "无", "没有", "没", "暂无", "none", "no", "nothing", "零", "不", "否", "-"])
MAX_LENGTH = 500


class AnswerError(ValueError):
    def __init__(self, message: Localized) -> None:
        super().__init__(f"{message.zh} / {message.en}")
        self.message = message


_EXAMPLES = {
    Kind.USD: ("例如：80万美元、800000", "e.g. 800000 or 80万美元"),
    Kind.CNY: ("例如：60万、600000元", "e.g. 600000 or 60万元"),
    Kind.AREA: ("例如：1200平米", "e.g. 1200 m2"),
    Kind.COUNT: ("例如：12", "e.g. 12"),
}


def parse_yes_no(text: str) -> bool:
    word = normalize(text).strip(" .。!！?？~，,")
    if len(word) > 1 and len(set(word)) == 1:  # 嗯嗯, 对对对, 是是
        word = word[0]
    if word in YES:
        return True
    if word in NO:
        return False
    raise AnswerError(
        Localized(
            zh="请回答“是”或“否”（不清楚可以跳过）。", en="Please answer yes or no (or skip if unsure)."
        )
    )


def _error(exc: NumberError, kind: Kind) -> AnswerError:
    zh, en = _EXAMPLES.get(kind, ("", ""))
    return AnswerError(Localized(zh=f"{exc.zh} {zh}".strip(), en=f"{exc.en} {en}".strip()))


def parse_amount(text: str, kind: Kind) -> Decimal | int:
    expect = kind.unit
    try:
        quantity = parse_quantity(text, expect=expect)
    except NumberError as exc:
        raise _error(exc, kind) from None
    if kind == Kind.COUNT:
        if quantity.value != quantity.value.to_integral_value():
            raise AnswerError(Localized(zh="请填写整数个数。", en="Please give a whole number."))
        return int(quantity.value)
    return quantity.value


def parse_warehouses(text: str) -> list[dict[str, Decimal]]:
    """One warehouse per line (or ';'): its area and its annual rent, in either order."""
    stripped = normalize(text).strip()
    if stripped in NONE_WORDS:
        return []
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
            return [
                {"area_m2": Decimal(str(i["area_m2"])), "annual_rent_cny": Decimal(str(i["annual_rent_cny"]))}
                for i in items
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise AnswerError(
                Localized(zh=f"仓库列表格式不对：{exc}", en=f"The warehouse list is malformed: {exc}")
            ) from None
    warehouses = []
    for line in (part.strip() for part in re.split(r"[\n;；]+", text)):
        if not line:
            continue
        found = find_quantities(line)
        areas = [q.value for q in found if q.unit == Unit.M2]
        rents = [q.value for q in found if q.unit in (Unit.CNY, Unit.NONE)]
        if any(q.unit == Unit.USD for q in found):
            raise AnswerError(
                Localized(
                    zh="海外仓租金请折算成人民币（元）填写。",
                    en="Please give the warehouse rent in yuan (CNY).",
                )
            )
        if len(areas) != 1 or len(rents) != 1:
            raise AnswerError(
                Localized(
                    zh=f"没看懂“{line[:40]}”。每行请写一个仓的面积和年租金，例如：1200平米 30万元",
                    en=f"Could not read “{line[:40]}”. One warehouse per line with area and annual rent, e.g. 1200 m2 300000",
                )
            )
        warehouses.append({"area_m2": areas[0], "annual_rent_cny": rents[0]})
    if not warehouses:
        raise AnswerError(
            Localized(zh="请至少写一个仓（没有请填0）。", en="Give at least one warehouse (0 if none).")
        )
    return warehouses


def parse_answer(spec: FactSpec, text: str) -> Any:
    """The value for `spec` from what the user typed; AnswerError says what is wrong."""
    if len(text) > MAX_LENGTH:
        raise AnswerError(
            Localized(zh="回答太长了，请简短填写。", en="That answer is too long; please keep it short.")
        )
    if not text.strip():
        raise AnswerError(Localized(zh="请填写一个回答。", en="Please type an answer."))
    if spec.kind == Kind.YES_NO:
        return parse_yes_no(text)
    if spec.kind == Kind.WAREHOUSES:
        return parse_warehouses(text)
    return parse_amount(text, spec.kind)
