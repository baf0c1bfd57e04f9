"""A PDF page as a PNG, for sharing the report as a picture (pdfium, bundled in its wheel)."""

from __future__ import annotations

from io import BytesIO


def pdf_to_png(pdf: bytes, *, dpi: int = 110, page: int = 0) -> bytes:
    """One page of the PDF (the first by default) rendered at `dpi`, on white."""
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    document = pdfium.PdfDocument(pdf)
    try:
        image = document[page].render(scale=dpi / 72).to_pil()
        out = BytesIO()
        # A palette would blur the anti-aliased CJK strokes; optimize only shrinks the file.
        image.convert("RGB").save(out, format="PNG", optimize=True)
        return out.getvalue()
    finally:
        document.close()
