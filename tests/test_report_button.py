"""📄 下载预审结果 under an interview's result: the one-page PDF of that result, and its picture."""

from __future__ import annotations

import pytest
from aiogram.methods import AnswerCallbackQuery, SendDocument
from aiogram.types import BufferedInputFile

from bot.callbacks import ReportCB
from bot.interview.report import beside, remember
from bot.report.fonts import FontMissing, find_cjk_font
from eligibility.facts import Facts
from tests.conftest import Conversation


async def test_the_report_button_sends_the_pdf_and_its_picture(talk: Conversation) -> None:
    try:
        find_cjk_font()
    except FontMissing as exc:
        pytest.skip(f"needs a Chinese font to draw the page, and this machine has none ({exc})")
    state = talk.dp.fsm.get_context(talk.bot, chat_id=talk.user.id, user_id=talk.user.id)
    facts = Facts(
        registered_in_hengyang=True,
        pays_tax_in_hengyang=True,
        independent_legal_person=True,
        cbec_in_customs_stats=True,
        cbec_export_usd=800000,
    )
    await remember(state, facts)
    await talk.send("/start")
    requests = await talk.press(ReportCB().pack())
    documents = [r for r in requests if isinstance(r, SendDocument)]
    assert len(documents) == 2
    pdf, png = (d.document for d in documents)
    assert isinstance(pdf, BufferedInputFile)
    assert isinstance(png, BufferedInputFile)
    assert pdf.data.startswith(b"%PDF")
    assert png.data.startswith(b"\x89PNG")
    assert (pdf.filename or "").endswith(".pdf")


async def test_without_a_result_the_button_says_so(talk: Conversation) -> None:
    await talk.send("/start")
    requests = await talk.press(ReportCB().pack())
    answers = [r for r in requests if isinstance(r, AnswerCallbackQuery)]
    assert answers
    assert answers[0].text is not None
    assert "/check" in answers[0].text
    assert not [r for r in requests if isinstance(r, SendDocument)]


async def test_forget_deletes_the_kept_result(talk: Conversation) -> None:
    state = talk.dp.fsm.get_context(talk.bot, chat_id=talk.user.id, user_id=talk.user.id)
    await remember(state, Facts(cbec_export_usd=800000))
    await talk.send("/forget")
    await talk.press(next(data for label, data in talk.buttons().items() if "删除" in label))
    assert await beside(state).get_data() == {}
