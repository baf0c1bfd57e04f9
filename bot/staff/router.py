"""Staff only (ADMIN_IDS): the questions the assistant could not answer (/unanswered), and the
knowledge-base work, one module per job, all behind one check of the sender:

inbox.py     /inbox and its groups: attach to an entry, rule out of scope (a referral), ignore
edit.py      /edit [ID], the guided edit of an entry's fields or the validity dates
history.py   /history [ID], /rollback N, the undo buttons, /conflicts
transfer.py  /export, and a .yaml sent as a document (an import; a new document with its text)
documents.py /remove DOC: a document out of the knowledge base
stats.py     /stats
confirm.py   saving or dropping what any of them previewed, /cancel

A staff button pressed by anyone else (forged, or under a forwarded message) gets a refusal and
changes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message, User

from bot.config import Settings
from bot.format import esc
from bot.i18n import Translator
from bot.replies import acknowledge, send
from bot.staff import confirm, documents, edit, history, inbox, stats, transfer
from bot.staff.callbacks import is_staff_button
from bot.staff.flow import StaffFlowMiddleware
from bot.store.users import QuestionLog

logger = logging.getLogger("policybot")


def is_admin(event: object, settings: Settings, event_from_user: User | None = None) -> bool:
    return event_from_user is not None and event_from_user.id in settings.admin_ids


async def on_unanswered(message: Message, bot: Bot, t: Translator, qlog: QuestionLog) -> None:
    rows = await qlog.recent(outcome="decline", limit=20)
    if not rows:
        await send(bot, message.chat.id, t("admin.none"))
        return
    lines = [t("admin.unanswered", count=len(rows))]
    for row in rows:
        when = datetime.fromtimestamp(row.ts, UTC).strftime("%Y-%m-%d %H:%M")
        lines.append(f"{when} · {row.user_id} · {row.lang} · {esc(row.text)}")
    await send(bot, message.chat.id, "\n".join(lines))


async def on_refused(callback: CallbackQuery, t: Translator) -> None:
    logger.warning(
        "staff button %r pressed by user %s, who is not staff", callback.data, callback.from_user.id
    )
    await acknowledge(callback, t("staff.only"), alert=True)


def make_router() -> Router:
    # Staff messages in private chats only (never echo the inbox into a group); anything else
    # falls through (a staff command from anyone else is then an unknown command).
    staff_only = Router(name="staff-only")
    staff_only.message.filter(is_admin, F.chat.type == ChatType.PRIVATE)
    staff_only.callback_query.filter(is_admin)
    flow = StaffFlowMiddleware()  # outer: the jobs' filters read the staff flow too
    staff_only.message.outer_middleware(flow)
    staff_only.callback_query.outer_middleware(flow)
    staff_only.message.register(on_unanswered, Command("unanswered"))
    # confirm first: /cancel while a staff flow is busy is theirs, not the interview's
    jobs = (confirm, inbox, edit, history, transfer, documents, stats)
    staff_only.include_routers(*(job.make_router() for job in jobs))
    guard = Router(name="staff-guard")
    guard.callback_query.register(on_refused, is_staff_button)
    router = Router(name="admin")
    router.include_routers(staff_only, guard)
    return router
