"""The campaign and the hotline numbers: information a resident can read any time."""

from __future__ import annotations

from bot.conversation import Context, Router
from bot.messages import Button
from handlers.start import current_ward

router = Router("info")


def _back(ctx: Context) -> list[list[Button]]:
    return [[Button(ctx._("Report a tip"), "report:start")], [Button(ctx._("Menu"), "menu:home")]]


@router.command("campaign")
@router.action("info:campaign")
async def campaign(ctx: Context) -> None:
    ctx.go("")
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
        _back(ctx),
    )


@router.command("hotline")
@router.action("info:hotline")
async def hotline(ctx: Context) -> None:
    ctx.go("")
    ward = await current_ward(ctx)
    lines = [ctx._("Hotline numbers:"), ctx._("• Emergency (police): 113")]
    if ward is not None and ward.hotlines:
        lines += [f"• {label}: {number}" for label, number in ward.hotlines]
    else:
        lines.append(ctx._("The ward has not published its own numbers here yet."))
    lines += ["", ctx._("You can also report here, anonymously: choose “Report a tip”.")]
    ctx.reply("\n".join(lines), _back(ctx))
