"""HTML for Telegram: escaping, plain-text cards to markup, splitting under the length limit."""

from __future__ import annotations

import html
import re
from typing import Final

# Telegram's limit is 4096 UTF-16 units of the text after entity parsing; counting the HTML source
# (always longer) keeps a margin for free.
MESSAGE_LIMIT: Final = 4096


def esc(text: str) -> str:
    """Plain text (user input, knowledge-base text) made safe for parse_mode=HTML."""
    return html.escape(text, quote=False)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def plain_to_html(text: str) -> str:
    """A plain-text card or answer: escaped, its 【heading】 line bold and ⚠️ warnings italic."""
    lines = []
    for line in text.split("\n"):
        safe = esc(line)
        if line.startswith("【") and line.endswith("】"):
            safe = f"<b>{safe}</b>"
        elif line.startswith("⚠️"):
            safe = f"<i>{safe}</i>"
        lines.append(safe)
    return "\n".join(lines)


_TAG: Final = re.compile(r"<[^>]+>")


def html_to_plain(text: str) -> str:
    """What the user reads: tags dropped, entities decoded (the terminal chat prints this)."""
    return html.unescape(_TAG.sub("", text))


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pieces under `limit`, cut at line ends (blank lines first). Every line of our markup closes
    its own tags, so a cut between lines never splits a tag pair. A single over-long line is cut
    hard (only plain text lines are that long)."""
    if utf16_len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in _hard_wrap(text.split("\n"), limit):
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(candidate) <= limit:
            current = candidate
            continue
        if current.strip():
            pieces.append(current.rstrip("\n"))
        current = line
    if current.strip():
        pieces.append(current.rstrip("\n"))
    return pieces


def _hard_wrap(lines: list[str], limit: int) -> list[str]:
    out: list[str] = []
    for line in lines:
        while utf16_len(line) > limit:
            cut = limit // 2  # a character is at most 2 UTF-16 units
            # never cut inside an entity such as &amp;
            amp = line.rfind("&", max(0, cut - 8), cut)
            if amp != -1 and ";" not in line[amp:cut]:
                cut = amp
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    return out
