"""Message texts (HTML) built from the interface catalog and the knowledge base.

Plain functions of (translator, data): handlers stay thin, and the same texts serve Telegram, the
terminal chat and the tests. Knowledge-base text is plain and always escaped here.
"""

from __future__ import annotations

import re
from datetime import date

from bot.format import esc, plain_to_html
from bot.i18n import Translator
from knowledge.loader import KnowledgeBase
from knowledge.models import Document, Entry
from knowledge.validity import ValidityStatus, governing, validity_on


def warning_html(status: ValidityStatus, document: Document, lang: str) -> str | None:
    warning = status.warning(document)
    return None if warning is None else f"<i>{esc(warning.get(lang))}</i>"


def validity_line(t: Translator, status: ValidityStatus) -> str:
    return t(
        "start.validity",
        start=status.effective_from.isoformat(),
        until=status.effective_until.isoformat(),
        state=t(f"validity.{status.state}"),
    )


def welcome(t: Translator, kb: KnowledgeBase, on: date, *, resumable: bool = False) -> str:
    """What the assistant does, every document it knows with its validity on `on`, the ways in;
    a warning when no document is in force."""
    lang = t.lang
    if len(kb.documents) == 1:
        doc = kb.documents[0]
        intro = t(
            "start.intro", title=esc(doc.title.get(lang)), number=esc(doc.number), count=len(kb.measures())
        )
        parts = [intro, validity_line(t, validity_on(doc, on))]
    else:
        lines = [t("start.intro_several", documents=len(kb.documents), count=len(kb.measures()))]
        for doc in kb.documents:
            status = validity_on(doc, on)
            lines.append(t("start.document", number=esc(doc.number), title=esc(doc.title.get(lang))))
            lines.append("   " + validity_line(t, status))
        parts = ["\n".join(lines)]
    headline = governing(kb.documents, on)
    if (warning := warning_html(validity_on(headline, on), headline, lang)) is not None:
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


_TAG = re.compile(r"[〔\[(（【]\d{4}[〕\])）】]\d+号")


def document_tag(number: str) -> str:
    """A 文号 short enough for a button: "衡政发〔2026〕9号" → "〔2026〕9号"."""
    found = _TAG.search(number)
    return found.group(0) if found else number


def named(kb: KnowledgeBase, entry: Entry, t: Translator, *, short: bool = False) -> str:
    """`heading` (or, `short`, `measure_number`) with the document's 文号 in front when the base
    holds several documents: "衡政发〔2026〕9号 第2条 …" is not confused with 4号文's 第2条."""
    label = measure_number(entry, t) if short else heading(entry, t)
    if len(kb.documents) == 1:
        return label
    number = kb.document_of(entry.id).number
    return t("entry.of_document", number=document_tag(number) if short else number, name=label)


def documents_text(t: Translator) -> str:
    return t("browse.documents")


def sections_text(t: Translator, document: Document) -> str:
    return t("browse.sections", number=esc(document.number), title=esc(document.title.get(t.lang)))


def section_text(t: Translator, kb: KnowledgeBase, doc: str, section_id: str) -> str:
    policy = kb.policy(doc)
    assert policy is not None
    section = next(s for s in policy.data.sections if s.id == section_id)
    entries = [e for e in kb.entries_of(doc) if e.section == section_id]
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
