"""Messages the bot leaves for people other than the one it is answering: the neutral
notice to a reporter (reporter.py) and the police's notices (police.py).

They are a service, not a conversation: the jobs (overdue tips, the morning digest,
unreachable TDPs, finished broadcasts), the mixer (new tips, a reporter's answers) and
a few handlers call them, so they live below handlers/ and above engine/, whose
Services and outbox they use; nothing here answers a message."""

from __future__ import annotations

from notices.police import (
    escalate_overdue,
    notify_new_tip,
    notify_reporter_wrote,
    report_broadcast,
    send_digests,
    tell_commanders,
    warn_unreachable,
)
from notices.reporter import tell_reporter

__all__ = [
    "escalate_overdue",
    "notify_new_tip",
    "notify_reporter_wrote",
    "report_broadcast",
    "send_digests",
    "tell_commanders",
    "tell_reporter",
    "warn_unreachable",
]
