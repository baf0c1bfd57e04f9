"""Finding a font with Chinese glyphs: PDF and chart text is useless without one."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Final

# Debian/Ubuntu packages, most preferred first: WenQuanYi Micro Hei is small and complete
# enough; Noto CJK is the usual desktop default; Droid is what minimal Android-ish images have.
CANDIDATES: Final = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
)

# Stand-ins for marks a CJK font may lack (emoji above all); anything else undrawable is dropped.
STANDINS: Final = {"✅": "✓", "✔": "✓", "✖": "✗", "✘": "✗", "❓": "?", "✓": "√", "✗": "×", "–": "-"}

FIX: Final = (
    "no Chinese font found: install Debian's fonts-wqy-microhei (apt-get install fonts-wqy-microhei) "
    "or fonts-noto-cjk, or set REPORT_FONT to a .ttf/.ttc file"
)


class FontMissing(RuntimeError):
    """No usable CJK font; the message says how to get one."""


def find_cjk_font(configured: str | Path | None = None) -> Path:
    """The configured font if given (it must exist), else the first common CJK font found."""
    if configured is not None and str(configured):
        path = Path(configured).expanduser()
        if not path.is_file():
            raise FontMissing(f"REPORT_FONT {path} does not exist; {FIX}")
        return path
    for path in CANDIDATES:
        if path.is_file():
            return path
    raise FontMissing(FIX)


def _ttlib() -> Any:
    """fontTools (installed with fpdf2 and matplotlib), imported when first needed; it has no types."""
    import fontTools.ttLib as ttlib  # type: ignore[import-untyped]

    return ttlib


@cache
def collection_index(font: Path) -> int:
    """Which face of a .ttc to use: the Simplified Chinese one (Noto CJK puts JP first), else 0."""
    if font.suffix.lower() not in (".ttc", ".otc"):
        return 0
    collection = _ttlib().TTCollection(str(font), lazy=True)
    try:
        names = [str(face["name"].getDebugName(1) or "") for face in collection.fonts]
    finally:
        collection.close()
    for index, name in enumerate(names):
        if name.endswith(" SC") or ("Mono" not in name and "Micro Hei" in name):
            return index
    return 0


@cache
def glyphs(font: Path) -> frozenset[int]:
    """The code points the font can draw: text is filtered to them (⚠️ has no glyph in most CJK fonts)."""
    face = _ttlib().TTFont(str(font), fontNumber=collection_index(font), lazy=True)
    try:
        return frozenset(face.getBestCmap())
    finally:
        face.close()


def printable(text: str, font: Path) -> str:
    """The text with every character the font cannot draw replaced by a stand-in or dropped, so
    no renderer falls back to empty boxes or warns about missing glyphs."""
    have = glyphs(font)
    out = []
    for ch in text:
        # Stand-ins chain (✅ → ✓ → √): the first the font has wins.
        while ord(ch) not in have and ch in STANDINS:
            ch = STANDINS[ch]
        if ord(ch) in have or ch in " \n":
            out.append(ch)
    return "".join(out)
