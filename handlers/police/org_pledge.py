"""Pledges of schools, businesses and whole residential groups, entered by an officer
after the signing: `/orgpledge` asks the kind, the name and the TDP, then confirms.
Organisations are public, so their names are kept as written."""

from __future__ import annotations

from enum import StrEnum

from engine.conversation import Context, Router
from handlers.flows import OrgPledgeDraft
from handlers.guards import police, police_action, typing_officer
from handlers.police.group_name import one_typed_group
from kernel.actions import OrgPledgeCancel, OrgPledgeKind, OrgPledgeSave, OrgPledgeWard
from kernel.messages import Button
from storage import pledges, wards
from storage.models import Officer, PledgeKind
from storage.pledges import KIND_LABELS as PLEDGE_KINDS
from storage.pledges import PledgeError

router = Router("org_pledge")


class Step(StrEnum):
    NAME = "op:name"
    GROUP = "op:group"


def _cancel(ctx: Context) -> list[Button]:
    return [Button(ctx._("Cancel"), OrgPledgeCancel())]


@police("orgpledge", "camketdonvi", on=router)
async def start(ctx: Context, officer: Officer) -> None:
    ctx.end_flow(OrgPledgeDraft)
    ctx.reply(
        ctx._("Record a pledge signed by:"),
        [
            *([Button(ctx._(label), OrgPledgeKind(kind))] for kind, label in PLEDGE_KINDS.items()),
            _cancel(ctx),
        ],
    )


@police_action(OrgPledgeKind, on=router)
async def kind_chosen(ctx: Context, officer: Officer) -> None:
    kind = ctx.action(OrgPledgeKind).kind  # never the household's (kernel/actions.py)
    ctx.flow(OrgPledgeDraft).kind = kind
    if kind is PledgeKind.GROUP:
        _ask_group(ctx)
        return
    ctx.go(Step.NAME)
    ctx.reply(
        ctx._("Type the name of the school or business, as it should appear in the report."),
        [_cancel(ctx)],
        free_text=True,
    )


@router.step(Step.NAME)
async def name_typed(ctx: Context) -> None:
    if await typing_officer(ctx) is None:
        return
    name = " ".join(ctx.inbound.text.split())
    if not name or len(name) > pledges.MAX_NAME:
        ctx.reply(
            ctx._("The name must be 1 to 200 characters. Please type it again."),
            [_cancel(ctx)],
            free_text=True,
        )
        return
    ctx.flow(OrgPledgeDraft).name = name
    _ask_group(ctx)


def _ask_group(ctx: Context) -> None:
    ctx.go(Step.GROUP)
    whole_ward = (
        []
        if ctx.flow(OrgPledgeDraft).kind is PledgeKind.GROUP
        else [[Button(ctx._("The whole ward (no single TDP)"), OrgPledgeWard())]]
    )
    ctx.reply(
        ctx._("Which residential group is it in? Type its name."),
        [*whole_ward, _cancel(ctx)],
        free_text=True,
    )


@router.step(Step.GROUP)
async def group_typed(ctx: Context) -> None:
    officer = await typing_officer(ctx)
    if officer is None:
        return
    group = await one_typed_group(ctx, officer, _cancel(ctx))
    if group is None:
        return
    draft = ctx.flow(OrgPledgeDraft)
    draft.group_id = group.id
    if draft.kind is PledgeKind.GROUP:
        draft.name = group.name
    await _confirm(ctx)


@police_action(OrgPledgeWard, on=router)
async def whole_ward(ctx: Context, officer: Officer) -> None:
    draft = ctx.flow(OrgPledgeDraft)
    if draft.kind is None or draft.name is None:
        ctx.reply(ctx._("Nothing to record. Start again with /orgpledge."))  # a stale button
        return
    draft.group_id = None
    await _confirm(ctx)


async def _confirm(ctx: Context) -> None:
    ctx.go(None)
    draft = ctx.flow(OrgPledgeDraft)
    group_id = draft.group_id
    group = await wards.get_group(ctx.session, group_id) if group_id is not None else None
    kind = draft.kind
    if kind is None:  # a name typed to a step whose draft is gone
        ctx.reply(ctx._("Nothing to record. Start again with /orgpledge."))
        return
    ctx.reply(
        ctx._(
            "Record this pledge, signed today ({date})?\n{kind}: {name}\nResidential group: {tdp}"
        ).format(
            date=ctx.local_now().date().strftime("%d/%m/%Y"),
            kind=ctx._(PLEDGE_KINDS[kind]).capitalize(),
            name=draft.name or "",
            tdp=group.name if group else ctx._("the whole ward"),
        ),
        [[Button(ctx._("Confirm"), OrgPledgeSave())], _cancel(ctx)],
    )


@police_action(OrgPledgeSave, on=router)
async def save(ctx: Context, officer: Officer) -> None:
    draft = ctx.flow(OrgPledgeDraft)
    kind, name, group_id = draft.kind, draft.name, draft.group_id
    if kind is None or name is None:
        ctx.reply(ctx._("Nothing to record. Start again with /orgpledge."))
        return
    group = await wards.get_group(ctx.session, group_id) if group_id is not None else None
    try:
        row = await pledges.add_organisation(
            ctx.session,
            ward_id=officer.ward_id,
            kind=kind,
            name=name,
            group=group,
            signed_on=ctx.local_now().date(),
            officer_id=officer.id,
        )
    except PledgeError as exc:
        ctx.reply(ctx._("Not recorded: {reason}.").format(reason=ctx._(exc.reason)))
        return
    ctx.end_flow(OrgPledgeDraft)
    await ctx.services.audit.append(
        ctx.session,
        "pledge.organisation",
        ward_id=officer.ward_id,
        officer_id=officer.id,
        detail={"pledge_id": row.id, "kind": row.kind},
    )
    ctx.reply(ctx._("Recorded: {name}. Thank you.").format(name=row.name))


@police_action(OrgPledgeCancel, on=router)
async def cancel(ctx: Context, officer: Officer) -> None:
    ctx.end_flow(OrgPledgeDraft)
    ctx.go(None)
    ctx.reply(ctx._("Cancelled. Nothing was recorded."))
