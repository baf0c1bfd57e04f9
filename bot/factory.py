"""create_dispatcher: the one place the bot is put together — for Telegram, the terminal chat and
the tests alike. Long-lived services become dispatcher kwargs; handlers name what they need."""

from __future__ import annotations

from collections.abc import Mapping

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation

from bot.config import Settings
from bot.handlers import get_routers
from bot.i18n import Catalogs
from bot.inline_filters import run_inline
from bot.interview.router import BuryMiddleware
from bot.live import LiveKnowledge
from bot.middlewares import (
    ForeignButtonMiddleware,
    GroupEtiquetteMiddleware,
    LanguageMiddleware,
    RateLimitMiddleware,
)
from bot.store.conversations import Conversations
from bot.store.db import Database
from bot.store.fsm import SQLiteStorage
from bot.store.privacy import Privacy
from bot.store.stats import InterviewEvents
from bot.store.users import QuestionLog, UserSettings
from bot.store.versions import KnowledgeStore
from bot.transport.delivery import BlockedChats, RetryMiddleware, RetryPolicy
from eligibility.answer import Assistant
from eligibility.facts import FactSpec, load_fact_specs
from eligibility.interview import Plan
from knowledge.loader import DATA_DIR


def create_dispatcher(
    settings: Settings,
    *,
    assistant: Assistant,
    db: Database,
    storage: BaseStorage | None = None,
    catalogs: Catalogs | None = None,
    specs: Mapping[str, FactSpec] | None = None,
    rate_limit: bool = False,
) -> Dispatcher:
    """The dispatcher with every router, middleware and service.

    Handlers receive: `assistant` (the knowledge base and answers), `specs` (the interview's
    questions), `plan` (the interview's activities and steps), `users`, `qlog`, `privacy`,
    `catalogs`, `settings`, `knowledge` (the store staff edit, and the hot reload of `assistant`),
    `events` (interviews started and finished, for /stats), and per update `lang` and `t`.
    With `rate_limit` (Telegram: `policybot run`), each user is held to RATE_LIMIT_BURST and
    RATE_LIMIT_PER_SECOND; the terminal chat and the conversation tests have one user and no limit.
    """
    catalogs = catalogs or Catalogs.load()
    specs = dict(specs or load_fact_specs())
    users = UserSettings(db)
    knowledge = LiveKnowledge(KnowledgeStore(db, settings.kb_dir or DATA_DIR), assistant)
    # the interviews, with a write-through cache: no database read on the way of an update
    storage = storage or SQLiteStorage(db, cache_size=20_000)
    dispatcher = Dispatcher(
        storage=storage,
        events_isolation=SimpleEventIsolation(),  # one update per user at a time: no lost answers
        settings=settings,
        assistant=assistant,
        specs=specs,
        plan=Plan.load(specs=specs),  # the interview: the facts' questions and the activities
        catalogs=catalogs,
        users=users,
        qlog=QuestionLog(db),
        privacy=Privacy(db, settings.question_log_retention_days, storage=storage, users=users),
        knowledge=knowledge,
        events=InterviewEvents(db),  # /stats: interviews started and finished
        conversations=Conversations(db),  # each chat's context between free questions
    )
    dispatcher.startup.register(knowledge.on_startup)  # reload after changes by the command line
    dispatcher.shutdown.register(knowledge.on_shutdown)
    if rate_limit and settings.rate_limit_burst > 0:  # first: a flood is dropped before any database work
        dispatcher.update.outer_middleware(
            RateLimitMiddleware(
                catalogs, users, burst=settings.rate_limit_burst, rate=settings.rate_limit_per_second
            )
        )
    dispatcher.update.outer_middleware(LanguageMiddleware(catalogs, users))
    etiquette = GroupEtiquetteMiddleware()
    dispatcher.message.outer_middleware(etiquette)
    dispatcher.edited_message.outer_middleware(etiquette)
    dispatcher.callback_query.outer_middleware(ForeignButtonMiddleware())  # forged presses: refused
    bury = BuryMiddleware()  # a reply of another feature lands under the interview message
    dispatcher.message.outer_middleware(bury)
    dispatcher.callback_query.outer_middleware(bury)
    dispatcher.include_routers(*get_routers())
    run_inline(dispatcher)  # synchronous filters on the loop, not each in a thread (bot/inline_filters.py)
    return dispatcher


def create_bot(
    token: str,
    session: BaseSession | None = None,
    *,
    retry: RetryPolicy | None = None,
    blocked: BlockedChats | None = None,
) -> Bot:
    """A Bot speaking HTML, without link previews, whose calls wait out 429s and retry network
    errors (bot/delivery.py); with `blocked`, chats answering 403 are recorded there."""
    bot = Bot(
        token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
    bot.session.middleware(RetryMiddleware(retry, blocked=blocked))
    return bot
