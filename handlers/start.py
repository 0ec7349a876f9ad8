"""Welcome and menu: what a resident sees first, and whenever they are lost.

`/start g12` (from a residential group's poster QR code) remembers that group, so a
report starts with it already chosen.
"""

from __future__ import annotations

import re

from engine.conversation import Context, Router
from handlers.flows import AfterWard, Resident, UnlockedTip
from handlers.ids import parse_id
from kernel.actions import (
    Action,
    InfoCampaign,
    InfoHotline,
    MenuHome,
    MenuLanguage,
    ReportDanger,
    ReportStart,
    StatusStart,
    SubStart,
    WardPick,
)
from kernel.messages import Button, ChatKind
from storage import wards
from storage.models import Ward

router = Router("start")
_DEEP_LINK = re.compile(r"(?P<kind>[gw])(?P<id>[0-9]{1,10})", re.ASCII)


def menu(ctx: Context) -> list[list[Button]]:
    return [
        [Button(ctx._("Report a tip"), ReportStart())],
        [Button(ctx._("🚨 Danger now: call 113"), ReportDanger())],
        [Button(ctx._("Check a tip I sent"), StatusStart())],
        [Button(ctx._("The campaign"), InfoCampaign())],
        [Button(ctx._("Receive anti-drug messages"), SubStart())],
        [Button(ctx._("Hotline numbers"), InfoHotline())],
        [Button(ctx._("Language / Ngôn ngữ"), MenuLanguage())],
    ]


async def show_menu(ctx: Context, text: str) -> None:
    """Back to the top: whatever was in progress elsewhere is left."""
    ctx.go(None)
    ctx.end_flow(UnlockedTip)
    ctx.reply(text, menu(ctx))


async def current_ward(ctx: Context) -> Ward | None:
    """The ward this resident is talking to: from a poster link, the configuration, or
    the only ward there is."""
    ward_id = ctx.flow(Resident).ward_id
    if ward_id is not None:
        ward = await wards.get_ward(ctx.session, ward_id)
        if ward is not None:
            return ward
    configured = ctx.services.settings.default_ward
    if configured:
        ward = await wards.find_ward(ctx.session, configured)
        if ward is not None:
            return ward
    every = await wards.list_wards(ctx.session)
    return every[0] if len(every) == 1 else None


async def ask_ward(ctx: Context, then: Action) -> bool:
    """Ask which ward when it is not known; `then` is the action to resume. Returns
    False when there is no ward at all (the bot is not set up yet)."""
    every = await wards.list_wards(ctx.session)
    if not every:
        ctx.reply(
            ctx._(
                "This bot has not been set up for a ward yet, so it cannot take reports. "
                "In an emergency, call 113."
            )
        )
        return False
    ctx.flow(AfterWard).then = then
    ctx.reply(
        ctx._("Which ward (phường) is this about?"),
        [[Button(ward.name, WardPick(ward.id))] for ward in every[:20]],
    )
    return True


@router.action(WardPick)
async def ward_chosen(ctx: Context) -> None:
    ward = await wards.get_ward(ctx.session, ctx.action(WardPick).ward_id)
    if ward is None:
        await home(ctx)
        return
    ctx.flow(Resident).ward_id = ward.id
    then = ctx.flow(AfterWard).then
    ctx.end_flow(AfterWard)
    if then is not None:
        await ctx.follow(then)  # what the resident asked for before choosing the ward
        return
    await home(ctx)


def menu_button(ctx: Context) -> Button:
    return Button(ctx._("Menu"), MenuHome())


async def private_ward(ctx: Context, resume: Action) -> Ward | None:
    """The ward, for a resident conversation that belongs in a private chat: in a group
    the resident is pointed to one; an unknown ward is asked for, then `resume` runs.
    None when a reply was given instead."""
    if ctx.inbound.chat_kind is ChatKind.GROUP:
        await group_pointer(ctx)
        return None
    ward = await current_ward(ctx)
    if ward is None:
        await ask_ward(ctx, resume)
    return ward


async def group_pointer(ctx: Context) -> None:
    """Resident commands typed in a group: never discussed there, only pointed away."""
    ctx.reply(ctx._("To talk with the ward police bot, please open a private chat with it."))


@router.command("start", in_groups=True)
async def start(ctx: Context) -> None:
    if ctx.inbound.chat_kind is ChatKind.GROUP:
        await group_pointer(ctx)
        return
    ctx.end_flows_but(Resident)
    link = _DEEP_LINK.fullmatch(ctx.args)
    record_id = parse_id(link["id"]) if link else None
    if link and record_id:
        await _apply_deep_link(ctx, link["kind"], record_id)
    await show_menu(
        ctx,
        ctx._(
            "Hello! This is the ward police channel for reporting drug crime "
            "and for anti-drug information.\n"
            "The bot does not keep your name or account, and it stores what you send "
            "encrypted.\n"
            "In an emergency, call 113 now.\n\n"
            "Please choose:"
        ),
    )


async def _apply_deep_link(ctx: Context, kind: str, record_id: int) -> None:
    resident = ctx.flow(Resident)
    if kind == "g":
        group = await wards.get_group(ctx.session, record_id)
        if group is not None and group.active:
            resident.ward_id = group.ward_id
            resident.preset_group = group.id
    else:
        ward = await wards.get_ward(ctx.session, record_id)
        if ward is not None:
            resident.ward_id = ward.id
            resident.preset_group = None


@router.command("menu")
@router.action(MenuHome)
async def home(ctx: Context) -> None:
    await show_menu(ctx, ctx._("Please choose:"))


async def fallback(ctx: Context) -> None:
    """Anything no handler claims: a polite pointer back to the menu, never silence."""
    if ctx.inbound.chat_kind is ChatKind.GROUP:
        return  # the bot stays quiet in groups unless addressed with a command it knows
    await show_menu(
        ctx,
        ctx._("Sorry, I did not understand that. Please choose from the menu below."),
    )
