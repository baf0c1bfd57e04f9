"""📄 下载预审结果: the one-page PDF of the last interview's result, sent as a document (in the web
door, a download), with the same page as a picture. The result's facts are kept beside the
interview (FSM destiny "report"), so the button works after the interview has ended and after a
restart; /forget deletes them with everything else."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from aiogram import Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery
from pydantic import ValidationError

from bot.callbacks import ReportCB
from bot.config import Settings
from bot.i18n import Translator
from bot.replies import acknowledge, chat_of
from eligibility.answer import Assistant
from eligibility.facts import Facts, FactSpec
from eligibility.screening import screen

logger = logging.getLogger("policybot")

DESTINY = "report"


def beside(state: FSMContext) -> FSMContext:
    """The record kept beside the interview's state, for its last result."""
    return FSMContext(state.storage, dataclasses.replace(state.key, destiny=DESTINY))


async def remember(state: FSMContext, facts: Facts) -> None:
    """Called as an interview ends: the facts its result was screened on."""
    await beside(state).set_data({"facts": facts.model_dump(mode="json", exclude_none=True)})


async def on_report(
    callback: CallbackQuery,
    callback_data: ReportCB,
    bot: Bot,
    t: Translator,
    assistant: Assistant,
    specs: Mapping[str, FactSpec],
    state: FSMContext,
    settings: Settings,
) -> None:
    from bot.report.fonts import FontMissing, find_cjk_font
    from bot.report.pdf import screening_pdf
    from bot.report.png import pdf_to_png

    kept: dict[str, Any] = await beside(state).get_data()
    try:
        facts = Facts.model_validate(kept.get("facts") or {})
    except ValidationError:
        facts = None
    if not kept.get("facts") or facts is None:
        await acknowledge(callback, t("report.none"), alert=True)
        return
    try:
        font = find_cjk_font(getattr(settings, "report_font", None))
    except FontMissing as exc:
        logger.error("report: %s", exc)
        await acknowledge(callback, t("report.unavailable"), alert=True)
        return
    await acknowledge(callback, t("report.making"))
    kb = assistant.kb
    screening = screen(kb, facts, assistant.today())
    # drawing a page takes up to a second: off the event loop
    pdf = await asyncio.to_thread(screening_pdf, kb, specs, screening, t, font=font)
    png = await asyncio.to_thread(pdf_to_png, pdf)
    chat_id = chat_of(callback)
    stamp = screening.on.isoformat()
    await bot.send_document(
        chat_id, BufferedInputFile(pdf, filename=f"prescreening-{stamp}.pdf"), caption=t("report.caption")
    )
    await bot.send_document(chat_id, BufferedInputFile(png, filename=f"prescreening-{stamp}.png"))


def make_router() -> Router:
    router = Router(name="report")
    router.callback_query.register(on_report, ReportCB.filter())
    return router
