"""`/nhanxet [PERIOD]`: the commander writes the report's "difficulties, obstacles and
proposals" section (khó khăn, vướng mắc, đề xuất) for this month, or for the period
named (2026-11, 2026-Q3, 2026-H1, 2026), before the PDF is made. A dash clears it."""

from __future__ import annotations

from enum import StrEnum

from engine.conversation import Context, Router
from handlers.flows import RemarksPeriod
from handlers.guards import police, police_action, typing_officer
from kernel.actions import RemarksCancel
from kernel.messages import Button
from reports.periods import parse_report_period
from storage import report_remarks
from storage.models import Officer, OfficerRole

router = Router("remarks")


class Step(StrEnum):
    TEXT = "remarks:text"


@police("nhanxet", "remarks", commander=True, on=router)
async def start(ctx: Context, officer: Officer) -> None:
    typed = ctx.args.strip() or ctx.local_now().strftime("%Y-%m")
    try:
        period = parse_report_period(typed)
    except ValueError:
        ctx.reply(
            ctx._("Usage: {usage}").format(
                usage=ctx._("/nhanxet [2026-11 | 2026-Q3 | 2026-H1 | 2026]")
            )
        )
        return
    current = await report_remarks.read(ctx.session, officer.ward_id, period.key)
    ctx.flow(RemarksPeriod).period = period.key
    ctx.go(Step.TEXT)
    lines = [
        ctx._("Difficulties, obstacles and proposals for the report of {period}.").format(
            period=period.label(ctx._)
        )
    ]
    if current:
        lines += [ctx._("Written so far:"), current, ""]
    lines.append(
        ctx._("Type the text for the report (it replaces what was written; a dash '-' clears it).")
    )
    ctx.reply("\n".join(lines), [[Button(ctx._("Cancel"), RemarksCancel())]], free_text=True)


@router.step(Step.TEXT, prose=True)
async def text_typed(ctx: Context) -> None:
    officer = await typing_officer(ctx)
    if officer is None:
        return
    key = ctx.flow(RemarksPeriod).period
    if officer.role != OfficerRole.COMMANDER or not key:
        ctx.go(None)
        return
    text = ctx.inbound.text.strip()
    try:
        await report_remarks.write(ctx.session, officer, key, "" if text == "-" else text)
    except ValueError:
        ctx.reply(
            ctx._("At most 3000 characters, please. Type it again."),
            [[Button(ctx._("Cancel"), RemarksCancel())]],
            free_text=True,
        )
        return
    ctx.go(None)
    ctx.end_flow(RemarksPeriod)
    period = parse_report_period(key)
    await ctx.services.audit.append(
        ctx.session,
        "report.remarks",
        ward_id=officer.ward_id,
        officer_id=officer.id,
        detail={"period": key},
    )
    done = (
        ctx._("Cleared for the report of {period}.")
        if text == "-"
        else ctx._("Saved for the report of {period}.")
    )
    ctx.reply(done.format(period=period.label(ctx._)))


@police_action(RemarksCancel, commander=True, on=router)
async def cancel(ctx: Context, officer: Officer) -> None:
    ctx.go(None)
    ctx.end_flow(RemarksPeriod)
    ctx.reply(ctx._("Cancelled. Nothing was changed."))
