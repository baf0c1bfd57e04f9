"""One router per feature, assembled in the order they must see updates.

Routers are built afresh for each dispatcher (a router can belong to one parent only), so the
bot, the terminal chat and every test get their own.
"""

from __future__ import annotations

from aiogram import Router

from bot.handlers import ask, browse, errors, fallback, lang, privacy, start
from bot.interview.report import make_router as report_router
from bot.interview.router import make_idle_router as no_interview_router
from bot.interview.router import make_router as interview_router
from bot.staff.router import make_router as staff_router


def get_routers() -> list[Router]:
    # The interview first (its buttons, its typed answers, /check, its /cancel: the updates of a
    # busy moment, spared the other routers' filters), then commands and buttons; free questions
    # after them; /cancel with no interview (staff forms have theirs) and the fallback (media,
    # unknown commands, expired buttons) last. Errors of any of them go to the errors router (an
    # error propagates to the routers above the one that failed... and its own).
    return [
        errors.make_router(),
        interview_router(),
        start.make_router(),
        lang.make_router(),
        privacy.make_router(),
        staff_router(),
        browse.make_router(),
        report_router(),
        ask.make_router(),
        no_interview_router(),
        fallback.make_router(),
    ]
