"""The one-page pre-screening report (PDF, PNG) and the staff statistics chart.

No aiogram here, and the heavy libraries (fpdf2, pypdfium2, matplotlib) are imported inside the
functions that use them, so importing this package stays cheap for every door.
"""
