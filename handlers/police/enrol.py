"""Joining the ward police on the bot: `/join CODE` with a one-time invite code.

The code comes from `wardbot officer invite`. It binds this chat account to the officer
it was made for; the account is kept only as a pseudonym and the way to reach it only
sealed. A wrong, used or expired code gets the same answer as any unknown command.

Failed tries are throttled per account (its own keyed pseudonym) and for all accounts
together, so codes cannot be guessed quickly from one account or from many. A throttled
try is refused with that same answer, even with a right code, and is not looked up: an
outsider cannot tell a throttled try from a wrong code.
"""

from __future__ import annotations

from engine.conversation import Context, Router
from handlers.guards import officer_account
from handlers.police.triage import help_police
from handlers.start import fallback
from kernel.clock import utcnow
from storage import rate_limits
from storage.pseudonyms import Purpose

router = Router("enrol")

FAILED = "join-fail"
# One person mistyping a code a few times stays well inside these; a guesser gets about
# ten tries a day per account (10 characters of 32 symbols, 2^50 codes).
PER_ACCOUNT = [rate_limits.Limit(5, 1), rate_limits.Limit(10, 24)]
# Every account together: what a ward's enrolment day needs, not what guessing needs.
EVERYONE = "all"
OVERALL = [rate_limits.Limit(60, 1)]


def _subject(ctx: Context) -> str:
    route = ctx.route
    return ctx.services.pseudonyms.of(Purpose.JOIN, route.channel, *route.account_parts())


@router.command("join")
async def join(ctx: Context) -> None:
    now, account = utcnow(), _subject(ctx)
    for subject, limits in ((account, PER_ACCOUNT), (EVERYONE, OVERALL)):
        if not (await rate_limits.check(ctx.session, subject, FAILED, limits, now)).allowed:
            await fallback(ctx)
            return
    officer = await ctx.services.invites.redeem(
        ctx.session, ctx.services.vault, ctx.args, officer_account(ctx), ctx.route
    )
    if officer is None:  # each counter in a commit of its own (see Context.apart)
        ctx.apart(lambda session: rate_limits.record(session, account, FAILED, now))
        ctx.apart(lambda session: rate_limits.record(session, EVERYONE, FAILED, now))
        await fallback(ctx)
        return
    await ctx.services.audit.append(
        ctx.session, "joined", ward_id=officer.ward_id, officer_id=officer.id
    )
    ctx.go(None)
    ctx.reply(
        ctx._("Welcome, {label}. You are enrolled as ward police.").format(label=officer.label)
    )
    await help_police(ctx, officer)
