"""The tip categories and time choices, shared by the report wizard and the police."""

from __future__ import annotations

from kernel.i18n import N_

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
WHEN: dict[str, str] = {
    "now": N_("It is happening now"),
    "today": N_("Earlier today"),
    "earlier": N_("Before today"),
}
