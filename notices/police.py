"""The police's notices: new tips, a reporter's answers, overdue tips, the morning
digest, TDPs the awareness messages cannot reach, finished broadcasts. All go through
the outbox, after the transaction that caused them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from broadcasts import deliveries, planner
from broadcasts.calendar import period_of
from broadcasts.planner import Unreachable
from engine.delivery import enqueue_reply
from engine.services import Services
from kernel.actions import PoliceAck, PoliceClaim, PoliceTip
from kernel.categories import CATEGORIES
from kernel.i18n import N_
from kernel.messages import Button
from storage import areas, officers, triage, wards
from storage.models import (
    Broadcast,
    Officer,
    OfficerRole,
    OfficerStatus,
    Tip,
    TipStatus,
)
from storage.session import AsyncSession


async def notify_new_tip(session: AsyncSession, services: Services, tip: Tip) -> int:
    """Tell who should take the tip that it arrived: its category, group, priority and
    code, never its content. A group's tip goes to its area officer and deputy (urgent
    ones to the commanders too); any other tip to every officer on duty, commanders
    included (storage/areas.py)."""
    recipients = (await areas.new_tip_recipients(session, tip)).officers
    _ = services.translator.get(services.settings.default_language).gettext
    group = await wards.get_group(session, tip.group_id) if tip.group_id else None
    text = (_("🚨 URGENT tip {code}") if tip.urgent else _("🆕 New tip {code}")).format(
        code=tip.code
    )
    text += "\n" + _("{category} · {group} · priority {priority}").format(
        category=_(CATEGORIES.get(tip.category, N_("Something else"))),
        group=group.name if group else _("group not known"),
        priority=tip.priority,
    )
    text += "\n/tip " + tip.code
    # One tap each between patrols; on Zalo, the command to type, numbered.
    code = tip.code
    buttons = [
        [Button(_("✓ Acknowledge"), PoliceAck(code), f"/tiepnhan {code}")],
        [Button(_("Claim it"), PoliceClaim(code), f"/claim {code}")],
        [Button(_("Open"), PoliceTip(code), f"/tip {code}")],
    ]
    sent = 0
    for officer in recipients:
        route = officers.read_route(services.vault, officer)
        if route is not None:
            await enqueue_reply(session, services, route, text, buttons)
            sent += 1
    return sent


async def notify_reporter_wrote(session: AsyncSession, services: Services, tip: Tip) -> None:
    """The reporter answered or added something: tell the assignee, else the ward."""
    assignee = (
        await officers.get_officer(session, tip.assigned_officer_id)
        if tip.assigned_officer_id
        else None
    )
    if assignee is not None and assignee.status == OfficerStatus.ACTIVE:
        recipients: Sequence[Officer] = [assignee]
    else:
        recipients = await triage.ward_officers(session, tip.ward_id)
    _ = services.translator.get(services.settings.default_language).gettext
    for officer in recipients:
        route = officers.read_route(services.vault, officer)
        if route is not None:
            await enqueue_reply(
                session,
                services,
                route,
                _("✉ The reporter of tip {code} wrote. /tip {code}").format(code=tip.code),
            )


async def tell_commanders(
    session: AsyncSession,
    services: Services,
    ward_id: int,
    compose: Callable[[Callable[[str], str]], str],
) -> int:
    """Leave a message for every commander of the ward; `compose` gets the gettext of
    the bot's default language (a commander's own language is not stored)."""
    _ = services.translator.get(services.settings.default_language).gettext
    text = compose(_)
    told = 0
    for commander in await triage.ward_officers(session, ward_id, roles=[OfficerRole.COMMANDER]):
        route = officers.read_route(services.vault, commander)
        if route is not None:
            await enqueue_reply(session, services, route, text)
            told += 1
    return told


async def escalate_overdue(session: AsyncSession, services: Services, now: datetime) -> int:
    """Tell commanders of tips past their deadlines, once per deadline; computed from
    the database, so a tick missed while the bot was down is made up by the next."""
    _ = services.translator.get(services.settings.default_language).gettext
    count = 0
    for tip, kind in [
        *((t, "ack") for t in await triage.overdue_acknowledgements(session, now)),
        *((t, "close") for t in await triage.overdue_closures(session, now)),
    ]:
        told = await triage.ward_officers(session, tip.ward_id, roles=[OfficerRole.COMMANDER])
        if kind == "ack":
            tip.ack_escalated_at = now
            text = _("⏰ Tip {code} was not acknowledged in time. /tip {code}")
            if (await areas.new_tip_recipients(session, tip)).area:
                # Its area officer did not take it: now everyone on duty is asked to.
                told = await areas.everyone_on_duty(session, tip.ward_id)
                text = _(
                    "⏰ Tip {code} was not acknowledged in time by its area officer: "
                    "whoever is on duty, please take it. /tip {code}"
                )
        else:
            tip.close_escalated_at = now
            text = _("⏰ Tip {code} is past its closing deadline. /tip {code}")
        for person in told:
            route = officers.read_route(services.vault, person)
            if route is not None:
                await enqueue_reply(session, services, route, text.format(code=tip.code))
        await services.audit.append(
            session, "escalated", ward_id=tip.ward_id, tip_id=tip.id, detail={"deadline": kind}
        )
        count += 1
    return count


async def send_digests(session: AsyncSession, services: Services, now: datetime) -> int:
    """Each morning, after the configured time, every officer gets the queue in numbers;
    at most one digest per ward and day, whatever the ticks do. Commanders' digests also
    carry the audit chain's head (entry number and the start of its MAC), to compare
    with what `wardbot audit verify` shows later: a log cut since cannot show it."""
    local = now.astimezone(services.settings.zone)
    if local.strftime("%H:%M") < services.settings.digest_time:
        return 0
    _ = services.translator.get(services.settings.default_language).gettext
    sent = 0
    head = None
    for ward in await wards.list_wards(session):
        if not await triage.claim_digest(session, ward.id, local.date()):
            continue
        head = head or await services.audit.head(session)
        numbers = await triage.stats(session, ward.id, now)
        open_count = sum(numbers.by_status.values())
        text = _(
            "☀ Morning digest for {ward}: {open} open tips ({new} new), {overdue} not "
            "acknowledged in time, {late} past the closing deadline. /queue"
        ).format(
            ward=ward.name,
            open=open_count,
            new=numbers.by_status.get(TipStatus.NEW, 0),
            overdue=numbers.overdue_ack,
            late=numbers.overdue_close,
        )
        audit_line = (
            _("🔒 Audit log: last entry {id}, MAC {mac}").format(id=head.id, mac=head.short)
            if head is not None
            else ""
        )
        for officer in await triage.ward_officers(session, ward.id):
            route = officers.read_route(services.vault, officer)
            if route is not None:
                commander = officer.role == OfficerRole.COMMANDER and audit_line
                shown = f"{text}\n{audit_line}" if commander else text
                await enqueue_reply(session, services, route, shown)
        sent += 1
    return sent


async def warn_unreachable(
    session: AsyncSession, services: Services, item: Unreachable, now: datetime
) -> bool:
    """Tell the commanders, once a month and before it ends, that a TDP has had no
    awareness message and cannot be reached as things stand."""
    period = period_of(now, services.settings.zone)
    if not await planner.claim_alert(session, item, period):
        return False
    group_name = item.group.name

    def compose(_: Callable[[str], str]) -> str:
        if item.reason == "no-target":
            text = _(
                "⚠ {tdp} has had no anti-drug message this month and cannot be reached: it "
                "has no registered group chat and no subscriber. Add the bot to its group "
                "chat and send /register_group {tdp} there."
            )
        else:
            text = _(
                "⚠ {tdp} has had no anti-drug message this month: every delivery failed. "
                "Please check its group chat (was the bot removed?) and register it again."
            )
        return text.format(tdp=group_name)

    await tell_commanders(session, services, item.ward_id, compose)
    return True


async def report_broadcast(session: AsyncSession, services: Services, broadcast: Broadcast) -> None:
    """The final figures, for the officer who asked for the broadcast."""
    if broadcast.created_by is None or broadcast.reported:
        return
    broadcast.reported = True
    officer = await officers.get_officer(session, broadcast.created_by)
    route = officers.read_route(services.vault, officer) if officer is not None else None
    if route is None or officer is None or officer.status != OfficerStatus.ACTIVE:
        return
    done = await deliveries.progress(session, broadcast.id)
    _ = services.translator.get(services.settings.default_language).gettext
    text = _(
        "📣 Broadcast #{id} finished: {sent} delivered, {blocked} blocked the bot, {failed} failed."
    ).format(id=broadcast.id, sent=done.sent, blocked=done.blocked, failed=done.failed)
    await enqueue_reply(session, services, route, text)
