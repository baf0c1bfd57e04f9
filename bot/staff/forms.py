"""What staff type in the guided edit, read into a field's value (and a value shown for editing).

Lists: one item per line (keywords, synonyms and units may also be separated by 、 or commas);
lines all starting with + or - add and remove items instead of replacing the list.
Bilingual texts: "zh: …" and/or "en: …" lines; a text without them is in the staff member's
interface language; the language not given keeps its text. Dates: YYYY-MM-DD. A lone "-"
empties an optional field.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

LIST_FIELDS: Final = ("keywords", "keywords_en", "synonyms", "questions", "units")
SPLIT_FIELDS: Final = ("keywords", "keywords_en", "synonyms", "units")  # 、/commas separate items too
LOCALIZED_FIELDS: Final = ("title", "summary", "audience")
OPTIONAL_FIELDS: Final = ("audience",)
NOTES: Final = "notes"
DATE_FIELDS: Final = ("validity.effective_from", "validity.effective_until")
EMPTY: Final = frozenset({"-", "－", "—", "（空）", "(empty)"})
MAX_INPUT: Final = 4000

_LANG_LINE = re.compile(r"^\s*(zh|en)\s*[:：]\s*(.*)$", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[•·*]|\d+[.、)])\s+")
_PATCH = re.compile(r"^\s*([+＋]|[-－−])\s*(.+)$")
_SEPARATORS = re.compile(r"[、，,;；]")


class InputError(ValueError):
    """Typed input that cannot be read; `key` is the catalog message saying why."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def for_editing(field: str, value: Any) -> str:
    """The current value as staff would type it, to copy and change."""
    if value is None:
        return ""
    if field == NOTES and isinstance(value, list):
        return "\n\n".join(for_editing("title", note) for note in value)
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if isinstance(value, dict) and set(value) <= {"zh", "en"}:
        return "\n".join(f"{lang}: {value[lang]}" for lang in ("zh", "en") if lang in value)
    return str(value)


def is_patch(field: str, text: str) -> bool:
    """Lines that all add (+) or remove (-) list items: they apply to the value being edited."""
    lines = [line for line in text.splitlines() if line.strip()]
    return field in LIST_FIELDS and bool(lines) and all(_PATCH.match(line) for line in lines)


def parse(field: str, text: str, lang: str, current: Any) -> Any:
    """The new value of `field` from what staff typed (InputError if it cannot be read)."""
    text = text.strip()
    if not text:
        raise InputError("staff.input.empty")
    if len(text) > MAX_INPUT:
        raise InputError("staff.input.too_long", limit=MAX_INPUT)
    if field in LIST_FIELDS:
        return _list(field, text, current if isinstance(current, list) else [])
    if field in LOCALIZED_FIELDS:
        if text in EMPTY:
            if field in OPTIONAL_FIELDS:
                return None
            raise InputError("staff.input.required")
        return _localized(text, lang, current if isinstance(current, dict) else None)
    if field == NOTES:
        if text in EMPTY:
            return []
        blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
        return [_localized(block, lang, None) for block in blocks]
    if field in DATE_FIELDS:
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise InputError("staff.input.date", text=text) from None
    raise InputError("staff.input.field", field=field)


def _list(field: str, text: str, current: list[Any]) -> list[str]:
    if text in EMPTY:
        return []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    patches = [_PATCH.match(line) for line in lines]
    if all(patches):
        items = [str(item) for item in current]
        for match in patches:
            assert match is not None
            sign, item = match.group(1), match.group(2).strip()
            if sign in "+＋":
                if item not in items:
                    items.append(item)
            elif item in items:
                items.remove(item)
            else:
                raise InputError("staff.input.not_in_list", item=item)
        return items
    items = []
    for line in lines:
        line = _BULLET.sub("", line)
        parts = _SEPARATORS.split(line) if field in SPLIT_FIELDS else [line]
        items += [part.strip() for part in parts if part.strip()]
    return list(dict.fromkeys(items))


def _localized(text: str, lang: str, current: dict[str, Any] | None) -> dict[str, str]:
    given: dict[str, list[str]] = {}
    language: str | None = None
    loose: list[str] = []
    for line in text.splitlines():
        match = _LANG_LINE.match(line)
        if match:
            language = match.group(1).lower()
            given[language] = [match.group(2).strip()]
        elif language is not None:
            given[language].append(line.strip())
        elif line.strip():
            loose.append(line.strip())
    if loose:
        if given:
            raise InputError("staff.input.mixed")
        given[lang] = loose
    result = {k: str(v) for k, v in (current or {}).items() if k in ("zh", "en")}
    result.update({k: "\n".join(v).strip() for k, v in given.items()})
    return {k: result[k] for k in ("zh", "en") if k in result}
