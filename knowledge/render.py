"""Plain-text views of entries, in zh or en. Doors (bot, terminal, CLI) add their own markup."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from knowledge.loader import KnowledgeBase
from knowledge.models import Amount, Benefit, Condition, Document, Entry, Per
from knowledge.units import Unit
from knowledge.validity import ValidityStatus, in_force_on


def _plain(value: Decimal | int) -> str:
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_money(value: int | Decimal, lang: str, unit: Unit = Unit.CNY) -> str:
    """500000 → "50万元" / "CNY 500,000"; 20000000 USD → "2000万美元" / "USD 20,000,000"."""
    value = Decimal(value)
    if lang == "en":
        code = "USD" if unit == Unit.USD else "CNY"
        return f"{code} {value:,.0f}" if value == value.to_integral() else f"{code} {value:,.2f}"
    suffix = "美元" if unit == Unit.USD else "元"
    if value >= 100_000_000 and value % 10_000_000 == 0:
        return f"{_plain(value / 100_000_000)}亿{suffix}"
    if value >= 10_000 and value % 100 == 0:
        return f"{_plain(value / 10_000)}万{suffix}"
    return f"{_plain(value.quantize(Decimal('0.01')))}{suffix}"


def format_quantity(value: Decimal | int, unit: Unit | None, lang: str) -> str:
    if unit in (Unit.USD, Unit.CNY):
        return format_money(value, lang, unit)
    if unit == Unit.M2:
        return f"{_plain(Decimal(value))} m²" if lang == "en" else f"{_plain(Decimal(value))}平方米"
    if unit == Unit.COUNT:
        return _plain(Decimal(value)) if lang == "en" else f"{_plain(Decimal(value))}家"
    return _plain(Decimal(value))


_PER = {
    "enterprise": ("每家企业", "per enterprise"),
    "park": ("每个园区", "per park"),
    "incubator": ("每个孵化中心", "per centre"),
    "warehouse": ("每个海外仓", "per warehouse"),
    "store": ("每家店", "per store"),
    "base": ("每个基地", "per base"),
    "year": ("每年", "per year"),
    "one_time": ("一次性", "one-time"),
}


def format_per(per: list[Per], lang: str) -> str:
    words = [_PER[p][1 if lang == "en" else 0] for p in per]
    return ", ".join(words) if lang == "en" else "、".join(words)


def describe_amount(amount: Amount, lang: str) -> str:
    per = format_per(amount.per, lang)
    per_part = (f" ({per})" if lang == "en" else f"（{per}）") if per else ""
    cap = ""
    if amount.cap is not None:
        cap = (
            f", at most {format_money(amount.cap, lang)}"
            if lang == "en"
            else f"，最高{format_money(amount.cap, lang)}"
        )
    if amount.kind == "fixed":
        assert amount.value is not None
        body = (
            f"up to {format_money(amount.value, lang)}"
            if lang == "en"
            else f"最高{format_money(amount.value, lang)}"
        )
    elif amount.kind == "percent":
        rate = _plain(amount.rate or Decimal(0))
        if amount.rate == 100:
            body = "the actual cost" if lang == "en" else "按实际费用"
        else:
            body = f"{rate}% of the cost" if lang == "en" else f"按费用的{rate}%"
    else:
        assert amount.value is not None
        body = (
            f"{format_money(amount.value, lang)} each"
            if lang == "en"
            else f"每{'' if amount.of is None else '新增1家'}{format_money(amount.value, lang)}"
        )
    return body + cap + per_part


def describe_condition(condition: Condition, lang: str) -> str:
    return condition.label.get(lang)


def benefit_lines(benefit: Benefit, lang: str) -> list[str]:
    """One line per way the benefit pays: a tier each, or its single amount."""
    if benefit.tiers:
        return [
            "; ".join(c.label.get(lang) for c in tier.conditions) + " → " + describe_amount(tier.amount, lang)
            for tier in benefit.tiers
        ]
    label = benefit.label.get(lang)
    if benefit.amount is None:
        note = (
            benefit.note.get(lang)
            if benefit.note
            else ("no figure in the text" if lang == "en" else "文件未定金额")
        )
        return [f"{label}: {note}" if lang == "en" else f"{label}：{note}"]
    line = (
        f"{label}: {describe_amount(benefit.amount, lang)}"
        if lang == "en"
        else f"{label}：{describe_amount(benefit.amount, lang)}"
    )
    return [line]


def _heading(entry: Entry, lang: str) -> str:
    if entry.kind == "measure":
        return (f"Measure {entry.number}: " if lang == "en" else f"第{entry.number}条 ") + entry.title.get(
            lang
        )
    return entry.title.get(lang)


def render_card(
    kb: KnowledgeBase,
    entry: Entry,
    lang: str = "zh",
    status: ValidityStatus | None = None,
    *,
    source: bool = True,
) -> str:
    """The full card: what it is, who for, conditions, amounts, units, source, warning."""
    en = lang == "en"
    section = kb.section(entry.id)
    doc = kb.document_of(entry.id)
    lines = [f"【{_heading(entry, lang)}】", f"{doc.number} · {section.number}{section.title.get(lang)}", ""]
    lines.append(entry.summary.get(lang))
    if entry.audience:
        lines += ["", ("Who: " if en else "适用对象：") + entry.audience.get(lang)]
    scope = kb.scope_of(entry.id)
    conditions = list(entry.conditions)
    for benefit in entry.benefits:
        conditions += benefit.conditions if benefit.for_each is None else []
    if entry.kind == "scope":
        conditions = list(entry.conditions)
    if conditions:
        lines += ["", "Conditions:" if en else "条件："]
        seen: set[str] = set()
        for condition in conditions:
            text = describe_condition(condition, lang)
            if text not in seen:
                seen.add(text)
                lines.append(f" • {text}")
        if scope is not None and entry.kind == "measure":
            lines.append(
                " • "
                + (
                    "and the general eligibility (see 'Who can apply')"
                    if en
                    else "并符合“支持范围”的基本条件"
                )
            )
    if entry.benefits:
        lines += ["", "Amounts:" if en else "金额："]
        for benefit in entry.benefits:
            prefix = ""
            if benefit.for_each:
                prefix = (
                    ("for each warehouse: " if en else "每个海外仓：")
                    + "; ".join(c.label.get(lang) for c in benefit.conditions)
                    + " → "
                )
            lines += [f" • {prefix}{line}" for line in benefit_lines(benefit, lang)]
        if entry.cap is not None:
            together = (
                f" • together at most {format_money(entry.cap, lang)} ({format_per(entry.cap_per, lang)})"
                if en
                else f" • 以上合计最高{format_money(entry.cap, lang)}（{format_per(entry.cap_per, lang)}）"
            )
            lines.append(together)
        if entry.combine == "best":
            lines.append(
                " • " + ("the better of these applies, not both" if en else "以上按其中最优的一项计，不叠加")
            )
    if entry.notes:
        lines += ["", "Notes:" if en else "说明："] + [f" • {n.get(lang)}" for n in entry.notes]
    if entry.units:
        units = [f"{doc.unit_names.get(u, u)} ({u})" for u in entry.units] if en else entry.units
        lines += ["", ("Responsible units: " if en else "责任单位：") + (", " if en else "、").join(units)]
    if source:
        lines += ["", ("Source text (Chinese original): " if en else "原文：") + f"「{entry.source}」"]
    if status is not None:
        warning = status.warning(doc)
        if warning is not None:
            lines += ["", warning.get(lang)]
            if (current := in_force_line(kb, doc, status.on, lang)) is not None:
                lines.append(current)
    return "\n".join(lines)


def in_force_line(kb: KnowledgeBase, document: Document, on: date, lang: str) -> str | None:
    """Beside a document not in force: the base's documents that are ("现行有效：衡政发〔2026〕9号…")."""
    others = [d for d in in_force_on(kb.documents, on) if d.id != document.id]
    if not others:
        return None
    if lang == "en":
        named = "; ".join(f"{d.number} (until {d.validity.effective_until.isoformat()})" for d in others)
        return f"In force on {on.isoformat()}: {named}."
    named = "；".join(f"{d.number}（至 {d.validity.effective_until.isoformat()}）" for d in others)
    return f"{on.isoformat()} 现行有效的文件：{named}。"
