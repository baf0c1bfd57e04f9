"""The interface's words: gettext catalogs in locales/<lang>/LC_MESSAGES/messages.po.

Message ids are keys ("start.intro"), so both catalogs hold the full text and a missing
translation is easy to spot (a test checks that every key the code uses is in both). The .po
files are compiled in memory with Babel at start: no compiled .mo is committed.
Placeholders use str.format: ``t("iv.progress", k=3, n=12)``.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterable
from io import BytesIO
from pathlib import Path
from typing import Final

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import locales

LOCALES_DIR: Final = Path(locales.__file__).resolve().parent
DOMAIN: Final = "messages"
LANGUAGES: Final = ("zh", "en")
DEFAULT_LANGUAGE: Final = "zh"
LANGUAGE_NAMES: Final = {"zh": "中文", "en": "English"}  # each in its own language, on the /lang buttons


def language_of(code: str | None) -> str:
    """Telegram's language_code → ours: English for en*, Chinese for everything else."""
    return "en" if code and code.lower().startswith("en") else DEFAULT_LANGUAGE


class Translator:
    """One language's catalog; call it with a key and the placeholders' values."""

    def __init__(self, lang: str, catalog: gettext.NullTranslations, keys: Iterable[str]) -> None:
        self.lang: Final = lang
        self._catalog = catalog
        self.keys: Final = frozenset(keys)

    def __call__(self, key: str, /, **values: object) -> str:
        text = self._catalog.gettext(key)
        return text.format(**values) if values else text

    def __contains__(self, key: object) -> bool:
        return key in self.keys


class Catalogs:
    def __init__(self, translators: dict[str, Translator]) -> None:
        self._translators = translators

    @classmethod
    def load(cls, directory: Path = LOCALES_DIR) -> Catalogs:
        translators: dict[str, Translator] = {}
        fallback: gettext.NullTranslations | None = None
        for lang in (DEFAULT_LANGUAGE, *[x for x in LANGUAGES if x != DEFAULT_LANGUAGE]):
            path = directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
            with path.open("rb") as fp:
                catalog = read_po(fp, locale=lang, domain=DOMAIN)
            buffer = BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            compiled = gettext.GNUTranslations(buffer)
            if fallback is None:
                fallback = compiled  # a key missing in en shows the zh text rather than the key
            else:
                compiled.add_fallback(fallback)
            translators[lang] = Translator(lang, compiled, (str(m.id) for m in catalog if m.id and m.string))
        return cls(translators)

    def __getitem__(self, lang: str) -> Translator:
        return self._translators.get(lang) or self._translators[DEFAULT_LANGUAGE]

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._translators)
