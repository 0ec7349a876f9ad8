"""The household pledge "Gia đình không ma túy": the resident reads the pledge first,
signs it for their residential group, and may withdraw it at any time.

One pledge per household chat, kept under its own pseudonym: counted per TDP, never
linked to a name, a subscription or a tip.
"""

from __future__ import annotations

from engine.conversation import Context, Router
from handlers.flows import Resident
from handlers.resident.tdp_choice import ask_group, chosen_group
from handlers.start import current_ward, menu_button, private_ward, show_menu
from kernel.actions import (
    InviteShow,
    MenuHome,
    PledgeGroup,
    PledgeOther,
    PledgeRead,
    PledgeSign,
    PledgeStart,
    PledgeWithdraw,
    PledgeWithdrawYes,
    QuizStart,
)
from kernel.messages import Button
from storage import pledges, subscribers, wards
from storage.models import Pledge, ResidentialGroup
from storage.pledges import PledgeError
from storage.session import AsyncSession

router = Router("pledge")


def pledge_text(ctx: Context) -> str:
    return ctx._(
        "“Drug-free family” pledge\n\n"
        "Our family pledges to:\n"
        "1. Not use, keep, buy, sell or grow drugs, and not let anyone use our home for "
        "drugs.\n"
        "2. Teach our children about the harm drugs do, and notice unusual changes in them "
        "early.\n"
        "3. Report drug crime to the police, and encourage relatives with an addiction to "
        "get treatment.\n"
        "4. Not shun people who have quit drugs, and help them back into work and "
        "community life.\n"
        "5. Take part in our residential group's anti-drug activities."
    )


def _menu(ctx: Context) -> list[Button]:
    return [menu_button(ctx)]


@router.command("pledge", "camket", in_groups=True)
@router.action(PledgeStart)
async def start(ctx: Context) -> None:
    if await private_ward(ctx, PledgeStart()) is None:
        return
    ctx.go(None)
    signed = await pledges.household(ctx.session, ctx.services.pseudonyms, ctx.route)
    if signed is not None and signed.active:
        await _already(ctx, signed)
        return
    ctx.reply(
        "\n\n".join(
            [
                pledge_text(ctx),
                ctx._(
                    "Your pledge is counted for your residential group only; your name and "
                    "account are not recorded. You can withdraw it at any time."
                ),
            ]
        ),
        [
            [Button(ctx._("Our family pledges"), PledgeSign())],
            [Button(ctx._("Not now"), MenuHome())],
        ],
    )


async def _already(ctx: Context, signed: Pledge) -> None:
    group = await wards.get_group(ctx.session, signed.group_id) if signed.group_id else None
    ctx.reply(
        ctx._(
            "Your family signed the “Drug-free family” pledge in {month} with residential "
            "group {tdp}. Thank you! One pledge per family is enough."
        ).format(month=signed.signed_on.strftime("%m/%Y"), tdp=group.name if group else "?"),
        [
            [Button(ctx._("Read the pledge"), PledgeRead())],
            [Button(ctx._("Withdraw our pledge"), PledgeWithdraw())],
            _menu(ctx),
        ],
    )


@router.action(PledgeRead)
async def read(ctx: Context) -> None:
    ctx.go(None)
    ctx.reply(pledge_text(ctx), [_menu(ctx)])


@router.action(PledgeSign)
async def sign(ctx: Context) -> None:
    """Which TDP: the one from the poster's link, or the subscription's, else ask."""
    ward = await current_ward(ctx)
    if ward is None:
        await start(ctx)
        return
    known = await _known_group(ctx)
    if known is not None and known.ward_id == ward.id and known.active:
        ctx.go(None)
        ctx.reply(
            ctx._("Sign the pledge with residential group {tdp}?").format(tdp=known.name),
            [
                [Button(ctx._("Yes"), PledgeGroup(known.id))],
                [Button(ctx._("Another residential group"), PledgeOther())],
                _menu(ctx),
            ],
        )
        return
    _ask(ctx)


async def _known_group(ctx: Context) -> ResidentialGroup | None:
    preset = ctx.flow(Resident).preset_group
    if preset is not None:
        return await wards.get_group(ctx.session, preset)
    subscription = await subscribers.find(ctx.session, ctx.services.pseudonyms, ctx.route)
    if subscription is not None and subscription.active:
        return await wards.get_group(ctx.session, subscription.group_id)
    return None


def _ask(ctx: Context) -> None:
    ask_group(
        ctx,
        PledgeGroup,
        ctx._(
            "Which residential group (tổ dân phố) does your family live in? Type its name; "
            "accents are not needed."
        ),
    )


@router.action(PledgeOther)
async def other(ctx: Context) -> None:
    _ask(ctx)


@router.action(PledgeGroup)
async def group_picked(ctx: Context) -> None:
    group = await chosen_group(ctx, ctx.action(PledgeGroup))
    if group is None:
        _ask(ctx)
        return
    ctx.go(None)
    services, route, today = ctx.services, ctx.route, ctx.local_now().date()
    signed = await pledges.household(ctx.session, services.pseudonyms, route)
    if signed is not None and signed.active:  # signed meanwhile, or a second press
        await _already(ctx, signed)
        return

    async def sign(session: AsyncSession) -> None:
        try:
            await pledges.sign_household(session, services.pseudonyms, route, group, today=today)
        except PledgeError:  # signed from another device in the instant between
            pass

    ctx.apart(sign)  # in a commit of its own: see Context.apart
    counts = await pledges.household_counts(ctx.session, group.ward_id)
    families = counts.by_group.get(group.id, 0) + 1  # with this family's, written next
    ctx.reply(
        ctx._("Thank you! Your family's pledge is recorded with residential group {tdp}.").format(
            tdp=group.name
        )
        + "\n"
        + ctx.ngettext(
            "{n} family of {tdp} has pledged so far.",
            "{n} families of {tdp} have pledged so far.",
            families,
        ).format(n=families, tdp=group.name)
        + "\n\n"
        + ctx._("“Every resident is a soldier, every family a fortress against drugs.”"),
        [
            [Button(ctx._("Invite neighbours"), InviteShow())],
            [Button(ctx._("This week's quiz"), QuizStart())],
            _menu(ctx),
        ],
    )


@router.action(PledgeWithdraw)
async def withdraw(ctx: Context) -> None:
    ctx.go(None)
    ctx.reply(
        ctx._("Withdraw your family's “Drug-free family” pledge?"),
        [
            [Button(ctx._("Yes, withdraw it"), PledgeWithdrawYes())],
            [Button(ctx._("No, keep it"), MenuHome())],
        ],
    )


@router.action(PledgeWithdrawYes)
async def withdraw_confirmed(ctx: Context) -> None:
    services, route, today = ctx.services, ctx.route, ctx.local_now().date()
    signed = await pledges.household(ctx.session, services.pseudonyms, route)
    done = signed is not None and signed.active
    if done:
        ctx.apart(
            lambda session: pledges.withdraw_household(
                session, services.pseudonyms, route, today=today
            )
        )
    await show_menu(
        ctx,
        ctx._("Your family's pledge is withdrawn. You can sign it again at any time with /pledge.")
        if done
        else ctx._("Your family has no pledge to withdraw. To sign one, send /pledge."),
    )
