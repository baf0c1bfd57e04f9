"""The interview's texts (HTML). The interview is one message: the answer just recorded as a line
(`head`), then the current step (`body`: progress, the question, its help); the result comes as
a message of its own."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

from bot.format import esc
from bot.i18n import Translator
from bot.views import named
from eligibility.depends import Depends
from eligibility.facts import FactSpec, Kind
from eligibility.interview import Interview, Plan, Step
from eligibility.labels import fact_label
from eligibility.rules import MeasureResult
from eligibility.screening import DISCLAIMER, Screening
from knowledge.loader import KnowledgeBase
from knowledge.models import Entry
from knowledge.render import format_money, format_quantity

KIND_HINTS: dict[Kind, str] = {
    Kind.YES_NO: "iv.hint.yes_no",
    Kind.COUNT: "iv.hint.count",
    Kind.USD: "iv.hint.usd",
    Kind.CNY: "iv.hint.cny",
    Kind.AREA: "iv.hint.area",
    Kind.WAREHOUSES: "iv.hint.warehouses",
}


def plain_value(t: Translator, spec: FactSpec, value: Any) -> str:
    """A fact's value as people write it: 是, 80万美元, 1200平方米, 3家, "1200平方米 · 30万元"."""
    if value is None:
        return "?"
    if spec.kind == Kind.YES_NO:
        return t("button.yes" if value else "button.no")
    if spec.kind == Kind.WAREHOUSES:
        if not value:
            return t("iv.none")
        items = []
        for item in value:
            area = format_quantity(Decimal(str(item["area_m2"])), Kind.AREA.unit, t.lang)
            rent = item.get("annual_rent_cny")
            items.append(
                area
                if rent is None
                else f"{area} · {format_quantity(Decimal(str(rent)), Kind.CNY.unit, t.lang)}"
            )
        return t("list.sep").join(items)
    return format_quantity(Decimal(str(value)), spec.kind.unit, t.lang)


def recorded(t: Translator, label: str, answer: str) -> str:
    """An answer as it stays in the interview message: "<i>今年跨境电商出口额</i> → 80万美元"."""
    return t("iv.recorded", label=esc(label), answer=esc(answer))


TITLES = {
    "base": "iv.title.base",
    "activities": "iv.title.activities",
    "followup": "iv.title.followup",
    "understood": "iv.title.understood",
}


def step_title(t: Translator, plan: Plan, step: Step) -> str:
    """What a step asked, as the answer's line names it."""
    if step.kind in ("fact", "confirm"):
        return plan.specs[step.names[0]].short(t.lang)
    return t(TITLES[step.kind])


def checklist_answer(
    t: Translator, plan: Plan, step: Step, ticked: Collection[str], answers: Mapping[str, Any]
) -> str:
    """What a checklist's answer says, in words: "都符合", "跨境电商出口、为员工缴纳社保"…"""
    lang, sep = t.lang, t("list.sep")
    if step.kind == "base":
        failing = [plan.specs[n].short(lang) for n in step.names if n not in ticked]
        return t("iv.base_ok") if not failing else t("iv.base_fails", facts=sep.join(failing))
    if step.kind == "understood":
        changed = len([n for n in step.names if n not in ticked])
        if not changed:
            return t("iv.understood_ok", count=len(step.names))
        return t("iv.understood_changed", kept=len(step.names) - changed, changed=changed)
    names = [n for n in step.names if n in ticked]
    if step.kind == "activities":
        labels = [plan.activity(a).label.get(lang) for a in names]
    else:
        labels = [plan.specs[n].short(lang) for n in names]
    return sep.join(labels) if labels else t("iv.none_apply")


def progress(t: Translator, interview: Interview, kb: KnowledgeBase, plan: Plan) -> str:
    """Question k — "of at most n" once the activities are known (before, any might be ticked)."""
    k = len(interview.history) + 1
    left = interview.remaining(kb, plan)
    if left is None:
        return f"<b>{t('iv.progress_open', k=k)}</b>"
    return f"<b>{t('iv.progress', k=k, n=max(k - 1 + left, k))}</b>"


def _helps(t: Translator, plan: Plan, names: Collection[str]) -> list[str]:
    return [
        "<i>" + t("iv.label_value", label=esc(spec.short(t.lang)), value=esc(spec.help.get(t.lang))) + "</i>"
        for n in names
        if (spec := plan.specs[n]).help is not None
    ]


def body(t: Translator, kb: KnowledgeBase, plan: Plan, interview: Interview, step: Step) -> str:
    """The current step: progress, the question, its help and how to answer."""
    lang = t.lang
    lines = [progress(t, interview, kb, plan)]
    if step.kind == "fact":
        spec = plan.specs[step.names[0]]
        lines.append(esc(spec.question.get(lang)))
        if spec.help is not None:
            lines.append(f"<i>{esc(spec.help.get(lang))}</i>")
        lines.append(t(KIND_HINTS[spec.kind]))
    elif step.kind == "confirm":
        spec = plan.specs[step.names[0]]
        lines.append(t("iv.confirm", value=esc(plain_value(t, spec, step.value))))
        lines.append(t("iv.confirm_hint", label=esc(spec.short(lang))))
    elif step.kind == "understood":
        lines.append(t("iv.understood"))
        for name in step.names:
            spec = plan.specs[name]
            lines.append(
                "• "
                + t(
                    "iv.label_value",
                    label=esc(spec.short(lang)),
                    value=esc(plain_value(t, spec, interview.answers.get(name))),
                )
            )
    elif step.kind == "base":
        lines.append(t("iv.base"))
        lines += _helps(t, plan, step.names)
    elif step.kind == "activities":
        lines.append(t("iv.activities"))
    else:
        lines.append(t("iv.checklist"))
        lines += _helps(t, plan, step.names)
    return "\n".join(lines)


def message(
    t: Translator, kb: KnowledgeBase, plan: Plan, interview: Interview, step: Step, head: str | None
) -> str:
    """The interview message: the line(s) above (the answer just recorded, a note), then the step."""
    return "\n\n".join(part for part in (head, body(t, kb, plan, interview, step)) if part)


def finished(t: Translator, head: str | None) -> str:
    """The interview message once the result has come."""
    return "\n\n".join(part for part in (head, t("iv.finished")) if part)


def _measure(kb: KnowledgeBase, result: MeasureResult) -> Entry:
    return kb.entries[result.id]


def lapsed(t: Translator, kb: KnowledgeBase, screening: Screening) -> str:
    """Measures of documents not in force beside ones that are: by verdict, for reference, not in
    the total."""
    documents = t("list.sep").join(dict.fromkeys(m.document for m in screening.lapsed))
    lines = [f"<b>{t('result.lapsed', documents=esc(documents))}</b>"]
    for verdict in ("eligible", "unknown", "ineligible"):
        items = [m for m in screening.lapsed if m.verdict == verdict]
        if items:
            names = t("list.sep").join(named(kb, _measure(kb, m), t, short=True) for m in items)
            lines.append(t("result.item", name=t(f"result.verdict.{verdict}"), detail=esc(names)))
    return "\n".join(lines)


def result(
    t: Translator,
    kb: KnowledgeBase,
    specs: Mapping[str, FactSpec],
    screening: Screening,
    depends: Mapping[str, Depends] | None = None,
    unrelated: Collection[str] = (),
) -> str:
    """The screening, grouped: likely eligible (amounts, total, what an amount still depends on),
    need more information (what, and what it could come to), not eligible (why; those `unrelated`
    to what the enterprise does, in one line); the validity warning, the overlap rule and the
    disclaimer."""
    lang = t.lang
    depends = depends or {}
    parts = [f"<b>{t('result.title')}</b>"]
    if (warning := screening.validity.warning(screening.document)) is not None:
        parts.append(f"<i>{esc(warning.get(lang))}</i>")

    eligible = screening.by_verdict("eligible")
    if eligible:
        total = screening.shown_total  # the measures in force (none being: for reference)
        title = (
            t("result.eligible", count=len(eligible), total=esc(format_money(total, lang)))
            if total
            else t("result.eligible_plain", count=len(eligible))
        )
        lines = [f"<b>{title}</b>"]
        for item in eligible:
            amount = (
                t("result.no_figure")
                if item.max_amount_cny is None
                else t("result.up_to", amount=esc(format_money(item.max_amount_cny, lang)))
            )
            lines.append(t("result.item", name=esc(named(kb, _measure(kb, item), t)), detail=amount))
            if (hanging := depends.get(item.id)) is not None:
                lines.append(t("result.depends", text=esc(hanging.text(specs, lang))))
        for item, better in screening.overlapping():  # two documents on the same thing: the better counts
            name = esc(named(kb, _measure(kb, item), t, short=True))
            other = esc(named(kb, _measure(kb, better), t, short=True))
            lines.append(t("result.overlapping", name=name, better=other))
        parts.append("\n".join(lines))
    else:
        parts.append(f"<b>{t('result.none_eligible')}</b>")

    unknown = screening.by_verdict("unknown")
    if unknown:
        lines = [f"<b>{t('result.unknown', count=len(unknown))}</b>"]
        for item in unknown:
            missing = esc(t("list.sep").join(fact_label(kb, specs, m, lang) for m in item.missing))
            hanging = depends.get(item.id)
            detail = (
                t("result.missing", facts=missing)
                if hanging is None
                else t("result.missing_depends", facts=missing, outcomes=esc(hanging.outcomes(lang)))
            )
            lines.append(t("result.item", name=esc(named(kb, _measure(kb, item), t)), detail=detail))
        parts.append("\n".join(lines))

    ineligible = screening.by_verdict("ineligible")
    if ineligible:
        lines = [f"<b>{t('result.ineligible', count=len(ineligible))}</b>"]
        groups: dict[tuple[str, ...], list[MeasureResult]] = {}
        for item in ineligible:
            if item.id in unrelated:
                continue
            why = tuple(dict.fromkeys(r.text.get(lang) for r in item.reasons if r.met is False))
            groups.setdefault(why, []).append(item)
        if aside := [i for i in ineligible if i.id in unrelated]:  # not what it does: one line for all
            names = t("list.sep").join(named(kb, _measure(kb, i), t, short=True) for i in aside)
            lines.append(t("result.item", name=esc(names), detail=t("result.unrelated")))
        for why, items in groups.items():
            names = t("list.sep").join(named(kb, _measure(kb, i), t, short=True) for i in items)
            if len(items) == len(screening.current) > 1:
                names = t("result.all_measures", count=len(items))
            reason = t("list.sep").join(why) if why else t("result.why_unknown")
            lines.append(t("result.item", name=esc(names), detail=t("result.not_met", reasons=esc(reason))))
        parts.append("\n".join(lines))

    if screening.lapsed:
        parts.append(lapsed(t, kb, screening))
    if screening.overlap_note is not None and len(eligible) > 1:
        parts.append(esc(screening.overlap_note.get(lang)))
    parts.append(f"<i>{esc(DISCLAIMER.get(lang))}</i>")
    parts.append(t("result.buttons"))
    return "\n\n".join(parts)
