"""Keep the catalogs in step with the code: `python tools/i18n.py update` extracts every
marked string and merges it into kernel/locale/*/LC_MESSAGES/wardbot.po (new strings get an
empty translation for a translator to fill; tests fail until Vietnamese is filled)."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (
    "bot",
    "handlers",
    "reports",
    "notices",
    "broadcasts",
    "engine",
    "campaign",
    "storage",
    "kernel",
)
LOCALES = ROOT / "kernel" / "locale"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extract() -> Catalog:
    template = Catalog(project="wardbot")
    for source in SOURCES:
        for _filename, _lineno, message, comments, context in extract_from_dir(
            ROOT / source, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            template.add(message, None, [], auto_comments=comments, context=context)
    return template


def update() -> None:
    template = extract()
    for po_path in sorted(LOCALES.glob("*/LC_MESSAGES/wardbot.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parts[-3])
        catalog.update(template, no_fuzzy_matching=True)
        with po_path.open("wb") as handle:
            write_po(
                handle,
                catalog,
                omit_header=False,
                sort_output=True,
                no_location=True,
                ignore_obsolete=True,
                width=100,
            )
        print(f"updated {po_path.relative_to(ROOT)}")


if __name__ == "__main__":
    if sys.argv[1:] != ["update"]:
        sys.exit("usage: python tools/i18n.py update")
    update()
