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
from bot.db import Database
from bot.handlers import get_routers
from bot.i18n import Catalogs
from bot.middlewares import GroupEtiquetteMiddleware, LanguageMiddleware
from bot.storage import SQLiteStorage
from bot.users import QuestionLog, UserSettings
from eligibility.answer import Assistant
from eligibility.facts import FactSpec, load_fact_specs


def create_dispatcher(
    settings: Settings,
    *,
    assistant: Assistant,
    db: Database,
    storage: BaseStorage | None = None,
    catalogs: Catalogs | None = None,
    specs: Mapping[str, FactSpec] | None = None,
) -> Dispatcher:
    """The dispatcher with every router, middleware and service.

    Handlers receive: `assistant` (the knowledge base and answers), `specs` (the interview's
    questions), `users`, `qlog`, `catalogs`, `settings`, and per update `lang` and `t`.
    """
    catalogs = catalogs or Catalogs.load()
    users = UserSettings(db)
    dispatcher = Dispatcher(
        storage=storage or SQLiteStorage(db),
        events_isolation=SimpleEventIsolation(),  # one update per user at a time: no lost answers
        settings=settings,
        assistant=assistant,
        specs=dict(specs or load_fact_specs()),
        catalogs=catalogs,
        users=users,
        qlog=QuestionLog(db),
    )
    dispatcher.update.outer_middleware(LanguageMiddleware(catalogs, users))
    etiquette = GroupEtiquetteMiddleware()
    dispatcher.message.outer_middleware(etiquette)
    dispatcher.edited_message.outer_middleware(etiquette)
    dispatcher.include_routers(*get_routers())
    return dispatcher


def create_bot(token: str, session: BaseSession | None = None) -> Bot:
    """A Bot speaking HTML, without link previews."""
    return Bot(
        token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
