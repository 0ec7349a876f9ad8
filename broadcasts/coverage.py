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


async def month_table(session: AsyncSession, ward_id: int, period: str) -> list[Row]:
    groups = await wards.active_groups_by_name(session, ward_id)
    sums = await coverage.delivered_sums(session, ward_id, period)
    delivered: dict[tuple[int, str], int] = {}
    first: dict[int, datetime] = {}
    for group_id, kind, total, earliest in sums:
        delivered[(group_id, kind)] = int(total or 0)
        if total and earliest is not None:  # min() keeps the column's type: aware UTC
            first[group_id] = min(first.get(group_id, earliest), earliest)
    messages = await coverage.messages_delivered(session, ward_id, period)
    chats = await coverage.active_chats_by_group(session, ward_id)
    reach = await reachable_counts(session, ward_id)
    planned = await broadcast_rows.next_scheduled(session, ward_id, period, OPEN)
    alerts = await coverage.alerts(session, period, [g.id for g in groups])
    rows = []
    for group in groups:
        next_at = planned.get(group.id) or planned.get(None)
        rows.append(
            Row(
                group=group.name,
                chats=chats.get(group.id, 0),
                subscribers=reach.get(group.id, 0) - chats.get(group.id, 0),
                to_chats=delivered.get((group.id, "chat"), 0),
                to_subscribers=delivered.get((group.id, "subscriber"), 0),
                messages=messages.get(group.id, 0),
                first=first.get(group.id),
                planned=next_at,
                alert=alerts.get(group.id, ""),
            )
        )
    return rows


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
        lines.append("\t".join(str(v) for v in (
            row.group, row.chats, row.subscribers, row.to_chats, row.to_subscribers,
            row.messages, status)))  # fmt: skip
    return "\n".join(lines)


def _day(moment: datetime | None, zone: ZoneInfo) -> str:
    return "-" if moment is None else moment.astimezone(zone).strftime("%d/%m %H:%M")
