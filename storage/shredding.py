"""Shredding that holds: after the rows of expired tips are cleared, the period keys
their data keys were wrapped under are deleted from the keyring, so that no copy of the
database, its WAL or its dead row versions opens them with the keyring as it is now.

Which periods go, per kind (storage.periods.PeriodKind), as of `now`:
- tips-closed: periods wholly before the retention cutoff with no live tip under them;
- tips-open: periods before last month with no live tip under them;
- conversations: periods before the month of (now - conversation_days), less one month
  (a conversation untouched that long was deleted);
- drops: periods before last month (drops live about an hour).
A key still in use by a live row is never deleted, whatever its month.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import periods
from storage.audit import AuditLog
from storage.crypto import CryptoError, Vault
from storage.db import Database
from storage.models import Conversation, Tip
from storage.periods import Period, PeriodKind

AUDIT_ACTION = "keys_shredded"


@dataclass(frozen=True)
class Horizons:
    """Per kind, the first period whose key is kept whatever happens."""

    tips_closed: Period
    tips_open: Period
    conversations: Period
    drops: Period

    @classmethod
    def at(cls, now: datetime, *, retention_days: int, conversation_days: int) -> Horizons:
        this = periods.period_of(now)
        last = periods.shifted(this, -1)
        return cls(
            # Every tip closed before this month of the cutoff is past retention.
            tips_closed=min(periods.period_of(now - timedelta(days=retention_days)), last),
            tips_open=last,
            conversations=min(
                periods.shifted(periods.period_of(now - timedelta(days=conversation_days)), -1),
                last,
            ),
            drops=last,
        )

    def of(self, kind: PeriodKind) -> Period:
        return {
            PeriodKind.TIPS_CLOSED: self.tips_closed,
            PeriodKind.TIPS_OPEN: self.tips_open,
            PeriodKind.CONVERSATIONS: self.conversations,
            PeriodKind.DROPS: self.drops,
        }[kind]


async def periods_in_use(
    session: AsyncSession, horizons: Horizons
) -> Mapping[PeriodKind, frozenset[Period]]:
    """The periods before their horizon that a live row's data key is still wrapped
    under (read from the wrapped keys' headers). Only rows old enough to be under such
    a period are read: a tip created or closed before the horizon, a conversation last
    used before it."""
    used: dict[PeriodKind, set[Period]] = {kind: set() for kind in PeriodKind}
    keys = list(
        await session.scalars(
            select(Tip.wrapped_key).where(
                Tip.wrapped_key.is_not(None),
                or_(
                    Tip.created_at < periods.start(horizons.tips_open),
                    Tip.closed_at < periods.start(horizons.tips_closed),
                ),
            )
        )
    )
    keys += await session.scalars(
        select(Conversation.wrapped_key).where(
            Conversation.touched_on < periods.start(horizons.conversations).date()
        )
    )
    for key in filter(None, keys):  # none is NULL (see the query)
        try:
            slot = Vault.slot_of(key)
        except CryptoError:
            continue
        if slot.kind is not None and slot.period is not None:
            used[slot.kind].add(slot.period)
    return {kind: frozenset(found) for kind, found in used.items()}


async def shred_period_keys(
    db: Database,
    vault: Vault,
    audit: AuditLog,
    now: datetime,
    *,
    retention_days: int,
    conversation_days: int,
) -> list[tuple[PeriodKind, Period]]:
    """Delete from the keyring file every period key no live row needs any more (see
    the module's docstring), under the keyring's lock and on the file as it is now
    (another process's change is kept), and audit each deletion (kind and period only).
    Run it after the expired rows were cleared. Returns what was deleted."""
    horizons = Horizons.at(now, retention_days=retention_days, conversation_days=conversation_days)
    async with db.transaction() as session:
        in_use = await periods_in_use(session, horizons)
    vault.refresh()  # keys another process deleted are forgotten here too
    plan: dict[PeriodKind, tuple[Period, Collection[Period]]] = {
        kind: (horizons.of(kind), in_use[kind]) for kind in PeriodKind
    }
    deleted = vault.retire(plan)
    if deleted:
        async with db.transaction() as session:
            for kind, period in deleted:
                await audit.append(
                    session, AUDIT_ACTION, detail={"kind": str(kind), "period": period}
                )
    return deleted
