"""The indicator "100% of tips received and handled in time": computed from deadlines
alone, per source, with every miss and how late it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.app import App
from kernel.tip_sources import TipSource
from reports.figures import Share
from reports.indicator import Deadline, Indicator, TipTimes, compute
from storage import report_counts, triage
from storage.models import OfficerRole, Tip
from storage.triage import Outcome
from tests.helpers import add_phu_lien, enrol, stored_tip

NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)
H = timedelta(hours=1)


def times(
    source: str = "bot",
    received: datetime = NOV + 24 * H,
    *,
    ack: float | None = 1,
    closed: float | None = 48,
    outcome: str | None = "confirmed",
) -> TipTimes:
    """A tip received at `received`, acknowledged after `ack` hours (due after 24), closed
    after `closed` hours (due after 30 days)."""
    return TipTimes(
        source=source,
        received=received,
        acknowledged=None if ack is None else received + ack * H,
        ack_due=received + 24 * H,
        closed=None if closed is None else received + closed * H,
        close_due=received + 30 * 24 * H,
        outcome=outcome if closed is not None else None,
    )


def test_a_month_with_tips_on_time_late_and_open() -> None:
    rows = [
        times(),  # on time twice
        times("hotline", ack=0),  # recorded by an officer: received at once
        times("bot", ack=30, closed=40),  # acknowledged 6 hours late
        times("bot", NOV + 25 * 24 * H, ack=None, closed=None),  # never acknowledged
        # Received in October, due in November, closed 3 days late in November.
        times("tip_box", NOV - 10 * 24 * H, ack=0, closed=33 * 24, outcome="unfounded"),
        # Received in October, due in November, still open at the month's end.
        times("bot", NOV - 5 * 24 * H, ack=2, closed=None),
    ]
    result = compute(rows, NOV, DEC, as_of=DEC + 5 * 24 * H)
    assert result.received == 4
    assert result.received_on_time == Share(2, 4)
    assert result.handled_on_time == Share(3, 5)
    assert result.met is False
    by = {f.source: f for f in result.by_source}
    assert list(by) == [TipSource.BOT, TipSource.HOTLINE, TipSource.TIP_BOX]  # the enum's order
    assert (by[TipSource.BOT].received, by[TipSource.BOT].received_on_time) == (3, Share(1, 3))
    assert by[TipSource.TIP_BOX].received == 0
    assert by[TipSource.TIP_BOX].handled_on_time == Share(0, 1)
    late = {(m.source, m.deadline, m.still_open): m.late_by for m in result.misses}
    assert late == {
        (TipSource.BOT, Deadline.ACKNOWLEDGE, False): 6 * H,
        # As of the month's end (the report came later: it speaks of the month).
        (TipSource.BOT, Deadline.ACKNOWLEDGE, True): DEC - (NOV + 25 * 24 * H + 24 * H),
        (TipSource.TIP_BOX, Deadline.CLOSE, False): 3 * 24 * H,
        (TipSource.BOT, Deadline.CLOSE, True): DEC - (NOV - 5 * 24 * H + 30 * 24 * H),
    }
    assert result.misses[0].late_by == max(late.values())
    assert result.outcomes == {"confirmed": 3, "unfounded": 1}


def test_what_is_not_due_yet_is_not_counted() -> None:
    fresh = times(received=DEC - 2 * H, ack=None, closed=None)
    result = compute([fresh], NOV, DEC, as_of=DEC - H)
    assert (result.received, result.received_on_time, result.handled_on_time) == (
        1,
        Share(0, 0),
        Share(0, 0),
    )
    assert result.met is None and result.misses == ()


def test_a_tip_closed_early_counts_once_not_again_in_the_month_it_was_due() -> None:
    early = times(received=NOV - 20 * 24 * H, ack=1, closed=2)  # due in November
    october = compute([early], NOV - 31 * 24 * H, NOV, as_of=DEC)
    november = compute([early], NOV, DEC, as_of=DEC)
    assert october.handled_on_time == Share(1, 1)
    assert november.handled_on_time == Share(0, 0)


def test_a_hundred_percent_month_meets_the_indicator() -> None:
    assert compute([times(), times("vneid", ack=0)], NOV, DEC, as_of=DEC).met is True


async def test_the_indicator_from_stored_tips(app: App) -> None:
    ward = await add_phu_lien(app)
    await enrol(app, ward, OfficerRole.OFFICER, "o1", "Trinh sát Minh")
    s = app.services
    now = datetime.now(UTC)
    async with s.db.transaction() as session:
        officer = (await triage.ward_officers(session, ward))[0]
        on_time, _ = await stored_tip(
            session, s, ward_id=ward, category="dealing", content={"what": "a"}
        )
        late, _ = await stored_tip(session, s, ward_id=ward, category="use", content={"what": "b"})
        waiting, _ = await stored_tip(
            session, s, ward_id=ward, category="use", content={"what": "c"}
        )
        phoned, _ = await triage.record_received(
            session,
            s.vault,
            s.receipts,
            s.audit,
            s.sla,
            officer,
            triage.Received(
                ward_id=ward,
                group_id=None,
                source=TipSource.HOTLINE,
                category="dealing",
                urgent=False,
                content={"what": "d"},
                received_at=now - 3 * H,
            ),
        )
        for tip in (on_time, late, waiting):
            triage.set_deadlines(tip, s.sla, now - 30 * H)
        await triage.acknowledge(session, s.vault, s.audit, on_time, officer)
        await triage.change_status(
            session, s.vault, s.audit, on_time, "closed", officer, outcome=Outcome.CONFIRMED
        )
        await triage.acknowledge(session, s.vault, s.audit, late, officer)
        ids = [t.id for t in (on_time, late, waiting, phoned)]
    async with s.db.transaction() as session:
        # Received 30 hours ago with a 24-hour deadline; the first was acknowledged in time.
        await session.execute(
            update(Tip).where(Tip.id.in_(ids[:3])).values(created_at=now - 30 * H)
        )
        await session.execute(
            update(Tip).where(Tip.id == ids[0]).values(acknowledged_at=now - 29 * H)
        )
    start, end = now - 10 * 24 * H, now + H
    async with s.db.transaction() as session:
        rows = await report_counts.tip_deadlines(session, ward, start, end)
    result: Indicator = compute([TipTimes(*row) for row in rows], start, end, as_of=now)
    assert result.received == 4
    assert result.received_on_time == Share(2, 4)  # the first, and the phoned one
    assert result.handled_on_time == Share(1, 1)
    # One acknowledged late (now), one not acknowledged at all: both about 6 hours past
    # a deadline that was rounded up to the hour.
    assert {(m.source, m.deadline, m.still_open) for m in result.misses} == {
        (TipSource.BOT, Deadline.ACKNOWLEDGE, True),
        (TipSource.BOT, Deadline.ACKNOWLEDGE, False),
    }
    assert all(5 * H - timedelta(minutes=1) <= m.late_by <= 6 * H for m in result.misses)
    assert result.outcomes == {"confirmed": 1}
