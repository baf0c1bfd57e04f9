"""What a change did, in plain lines: the staff's messages and the command line print the same."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.store.versions import REFERRAL, Change

MAX_VALUE = 120  # characters of a value shown in a change line


def when(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def short(value: Any, limit: int = MAX_VALUE) -> str:
    if value is None:
        text = "—"
    elif isinstance(value, dict) and set(value) <= {"zh", "en"}:
        text = " / ".join(f"{k}: {v}" for k, v in value.items())
    elif isinstance(value, dict) and "id" in value:
        title = value.get("title")
        text = f"{value['id']} {title.get('zh', '') if isinstance(title, dict) else ''}".strip()
    elif isinstance(value, list):
        text = "、".join(short(v, limit) for v in value)
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(change: Change) -> list[str]:
    """What one change did, in plain lines: items added (+) and removed (−), a text's languages
    before → after, or a value before → after."""
    before, after = change.before, change.after
    if change.target == REFERRAL:
        if after is not None:
            return [f"«{short(after.get('phrasing'))}» → {short({k: after.get(k) for k in ('zh', 'en')})}"]
        return [f"− «{short((before or {}).get('phrasing'))}»"]
    if change.field == "*":
        return [f"+ {short(after)}"] if before is None else [f"− {short(before)}"] if after is None else ["…"]
    if isinstance(before, list | None) and isinstance(after, list | None) and (before or after):
        old, new = before or [], after or []
        lines = [f"+ {short(x)}" for x in new if x not in old] + [
            f"− {short(x)}" for x in old if x not in new
        ]
        return lines or ["↕"]
    if (
        isinstance(before, dict | None)
        and isinstance(after, dict | None)
        and set((before or {}) | (after or {})) <= {"zh", "en"}
    ):
        old_text, new_text = before or {}, after or {}
        return [
            f"{lang}: {short(old_text.get(lang))} → {short(new_text.get(lang))}"
            for lang in ("zh", "en")
            if old_text.get(lang) != new_text.get(lang)
        ]
    return [f"{short(before)} → {short(after)}"]
