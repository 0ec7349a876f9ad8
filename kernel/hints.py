"""A first guess at a tip's priority from its words, for the police to confirm or change.

Accent-free matching, because residents often type without diacritics. A hint, never a
verdict: it only orders the queue until an officer triages the tip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kernel.search_keys import search_key

URGENT, NORMAL, LOW = 1, 2, 3

# Accent-free phrases, matched on whole words.
_SIGNALS: dict[str, tuple[str, ...]] = {
    "weapon": (
        "dao",
        "sung",
        "kiem",
        "ma tau",
        "hung khi",
        "vu khi",
        "luu dan",
        "kim tiem",
        "knife",
        "gun",
        "weapon",
        "machete",
    ),
    "violence": (
        "ngao da",
        "loan than",
        "dam chem",
        "chem",
        "danh nguoi",
        "danh nhau",
        "bao luc",
        "de doa",
        "bat con tin",
        "khong che",
        "dot nha",
        "psychosis",
        "crazy",
        "attack",
        "stab",
        "threaten",
        "hostage",
    ),
    "children": (
        "tre em",
        "tre con",
        "tre nho",
        "hoc sinh",
        "sinh vien",
        "truong hoc",
        "cong truong",
        "mam non",
        "tieu hoc",
        "thcs",
        "thpt",
        "children",
        "kids",
        "child",
        "student",
        "students",
        "school",
        "pupils",
    ),
    "now": (
        "dang dien ra",
        "ngay bay gio",
        "luc nay",
        "hien gio",
        "bay gio",
        "ngay luc nay",
        "right now",
        "happening now",
        "at the moment",
    ),
}
_PATTERNS = {
    name: re.compile(r"\b(?:" + "|".join(re.escape(p) for p in phrases) + r")\b")
    for name, phrases in _SIGNALS.items()
}


@dataclass(frozen=True)
class Hint:
    priority: int
    reasons: tuple[str, ...]


def suggest(category: str, when: str | None, text: str, *, urgent: bool = False) -> Hint:
    folded = search_key(text)
    reasons = [name for name, pattern in _PATTERNS.items() if pattern.search(folded)]
    if when == "now" and "now" not in reasons:
        reasons.append("now")
    if urgent or category == "danger" or {"weapon", "violence"} & set(reasons):
        return Hint(URGENT, tuple(reasons) or ("danger",))
    priority = LOW if when == "earlier" else NORMAL
    if category in ("school", "disguised") and "children" not in reasons:
        reasons.append("children")
    raises = sum(1 for reason in ("children", "now") if reason in reasons)
    return Hint(max(URGENT, priority - raises), tuple(reasons))
