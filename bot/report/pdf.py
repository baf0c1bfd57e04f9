"""The pre-screening result as a one-page A4 PDF (fpdf2, the CJK font embedded).

One page whatever the result: the layout is tried at falling font sizes and shorter quotes
until it fits, on one throw-away document (loading the font costs more than a layout), and
then drawn once more on a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from bot.i18n import Translator
from bot.report.content import Budget, Detail, Group, Item, Page, page_content
from bot.report.fonts import collection_index, glyphs, printable
from eligibility.facts import FactSpec
from eligibility.screening import Screening
from knowledge.loader import KnowledgeBase

if TYPE_CHECKING:
    from fpdf import FPDF

FAMILY: Final = "cjk"
MARGIN: Final = 13.0  # mm, each side
PT: Final = 25.4 / 72  # mm per point
BOLD: Final = 0.010  # outline width per point of font size, for the fake bold
Colour = tuple[int, int, int]

INK: Final[Colour] = (33, 37, 41)
GREY: Final[Colour] = (102, 108, 116)
TITLE: Final[Colour] = (22, 62, 120)
WARN: Final[Colour] = (176, 32, 32)
GROUP_COLOURS: Final[Mapping[str, Colour]] = {
    "eligible": (27, 122, 62),
    "unknown": (178, 106, 0),
    "ineligible": (140, 60, 60),
}
MARKS: Final[Mapping[str, tuple[tuple[str, ...], Colour]]] = {
    # each mark's preferred glyph first, then what fonts without it have
    "met": (("✓", "√"), (27, 122, 62)),
    "not_met": (("✗", "✘", "×"), (176, 32, 32)),
    "missing": (("?",), (178, 106, 0)),
}


@dataclass(frozen=True)
class Fit:
    """One try: the base font size in points and how long quotes and lists may be."""

    size: float
    budget: Budget


def _tries() -> Iterator[Fit]:
    """Most generous first. Quotes are cut before the text gets small: at 8 pt a page still reads well."""
    levels = (
        (Budget(quote=90, line=240), (10.0, 9.5, 9.0, 8.5, 8.0)),
        (Budget(quote=60, line=160), (8.5, 8.0, 7.5)),
        (Budget(quote=36, line=110), (8.0, 7.5, 7.0)),
        (Budget(quote=0, line=110), (7.5, 7.0, 6.5)),
        (Budget(quote=0, line=60), (7.0, 6.5, 6.0, 5.5)),
    )
    for budget, sizes in levels:
        for size in sizes:
            yield Fit(size, budget)


class _Writer:
    """Draws a Page on an FPDF; every string passes through the font's glyph filter.

    `left` and `width` are the current column; in dry mode nothing is drawn and the cursor only
    moves, which is how items are measured to balance two columns.
    """

    def __init__(self, pdf: FPDF, font: Path, size: float, t: Translator) -> None:
        from fpdf.enums import WrapMode

        self.pdf, self.font, self.size, self.t = pdf, font, size, t
        self.glyphs = glyphs(font)
        # Chinese has no spaces to break at; English breaks between words.
        self.wrap = WrapMode.WORD if t.lang == "en" else WrapMode.CHAR
        self.left, self.width = MARGIN, pdf.w - 2 * MARGIN
        self.dry = False
        self.start = pdf.page_no()
        self.limit: float | None = None  # set: items that would end below it are left out
        self.omitted = 0

    def clean(self, text: str) -> str:
        return printable(text, self.font).strip()

    def mark(self, kind: str) -> tuple[str, Colour] | None:
        if kind not in MARKS:
            return None
        choices, colour = MARKS[kind]
        return next((c for c in choices if ord(c) in self.glyphs), "*"), colour

    @staticmethod
    def line_height(size: float) -> float:
        return size * PT * 1.38

    def text(
        self,
        text: str,
        *,
        size: float,
        colour: Colour = INK,
        bold: bool = False,
        indent: float = 0.0,
        width: float | None = None,
    ) -> None:
        from fpdf.enums import MethodReturnValue, TextMode, XPos, YPos

        pdf = self.pdf
        pdf.set_font(FAMILY, size=size)
        pdf.set_x(self.left + indent)
        args = (width if width is not None else self.width - indent, self.line_height(size), self.clean(text))
        if self.dry:
            height = pdf.multi_cell(
                *args, align="L", wrapmode=self.wrap, dry_run=True, output=MethodReturnValue.HEIGHT
            )
            assert isinstance(height, float | int)
            pdf.set_y(pdf.get_y() + height)
            return
        pdf.set_text_color(*colour)
        # No bold face in most CJK fonts: a thin outline in the text colour thickens the strokes.
        mode = TextMode.FILL_STROKE if bold else TextMode.FILL
        with pdf.local_context(text_mode=mode, line_width=size * BOLD, draw_color=colour):
            pdf.multi_cell(*args, align="L", wrapmode=self.wrap, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if pdf.page_no() != self.start:
            raise _Overflow  # this try has failed: no need to lay out the rest

    def single(self, text: str, *, size: float, colour: Colour, x: float | None = None) -> float:
        """One bold line that never wraps (a mark, an amount), at x or against the column's right
        edge; the cursor stays put. Returns its width."""
        from fpdf.enums import TextMode

        pdf = self.pdf
        pdf.set_font(FAMILY, size=size)
        text = self.clean(text)
        width = pdf.get_string_width(text) + 2 * pdf.c_margin
        if self.dry:
            return width
        top = pdf.get_y()
        pdf.set_text_color(*colour)
        with pdf.local_context(text_mode=TextMode.FILL_STROKE, line_width=size * BOLD, draw_color=colour):
            pdf.set_xy(x - pdf.c_margin if x is not None else self.left + self.width - width, top)
            pdf.cell(width, self.line_height(size), text)
        pdf.set_y(top)
        return width

    def gap(self, mm: float) -> None:
        self.pdf.set_y(self.pdf.get_y() + mm)

    def rule(self) -> None:
        pdf = self.pdf
        self.gap(1.2)
        if not self.dry:
            pdf.set_draw_color(200, 204, 210)
            pdf.set_line_width(0.25)
            pdf.line(MARGIN, pdf.get_y(), pdf.w - MARGIN, pdf.get_y())
        self.gap(1.6)

    def band(self, text: str, colour: Colour, *, size: float) -> None:
        """A heading on a pale band of its colour, the page's full width."""
        pdf = self.pdf
        height = self.line_height(size) + 1.2
        if not self.dry:
            pale = tuple(int(c + (255 - c) * 0.86) for c in colour)
            pdf.set_fill_color(*pale)
            pdf.rect(MARGIN, pdf.get_y(), self.width, height, style="F")
            pdf.set_fill_color(*colour)
            pdf.rect(MARGIN, pdf.get_y(), 1.2, height, style="F")
        self.gap(0.6)
        self.text(text, size=size, colour=colour, bold=True, indent=3)
        self.gap(0.6)

    def detail(self, detail: Detail, *, size: float, indent: float) -> None:
        mark = self.mark(detail.kind)
        if mark is None:
            quiet = detail.kind in ("clause", "units")
            self.text(detail.text, size=size, colour=GREY if quiet else INK, indent=indent)
            return
        glyph, colour = mark
        self.single(glyph, size=size, colour=colour, x=self.left + indent)
        self.text(detail.text, size=size, indent=indent + size * PT * 1.15)

    def item(self, item: Item, colour: Colour) -> None:
        size = self.size
        top = self.pdf.get_y()
        if self.limit is not None and not self.dry and top + self.height(item) > self.limit:
            self.omitted += 1
            return
        amount_width = 0.0
        if item.amount:
            amount_width = self.single(item.amount, size=size, colour=colour) + 2
            self.pdf.set_y(top)
        self.text(item.heading, size=size, bold=True, width=self.width - amount_width)
        for detail in item.details:
            self.detail(detail, size=size - 0.5, indent=3.5)
        self.gap(size * 0.12)

    def measure(self, draw: Callable[[], None]) -> float:
        """How far `draw` would move the cursor down, drawing nothing."""
        top, dry = self.pdf.get_y(), self.dry
        self.dry = True
        try:
            draw()
            return self.pdf.get_y() - top
        finally:
            self.dry = dry
            self.pdf.set_y(top)

    def height(self, item: Item) -> float:
        return self.measure(lambda: self.item(item, INK))

    def group(self, group: Group) -> None:
        colour = GROUP_COLOURS[group.verdict]
        self.band(group.title, colour, size=self.size + 0.5)
        self.gap(0.5)
        if group.verdict == "eligible" or len(group.items) < 4:
            for item in group.items:
                self.item(item, colour)
            return
        # Undecided and ineligible items are short: two balanced columns, read down then across.
        full, gutter = self.width, 6.0
        self.width = (full - gutter) / 2
        try:
            heights = [self.height(item) for item in group.items]
            split = min(
                range(1, len(heights)),
                key=lambda k: max(sum(heights[:k]), sum(heights[k:])),
            )
            top = self.pdf.get_y()
            for item in group.items[:split]:
                self.item(item, colour)
            bottom = self.pdf.get_y()
            self.pdf.set_y(top)
            self.left = MARGIN + self.width + gutter
            for item in group.items[split:]:
                self.item(item, colour)
            self.pdf.set_y(max(bottom, self.pdf.get_y()))
        finally:
            self.left, self.width = MARGIN, full

    def page(self, page: Page, *, cut: bool = False) -> None:
        """The whole page; with `cut`, measures that do not fit above the closing notes are
        left out and counted, so the page stays one page whatever it holds."""
        size = self.size
        self.text(page.title, size=size + 6, colour=TITLE, bold=True)
        self.gap(0.8)
        for number, line in enumerate(page.header):
            first = number == 0 and len(page.header) > 3  # the enterprise's name stands out
            self.text(line, size=size + (1 if first else -0.5), colour=INK if first else GREY, bold=first)
        if page.warning:
            self.gap(1)
            self.text(page.warning, size=size, colour=WARN, bold=True)
        self.rule()
        if page.base:
            self.text(page.base_title, size=size, bold=True)
            for detail in page.base:
                self.detail(detail, size=size - 0.5, indent=3.5)
            self.gap(1)
        if page.none_eligible:
            self.text(page.none_eligible, size=size + 0.5, bold=True)
            self.gap(1)
        if cut:
            note = self.line_height(size) * 2 + self.measure(lambda: self.tail(page))
            self.limit = self.pdf.h - self.pdf.b_margin - note
        for group in page.groups:
            self.group(group)
            self.gap(0.8)
        self.limit = None
        if self.omitted:
            self.text(self.t("report.omitted", count=self.omitted), size=size, bold=True)
            self.gap(0.8)
        self.tail(page)

    def tail(self, page: Page) -> None:
        size = self.size
        if page.total:
            self.band(page.total, TITLE, size=size + 1)
            self.gap(1)
        for note in page.notes:
            self.text(note, size=size - 1, colour=GREY)
            self.gap(0.4)
        self.rule()
        self.text(page.footer, size=size - 1.5, colour=GREY)


class _Overflow(Exception):
    """The layout ran onto a second page."""


def _document(font: Path, title: str) -> FPDF:
    from fpdf import FPDF

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(MARGIN, MARGIN - 2, MARGIN)
    pdf.set_auto_page_break(auto=True, margin=MARGIN - 3)
    pdf.add_font(FAMILY, "", str(font), collection_font_number=collection_index(font))
    pdf.set_title(title)
    pdf.set_creator("policybot")
    return pdf


def _draw(pdf: FPDF, page: Page, font: Path, size: float, t: Translator, *, cut: bool = False) -> bool:
    """Lays the page out on a new page of `pdf`; True when it all stayed on that page."""
    pdf.add_page()
    try:
        _Writer(pdf, font, size, t).page(page, cut=cut)
    except _Overflow:
        return False
    return True


def screening_pdf(
    kb: KnowledgeBase,
    specs: Mapping[str, FactSpec],
    screening: Screening,
    t: Translator,
    *,
    enterprise: str | None = None,
    font: Path,
) -> bytes:
    """The screening as a one-page A4 PDF in the translator's language."""
    title = t("report.title")
    trial = _document(font, title)
    try:
        page, size, cut = _choose(
            trial,
            lambda budget: page_content(kb, specs, screening, t, enterprise=enterprise, budget=budget),
            font,
            t,
        )
    finally:
        _close(trial)  # never output, so fpdf2 would leave the font file open
    pdf = _document(font, title)
    if not _draw(pdf, page, font, size, t, cut=cut):
        _close(pdf)
        raise RuntimeError("the report's header alone does not fit one page")
    return bytes(pdf.output())


def _choose(
    trial: FPDF, content: Callable[[Budget], Page], font: Path, t: Translator
) -> tuple[Page, float, bool]:
    """The first try that fits, laid out on the trial document: (page, size, cut). When none
    fits (far more measures than this policy has), the smallest, cut to one page."""
    tries = list(_tries())
    for fit in tries:
        page = content(fit.budget)
        if _draw(trial, page, font, fit.size, t):
            return page, fit.size, False
    return page, tries[-1].size, True


def _close(pdf: FPDF) -> None:
    from fpdf.fonts import TTFFont

    for face in pdf.fonts.values():
        if isinstance(face, TTFFont):
            face.close()
