"""Languages: the app's language by default, /lang switches and is remembered; catalogs complete."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from aiogram.methods import SetMyCommands
from aiogram.types import BotCommandScopeChat

from bot.callbacks import LangCB
from bot.i18n import LANGUAGES, Catalogs, language_of
from bot.store.db import Database
from bot.store.users import UserSettings
from tests.conftest import Conversation, texts

BOT_DIR = Path(__file__).resolve().parents[1] / "bot"


@pytest.mark.parametrize(
    ("code", "lang"), [("en", "en"), ("en-GB", "en"), ("zh-hans", "zh"), ("ru", "zh"), (None, "zh")]
)
def test_language_of_telegram_code(code: str | None, lang: str) -> None:
    assert language_of(code) == lang


async def test_lang_switches_and_is_remembered(talk: Conversation, db: Database) -> None:
    [text] = texts(await talk.send("/lang"))
    assert "请选择语言" in text
    assert set(talk.buttons().values()) == {LangCB(code="zh").pack(), LangCB(code="en").pack()}
    requests = await talk.press(LangCB(code="en").pack())
    assert "Language set to English." in texts(requests)
    [menu] = [r for r in requests if isinstance(r, SetMyCommands)]
    assert isinstance(menu.scope, BotCommandScopeChat)
    assert menu.scope.chat_id == talk.user.id
    assert menu.commands[0].description == "Start: what I can do"
    assert await UserSettings(db).language(talk.user.id) == "en"
    # the app still says Chinese, the choice wins
    [start] = texts(await talk.send("/start"))
    assert "Three ways in" in start
    [card] = texts(await talk.send("海外仓"))
    assert "Measure 10" in card
    await talk.press(LangCB(code="zh").pack())
    [start] = texts(await talk.send("/start"))
    assert "三种用法" in start


def _keys_in_code() -> set[str]:
    """Every catalog key the code names: t("…"), chosen("…"), and the f-string families."""
    keys: set[str] = set()
    for path in BOT_DIR.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"""\b(?:t|chosen)\(\s*["']([a-z_]+\.[a-z_.]+)["']""", source))
        keys |= set(re.findall(r"""["']((?:iv\.hint|result|button)\.[a-z_]+)["']""", source))
    keys |= {f"validity.{s}" for s in ("in_force", "expired", "not_yet")}
    from bot.commands import COMMANDS

    keys |= {f"command.{c}" for c in COMMANDS}
    return keys


def test_every_key_used_is_in_every_catalog() -> None:
    catalogs = Catalogs.load()
    used = _keys_in_code()
    assert len(used) > 50
    for lang in LANGUAGES:
        missing = used - catalogs[lang].keys
        assert not missing, f"{lang}: {sorted(missing)}"


def test_catalogs_agree_on_keys_and_placeholders() -> None:
    catalogs = Catalogs.load()
    zh, en = catalogs["zh"], catalogs["en"]
    assert zh.keys == en.keys
    fields = string.Formatter()
    for key in zh.keys:
        zh_fields = {f for _, f, _, _ in fields.parse(zh(key)) if f}
        en_fields = {f for _, f, _, _ in fields.parse(en(key)) if f}
        assert zh_fields == en_fields, key


def test_no_user_text_is_hard_coded_in_handlers() -> None:
    """Handlers send catalog texts and knowledge-base content only: no CJK literals there."""
    for path in (BOT_DIR / "handlers").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        code = re.sub(r'"""[\s\S]*?"""|#.*', "", source)  # docstrings and comments may be Chinese
        assert not re.search(r"[\u4e00-\u9fff]", code), path.name
