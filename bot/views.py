"""Message texts (HTML) built from the interface catalog and the knowledge base.

Plain functions of (translator, data): handlers stay thin, and the same texts serve Telegram, the
terminal chat and the tests. Knowledge-base text is plain and always escaped here.
"""

from __future__ import annotations

from bot.format import esc, plain_to_html
from bot.i18n import Translator
from knowledge.loader import KnowledgeBase
from knowledge.models import Entry
from knowledge.validity import ValidityStatus


def warning_html(status: ValidityStatus, kb: KnowledgeBase, lang: str) -> str | None:
    warning = status.warning(kb.documents[0])
    return None if warning is None else f"<i>{esc(warning.get(lang))}</i>"


def welcome(t: Translator, kb: KnowledgeBase, status: ValidityStatus, *, resumable: bool = False) -> str:
    doc = kb.documents[0]
    lang = t.lang
    parts = [
        t(
            "start.intro",
            title=esc(doc.title.get(lang)),
            number=esc(doc.number),
            count=len(kb.measures()),
        ),
        t(
            "start.validity",
            start=status.effective_from.isoformat(),
            until=status.effective_until.isoformat(),
            state=t(f"validity.{status.state}"),
        ),
    ]
    if (warning := warning_html(status, kb, lang)) is not None:
        parts.append(warning)
    parts.append(t("start.ways"))
    if resumable:
        parts.append(t("start.resume"))
    return "\n\n".join(parts)


def heading(entry: Entry, t: Translator) -> str:
    """A short label: "第5条 跨境电商出口业绩奖励" / "Measure 5: …"; other entries by title."""
    title = entry.title.get(t.lang)
    if entry.kind == "measure":
        return t("entry.measure", number=entry.number, title=title)
    return title


def measure_number(entry: Entry, t: Translator) -> str:
    return t("entry.number", number=entry.number) if entry.kind == "measure" else entry.title.get(t.lang)


def sections_text(t: Translator, kb: KnowledgeBase) -> str:
    doc = kb.documents[0]
    return t("browse.sections", number=esc(doc.number), title=esc(doc.title.get(t.lang)))


def section_text(t: Translator, kb: KnowledgeBase, section_id: str) -> str:
    policy = kb.policies[0]
    section = next(s for s in policy.data.sections if s.id == section_id)
    entries = [e for e in policy.data.entries if e.section == section_id]
    lines = [f"<b>{esc(section.number + section.title.get(t.lang))}</b>", ""]
    lines += [t("result.item", name=esc(heading(e, t)), detail=esc(e.summary.get(t.lang))) for e in entries]
    return "\n".join(lines)


def card(text: str) -> str:
    return plain_to_html(text)


def source_document(t: Translator, kb: KnowledgeBase, entry_id: str) -> str:
    """The document's full text (Markdown headings shown bold)."""
    policy = kb.policy_of(entry_id)
    lines = [t("source.heading", number=esc(policy.document.number)), ""]
    for line in policy.source_text.strip().split("\n"):
        if line.strip() == "---":  # a Markdown rule between the document's parts
            lines.append("")
        elif line.startswith("#"):
            lines.append(f"<b>{esc(line.lstrip('#').strip())}</b>")
        else:
            lines.append(esc(line))
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text
