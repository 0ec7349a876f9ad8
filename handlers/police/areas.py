"""`/khuvuc`: the commander gives each residential group its area officer (cảnh sát khu
vực) and a deputy, who hear first of the group's new tips. It lists the groups and who
has them; typing a group's name offers the ward's active officers as buttons."""

from __future__ import annotations

from enum import StrEnum

from engine.conversation import Context, Router
from handlers.guards import police, police_action, typing_officer
from handlers.police.group_name import one_typed_group
from kernel.actions import AreaCancel, AreaClear, AreaDeputy, AreaOfficer
from kernel.messages import Button
from storage import areas, triage, wards
from storage.areas import AreaRefused
from storage.models import Officer, OfficerRole

router = Router("areas")
MOST_LINES = 60


class Step(StrEnum):
    GROUP = "area:group"


def _cancel(ctx: Context) -> list[Button]:
    return [Button(ctx._("Cancel"), AreaCancel())]


@police("khuvuc", "areas", commander=True, on=router)
async def show(ctx: Context, officer: Officer) -> None:
    ward = await wards.get_ward(ctx.session, officer.ward_id)
    if ward is None:
        return
    given = await areas.areas_of_ward(ctx.session, ward.id)
    groups = [g for g in await wards.list_groups(ctx.session, ward) if g.active]
    lines = [ctx._("Area officers of the residential groups:")]
    for group in groups[:MOST_LINES]:
        area = given.get(group.id)
        who = ctx._("none: every officer on duty")
        if area and area.officer:
            who = area.officer.label + (f" · {area.deputy.label}" if area.deputy else "")
        lines.append(f"• {group.name}: {who}")
    if len(groups) > MOST_LINES:
        lines.append(ctx._("…and {n} more.").format(n=len(groups) - MOST_LINES))
    lines.append(ctx._("To set one, type the residential group's name."))
    ctx.go(Step.GROUP)
    ctx.reply("\n".join(lines), [_cancel(ctx)], free_text=True)


@router.step(Step.GROUP)
async def group_typed(ctx: Context) -> None:
    officer = await typing_officer(ctx)
    if officer is None or officer.role != OfficerRole.COMMANDER:
        ctx.go(None)
        return
    group = await one_typed_group(ctx, officer, _cancel(ctx))
    if group is None:
        return
    ctx.go(None)
    await _offer(ctx, officer, group.id, deputy_for=None)


async def _offer(ctx: Context, officer: Officer, group_id: int, *, deputy_for: int | None) -> None:
    colleagues = await triage.ward_officers(ctx.session, officer.ward_id)
    group = await wards.get_group(ctx.session, group_id)
    if group is None:
        return
    if deputy_for is None:
        text = ctx._("Who is the area officer of {tdp}?").format(tdp=group.name)
        rows = [[Button(o.label, AreaOfficer(group.id, o.id))] for o in colleagues]
        rows.append([Button(ctx._("No area officer"), AreaClear(group.id))])
    else:
        text = ctx._("And the deputy?")
        rows = [
            [Button(o.label, AreaDeputy(group.id, deputy_for, o.id))]
            for o in colleagues
            if o.id != deputy_for
        ]
        rows.append([Button(ctx._("No deputy"), AreaDeputy(group.id, deputy_for, None))])
    ctx.reply(text, [*rows, _cancel(ctx)])


@police_action(AreaOfficer, commander=True, on=router)
async def officer_chosen(ctx: Context, officer: Officer) -> None:
    chosen = ctx.action(AreaOfficer)
    await _offer(ctx, officer, chosen.group_id, deputy_for=chosen.officer_id)


@police_action(AreaDeputy, commander=True, on=router)
async def deputy_chosen(ctx: Context, officer: Officer) -> None:
    chosen = ctx.action(AreaDeputy)
    await _save(ctx, officer, chosen.group_id, chosen.officer_id, chosen.deputy_id)


@police_action(AreaClear, commander=True, on=router)
async def cleared(ctx: Context, officer: Officer) -> None:
    await _save(ctx, officer, ctx.action(AreaClear).group_id, None, None)


async def _save(
    ctx: Context, officer: Officer, group_id: int, chosen: int | None, deputy: int | None
) -> None:
    group = await wards.get_group(ctx.session, group_id)
    colleagues = {o.id: o for o in await triage.ward_officers(ctx.session, officer.ward_id)}
    if group is None or group.ward_id != officer.ward_id:
        await show(ctx, officer)
        return
    area_officer = colleagues.get(chosen) if chosen else None
    deputy_officer = colleagues.get(deputy) if deputy else None
    if (chosen and area_officer is None) or (deputy and deputy_officer is None):
        await show(ctx, officer)  # an officer revoked meanwhile, or a forged button
        return
    try:
        await areas.set_area(ctx.session, group, area_officer, deputy_officer)
    except AreaRefused:
        await show(ctx, officer)
        return
    await ctx.services.audit.append(
        ctx.session,
        "area",
        ward_id=officer.ward_id,
        officer_id=officer.id,
        detail={"group": group.id, "officer": chosen, "deputy": deputy},
    )
    if area_officer is None:
        ctx.reply(
            ctx._("{tdp}: no area officer; its tips go to every officer on duty").format(
                tdp=group.name
            )
        )
        return
    text = ctx._("{tdp}: area officer {officer}").format(tdp=group.name, officer=area_officer.label)
    if deputy_officer is not None:
        text += ctx._(", deputy {deputy}").format(deputy=deputy_officer.label)
    ctx.reply(text)


@police_action(AreaCancel, commander=True, on=router)
async def cancel(ctx: Context, officer: Officer) -> None:
    ctx.go(None)
    ctx.reply(ctx._("Cancelled. Nothing was changed."))
