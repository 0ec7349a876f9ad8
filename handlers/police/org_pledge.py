"""Pledges of schools, businesses and whole residential groups, entered by an officer
after the signing: `/orgpledge` asks the kind, the name and the TDP, then confirms.
Organisations are public, so their names are kept as written."""

from __future__ import annotations

from engine.conversation import Context, Router
from handlers.guards import police, police_action, typing_officer
from kernel.messages import Button
from storage import pledges, wards
from storage.models import Officer, PledgeKind
from storage.pledges import KIND_LABELS as PLEDGE_KINDS
from storage.pledges import PledgeError

router = Router("org_pledge")


def _cancel(ctx: Context) -> list[Button]:
    return [Button(ctx._("Cancel"), "op:cancel")]


@police("orgpledge", "camketdonvi", on=router)
async def start(ctx: Context, officer: Officer) -> None:
    for key in ("op_kind", "op_name", "op_group"):
        ctx.state.data.pop(key, None)
    ctx.reply(
        ctx._("Record a pledge signed by:"),
        [*([Button(ctx._(label), f"op:kind:{kind}")] for kind, label in PLEDGE_KINDS.items()),
         _cancel(ctx)],
    )  # fmt: skip


@police_action("op:kind:", on=router)
async def kind_chosen(ctx: Context, officer: Officer) -> None:
    try:
        kind = PledgeKind(ctx.action_arg)
    except ValueError:
        kind = PledgeKind.HOUSEHOLD
    if kind is PledgeKind.HOUSEHOLD:  # not a choice offered (a forged button): ask again
        await start(ctx, officer)
        return
    ctx.state.data["op_kind"] = str(kind)
    if kind is PledgeKind.GROUP:
        _ask_group(ctx)
        return
    ctx.go("op:name")
    ctx.reply(
        ctx._("Type the name of the school or business, as it should appear in the report."),
        [_cancel(ctx)],
        free_text=True,
    )


@router.step("op:name")
async def name_typed(ctx: Context) -> None:
    if await typing_officer(ctx) is None:
        return
    name = " ".join(ctx.inbound.text.split())
    if not name or len(name) > pledges.MAX_NAME:
        ctx.reply(
            ctx._("The name must be 1 to 200 characters. Please type it again."),
            [_cancel(ctx)], free_text=True,
        )  # fmt: skip
        return
    ctx.state.data["op_name"] = name
    _ask_group(ctx)


def _ask_group(ctx: Context) -> None:
    ctx.go("op:group")
    whole_ward = [] if ctx.state.data.get("op_kind") == PledgeKind.GROUP else [
        [Button(ctx._("The whole ward (no single TDP)"), "op:ward")]]  # fmt: skip
    ctx.reply(
        ctx._("Which residential group is it in? Type its name."),
        [*whole_ward, _cancel(ctx)],
        free_text=True,
    )


@router.step("op:group")
async def group_typed(ctx: Context) -> None:
    officer = await typing_officer(ctx)
    if officer is None:
        return
    ward = await wards.get_ward(ctx.session, officer.ward_id)
    found = await wards.match_groups(ctx.session, ward, ctx.inbound.text) if ward else []
    if len(found) != 1:
        ctx.reply(
            ctx._("Please type the exact name of one residential group."), [_cancel(ctx)],
            free_text=True,
        )  # fmt: skip
        return
    ctx.state.data["op_group"] = found[0].id
    if ctx.state.data.get("op_kind") == PledgeKind.GROUP:
        ctx.state.data["op_name"] = found[0].name
    await _confirm(ctx)


@police_action("op:ward", on=router)
async def whole_ward(ctx: Context, officer: Officer) -> None:
    if "op_kind" not in ctx.state.data or "op_name" not in ctx.state.data:
        ctx.reply(ctx._("Nothing to record. Start again with /orgpledge."))  # a stale button
        return
    ctx.state.data["op_group"] = None
    await _confirm(ctx)


async def _confirm(ctx: Context) -> None:
    ctx.go("")
    group_id = ctx.state.data.get("op_group")
    group = await wards.get_group(ctx.session, group_id) if isinstance(group_id, int) else None
    kind = PledgeKind(str(ctx.state.data.get("op_kind")))
    ctx.reply(
        ctx._("Record this pledge, signed today ({date})?\n{kind}: {name}\nResidential group: "
              "{tdp}").format(
            date=ctx.local_now().date().strftime("%d/%m/%Y"),
            kind=ctx._(PLEDGE_KINDS[kind]).capitalize(),
            name=ctx.state.data.get("op_name", ""),
            tdp=group.name if group else ctx._("the whole ward"),
        ),
        [[Button(ctx._("Confirm"), "op:save")], _cancel(ctx)],
    )  # fmt: skip


@police_action("op:save", on=router)
async def save(ctx: Context, officer: Officer) -> None:
    data = ctx.state.data
    if "op_kind" not in data or "op_name" not in data:
        ctx.reply(ctx._("Nothing to record. Start again with /orgpledge."))
        return
    group_id = data.get("op_group")
    group = await wards.get_group(ctx.session, group_id) if isinstance(group_id, int) else None
    try:
        row = await pledges.add_organisation(
            ctx.session, ward_id=officer.ward_id, kind=PledgeKind(str(data["op_kind"])),
            name=str(data["op_name"]), group=group, signed_on=ctx.local_now().date(),
            officer_id=officer.id,
        )  # fmt: skip
    except PledgeError as exc:
        ctx.reply(ctx._("Not recorded: {reason}.").format(reason=ctx._(exc.reason)))
        return
    for key in ("op_kind", "op_name", "op_group"):
        data.pop(key, None)
    await ctx.services.audit.append(
        ctx.session, "pledge.organisation", ward_id=officer.ward_id, officer_id=officer.id,
        detail={"pledge_id": row.id, "kind": row.kind},
    )  # fmt: skip
    ctx.reply(ctx._("Recorded: {name}. Thank you.").format(name=row.name))


@police_action("op:cancel", on=router)
async def cancel(ctx: Context, officer: Officer) -> None:
    for key in ("op_kind", "op_name", "op_group"):
        ctx.state.data.pop(key, None)
    ctx.go("")
    ctx.reply(ctx._("Cancelled. Nothing was recorded."))
