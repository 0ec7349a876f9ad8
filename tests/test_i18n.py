"""Every user-facing string is in the catalogs, translated into Vietnamese."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from kernel.i18n import LOCALE_DIR, Translator, normalise

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from i18n import extract

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def _catalog(language: str):
    with (LOCALE_DIR / language / "LC_MESSAGES" / "wardbot.po").open("rb") as handle:
        return read_po(handle, locale=language)


def _translated(string: str | tuple[str, ...]) -> bool:
    return all(string) if isinstance(string, tuple) else bool(string)


def test_every_marked_string_has_a_vietnamese_translation() -> None:
    vi = _catalog("vi")
    missing = [
        m.id for m in extract() if m.id and not (vi.get(m.id) and _translated(vi.get(m.id).string))
    ]
    assert not missing, (
        f"untranslated (run: python tools/i18n.py update, then translate): {missing}"
    )


def test_translations_keep_their_placeholders() -> None:
    for message in _catalog("vi"):
        if not message.id:
            continue
        source = message.id[0] if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(form)), source


def test_catalogs_load_and_default_to_vietnamese() -> None:
    translator = Translator()
    assert translator.get(None).gettext("Please choose:") == "Xin mời bạn chọn:"
    assert translator.get("en-US").gettext("Please choose:") == "Please choose:"
    assert translator.get("fr").gettext("Please choose:") == "Xin mời bạn chọn:"
    assert normalise("vi_VN") == "vi" and normalise("zz") is None


ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
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


def _defined(pattern: str) -> list[str]:
    """The project's source files (as `package/module.py`) with a line matching pattern."""
    found = re.compile(pattern, re.MULTILINE)
    return sorted(
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if found.search(path.read_text(encoding="utf-8"))
    )


def test_one_gettext_marker_and_one_outcome_vocabulary() -> None:
    from storage.triage import OUTCOME_LABELS, Outcome

    assert _defined(r"^\s*def N_\(") == ["kernel/i18n.py"]
    assert _defined(r"^\s*OUTCOME_LABELS\b[^=\n]*=") == ["storage/triage.py"]
    assert set(OUTCOME_LABELS) == set(Outcome)
    # What the modules that had their own marker mark with the shared one is still
    # extracted (and so translated).
    ids = {m.id for m in extract()}
    for module in ("storage/keyring.py", "storage/audit.py", "storage/wards.py"):
        marked = re.findall(r'N_\("([^"\\]+)"\)', (ROOT / module).read_text(encoding="utf-8"))
        assert marked and set(marked) <= ids, module
    assert set(OUTCOME_LABELS.values()) <= ids
