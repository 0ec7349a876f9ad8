"""`/hommthu`: the TDPs' tip boxes and boards. It lists which groups have a box and a
posted board; after a group's name it records an opening of its box (how many tips were
in it, none included), or that the group now has, or no longer has, a box or a board.
Each tip found is then recorded with /ghitin, its source already "tip box"."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from engine.conversation import Context, Router
from handlers.flows import BoxGroup
from handlers.guards import police, police_action, typing_officer
from handlers.ids import parse_typed_id
from handlers.police.group_name import one_typed_group
from kernel.actions import BoxCancel, BoxOpen, BoxSet, BoxUnset, RecordSource
from kernel.messages import Button
from kernel.tip_sources import TipSource
from storage import tip_boxes, wards
from storage.models import Officer, ResidentialGroup
from storage.tip_boxes import OpeningRefused

router = Router("tip_boxes")
MOST_LINES = 60


class Step(StrEnum):
    GROUP = "box:group"
    FOUND = "box:found"


def _cancel(ctx: Context) -> list[Button]:
    return [Button(ctx._("Cancel"), BoxCancel())]


@police("hommthu", "tipboxes", on=router)
async def show(ctx: Context, officer: Officer) -> None:
    ward = await wards.get_ward(ctx.session, officer.ward_id)
    if ward is None:
        return
    points = await tip_boxes.points_of_ward(ctx.session, ward.id)
    groups = [g for g in await wards.list_groups(ctx.session, ward) if g.active]
    lines = [ctx._("Tip boxes and boards of the residential groups:")]
    for group in groups[:MOST_LINES]:
        p = points.get(group.id)
        box = _since(ctx, p.box_since if p else None)
        board = _since(ctx, p.board_since if p else None)
        lines.append(
            ctx._("• {tdp}: box {box}; board {board}").format(tdp=group.name, box=box, board=board)
        )
    if len(groups) > MOST_LINES:
        lines.append(ctx._("…and {n} more.").format(n=len(groups) - MOST_LINES))
    lines.append(ctx._("To record an opening or a change, type the residential group's name."))
    ctx.go(Step.GROUP)
    ctx.reply("\n".join(lines), [_cancel(ctx)], free_text=True)


def _since(ctx: Context, day: date | None) -> str:
    if day is None:
        return ctx._("none")
    return ctx._("since {day}").format(day=day.strftime("%d/%m/%Y"))


@router.step(Step.GROUP)
async def group_typed(ctx: Context) -> None:
    officer = await typing_officer(ctx)
    if officer is None:
        return
    group = await one_typed_group(ctx, officer, _cancel(ctx))
    if group is None:
        return
    ctx.flow(BoxGroup).group_id = group.id
    ctx.go(None)
    ctx.reply(
        ctx._("{tdp}: what would you like to record?").format(tdp=group.name),
        [
            [Button(ctx._("An opening of its tip box"), BoxOpen())],
            [Button(ctx._("It has a tip box from today"), BoxSet("box"))],
            [Button(ctx._("It has a board from today"), BoxSet("board"))],
            [Button(ctx._("It no longer has a tip box"), BoxUnset("box"))],
            [Button(ctx._("It no longer has a board"), BoxUnset("board"))],
            _cancel(ctx),
        ],
    )


async def _group(ctx: Context, officer: Officer) -> ResidentialGroup | None:
    group_id = ctx.flow(BoxGroup).group_id
    group = await wards.get_group(ctx.session, group_id) if group_id else None
    if group is None or group.ward_id != officer.ward_id:
        await show(ctx, officer)
        return None
    return group


@police_action(BoxSet, on=router)
async def now_has(ctx: Context, officer: Officer) -> None:
    await _change(ctx, officer, ctx.action(BoxSet).thing, has=True)


@police_action(BoxUnset, on=router)
async def no_longer_has(ctx: Context, officer: Officer) -> None:
    await _change(ctx, officer, ctx.action(BoxUnset).thing, has=False)


async def _change(ctx: Context, officer: Officer, thing: str, *, has: bool) -> None:
    group = await _group(ctx, officer)
    if group is None:
        return
    points = (await tip_boxes.points_of_ward(ctx.session, officer.ward_id)).get(group.id)
    box = points.box_since if points else None
    board = points.board_since if points else None
    today = ctx.local_now().date()
    if thing == "box":
        box = (box or today) if has else None
    else:
        board = (board or today) if has else None
    await tip_boxes.set_points(ctx.session, group, box_since=box, board_since=board)
    await ctx.services.audit.append(
        ctx.session,
        "tip_points",
        ward_id=officer.ward_id,
        officer_id=officer.id,
        detail={"group": group.id, "box": str(box or ""), "board": str(board or "")},
    )
    ctx.end_flow(BoxGroup)
    ctx.reply(
        ctx._("{tdp}: tip box {box}; board {board}").format(
            tdp=group.name, box=_since(ctx, box), board=_since(ctx, board)
        )
    )


@police_action(BoxOpen, on=router)
async def opening(ctx: Context, officer: Officer) -> None:
    if await _group(ctx, officer) is None:
        return
    ctx.go(Step.FOUND)
    ctx.reply(
        ctx._("How many tips were in the box? Type a number (0 if it was empty)."),
        [_cancel(ctx)],
        free_text=True,
    )


@router.step(Step.FOUND)
async def found_typed(ctx: Context) -> None:
    officer = await typing_officer(ctx)
    if officer is None:
        return
    group = await _group(ctx, officer)
    if group is None:
        return
    typed = ctx.inbound.text.strip()
    count = 0 if typed in ("0", "０") else parse_typed_id(typed)
    if count is None or count > tip_boxes.MOST_TIPS_IN_A_BOX:
        ctx.reply(ctx._("Please type a number from 0 to 500."), [_cancel(ctx)], free_text=True)
        return
    today = ctx.local_now().date()
    try:
        await tip_boxes.record_opening(
            ctx.session,
            group,
            opened_on=today,
            opened_by=officer.label,
            tips_found=count,
            recorded_by=officer,
            today=today,
        )
    except OpeningRefused:
        ctx.go(None)
        ctx.end_flow(BoxGroup)
        ctx.reply(
            ctx._("{tdp} has no tip box on record. Record it first with /hommthu.").format(
                tdp=group.name
            )
        )
        return
    await ctx.services.audit.append(
        ctx.session,
        "box_opening",
        ward_id=officer.ward_id,
        officer_id=officer.id,
        detail={"group": group.id, "found": count},
    )
    ctx.go(None)
    ctx.end_flow(BoxGroup)
    if count == 0:
        ctx.reply(ctx._("Recorded: the box of {tdp} was empty today.").format(tdp=group.name))
        return
    ctx.reply(
        ctx._("Recorded: {n} tips in the box of {tdp}. Record each of them now:").format(
            n=count, tdp=group.name
        ),
        [[Button(ctx._("Record a tip from the box"), RecordSource(TipSource.TIP_BOX))]],
    )


@police_action(BoxCancel, on=router)
async def cancel(ctx: Context, officer: Officer) -> None:
    ctx.end_flow(BoxGroup)
    ctx.go(None)
    ctx.reply(ctx._("Cancelled. Nothing was changed."))
