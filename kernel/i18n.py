"""Translations. Source strings are English; Vietnamese is the default language.

Catalogs are the `.po` files under kernel/locale, read with Babel at start, so there is no
compiled `.mo` to fall out of step with its source.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "wardbot"
LOCALE_DIR = Path(__file__).with_name("locale")
SUPPORTED = ("vi", "en")
DEFAULT = "vi"


def N_(message: str) -> str:
    """Marks a string for extraction where it is defined; translate it where it is used."""
    return message


class Translator:
    def __init__(self, locale_dir: Path = LOCALE_DIR):
        self._catalogs: dict[str, gettext.NullTranslations] = {}
        for language in SUPPORTED:
            po = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
            if not po.exists():
                self._catalogs[language] = gettext.NullTranslations()
                continue
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=language)
            compiled = io.BytesIO()
            write_mo(compiled, catalog)
            compiled.seek(0)
            self._catalogs[language] = gettext.GNUTranslations(compiled)

    def get(self, language: str | None) -> gettext.NullTranslations:
        return self._catalogs[normalise(language) or DEFAULT]


class WorkerGettext:
    """`gettext` for one language that can be sent to a worker process (a bound
    GNUTranslations method cannot be pickled): the catalog is read there, on first use."""

    def __init__(self, language: str | None) -> None:
        self.language = language
        self._translations: gettext.NullTranslations | None = None

    def __getstate__(self) -> dict[str, object]:
        return {"language": self.language, "_translations": None}

    def __call__(self, message: str) -> str:
        if self._translations is None:
            self._translations = Translator().get(self.language)
        return self._translations.gettext(message)


def normalise(language: str | None) -> str | None:
    """'vi-VN', 'en_US', 'EN' -> a supported code, or None."""
    if not language:
        return None
    base = language.replace("_", "-").split("-")[0].lower()
    return base if base in SUPPORTED else None
