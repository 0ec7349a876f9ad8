"""The campaign and the hotline numbers: information a resident can read any time."""

from __future__ import annotations

from campaign.links import group_payload, links_for, ward_payload
from engine.conversation import Context, Router
from handlers.flows import Resident
from handlers.start import current_ward
from kernel.actions import (
    InfoCampaign,
    InfoHotline,
    InviteShow,
    MenuHome,
    PledgeStart,
    QuizStart,
    ReportStart,
)
from kernel.messages import Button

router = Router("info")


def _back(ctx: Context) -> list[list[Button]]:
    return [[Button(ctx._("Report a tip"), ReportStart())], [Button(ctx._("Menu"), MenuHome())]]


@router.command("campaign")
@router.action(InfoCampaign)
async def campaign(ctx: Context) -> None:
    ctx.go(None)
    ctx.reply(
        ctx._(
            "“Every resident is a soldier, every family a fortress in the fight against "
            "drugs.”\n\n"
            "What you can do:\n"
            "• Report drug use, dealing, and places where people gather to use drugs. "
            "You can do it anonymously, here.\n"
            "• Talk with your children about the harm drugs do, and notice unusual "
            "changes in them.\n"
            "• Be careful with drugs disguised as sweets, cakes, drinks or e-cigarettes.\n"
            "• Help people with an addiction to get treatment, and do not shun people who "
            "have quit.\n"
            "• Families can sign the “Drug-free family” pledge with their residential group."
        ),
        [
            [Button(ctx._("Sign the family pledge"), PledgeStart())],
            [Button(ctx._("This week's quiz"), QuizStart())],
            [Button(ctx._("Invite neighbours"), InviteShow())],
            [Button(ctx._("Hotline numbers"), InfoHotline())],
            [Button(ctx._("Menu"), MenuHome())],
        ],
    )


@router.command("hotline", "duongdaynong")
@router.action(InfoHotline)
async def hotline(ctx: Context) -> None:
    ctx.go(None)
    ward = await current_ward(ctx)
    lines = [ctx._("Hotline numbers:"), ctx._("• Emergency (police): 113")]
    if ward is not None and ward.hotlines:
        lines += [f"• {label}: {number}" for label, number in ward.hotlines]
    else:
        lines.append(ctx._("The ward has not published its own numbers here yet."))
    lines += ["", ctx._("You can also report here, anonymously: choose “Report a tip”.")]
    ctx.reply("\n".join(lines), _back(ctx))


@router.command("invite", "moi")
@router.action(InviteShow)
async def invite(ctx: Context) -> None:
    """A link to pass on: it opens the bot with the resident's TDP (or ward) chosen."""
    ctx.go(None)
    ward = await current_ward(ctx)
    preset = ctx.flow(Resident).preset_group
    if preset is not None:
        payload = group_payload(preset)
    elif ward is not None:
        payload = ward_payload(ward.id)
    else:
        payload = ""
    links = links_for(ctx.services.settings, payload) if payload else None
    lines = []
    if links is not None and links.telegram:
        lines.append(ctx._("On Telegram: {link}").format(link=links.telegram))
    if links is not None and links.zalo:
        lines.append(
            ctx._("On Zalo: {link} and then send {command}").format(
                link=links.zalo, command=links.zalo_command
            )
        )
    if not lines:
        text = ctx._(
            "Please tell your neighbours about this bot: they can forward this chat's name "
            "to others, or scan the QR code on the residential group's notice board."
        )
    else:
        text = "\n".join(
            [
                ctx._(
                    "Invite your neighbours to join the campaign: forward this message. "
                    "The link opens the ward police bot; nobody can see who shared it."
                ),
                "",
                *lines,
            ]
        )
    ctx.reply(text, [[Button(ctx._("Menu"), MenuHome())]])
