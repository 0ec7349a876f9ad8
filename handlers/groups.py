"""Residential groups' chats: an officer adds the bot to a TDP's group chat and sends
`/register_group TDP-NAME` there; the chat then receives that TDP's awareness messages.

A group is a public place: the bot never discusses tips in it. When the bot is removed
or blocked, the chat stops being a target and the ward's commanders are told, so the
TDP does not silently drop out of the monthly coverage.
"""

from __future__ import annotations

from engine.conversation import Context, Router
from handlers.start import fallback
from kernel.messages import ChatEvent, ChatKind
from kernel.search_keys import search_key
from notices import tell_commanders
from storage import group_chats, officers, wards
from storage.models import Officer
from storage.pseudonyms import Purpose

router = Router("groups")


async def _officer_in_group(ctx: Context) -> Officer | None:
    """The officer typing, recognised by their own account (a person's private chat id
    is their user id on Telegram and Zalo), not by this group's."""
    route = ctx.route
    person = route.user_id or route.chat_id
    account = ctx.services.pseudonyms.of(Purpose.OFFICER, route.channel, person)
    return await officers.officer_for_account(ctx.session, account)


@router.command("register_group", "dangkynhom", in_groups=True)
async def register_group(ctx: Context) -> None:
    officer = await _officer_in_group(ctx)
    if officer is None:
        await fallback(ctx)  # to residents this command does not exist
        if ctx.inbound.chat_kind is ChatKind.GROUP:
            ctx.reply(ctx._("Only ward police can register this group."))
        return
    if ctx.inbound.chat_kind is not ChatKind.GROUP:
        ctx.reply(
            ctx._(
                "Send this command inside the residential group's chat, after adding the "
                "bot to it: /register_group TDP-NAME"
            )
        )
        return
    ward = await wards.get_ward(ctx.session, officer.ward_id)
    name = ctx.args.strip()
    if ward is None:
        return
    if not name:
        ctx.reply(ctx._("Please add the residential group's name: /register_group TDP-NAME"))
        return
    found = list(await wards.find_groups(ctx.session, ward, name))
    exact = [g for g in found if g.search_key == search_key(name)]
    matches = exact or found
    if not matches:
        ctx.reply(
            ctx._("No residential group called “{name}” in {ward}.").format(
                name=name[:60], ward=ward.name
            )
        )
        return
    if len(matches) > 1:
        names = ", ".join(g.name for g in matches[:8])
        ctx.reply(
            ctx._("Several groups match: {names}. Please write the full name.").format(names=names)
        )
        return
    group = matches[0]
    registration = await group_chats.register(
        ctx.session, ctx.services.vault, ctx.services.pseudonyms, ctx.route, group, officer
    )
    await ctx.services.audit.append(
        ctx.session,
        "group_registered",
        ward_id=ward.id,
        officer_id=officer.id,
        detail={"group_id": group.id, "channel": ctx.route.channel},
    )
    text = ctx._(
        "This chat is now registered for {group}. Anti-drug information for the group "
        "will be posted here. To report anything, residents should open a private chat "
        "with the bot."
    ).format(group=group.name)
    if registration.previous_group_id is not None:
        before = await wards.get_group(ctx.session, registration.previous_group_id)
        if before is not None:
            text += "\n" + ctx._("(It was registered for {group} before.)").format(
                group=before.name
            )
    ctx.reply(text)


@router.event(ChatEvent.BOT_ADDED)
async def bot_added(ctx: Context) -> None:
    known = await group_chats.find(ctx.session, ctx.services.pseudonyms, ctx.route)
    if known is not None and known.active:
        return
    ctx.reply(
        ctx._(
            "Hello! I am the ward police's anti-drug bot. Ward police: send "
            "/register_group TDP-NAME here so this group receives anti-drug information. "
            "Residents: please talk to me in a private chat, never here."
        )
    )


@router.event(ChatEvent.BOT_REMOVED)
async def bot_removed(ctx: Context) -> None:
    row = await group_chats.deactivate(ctx.session, ctx.services.pseudonyms, ctx.route)
    if row is None:
        return  # a private chat (a resident blocked the bot) or already known
    group = await wards.get_group(ctx.session, row.group_id)
    await ctx.services.audit.append(
        ctx.session,
        "group_lost",
        ward_id=row.ward_id,
        detail={"group_id": row.group_id, "channel": row.channel},
    )
    await tell_commanders(
        ctx.session,
        ctx.services,
        row.ward_id,
        lambda _: _(
            "⚠ The bot can no longer post in the {channel} chat of {group} (removed or "
            "blocked). Its anti-drug messages will not reach that chat. Add the bot again "
            "and send /register_group there, or register another chat for the group."
        ).format(channel=row.channel.capitalize(), group=group.name if group else "?"),
    )


@router.event(ChatEvent.MIGRATED)
async def chat_moved(ctx: Context) -> None:
    new_route = ctx.inbound.moved_to
    if new_route is None:
        return
    await group_chats.move(
        ctx.session, ctx.services.vault, ctx.services.pseudonyms, ctx.route, new_route
    )
