"""Subscribe: a resident asks for the ward's anti-drug messages for their residential
group (about once a month, more in June and on 26/6), and `/stop` ends it at once.

The subscription is kept under its own pseudonym and never linked to tips. `/stop` is
honoured forever: only the same person's new /subscribe starts messages again.
"""

from __future__ import annotations

from engine.conversation import Context, Router
from handlers.flows import Resident
from handlers.resident.tdp_choice import ask_group, chosen_group
from handlers.start import menu_button, private_ward, show_menu
from kernel.actions import MenuHome, SubGroup, SubOther, SubStart, SubStop
from kernel.messages import Button
from storage import subscribers, wards
from storage.models import ResidentialGroup

router = Router("subscribe")


def _nav(ctx: Context) -> list[Button]:
    return [menu_button(ctx)]


@router.command("subscribe", "dangky", in_groups=True)
@router.action(SubStart)
async def subscribe(ctx: Context) -> None:
    ward = await private_ward(ctx, SubStart())
    if ward is None:
        return
    current = await subscribers.find(ctx.session, ctx.services.pseudonyms, ctx.route)
    if current is not None and current.active:
        group = await wards.get_group(ctx.session, current.group_id)
        ctx.go(None)
        ctx.reply(
            ctx._(
                "You already receive the anti-drug messages for {tdp}. You can choose "
                "another residential group, or stop them."
            ).format(tdp=group.name if group else "?"),
            [
                [Button(ctx._("Choose another residential group"), SubOther())],
                [Button(ctx._("Stop the messages"), SubStop())],
                _nav(ctx),
            ],
        )
        return
    preset = ctx.flow(Resident).preset_group
    group = await wards.get_group(ctx.session, preset) if preset is not None else None
    if group is not None and group.ward_id == ward.id and group.active:
        ctx.go(None)
        ctx.reply(
            ctx._("Receive the anti-drug messages for residential group {tdp}?").format(
                tdp=group.name
            ),
            [
                [Button(ctx._("Yes"), SubGroup(group.id))],
                [Button(ctx._("Another residential group"), SubOther())],
                _nav(ctx),
            ],
        )
        return
    _ask_name(ctx)


def _ask_name(ctx: Context) -> None:
    ask_group(
        ctx,
        SubGroup,
        ctx._(
            "The ward police send short anti-drug messages about once a month, and more "
            "in June (the action month) and on 26/6. Which residential group (tổ dân phố) "
            "do you live in? Type its name; accents are not needed."
        ),
    )


@router.action(SubOther)
async def other_group(ctx: Context) -> None:
    ctx.flow(Resident).preset_group = None
    _ask_name(ctx)


@router.action(SubGroup)
async def group_picked(ctx: Context) -> None:
    group = await chosen_group(ctx, ctx.action(SubGroup))
    if group is None:
        _ask_name(ctx)
        return
    await _subscribe_to(ctx, group)


async def _subscribe_to(ctx: Context, group: ResidentialGroup) -> None:
    services, route, language = ctx.services, ctx.route, ctx.language
    ctx.apart(
        lambda session: subscribers.subscribe(
            session, services.vault, services.pseudonyms, route, group, language
        )
    )
    ctx.go(None)
    ctx.reply(
        ctx._(
            "Thank you! You will receive the ward police's anti-drug messages for {tdp}: "
            "about once a month, and more in June and on 26/6. Send /stop at any time to "
            "stop them."
        ).format(tdp=group.name),
        [[Button(ctx._("Menu"), MenuHome())]],
    )


@router.command("stop", "huy")
@router.action(SubStop)
async def stop(ctx: Context) -> None:
    services, route = ctx.services, ctx.route
    current = await subscribers.find(ctx.session, services.pseudonyms, route)
    stopped = current is not None and current.active
    if stopped:
        ctx.apart(lambda session: subscribers.stop(session, services.pseudonyms, route))
        text = ctx._(
            "Done: you will not receive the anti-drug messages any more. You can still "
            "report a tip at any time. To receive them again, send /subscribe."
        )
    else:
        text = ctx._(
            "You are not receiving the anti-drug messages. To receive them, send /subscribe."
        )
    await show_menu(ctx, text)
