"""Which residential group (TDP) do you live in? Asked by every resident conversation
that counts per TDP (subscribe, pledge). The resident types a name (accents optional)
or pages through the list; the chosen group goes to the asking conversation's action,
`then` + group id."""

from __future__ import annotations

from engine.conversation import Context, Router
from handlers.ids import parse_id, parse_number
from handlers.start import current_ward, home, menu_button
from kernel.messages import Button
from storage import wards
from storage.models import ResidentialGroup, Ward

router = Router("tdp_choice")
PAGE = 8


def _menu(ctx: Context) -> list[Button]:
    return [menu_button(ctx)]


def ask_group(ctx: Context, then: str, question: str) -> None:
    """Ask; the answer arrives at the action `then<group id>`."""
    ctx.state.data["tdp_then"] = then
    ctx.state.data["tdp_question"] = question
    ctx.go("tdp:name")
    ctx.reply(question, [[Button(ctx._("Show the list"), "tdp:list:0")], _menu(ctx)])


async def chosen_group(ctx: Context) -> ResidentialGroup | None:
    """The group named by the pressed action, if it is an active group of the ward."""
    ward = await current_ward(ctx)
    group_id = parse_id(ctx.action_arg)
    if ward is None or group_id is None:
        return None
    group = await wards.get_group(ctx.session, group_id)
    if group is None or group.ward_id != ward.id or not group.active:
        return None
    return group


def _then(ctx: Context) -> str | None:
    then = ctx.state.data.get("tdp_then")
    return then if isinstance(then, str) else None


async def _ward_or_menu(ctx: Context) -> Ward | None:
    ward = await current_ward(ctx)
    if ward is None or _then(ctx) is None:
        await home(ctx)
        return None
    return ward


@router.action("tdp:again")
async def again(ctx: Context) -> None:
    then = _then(ctx)
    question = ctx.state.data.get("tdp_question")
    if then is None or not isinstance(question, str):
        await _ward_or_menu(ctx)
        return
    ask_group(ctx, then, question)


@router.step("tdp:name")
async def name_typed(ctx: Context) -> None:
    ward = await _ward_or_menu(ctx)
    then = _then(ctx)
    if ward is None or then is None:
        return
    text = ctx.inbound.text.strip()
    matches = (
        await wards.match_groups(ctx.session, ward, text, limit=PAGE)
        if text and len(text) <= 120
        else []
    )
    if len(matches) == 1:
        ctx.go("")
        await ctx.follow(f"{then}{matches[0].id}")
        return
    if not matches:
        ctx.reply(
            ctx._(
                "I could not find a residential group called “{name}”. Please type it again, "
                "or choose from the list:"
            ).format(name=text[:60]),
            [[Button(ctx._("Show the list"), "tdp:list:0")], _menu(ctx)],
        )
        return
    rows = [[Button(g.name, f"{then}{g.id}")] for g in matches[:PAGE]]
    ctx.reply(
        ctx._("Which one do you mean?"), [*rows, [Button(ctx._("None of these"), "tdp:again")]]
    )


@router.action("tdp:list:")
async def group_list(ctx: Context) -> None:
    ward = await _ward_or_menu(ctx)
    then = _then(ctx)
    if ward is None or then is None:
        return
    groups = [g for g in await wards.list_groups(ctx.session, ward) if g.active]
    page = parse_number(ctx.action_arg)
    if page is None or page * PAGE >= len(groups):
        page = 0  # a page that is not there (a forged or outdated button): the first
    chunk = groups[page * PAGE : (page + 1) * PAGE]
    if not chunk:
        ctx.go("")
        ctx.reply(ctx._("The ward has no residential groups listed yet."), [_menu(ctx)])
        return
    rows = [[Button(g.name, f"{then}{g.id}")] for g in chunk]
    paging = []
    if page > 0:
        paging.append(Button(ctx._("◀ Previous"), f"tdp:list:{page - 1}"))
    if (page + 1) * PAGE < len(groups):
        paging.append(Button(ctx._("Next ▶"), f"tdp:list:{page + 1}"))
    ctx.go("tdp:name")
    pages = (len(groups) + PAGE - 1) // PAGE
    ctx.reply(
        ctx._("Residential groups (page {page} of {pages}):").format(page=page + 1, pages=pages),
        [*rows, *([paging] if paging else []), _menu(ctx)],
    )
