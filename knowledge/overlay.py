"""Staff edits on top of the shipped data, as plain data operations (no storage here).

A knowledge-base version is the raw mapping of one policy file (what YAML loads). Staff edit
fields of entries and the document's validity dates; every edit is checked by the same models
as the shipped files. When a release ships changed files, `merge` combines three versions
field by field: the shipped version the staff edits were made on (base), the staff's current
version (ours) and the new shipped version (theirs). A field only one side changed takes that
side; a field both changed differently keeps the staff's value and is reported as a conflict
for staff to settle. Nothing is overwritten or dropped silently.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import yaml

from knowledge.loader import KnowledgeError, Policy, parse_policy

# What staff may change: user-facing text and search aids, and the validity window. Figures
# and conditions stay with the reviewed data files.
EDITABLE_FIELDS = (
    "title",
    "summary",
    "audience",
    "keywords",
    "keywords_en",
    "synonyms",
    "questions",
    "units",
    "notes",
)
DOCUMENT_FIELDS = ("validity.effective_from", "validity.effective_until")
DOCUMENT = "document"  # the target name for document fields


@dataclass(frozen=True)
class FieldChange:
    target: str  # an entry id, or "document"
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Conflict:
    target: str
    field: str
    base: Any
    ours: Any
    theirs: Any


def plain(raw: Any) -> dict[str, Any]:
    """JSON-compatible form (YAML dates become ISO strings), so versions compare and store alike."""
    result: dict[str, Any] = json.loads(json.dumps(raw, ensure_ascii=False, default=str))
    return result


def load_raw(text: str, name: str = "knowledge base") -> dict[str, Any]:
    from knowledge.loader import parse_yaml

    raw = parse_yaml(text, name)
    if not isinstance(raw, dict):
        raise KnowledgeError(f"{name}: expected a mapping with document, sections and entries")
    return plain(raw)


def dump(raw: dict[str, Any]) -> str:
    """YAML in the shipped files' layout (keys in their order, Chinese as is)."""
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, width=100)


def _round_trip() -> Any:
    from ruamel.yaml import YAML

    rt = YAML()  # round-trip: comments, key order, quotes and flow styles are kept
    rt.width = 4096  # never re-wrap a long line of the shipped file
    rt.indent(mapping=2, sequence=4, offset=2)
    rt.preserve_quotes = True
    return rt


def _styled(old: Any, new: Any) -> Any:
    """`new` in `old`'s YAML style: a list or mapping written inline ([a, b]) stays inline."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(new, list):
        seq = CommentedSeq(_styled(None, item) for item in new)
        if isinstance(old, CommentedSeq) and old.fa.flow_style():
            seq.fa.set_flow_style()
        return seq
    if isinstance(new, dict):
        mapping = CommentedMap(
            (key, _styled(old.get(key) if isinstance(old, dict) else None, value))
            for key, value in new.items()
        )
        if isinstance(old, CommentedMap) and old.fa.flow_style():
            mapping.fa.set_flow_style()
        return mapping
    if isinstance(old, date) and isinstance(new, str):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(new)  # a YAML date stays a date, not a quoted string
    return new


def _apply(tree: Any, change: FieldChange) -> None:
    if change.target == DOCUMENT:
        if change.field == "sections":
            tree["sections"] = _styled(tree.get("sections"), change.after)
            return
        node = tree["document"]
        *parents, last = change.field.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        if change.after is None:
            node.pop(last, None)
        else:
            node[last] = _styled(node.get(last), change.after)
        return
    entries = tree.setdefault("entries", [])
    index = next((i for i, e in enumerate(entries) if e.get("id") == change.target), None)
    if change.field == "*":
        if change.after is None:
            if index is not None:
                del entries[index]
        elif index is None:
            entries.append(_styled(None, change.after))
        else:
            entries[index] = _styled(entries[index], change.after)
        return
    if index is None:
        return
    entry = entries[index]
    if change.after is None:
        entry.pop(change.field, None)
    else:
        entry[change.field] = _styled(entry.get(change.field), change.after)


def export(
    raw: dict[str, Any], *, original_text: str | None = None, original: dict[str, Any] | None = None
) -> str:
    """`raw` as YAML for staff. Given the file it was made from (its text and raw data), that very
    text with only the changed fields rewritten: an unedited base exports as the shipped file,
    comments and layout included, and an export diffs cleanly against the release."""
    rt = _round_trip()
    if original_text is None or original is None:
        tree = rt.load(dump(raw))
    else:
        tree = rt.load(original_text)
        for change in diff(original, raw):
            _apply(tree, change)
    out = io.StringIO()
    rt.dump(tree, out)
    return out.getvalue()


def fingerprint(raw: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()[:16]


def _entries(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(e["id"]): e for e in raw.get("entries", [])}


def get_field(raw: dict[str, Any], target: str, field: str) -> Any:
    if target == DOCUMENT:
        node: Any = raw["document"]
        for part in field.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node
    entry = _entries(raw).get(target)
    if entry is None:
        raise KnowledgeError(f"no entry '{target}'")
    return entry.get(field)


def set_field(raw: dict[str, Any], target: str, field: str, value: Any) -> dict[str, Any]:
    """A copy with one field changed; only editable fields, and only to a valid value (checked
    by `validate`)."""
    if target == DOCUMENT:
        if field not in DOCUMENT_FIELDS:
            raise KnowledgeError(
                f"document field '{field}' cannot be edited here (editable: {', '.join(DOCUMENT_FIELDS)})"
            )
    elif field not in EDITABLE_FIELDS:
        raise KnowledgeError(
            f"field '{field}' cannot be edited here (editable: {', '.join(EDITABLE_FIELDS)})"
        )
    new = copy.deepcopy(raw)
    if target == DOCUMENT:
        node = new["document"]
        *parents, last = field.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
        return new
    entry = _entries(new).get(target)
    if entry is None:
        raise KnowledgeError(f"no entry '{target}'")
    if value is None:
        entry.pop(field, None)
    else:
        entry[field] = value
    return new


def validate(raw: dict[str, Any], source_text: str, name: str = "knowledge base") -> Policy:
    """The same checks as a shipped file: models, quotes against the source text."""
    return parse_policy(dump(raw), name, source_text=source_text)


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[FieldChange]:
    """Every field that differs, entry by entry (added and removed entries as whole values)."""
    changes: list[FieldChange] = []
    for field in _document_fields(old, new):
        before, after = _doc_get(old, field), _doc_get(new, field)
        if before != after:
            changes.append(FieldChange(DOCUMENT, field, before, after))
    if old.get("sections") != new.get("sections"):
        changes.append(FieldChange(DOCUMENT, "sections", old.get("sections"), new.get("sections")))
    old_entries, new_entries = _entries(old), _entries(new)
    for entry_id in [*old_entries, *(i for i in new_entries if i not in old_entries)]:
        a, b = old_entries.get(entry_id), new_entries.get(entry_id)
        if a is None or b is None:
            changes.append(FieldChange(entry_id, "*", a, b))
            continue
        for field in [*a, *(k for k in b if k not in a)]:
            if a.get(field) != b.get(field):
                changes.append(FieldChange(entry_id, field, a.get(field), b.get(field)))
    return changes


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): node}


def _document_fields(*raws: dict[str, Any]) -> list[str]:
    fields: dict[str, None] = {}
    for raw in raws:
        fields.update(dict.fromkeys(_flatten(raw.get("document", {}))))
    return list(fields)


def _doc_get(raw: dict[str, Any], field: str) -> Any:
    return _flatten(raw.get("document", {})).get(field)


def merge(
    base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]
) -> tuple[dict[str, Any], list[Conflict]]:
    """Three-way merge at field level; staff values win conflicts, which are reported."""
    merged = copy.deepcopy(theirs)
    conflicts: list[Conflict] = []
    for change in diff(base, ours):  # what staff changed since the shipped base
        theirs_value = _value(theirs, change.target, change.field)
        base_value = change.before
        if theirs_value == base_value or theirs_value == change.after:
            merged = _put(merged, change.target, change.field, change.after)
        else:
            conflicts.append(Conflict(change.target, change.field, base_value, change.after, theirs_value))
            merged = _put(merged, change.target, change.field, change.after)
    return merged, conflicts


def _value(raw: dict[str, Any], target: str, field: str) -> Any:
    if target == DOCUMENT:
        return raw.get("sections") if field == "sections" else _doc_get(raw, field)
    entry = _entries(raw).get(target)
    if field == "*":
        return entry
    return None if entry is None else entry.get(field)


def _put(raw: dict[str, Any], target: str, field: str, value: Any) -> dict[str, Any]:
    new = copy.deepcopy(raw)
    if target == DOCUMENT:
        if field == "sections":
            new["sections"] = value
            return new
        node = new.setdefault("document", {})
        *parents, last = field.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
        return new
    entries = new.setdefault("entries", [])
    index = next((i for i, e in enumerate(entries) if e.get("id") == target), None)
    if field == "*":
        if value is None and index is not None:
            entries.pop(index)
        elif value is not None and index is None:
            entries.append(value)
        elif value is not None and index is not None:
            entries[index] = value
        return new
    if index is None:  # the release removed an entry staff had edited: keep the staff's entry
        return new
    if value is None:
        entries[index].pop(field, None)
    else:
        entries[index][field] = value
    return new


def field_value(raw: dict[str, Any], target: str, field: str) -> Any:
    """Any field a diff or a conflict names (a document field, `sections`, or a whole entry `*`)."""
    return _value(raw, target, field)


def put(raw: dict[str, Any], target: str, field: str, value: Any) -> dict[str, Any]:
    """A copy with any field a diff or a conflict names set to `value` (None: removed)."""
    return _put(raw, target, field, value)
