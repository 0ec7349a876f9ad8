"""What stored values are called, to people: the words the chat and the CLI show for an
officer's role and standing, a broadcast's kind and status, a campaign's origin (the
values themselves stay what the database and the CLI's options hold)."""

from __future__ import annotations

from kernel.i18n import N_
from storage.models import BroadcastKind, BroadcastStatus, OfficerRole, OfficerStatus

ROLE_LABELS: dict[str, str] = {
    OfficerRole.OFFICER: N_("officer"),
    OfficerRole.COMMANDER: N_("commander"),
    OfficerRole.CITY: N_("city (figures only)"),
}
OFFICER_STATUS_LABELS: dict[str, str] = {
    OfficerStatus.INVITED: N_("invited, not joined yet"),
    OfficerStatus.ACTIVE: N_("active"),
    OfficerStatus.REVOKED: N_("access taken away"),
}
BROADCAST_KIND_LABELS: dict[str, str] = {
    BroadcastKind.MONTHLY: N_("monthly message"),
    BroadcastKind.CAMPAIGN: N_("campaign"),
    BroadcastKind.ADHOC: N_("one-off message"),
}
BROADCAST_STATUS_LABELS: dict[str, str] = {
    BroadcastStatus.PENDING_APPROVAL: N_("waiting for approval"),
    BroadcastStatus.SCHEDULED: N_("scheduled"),
    BroadcastStatus.SENDING: N_("sending"),
    BroadcastStatus.DONE: N_("sent"),
    BroadcastStatus.REJECTED: N_("rejected"),
    BroadcastStatus.CANCELLED: N_("cancelled"),
}
CAMPAIGN_ORIGIN_LABELS: dict[str, str] = {
    "config": N_("from the configuration"),
    "admin": N_("added with the CLI"),
}


def label_of(labels: dict[str, str], value: str) -> str:
    """The message id for `value`, or the value itself when it has none (translate the
    result: gettext gives an unknown id back as it is)."""
    return labels.get(value, value)
