"""Record a tip the police received another way: by phone on the hotline, found in a
TDP's tip box, told in person, through VNeID or from another agency. `/ghitin` asks the
source, the category, the TDP, whether it is urgent and what was reported, then stores
it as a tip like any other (a code, sealed content, the same deadlines, audit and
retention) and tells its area officer. The receipt it shows may be given to a person who
reported in person, to follow the tip anonymously in the bot."""

from __future__ import annotations

from enum import StrEnum

from engine.conversation import Context, Router
from handlers.flows import RecordedTip
from handlers.guards import police, police_action, typing_officer
from kernel.actions import (
    PoliceTip,
    RecordCancel,
    RecordCategory,
    RecordGroup,
    RecordSave,
    RecordSource,
    RecordUrgent,
)
from kernel.categories import CATEGORIES
from kernel.clock import utcnow
from kernel.messages import Button
from kernel.tip_sources import RECORDED_BY_OFFICERS, SOURCE_LABELS
from notices.police import notify_new_tip
from storage import triage, wards
from storage.models import Officer
from storage.triage import Received, RecordRefused

router = Router("record_tip")

MOST_CHARS = 4000
GROUP_CHOICES = 6


class Step(StrEnum):
    GROUP = "rec:group"
    TEXT = "rec:text"


def _cancel(ctx: Context) -> list[Button]:
    return [Button(ctx._("Cancel"), RecordCancel())]


@police("ghitin", "recordtip", on=router)
async def start(ctx: Context, officer: Officer) -> None:
    ctx.end_flow(RecordedTip)
    ctx.reply(
        ctx._("Record a tip the police received. Where did it come from?"),
        [
            *([Button(ctx._(SOURCE_LABELS[s]), RecordSource(s))] for s in RECORDED_BY_OFFICERS),
            _cancel(ctx),
        ],
    )


@police_action(RecordSource, on=router)
async def source_chosen(ctx: Context, officer: Officer) -> None:
    # Never the bot's own source: kernel/actions.py refuses it as it parses the button.
    ctx.flow(RecordedTip).source = ctx.action(RecordSource).source
    ctx.reply(
        ctx._("What is it about?"),
        [
            *([Button(ctx._(label), RecordCategory(key))] for key, label in CATEGORIES.items()),
            _cancel(ctx),
        ],
    )


@police_action(RecordCategory, on=router)
async def category_chosen(ctx: Context, officer: Officer) -> None:
    draft = ctx.flow(RecordedTip)
    if draft.source is None:  # a stale button
        await start(ctx, officer)
        return
    draft.category = ctx.action(RecordCategory).category
    _ask_group(ctx)


def _ask_group(ctx: Context, text: str = "") -> None:
    ctx.go(Step.GROUP)
    ctx.reply(
        text or ctx._("Which residential group is it about? Type its name."),
        [[Button(ctx._("Not known"), RecordGroup(None))], _cancel(ctx)],
        free_text=True,
    )


@router.step(Step.GROUP)
async def group_typed(ctx: Context) -> None:
    officer = await typing_officer(ctx)
    if officer is None:
        return
    ward = await wards.get_ward(ctx.session, officer.ward_id)
    found = await wards.match_groups(ctx.session, ward, ctx.inbound.text) if ward else []
    if len(found) == 1:
        ctx.flow(RecordedTip).group_id = found[0].id
        _ask_urgent(ctx)
        return
    if not found:
        _ask_group(ctx, ctx._("No residential group has that name. Please type it again."))
        return
    ctx.reply(
        ctx._("Which one?"),
        [
            *([Button(g.name, RecordGroup(g.id))] for g in found[:GROUP_CHOICES]),
            [Button(ctx._("Not known"), RecordGroup(None))],
            _cancel(ctx),
        ],
        free_text=True,
    )


@police_action(RecordGroup, on=router)
async def group_chosen(ctx: Context, officer: Officer) -> None:
    draft = ctx.flow(RecordedTip)
    if draft.category is None:
        await start(ctx, officer)
        return
    group_id = ctx.action(RecordGroup).group_id
    if group_id is not None:
        group = await wards.get_group(ctx.session, group_id)
        if group is None or group.ward_id != officer.ward_id or not group.active:
            _ask_group(ctx)
            return
    draft.group_id = group_id
    _ask_urgent(ctx)


def _ask_urgent(ctx: Context) -> None:
    ctx.go(None)
    ctx.reply(
        ctx._("Is it urgent: is someone in danger now, or is it happening now?"),
        [
            [Button(ctx._("Yes, urgent"), RecordUrgent(True))],
            [Button(ctx._("No"), RecordUrgent(False))],
            _cancel(ctx),
        ],
    )


@police_action(RecordUrgent, on=router)
async def urgency_chosen(ctx: Context, officer: Officer) -> None:
    draft = ctx.flow(RecordedTip)
    if draft.category is None:
        await start(ctx, officer)
        return
    draft.urgent = ctx.action(RecordUrgent).urgent
    ctx.go(Step.TEXT)
    ctx.reply(
        ctx._(
            "Type what was reported: what, where, when. Do not write the name or the phone "
            "number of the person who reported it."
        ),
        [_cancel(ctx)],
        free_text=True,
    )


@router.step(Step.TEXT, prose=True)
async def text_typed(ctx: Context) -> None:
    if await typing_officer(ctx) is None:
        return
    text = ctx.inbound.text.strip()
    if not text or len(text) > MOST_CHARS:
        ctx.reply(
            ctx._("Please type what was reported, in at most 4000 characters."),
            [_cancel(ctx)],
            free_text=True,
        )
        return
    draft = ctx.flow(RecordedTip)
    if draft.source is None or draft.category is None:
        ctx.go(None)
        return
    draft.text = text
    ctx.go(None)
    group = await wards.get_group(ctx.session, draft.group_id) if draft.group_id else None
    preview = text if len(text) <= 300 else text[:300] + "…"
    ctx.reply(
        ctx._(
            "Record this tip?\nSource: {source}\nCategory: {category}\nResidential group: "
            "{tdp}\nUrgent: {urgent}\n\n{text}"
        ).format(
            source=ctx._(SOURCE_LABELS[draft.source]),
            category=ctx._(CATEGORIES[draft.category]),
            tdp=group.name if group else ctx._("not known"),
            urgent=ctx._("yes") if draft.urgent else ctx._("no"),
            text=preview,
        ),
        [[Button(ctx._("Record it"), RecordSave())], _cancel(ctx)],
        protect=True,
    )


@police_action(RecordSave, on=router)
async def save(ctx: Context, officer: Officer) -> None:
    draft = ctx.flow(RecordedTip)
    if draft.source is None or draft.category is None or not draft.text:
        ctx.end_flow(RecordedTip)
        ctx.reply(ctx._("Nothing to record. Start again with /ghitin."))  # a stale button
        return
    received = Received(
        ward_id=officer.ward_id,
        group_id=draft.group_id,
        source=draft.source,
        category=draft.category,
        urgent=draft.urgent,
        content={"what": draft.text},
        received_at=utcnow(),
    )
    s = ctx.services
    try:
        tip, receipt = await triage.record_received(
            ctx.session, s.vault, s.receipts, s.audit, s.sla, officer, received
        )
    except RecordRefused:
        ctx.reply(ctx._("This tip could not be recorded. Start again with /ghitin."))
        return
    ctx.end_flow(RecordedTip)
    await notify_new_tip(ctx.session, s, tip)
    ctx.reply(
        ctx._(
            "✓ Recorded as tip {code}. If the person who reported it wants to follow it "
            "anonymously, give them, and only them, this receipt:\nCode: {code}\nSecret: "
            "{secret}\nThey send /kiemtra in a private chat with the bot."
        ).format(code=tip.code, secret=receipt.secret),
        [[Button(ctx._("Open tip {code}").format(code=tip.code), PoliceTip(tip.code))]],
        protect=True,
        delete_after=s.settings.tip_view_seconds,
    )


@police_action(RecordCancel, on=router)
async def cancel(ctx: Context, officer: Officer) -> None:
    ctx.end_flow(RecordedTip)
    ctx.go(None)
    ctx.reply(ctx._("Cancelled. Nothing was recorded."))
