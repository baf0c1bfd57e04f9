"""The interview's texts (HTML): questions, checklists, answers as they stay in the chat, the result."""

from __future__ import annotations

from collections.abc import Mapping

from bot.format import esc
from bot.i18n import Translator
from bot.views import heading, measure_number
from eligibility.facts import FactSpec, Kind
from eligibility.interview import Interview
from eligibility.labels import fact_label
from eligibility.rules import MeasureResult
from eligibility.screening import DISCLAIMER, Screening
from knowledge.loader import KnowledgeBase
from knowledge.models import Entry
from knowledge.render import format_money

KIND_HINTS: dict[Kind, str] = {
    Kind.YES_NO: "iv.hint.yes_no",
    Kind.COUNT: "iv.hint.count",
    Kind.USD: "iv.hint.usd",
    Kind.CNY: "iv.hint.cny",
    Kind.AREA: "iv.hint.area",
    Kind.WAREHOUSES: "iv.hint.warehouses",
}


def progress(t: Translator, interview: Interview, kb: KnowledgeBase, specs: Mapping[str, FactSpec]) -> str:
    """Question k of at most n (a checklist counts as one question)."""
    k = len(interview.history) + 1
    n = k - 1 + interview.remaining(kb, specs)
    return f"<b>{t('iv.progress', k=k, n=max(n, k))}</b>"


def checklist(
    t: Translator,
    specs: Mapping[str, FactSpec],
    interview: Interview,
    kb: KnowledgeBase,
    *,
    note: str | None = None,
) -> str:
    """Several yes/no questions at once: "which of these describe you?"."""
    lines = [note, ""] if note else []
    lines += [progress(t, interview, kb, specs), t("iv.checklist")]
    return "\n".join(lines)


def checklist_answered(t: Translator, specs: Mapping[str, FactSpec], checked: list[str]) -> str:
    """The checklist as it stays in the chat once answered."""
    labels = [esc(specs[n].short(t.lang)) for n in checked]
    shown = "、".join(labels) if t.lang == "zh" else "; ".join(labels)
    return "\n".join([t("iv.checklist"), t("iv.answered", answer=shown or t("iv.none_apply"))])


def question(
    t: Translator,
    spec: FactSpec,
    interview: Interview,
    kb: KnowledgeBase,
    specs: Mapping[str, FactSpec],
    *,
    note: str | None = None,
) -> str:
    """The current question with its progress: question k of at most n."""
    lang = t.lang
    lines = []
    if note:
        lines += [note, ""]
    lines += [progress(t, interview, kb, specs), esc(spec.question.get(lang))]
    if spec.help is not None:
        lines.append(f"<i>{esc(spec.help.get(lang))}</i>")
    lines.append(t(KIND_HINTS[spec.kind]))
    return "\n".join(lines)


def answered(t: Translator, spec: FactSpec, shown: str) -> str:
    """The question as it stays in the chat once answered."""
    return "\n".join([esc(spec.question.get(t.lang)), t("iv.answered", answer=esc(shown))])


def _measure(kb: KnowledgeBase, result: MeasureResult) -> Entry:
    return kb.entries[result.id]


def result(t: Translator, kb: KnowledgeBase, specs: Mapping[str, FactSpec], screening: Screening) -> str:
    """The screening, grouped: likely eligible (amounts, total), need more information (what),
    not eligible (why); the validity warning, the overlap rule and the disclaimer."""
    lang = t.lang
    parts = [f"<b>{t('result.title')}</b>"]
    if (warning := screening.validity.warning(screening.document)) is not None:
        parts.append(f"<i>{esc(warning.get(lang))}</i>")

    eligible = screening.by_verdict("eligible")
    if eligible:
        total = screening.total_max_amount_cny
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
            lines.append(t("result.item", name=esc(heading(_measure(kb, item), t)), detail=amount))
        parts.append("\n".join(lines))
    else:
        parts.append(f"<b>{t('result.none_eligible')}</b>")

    unknown = screening.by_verdict("unknown")
    if unknown:
        lines = [f"<b>{t('result.unknown', count=len(unknown))}</b>"]
        for item in unknown:
            missing = t("list.sep").join(fact_label(kb, specs, m, lang) for m in item.missing)
            detail = t("result.missing", facts=esc(missing))
            lines.append(t("result.item", name=esc(heading(_measure(kb, item), t)), detail=detail))
        parts.append("\n".join(lines))

    ineligible = screening.by_verdict("ineligible")
    if ineligible:
        lines = [f"<b>{t('result.ineligible', count=len(ineligible))}</b>"]
        groups: dict[tuple[str, ...], list[MeasureResult]] = {}
        for item in ineligible:
            why = tuple(dict.fromkeys(r.text.get(lang) for r in item.reasons if r.met is False))
            groups.setdefault(why, []).append(item)
        for why, items in groups.items():
            names = t("list.sep").join(measure_number(_measure(kb, i), t) for i in items)
            if len(items) == len(screening.measures) > 1:
                names = t("result.all_measures", count=len(items))
            reason = t("list.sep").join(why) if why else t("result.why_unknown")
            lines.append(t("result.item", name=esc(names), detail=t("result.not_met", reasons=esc(reason))))
        parts.append("\n".join(lines))

    if screening.overlap_note is not None and len(eligible) > 1:
        parts.append(esc(screening.overlap_note.get(lang)))
    parts.append(f"<i>{esc(DISCLAIMER.get(lang))}</i>")
    parts.append(t("result.buttons"))
    return "\n\n".join(parts)
