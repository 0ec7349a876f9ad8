"""Which residential group (TDP) do you live in? Asked by every resident conversation
that counts per TDP (subscribe, pledge). The resident types a name (accents optional)
or pages through the list; the chosen group goes to the asking conversation's own
GroupAnswer action (SubGroup, PledgeGroup) with the group's id."""

from __future__ import annotations

from enum import StrEnum

from engine.conversation import Context, Router
from handlers.flows import GroupQuestion
from handlers.start import current_ward, home, menu_button
from kernel.actions import GroupAnswer, TdpAgain, TdpList
from kernel.messages import Button
from storage import wards
from storage.models import ResidentialGroup, Ward

router = Router("tdp_choice")
PAGE = 8


class Step(StrEnum):
    NAME = "tdp:name"


def _menu(ctx: Context) -> list[Button]:
    return [menu_button(ctx)]


def ask_group(ctx: Context, then: type[GroupAnswer], question: str) -> None:
    """Ask; the answer arrives as the action `then(group id)`."""
    asking = ctx.flow(GroupQuestion)
    asking.answer, asking.question = then.prefix, question
    ctx.go(Step.NAME)
    ctx.reply(question, [[Button(ctx._("Show the list"), TdpList(0))], _menu(ctx)])


async def chosen_group(ctx: Context, answer: GroupAnswer) -> ResidentialGroup | None:
    """The group named by the pressed answer, if it is an active group of the ward."""
    ward = await current_ward(ctx)
    if ward is None:
        return None
    group = await wards.get_group(ctx.session, answer.group_id)
    if group is None or group.ward_id != ward.id or not group.active:
        return None
    return group


def _then(ctx: Context) -> type[GroupAnswer] | None:
    return ctx.flow(GroupQuestion).answer_kind


async def _ward_or_menu(ctx: Context) -> Ward | None:
    ward = await current_ward(ctx)
    if ward is None or _then(ctx) is None:
        await home(ctx)
        return None
    return ward


@router.action(TdpAgain)
async def again(ctx: Context) -> None:
    then = _then(ctx)
    question = ctx.flow(GroupQuestion).question
    if then is None or not question:
        await _ward_or_menu(ctx)
        return
    ask_group(ctx, then, question)


@router.step(Step.NAME)
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
        ctx.go(None)
        await ctx.follow(then(matches[0].id))
        return
    if not matches:
        ctx.reply(
            ctx._(
                "I could not find a residential group called “{name}”. Please type it again, "
                "or choose from the list:"
            ).format(name=text[:60]),
            [[Button(ctx._("Show the list"), TdpList(0))], _menu(ctx)],
        )
        return
    rows = [[Button(g.name, then(g.id))] for g in matches[:PAGE]]
    ctx.reply(
        ctx._("Which one do you mean?"), [*rows, [Button(ctx._("None of these"), TdpAgain())]]
    )


@router.action(TdpList)
async def group_list(ctx: Context) -> None:
    ward = await _ward_or_menu(ctx)
    then = _then(ctx)
    if ward is None or then is None:
        return
    groups = [g for g in await wards.list_groups(ctx.session, ward) if g.active]
    page = ctx.action(TdpList).page
    if page * PAGE >= len(groups):
        page = 0  # a page that is not there (a forged or outdated button): the first
    chunk = groups[page * PAGE : (page + 1) * PAGE]
    if not chunk:
        ctx.go(None)
        ctx.reply(ctx._("The ward has no residential groups listed yet."), [_menu(ctx)])
        return
    rows = [[Button(g.name, then(g.id))] for g in chunk]
    paging = []
    if page > 0:
        paging.append(Button(ctx._("◀ Previous"), TdpList(page - 1)))
    if (page + 1) * PAGE < len(groups):
        paging.append(Button(ctx._("Next ▶"), TdpList(page + 1)))
    ctx.go(Step.NAME)
    pages = (len(groups) + PAGE - 1) // PAGE
    ctx.reply(
        ctx._("Residential groups (page {page} of {pages}):").format(page=page + 1, pages=pages),
        [*rows, *([paging] if paging else []), _menu(ctx)],
    )
