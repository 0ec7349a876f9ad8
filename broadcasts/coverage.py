"""The coverage table: per TDP and month, what reached it and where, read from the
coverage ledger. It is what the commander reports to the ward People's Committee
("100% of TDPs reached at least once a month", seed 001)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from broadcasts.planner import OPEN, reachable_counts
from storage import broadcasts as broadcast_rows
from storage import coverage, wards
from storage.models import ResidentialGroup
from storage.session import AsyncSession


@dataclass(frozen=True)
class Row:
    group: str
    chats: int  # group chats registered and active now
    subscribers: int  # active subscribers now
    to_chats: int  # deliveries to group chats this month
    to_subscribers: int
    messages: int  # distinct broadcasts that reached the TDP
    first: datetime | None
    planned: datetime | None  # the next broadcast on its way, if none reached it yet
    alert: str  # why the commander was warned, if they were

    @property
    def covered(self) -> bool:
        return self.to_chats + self.to_subscribers > 0


@dataclass(frozen=True)
class _Ledger:
    """The ward's month as the tables give it, by TDP id."""

    delivered: dict[tuple[int, str], int]  # (TDP, "chat" or "subscriber"): deliveries
    first: dict[int, datetime]  # the first delivery
    messages: dict[int, int]  # distinct broadcasts delivered
    chats: dict[int, int]  # active group chats now
    reach: dict[int, int]  # active targets now: group chats and subscribers
    planned: dict[int | None, datetime]  # the next open broadcast (None: ward-wide)
    alerts: dict[int, str]


async def month_table(session: AsyncSession, ward_id: int, period: str) -> list[Row]:
    """One row per active TDP of the ward, in name order."""
    groups = await wards.active_groups_by_name(session, ward_id)
    ledger = await _read_ledger(session, ward_id, period, [g.id for g in groups])
    return [_row(group, ledger) for group in groups]


async def _read_ledger(
    session: AsyncSession, ward_id: int, period: str, group_ids: list[int]
) -> _Ledger:
    delivered, first = await _deliveries(session, ward_id, period)
    return _Ledger(
        delivered=delivered,
        first=first,
        messages=await coverage.messages_delivered(session, ward_id, period),
        chats=await coverage.active_chats_by_group(session, ward_id),
        reach=await reachable_counts(session, ward_id),
        planned=await broadcast_rows.next_scheduled(session, ward_id, period, OPEN),
        alerts=await coverage.alerts(session, period, group_ids),
    )


async def _deliveries(
    session: AsyncSession, ward_id: int, period: str
) -> tuple[dict[tuple[int, str], int], dict[int, datetime]]:
    """Deliveries of the month per TDP and kind of target, and each TDP's first one."""
    delivered: dict[tuple[int, str], int] = {}
    first: dict[int, datetime] = {}
    for group_id, kind, total, earliest in await coverage.delivered_sums(session, ward_id, period):
        delivered[(group_id, kind)] = int(total or 0)
        if total and earliest is not None:  # min() keeps the column's type: aware UTC
            first[group_id] = min(first.get(group_id, earliest), earliest)
    return delivered, first


def _row(group: ResidentialGroup, ledger: _Ledger) -> Row:
    chats = ledger.chats.get(group.id, 0)
    return Row(
        group=group.name,
        chats=chats,
        subscribers=ledger.reach.get(group.id, 0) - chats,
        to_chats=ledger.delivered.get((group.id, "chat"), 0),
        to_subscribers=ledger.delivered.get((group.id, "subscriber"), 0),
        messages=ledger.messages.get(group.id, 0),
        first=ledger.first.get(group.id),
        planned=ledger.planned.get(group.id) or ledger.planned.get(None),
        alert=ledger.alerts.get(group.id, ""),
    )


def render_table(
    rows: list[Row], ward: str, period: str, _: Callable[[str], str], zone: ZoneInfo
) -> str:
    covered = sum(1 for r in rows if r.covered)
    lines = [
        _(
            "Anti-drug messages in {ward}, {month}: {covered} of {total} residential groups reached"
        ).format(ward=ward, month=period, covered=covered, total=len(rows)),
        "",
        "\t".join(
            (
                _("TDP"),
                _("chats"),
                _("subscribers"),
                _("to chats"),
                _("to subscribers"),
                _("messages"),
                _("status"),
            )
        ),
    ]
    for row in rows:
        if row.covered:
            status = _("reached {date}").format(date=_day(row.first, zone))
        elif row.planned is not None:
            status = _("planned {date}").format(date=_day(row.planned, zone))
        elif row.alert == "no-target":
            status = _("cannot be reached: no chat, no subscriber")
        elif row.alert == "all-failed":
            status = _("cannot be reached: every delivery failed")
        else:
            status = _("not reached yet")
        lines.append(
            "\t".join(
                str(v)
                for v in (
                    row.group,
                    row.chats,
                    row.subscribers,
                    row.to_chats,
                    row.to_subscribers,
                    row.messages,
                    status,
                )
            )
        )
    return "\n".join(lines)


def _day(moment: datetime | None, zone: ZoneInfo) -> str:
    return "-" if moment is None else moment.astimezone(zone).strftime("%d/%m %H:%M")
