"""Staff message texts (HTML)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.format import esc
from bot.i18n import Translator
from bot.staff.describe import describe, short, when
from bot.staff.forms import DATE_FIELDS, LIST_FIELDS, LOCALIZED_FIELDS, NOTES, InputError, for_editing
from bot.store.inbox import Group, Sort
from bot.store.stats import Stats
from bot.store.versions import REFERRAL, Change, ConflictRow, Version
from bot.views import named
from knowledge.loader import KnowledgeBase, KnowledgeError
from knowledge.matcher import Decision
from knowledge.overlay import DOCUMENT

MAX_LINES = 40  # change lines in a preview


def target_label(t: Translator, kb: KnowledgeBase, target: str) -> str:
    if (document := kb.keyed_document(target)) is not None or target == DOCUMENT:
        # a document's own fields: which document, when there are several
        return t("staff.document_of", number=document.number) if document and len(kb.documents) > 1 else t("staff.document")
    if target == REFERRAL:
        return t("staff.referral")
    entry = kb.get(target)
    return named(kb, entry, t) if entry is not None else target


def field_label(t: Translator, field: str) -> str:
    key = f"staff.field.{field.removeprefix('validity.')}"
    return t(key) if key in t else field


def refused(t: Translator, exc: InputError | KnowledgeError) -> str:
    """Why typed text, or a change, was refused (nothing was saved)."""
    if isinstance(exc, InputError):
        reason = t(exc.key, **{k: esc(str(v)) for k, v in exc.values.items()})
    else:
        reason = esc(str(exc))
    return t("staff.refused", reason=reason)


def change_html(t: Translator, kb: KnowledgeBase, change: Change, *, of: str | None = None) -> list[str]:
    """A change's heading (its entry and field; the field alone in one entry's history) and lines."""
    if change.target == REFERRAL:
        head = t("staff.referral")
    elif change.field == "*":
        head = esc(change.target)
    elif change.target == of:
        head = esc(field_label(t, change.field))
    else:
        head = f"{esc(target_label(t, kb, change.target))} · {esc(field_label(t, change.field))}"
    return [f"<i>{head}</i>", *(esc(line) for line in describe(change))]


def changes_html(
    t: Translator,
    kb: KnowledgeBase,
    changes: Sequence[Change],
    limit: int = MAX_LINES,
    *,
    of: str | None = None,
) -> str:
    lines: list[str] = []
    for number, change in enumerate(changes):
        more = change_html(t, kb, change, of=of)
        if len(lines) + len(more) > limit:
            lines.append(t("staff.more_changes", count=len(changes) - number))
            break
        lines += more
    return "\n".join(lines)


def action_label(t: Translator, action: str) -> str:
    key = f"staff.action.{action}"
    return t(key) if key in t else action


def history(
    t: Translator, kb: KnowledgeBase, versions: Sequence[Version], target: str | None, conflicts: int
) -> str:
    title = (
        t("staff.history.title_for", name=esc(target_label(t, kb, target)))
        if target
        else t("staff.history.title")
    )
    parts = [f"<b>{title}</b>"]
    if not versions:
        parts.append(t("staff.history.none"))
    for version in versions:
        head = t(
            "staff.history.line",
            id=version.id,
            when=when(version.ts),
            who=esc(version.who),
            action=esc(action_label(t, version.action)),
        )
        if version.note and version.action in ("rollback", "import"):
            head += f" · {esc(version.note)}"
        body = changes_html(t, kb, version.changes, limit=6, of=target) if version.changes else ""
        parts.append(head + ("\n" + body if body else ""))
    parts.append(t("staff.history.hint"))
    if conflicts:
        parts.append(t("staff.conflicts.notice", count=conflicts))
    return "\n\n".join(parts)


def preview(t: Translator, kb: KnowledgeBase, title: str, changes: Sequence[Change], footer: str) -> str:
    return "\n\n".join([f"<b>{title}</b>", changes_html(t, kb, changes), footer])


def prompt(t: Translator, kb: KnowledgeBase, target: str, field: str, value: Any) -> str:
    """Asking for a field's new value, with the current one to copy."""
    current = for_editing(field, value)
    if field in LIST_FIELDS:
        how = t("staff.edit.how_list")
    elif field in LOCALIZED_FIELDS or field == NOTES:
        how = t("staff.edit.how_text") if field != NOTES else t("staff.edit.how_notes")
    elif field in DATE_FIELDS:
        how = t("staff.edit.how_date")
    else:
        how = ""
    parts = [
        f"<b>{esc(target_label(t, kb, target))} · {esc(field_label(t, field))}</b>",
        t("staff.edit.current"),
        f"<code>{esc(current)}</code>" if current else t("staff.edit.empty"),
        how,
        t("staff.edit.cancel_hint"),
    ]
    return "\n\n".join(p for p in parts if p)


def inbox(
    t: Translator, groups: Sequence[Group], page: int, pages: int, sort: Sort, conflicts: int, per_page: int
) -> str:
    if not groups:
        parts = [t("staff.inbox.empty")]
    else:
        total = sum(g.count for g in groups)
        title = t("staff.inbox.title", groups=len(groups), questions=total)
        order = t("staff.inbox.sorted_freq" if sort == "freq" else "staff.inbox.sorted_new")
        parts = [f"<b>{title}</b>\n{order}" + (f" · {page + 1}/{pages}" if pages > 1 else "")]
        lines = []
        start = page * per_page
        for number, group in enumerate(groups[start : start + per_page], start=start + 1):
            lines.append(
                t(
                    "staff.inbox.item",
                    number=number,
                    text=esc(short(group.example, 80)),
                    count=group.count,
                    when=when(group.latest),
                )
            )
        parts.append("\n".join(lines))
        parts.append(t("staff.inbox.hint"))
    if conflicts:
        parts.append(t("staff.conflicts.notice", count=conflicts))
    return "\n\n".join(parts)


def group(t: Translator, kb: KnowledgeBase, found: Group) -> str:
    outcomes = found.outcomes()
    shown = t("list.sep").join(
        t(f"staff.outcome.{kind}", count=outcomes[kind])
        for kind in ("decline", "clarify", "low")
        if kind in outcomes
    )
    parts = [
        f"<b>«{esc(short(found.example, 200))}»</b>",
        t("staff.group.seen", count=found.count, when=when(found.latest), outcomes=shown),
    ]
    others = found.phrasings()[1:]
    if others:
        parts.append(t("staff.group.similar") + "\n" + "\n".join(f"• {esc(short(p, 100))}" for p in others))
    if found.decision is not None:
        parts.append(now(t, kb, found.decision))
    parts.append(t("staff.group.ask"))
    return "\n\n".join(parts)


def now(t: Translator, kb: KnowledgeBase, decision: Decision) -> str:
    """What the bot would do with the question today."""
    names = [named(kb, kb.entries[m.id], t) for m in decision.matches if m.id in kb.entries]
    score = f"{decision.matches[0].score:.1f}" if decision.matches else ""
    if decision.outcome == "answer" and names:
        return t("staff.group.now_answer", name=esc(names[0]), score=score)
    if decision.outcome == "clarify":
        chosen = [named(kb, kb.entries[i], t) for i in decision.choices if i in kb.entries]
        return t("staff.group.now_clarify", names=esc(t("list.sep").join(chosen)))
    if decision.referral is not None:
        office = decision.referral.office or short(decision.referral.message.get(t.lang), 60)
        return t("staff.group.now_referral", office=esc(office))
    if names:
        return t("staff.group.now_decline", name=esc(names[0]), score=score)
    return t("staff.group.now_none")


def conflict(t: Translator, kb: KnowledgeBase, row: ConflictRow) -> str:
    name = f"{esc(target_label(t, kb, row.key or row.target))} · {esc(field_label(t, row.field))}"
    return "\n".join(
        [
            t("staff.conflicts.item", id=row.id, name=name, change=row.version_id),
            t("staff.conflicts.ours", value=esc(short(row.ours, 300))),
            t("staff.conflicts.theirs", value=esc(short(row.theirs, 300))),
            t("staff.conflicts.base", value=esc(short(row.base, 300))),
        ]
    )


def stats(t: Translator, kb: KnowledgeBase, data: Stats) -> str:
    parts = [f"<b>{t('staff.stats.title', since=data.since.isoformat(), until=data.until.isoformat())}</b>"]
    days = "\n".join(f"{d.strftime('%m-%d')}  {n}" for d, n in data.per_day)
    parts.append(t("staff.stats.per_day") + f"\n<code>{days}</code>")
    parts.append(
        t(
            "staff.stats.outcomes",
            total=data.questions,
            answer=f"{data.share('answer'):.0%}",
            clarify=f"{data.share('clarify'):.0%}",
            decline=f"{data.share('decline'):.0%}",
        )
    )
    if data.top_entries:
        lines = [t("staff.stats.top")]
        for number, (entry_id, count) in enumerate(data.top_entries, start=1):
            entry = kb.get(entry_id)
            name = named(kb, entry, t) if entry is not None else entry_id
            lines.append(f"{number}. {esc(name)} — {count}")
        parts.append("\n".join(lines))
    parts.append(
        t("staff.stats.interviews", started=data.interviews_started, finished=data.interviews_finished)
    )
    return "\n\n".join(parts)
