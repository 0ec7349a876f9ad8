"""Joining the ward police on the bot: `/join CODE` with a one-time invite code.

The code comes from `wardbot officer invite`. It binds this chat account to the officer
it was made for; the account is kept only as a pseudonym and the way to reach it only
sealed. A wrong, used or expired code gets the same answer as any unknown command.
"""

from __future__ import annotations

from bot.conversation import Context, Router
from handlers.start import fallback
from handlers.triage import help_police, officer_account

router = Router("enrol")


@router.command("join")
async def join(ctx: Context) -> None:
    officer = await ctx.services.invites.redeem(
        ctx.session, ctx.services.vault, ctx.args, officer_account(ctx), ctx.route
    )
    if officer is None:
        await fallback(ctx)
        return
    await ctx.services.audit.append(
        ctx.session, "joined", ward_id=officer.ward_id, officer_id=officer.id
    )
    ctx.go("")
    ctx.reply(
        ctx._("Welcome, {label}. You are enrolled as ward police.").format(label=officer.label)
    )
    await help_police(ctx, officer)
