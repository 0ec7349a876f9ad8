"""The tip categories and time choices, shared by the report wizard and the police; a
tip's outcomes and the kinds of pledge, shared by storage and the buttons that name them
(kernel/actions.py)."""

from __future__ import annotations

from enum import StrEnum

from kernel.i18n import N_
from kernel.search_keys import word_key

# The tip categories of the ward plans (see DESIGN.md), in the order residents see them.
CATEGORIES: dict[str, str] = {
    "dealing": N_("Dealing or selling drugs"),
    "use": N_("Drug use"),
    "addiction": N_("Addiction, or relapse after rehab"),
    "venue": N_("A place organising or harbouring drug use"),
    "trafficking": N_("Trafficking, transporting or storing drugs"),
    "growing": N_("Growing drug plants (cannabis, poppy…)"),
    "wanted": N_("A wanted person hiding here"),
    "driving": N_("Driving after taking drugs"),
    "danger": N_("Psychosis or danger (weapon, violence)"),
    "disguised": N_("Drugs disguised as food, sweets or e-cigarettes"),
    "online": N_("Selling drugs online"),
    "school": N_("Involving students or a school"),
    "other": N_("Something else"),
}
# What the police type for a category in `/triage`: first the Vietnamese word without
# accents that the usage line lists, then other words meaning the same. The stored slug
# (the English key above) is accepted too; case, accents and spaces do not matter.
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "dealing": ("muaban", "ban"),
    "use": ("sudung", "hut"),
    "addiction": ("nghien", "tainghien"),
    "venue": ("tochuc", "chuachap", "tu"),
    "trafficking": ("vanchuyen", "tangtru", "buonban"),
    "growing": ("trongcay", "trong"),
    "wanted": ("truyna",),
    "driving": ("laixe",),
    "danger": ("nguyhiem", "ngao", "loanthan"),
    "disguised": ("nguytrang",),
    "online": ("tructuyen", "qua mang"),
    "school": ("truonghoc", "hocsinh"),
    "other": ("khac",),
}


def category_for(text: str) -> str | None:
    """The category slug `text` names, in Vietnamese or as the slug itself; None if none."""
    typed = word_key(text)
    for key, words in CATEGORY_WORDS.items():
        if typed == key or typed in {word_key(word) for word in words}:
            return key
    return None


WHEN: dict[str, str] = {
    "now": N_("It is happening now"),
    "today": N_("Earlier today"),
    "earlier": N_("Before today"),
}


class Outcome(StrEnum):
    """How a closed tip ended (storage/triage.py keeps it, with its labels)."""

    CONFIRMED = "confirmed"
    UNFOUNDED = "unfounded"
    DUPLICATE = "duplicate"
    REFERRED = "referred"


class PledgeKind(StrEnum):
    HOUSEHOLD = "household"  # "Gia đình không ma túy", signed by a resident in the chat
    SCHOOL = "school"  # entered by an officer
    BUSINESS = "business"
    GROUP = "group"  # a whole TDP's pledge
