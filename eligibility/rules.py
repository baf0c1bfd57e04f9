"""One small evaluator for every measure: it reads conditions and amounts from the knowledge
base and knows no measure by name.

Three-valued throughout: a condition is met (True), failed (False) or unknown (None, the fact
is missing). A measure is `ineligible` as soon as one of its own or the document's base
conditions fails, whatever else is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Literal

from eligibility.facts import Facts
from knowledge.loader import KnowledgeBase
from knowledge.models import Amount, Benefit, Condition, Entry, Localized, Op, Tier
from knowledge.render import format_money, format_quantity

Verdict = Literal["eligible", "ineligible", "unknown"]
Status = bool | None


@dataclass(frozen=True)
class Reason:
    """One condition checked (met True/False, None unknown) or one amount worked out."""

    text: Localized
    met: Status
    clause: str  # the entry whose text it comes from

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {"text": self.text.get(lang), "met": self.met, "clause": self.clause}


@dataclass(frozen=True)
class BenefitResult:
    benefit_id: str
    status: Status
    amount: Decimal | None  # None: not eligible or no figure in the text
    missing: tuple[str, ...]
    reasons: tuple[Reason, ...]
    no_figure: bool = False


@dataclass(frozen=True)
class MeasureResult:
    id: str
    verdict: Verdict
    max_amount_cny: int | None
    reasons: tuple[Reason, ...]
    missing: tuple[str, ...]
    units: tuple[str, ...]
    no_figure: bool = False  # eligible, but the text gives no amount (适当支持, 一定支持…)
    benefits: tuple[BenefitResult, ...] = field(default=(), repr=False)
    document: str = ""  # its document's 文号 (set by the screening, which knows the day)
    in_force: bool = True  # its document is in force on the day screened

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "id": self.id,
            "document": self.document,
            "in_force": self.in_force,
            "verdict": self.verdict,
            "max_amount_cny": self.max_amount_cny,
            "reasons": [r.as_dict(lang) for r in self.reasons],
            "missing": list(self.missing),
            "units": list(self.units),
        }


def check(condition: Condition, values: Mapping[str, Any]) -> Status:
    value = values.get(condition.fact)
    if value is None:
        return None
    if condition.op == Op.IS_TRUE:
        return bool(value)
    if condition.op == Op.IS_FALSE:
        return not bool(value)
    assert condition.value is not None
    number = Decimal(value)
    return number > condition.value if condition.op == Op.GT else number >= condition.value


def _conditions(
    conditions: list[Condition], values: Mapping[str, Any], clause: str
) -> tuple[Status, list[str], list[Reason]]:
    """All must hold. Failed beats unknown: one failure settles the matter."""
    missing: list[str] = []
    reasons: list[Reason] = []
    failed: list[Reason] = []
    for condition in conditions:
        status = check(condition, values)
        reason = Reason(condition.label, status, clause)
        if status is False:
            failed.append(reason)
        elif status is None:
            missing.append(condition.fact)
        else:
            reasons.append(reason)
    if failed:
        return False, [], failed
    if missing:
        return None, missing, reasons
    return True, [], reasons


def compute(
    amount: Amount, values: Mapping[str, Any], label: Localized, clause: str
) -> tuple[Decimal | None, list[str], Reason | None]:
    """The amount for known facts; (None, [fact]) when the fact it depends on is missing."""
    if amount.kind == "fixed":
        assert amount.value is not None
        value = Decimal(amount.value)
        return (
            value,
            [],
            Reason(
                Localized(
                    zh=f"{label.zh}：最高{format_money(value, 'zh')}",
                    en=f"{label.en}: up to {format_money(value, 'en')}",
                ),
                True,
                clause,
            ),
        )
    assert amount.of is not None
    base = values.get(amount.of)
    if base is None:
        return None, [amount.of], None
    base = Decimal(base)
    if amount.kind == "percent":
        assert amount.rate is not None
        raw = base * amount.rate / 100
        how_zh = f"{format_money(base, 'zh')} × {amount.rate:f}%"
        how_en = f"{amount.rate:f}% of {format_money(base, 'en')}"
    else:
        assert amount.value is not None
        raw = base * amount.value
        how_zh = f"{format_quantity(base, None, 'zh')} × {format_money(amount.value, 'zh')}"
        how_en = f"{format_quantity(base, None, 'en')} × {format_money(amount.value, 'en')}"
    value = raw if amount.cap is None else min(raw, Decimal(amount.cap))
    cap_zh = (
        f"（上限{format_money(amount.cap, 'zh')}）" if amount.cap is not None and raw > amount.cap else ""
    )
    cap_en = (
        f" (capped at {format_money(amount.cap, 'en')})"
        if amount.cap is not None and raw > amount.cap
        else ""
    )
    reason = Reason(
        Localized(
            zh=f"{label.zh}：{how_zh} → 最高{format_money(value, 'zh')}{cap_zh}",
            en=f"{label.en}: {how_en} → up to {format_money(value, 'en')}{cap_en}",
        ),
        True,
        clause,
    )
    return value, [], reason


def _benefit(benefit: Benefit, values: Mapping[str, Any], clause: str) -> BenefitResult:
    if benefit.for_each is not None:
        return _each(benefit, values, clause)
    status, missing, reasons = _conditions(benefit.conditions, values, clause)
    if status is False:
        return BenefitResult(benefit.id, False, None, (), tuple(reasons))
    if benefit.tiers:
        return _tiers(benefit, values, clause, status, missing, reasons)
    if benefit.amount is None:
        if status:
            note = benefit.note or Localized(zh="文件未定金额", en="no figure in the text")
            reasons.append(
                Reason(
                    Localized(zh=f"{benefit.label.zh}：{note.zh}", en=f"{benefit.label.en}: {note.en}"),
                    True,
                    clause,
                )
            )
        return BenefitResult(benefit.id, status, None, tuple(missing), tuple(reasons), no_figure=True)
    if status is None:
        extra = [benefit.amount.of] if benefit.amount.of and benefit.amount.of not in missing else []
        return BenefitResult(
            benefit.id,
            None,
            None,
            tuple(missing + [m for m in extra if values.get(m) is None]),
            tuple(reasons),
        )
    value, amount_missing, reason = compute(benefit.amount, values, benefit.label, clause)
    if value is None:
        return BenefitResult(benefit.id, None, None, tuple(amount_missing), tuple(reasons))
    assert reason is not None
    if value <= 0:
        return BenefitResult(benefit.id, False, None, (), (Reason(reason.text, False, clause),))
    return BenefitResult(benefit.id, True, value, (), (*reasons, reason))


def _tiers(
    benefit: Benefit,
    values: Mapping[str, Any],
    clause: str,
    status: Status,
    missing: list[str],
    reasons: list[Reason],
) -> BenefitResult:
    """The highest tier that holds pays; a higher tier still unknown leaves its facts missing."""
    best: tuple[Decimal, Reason] | None = None
    higher_missing: list[str] = []
    failures: list[Reason] = []
    above: Tier | None = None
    for tier in reversed(benefit.tiers):
        tier_status, tier_missing, tier_reasons = _conditions(tier.conditions, values, clause)
        if tier_status is True:
            value, _, amount_reason = compute(tier.amount, values, benefit.label, clause)
            assert value is not None
            assert amount_reason is not None
            best = (value, amount_reason)
            reasons = reasons + tier_reasons
            break
        if tier_status is None:
            higher_missing += [m for m in tier_missing if m not in higher_missing]
        else:
            failures += tier_reasons
            above = tier  # the tier just above whichever one holds
    if status is None:
        return BenefitResult(
            benefit.id, None, None, tuple(dict.fromkeys(missing + higher_missing)), tuple(reasons)
        )
    if best is not None:
        unmet: tuple[Reason, ...] = ()
        if failures and above is not None and above.amount.value is not None:
            # Say what the next tier would have needed: "超过50万美元 → 最高10万元" not met.
            labels = Localized(
                zh="；".join(c.label.zh for c in above.conditions) + f" → 最高{format_money(above.amount.value, 'zh')}",
                en="; ".join(c.label.en for c in above.conditions) + f" → up to {format_money(above.amount.value, 'en')}",
            )
            unmet = (Reason(labels, False, clause),)
        return BenefitResult(benefit.id, True, best[0], tuple(higher_missing), (*reasons, best[1], *unmet))
    if higher_missing:
        return BenefitResult(benefit.id, None, None, tuple(higher_missing), tuple(reasons))
    # Every tier failed: the lowest tier's failure is the reason that matters.
    return BenefitResult(benefit.id, False, None, (), tuple(failures[-1:]))


def _each(benefit: Benefit, values: Mapping[str, Any], clause: str) -> BenefitResult:
    assert benefit.for_each is not None
    items = values.get(benefit.for_each)
    if items is None:
        return BenefitResult(benefit.id, None, None, (benefit.for_each,), ())
    total = Decimal(0)
    reasons: list[Reason] = []
    unknown = False  # an item whose conditions cannot be settled yet (its rent not given)
    for number, item in enumerate(items, start=1):
        item_values = item if isinstance(item, Mapping) else dict(item)
        item_values = {k: v for k, v in item_values.items() if v is not None}
        status, _, item_reasons = _conditions(benefit.conditions, item_values, clause)
        unknown = unknown or status is None
        label = Localized(zh=f"{benefit.label.zh} 第{number}个", en=f"{benefit.label.en} #{number}")
        reasons += [
            Reason(Localized(zh=f"第{number}个：{r.text.zh}", en=f"#{number}: {r.text.en}"), r.met, clause)
            for r in item_reasons
        ]
        if not status or benefit.amount is None:
            continue
        value, _, reason = compute(benefit.amount, item_values, label, clause)
        if value:
            total += value
            assert reason is not None
            reasons.append(reason)
    if total <= 0 and unknown:
        return BenefitResult(benefit.id, None, None, (benefit.for_each,), tuple(reasons))
    if total <= 0:
        if not reasons:
            reasons.append(
                Reason(
                    Localized(
                        zh=f"{benefit.label.zh}：没有符合条件的项", en=f"{benefit.label.en}: none qualifies"
                    ),
                    False,
                    clause,
                )
            )
        return BenefitResult(benefit.id, False, None, (), tuple(reasons))
    return BenefitResult(benefit.id, True, total, (), tuple(reasons))


def evaluate(kb: KnowledgeBase, entry: Entry, facts: Facts) -> MeasureResult:
    """Screen one measure: the document's base conditions, the measure's, then its benefits."""
    values = facts.model_dump(exclude_none=True)
    units = tuple(entry.units)
    scope = kb.scope_of(entry.id)
    base_status, base_missing, base_reasons = _conditions(
        scope.conditions if scope else [], values, scope.id if scope else entry.id
    )
    own_status, own_missing, own_reasons = _conditions(entry.conditions, values, entry.id)
    if base_status is False or own_status is False:
        failed = [r for r in (*base_reasons, *own_reasons) if r.met is False]
        return MeasureResult(entry.id, "ineligible", None, tuple(failed), (), units)
    results = [_benefit(b, values, entry.id) for b in entry.benefits]
    reasons = [*base_reasons, *own_reasons]
    gate_missing = base_missing + own_missing
    open_missing = [m for r in results if r.status is not False for m in r.missing]
    missing = tuple(dict.fromkeys(gate_missing + open_missing))
    eligible = [r for r in results if r.status is True]
    if results and all(r.status is False for r in results):
        # Every benefit has failed on its own terms: nothing unknown can change that.
        failed = [r for result in results for r in result.reasons if r.met is False]
        return MeasureResult(entry.id, "ineligible", None, tuple(failed), (), units, benefits=tuple(results))
    for result in results:
        if result.status is not False or not eligible:
            reasons += result.reasons
    if gate_missing or not eligible:
        verdict: Verdict = (
            "unknown" if (gate_missing or any(r.status is None for r in results)) else "ineligible"
        )
        if verdict == "ineligible":
            reasons = [r for r in reasons if r.met is False] or reasons
        return MeasureResult(
            entry.id,
            verdict,
            None,
            tuple(reasons),
            missing if verdict == "unknown" else (),
            units,
            benefits=tuple(results),
        )
    amounts = [r.amount for r in eligible if r.amount is not None]
    total: Decimal | None = None
    if amounts:
        total = max(amounts) if entry.combine == "best" else sum(amounts, Decimal(0))
        if entry.cap is not None and total > entry.cap:
            total = Decimal(entry.cap)
            reasons.append(
                Reason(
                    Localized(
                        zh=f"合计按上限{format_money(entry.cap, 'zh')}计",
                        en=f"together capped at {format_money(entry.cap, 'en')}",
                    ),
                    True,
                    entry.id,
                )
            )
    no_figure = total is None
    return MeasureResult(
        entry.id,
        "eligible",
        None if total is None else int(total.to_integral_value(rounding=ROUND_FLOOR)),
        tuple(reasons),
        missing,
        units,
        no_figure=no_figure,
        benefits=tuple(results),
    )


def benefit_results(entry: Entry, values: Mapping[str, Any]) -> list[BenefitResult]:
    """Each benefit of a measure on the given values, the measure's own conditions set aside."""
    return [_benefit(b, values, entry.id) for b in entry.benefits]


def known_conditions(entry: Entry, values: Mapping[str, Any]) -> list[Reason]:
    """The measure's own conditions that the values settle, met or not."""
    reasons = []
    for condition in entry.conditions:
        status = check(condition, values)
        if status is not None:
            reasons.append(Reason(condition.label, status, entry.id))
    return reasons
