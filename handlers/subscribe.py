"""Subscribe: a resident asks for the ward's anti-drug messages for their residential
group (about once a month, more in June and on 26/6), and `/stop` ends it at once.

The subscription is kept under its own pseudonym and never linked to tips. `/stop` is
honoured forever: only the same person's new /subscribe starts messages again.
"""

from __future__ import annotations

from bot.conversation import Context, Router
from bot.messages import Button, ChatKind
from handlers.start import ask_ward, current_ward, group_pointer, show_menu
from storage import subscribers, wards
from storage.models import ResidentialGroup

router = Router("subscribe")
PAGE = 8


def _nav(ctx: Context) -> list[Button]:
    return [Button(ctx._("Menu"), "menu:home")]


@router.command("subscribe", "dangky", in_groups=True)
@router.action("sub:start")
async def subscribe(ctx: Context) -> None:
    if ctx.inbound.chat_kind is ChatKind.GROUP:
        await group_pointer(ctx)
        return
    ward = await current_ward(ctx)
    if ward is None:
        await ask_ward(ctx, "sub:start")
        return
    current = await subscribers.find(ctx.session, ctx.services.pseudonyms, ctx.route)
    if current is not None and current.active:
        group = await ctx.session.get(ResidentialGroup, current.group_id)
        ctx.go("")
        ctx.reply(
            ctx._(
                "You already receive the anti-drug messages for {tdp}. You can choose "
                "another residential group, or stop them."
            ).format(tdp=group.name if group else "?"),
            [[Button(ctx._("Choose another residential group"), "sub:other")],
             [Button(ctx._("Stop the messages"), "sub:stop")], _nav(ctx)],
        )  # fmt: skip
        return
    preset = ctx.state.data.get("preset_group")
    group = await ctx.session.get(ResidentialGroup, preset) if isinstance(preset, int) else None
    if group is not None and group.ward_id == ward.id and group.active:
        ctx.go("")
        ctx.reply(
            ctx._("Receive the anti-drug messages for residential group {tdp}?").format(
                tdp=group.name
            ),
            [[Button(ctx._("Yes"), f"sub:grp:{group.id}")],
             [Button(ctx._("Another residential group"), "sub:other")], _nav(ctx)],
        )  # fmt: skip
        return
    _ask_name(ctx)


def _ask_name(ctx: Context, text: str | None = None) -> None:
    ctx.go("sub:group")
    ctx.reply(
        text
        or ctx._(
            "The ward police send short anti-drug messages about once a month, and more "
            "in June (the action month) and on 26/6. Which residential group (tổ dân phố) "
            "do you live in? Type its name; accents are not needed."
        ),
        [[Button(ctx._("Show the list"), "sub:list:0")], _nav(ctx)],
    )


@router.action("sub:other")
async def other_group(ctx: Context) -> None:
    ctx.state.data.pop("preset_group", None)
    _ask_name(ctx)


@router.step("sub:group")
async def group_typed(ctx: Context) -> None:
    ward = await current_ward(ctx)
    text = ctx.inbound.text.strip()
    if ward is None:
        await subscribe(ctx)
        return
    if not text or len(text) > 120:
        _ask_name(ctx)
        return
    matches = [g for g in await wards.match_groups(ctx.session, ward, text, limit=PAGE) if g.active]
    if len(matches) == 1:
        await _subscribe_to(ctx, matches[0])
        return
    if not matches:
        _ask_name(
            ctx,
            ctx._(
                "I could not find a residential group called “{name}”. Please type it again, "
                "or choose from the list:"
            ).format(name=text[:60]),
        )
        return
    rows = [[Button(g.name, f"sub:grp:{g.id}")] for g in matches[:PAGE]]
    ctx.reply(
        ctx._("Which one do you mean?"), [*rows, [Button(ctx._("None of these"), "sub:other")]]
    )


@router.action("sub:list:")
async def group_list(ctx: Context) -> None:
    ward = await current_ward(ctx)
    if ward is None:
        await subscribe(ctx)
        return
    groups = [g for g in await wards.list_groups(ctx.session, ward) if g.active]
    page = int(ctx.action_arg) if ctx.action_arg.isdigit() else 0
    chunk = groups[page * PAGE : (page + 1) * PAGE]
    if not chunk:
        _ask_name(ctx, ctx._("The ward has no residential groups listed yet."))
        return
    rows = [[Button(g.name, f"sub:grp:{g.id}")] for g in chunk]
    paging = []
    if page > 0:
        paging.append(Button(ctx._("◀ Previous"), f"sub:list:{page - 1}"))
    if (page + 1) * PAGE < len(groups):
        paging.append(Button(ctx._("Next ▶"), f"sub:list:{page + 1}"))
    ctx.go("sub:group")
    pages = (len(groups) + PAGE - 1) // PAGE
    ctx.reply(
        ctx._("Residential groups (page {page} of {pages}):").format(page=page + 1, pages=pages),
        [*rows, *([paging] if paging else []), _nav(ctx)],
    )


@router.action("sub:grp:")
async def group_picked(ctx: Context) -> None:
    ward = await current_ward(ctx)
    group = (
        await ctx.session.get(ResidentialGroup, int(ctx.action_arg))
        if ctx.action_arg.isdigit()
        else None
    )
    if ward is None or group is None or group.ward_id != ward.id or not group.active:
        _ask_name(ctx)
        return
    await _subscribe_to(ctx, group)


async def _subscribe_to(ctx: Context, group: ResidentialGroup) -> None:
    await subscribers.subscribe(
        ctx.session, ctx.services.vault, ctx.services.pseudonyms, ctx.route, group, ctx.language
    )
    ctx.go("")
    ctx.reply(
        ctx._(
            "Thank you! You will receive the ward police's anti-drug messages for {tdp}: "
            "about once a month, and more in June and on 26/6. Send /stop at any time to "
            "stop them."
        ).format(tdp=group.name),
        [[Button(ctx._("Menu"), "menu:home")]],
    )


@router.command("stop", "huy")
@router.action("sub:stop")
async def stop(ctx: Context) -> None:
    stopped = await subscribers.stop(ctx.session, ctx.services.pseudonyms, ctx.route)
    if stopped:
        text = ctx._(
            "Done: you will not receive the anti-drug messages any more. You can still "
            "report a tip at any time. To receive them again, send /subscribe."
        )
    else:
        text = ctx._(
            "You are not receiving the anti-drug messages. To receive them, send /subscribe."
        )
    await show_menu(ctx, text)
