"""The monthly report for the ward People's Committee, in the commander's chat: `/baocao`
(or a commander's typed `/report`) sends last month's PDF; `/baocao 2026-11` any month.
The same document as `wardbot report`; where the channel cannot send files (Zalo), the
figures come as text and the PDF is made with the command."""

from __future__ import annotations

from datetime import date

from engine.conversation import Context, Router
from handlers.guards import police, police_action
from kernel.actions import WardReportMonth
from kernel.i18n import WorkerGettext
from kernel.messages import Button, Media, Outbound, Reply
from reports.figures import MonthlyReport, month_label
from reports.monthly import gather
from reports.periods import TITLES, parse_report_period
from storage import wards
from storage.models import Officer
from storage.sandbox import DocumentFailed, DocumentWorker
from storage.wards import slug

router = Router("ward_report")
PDF_RENDERER = "reports.document:render_pdf"  # run in a document worker, never imported here


@police("monthly_report", "baocao", commander=True, on=router)
async def command(ctx: Context, officer: Officer) -> None:
    await _send(ctx, officer, ctx.args.strip())


@police_action(WardReportMonth, commander=True, on=router)
async def month_action(ctx: Context, officer: Officer) -> None:
    """Reached from a commander's /report, and from this conversation's buttons. To
    anyone else, forged or not, it is an unknown command; a commander's malformed month
    is answered with how to write one."""
    await _send(ctx, officer, ctx.action(WardReportMonth).month)


def previous_month(today: date) -> str:
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year}-{month:02d}"


async def _send(ctx: Context, officer: Officer, month: str) -> None:
    ctx.go(None)
    today = ctx.local_now().date()
    text = month.strip() or previous_month(today)
    try:
        if len(text) > 7:  # 2026-11, 2026-Q3: never parse more than a period can be
            raise ValueError("not a period")
        period = parse_report_period(text)
    except ValueError:
        ctx.reply(
            ctx._(
                "Please write the month like this: /baocao 2026-11 (or a quarter, "
                "half-year or year: 2026-Q3, 2026-H1, 2026)"
            )
        )
        return
    month = period.key
    if period.first > today:
        ctx.reply(ctx._("That month has not begun yet."))
        return
    ward = await wards.get_ward(ctx.session, officer.ward_id)
    if ward is None:
        return
    report = await gather(
        ctx.session, ctx.services.settings, ward, month, ctx._, ctx.language, ctx.local_now()
    )
    await ctx.services.audit.append(
        ctx.session,
        "report.monthly",
        ward_id=ward.id,
        officer_id=officer.id,
        detail={"month": month, "channel": ctx.route.channel},
    )
    this_month = f"{today.year}-{today.month:02d}"
    buttons = (
        []
        if month == this_month
        else [[Button(ctx._("This month so far"), WardReportMonth(this_month))]]
    )
    if not ctx.channel.can_send_files:
        ctx.reply(
            summary(ctx, report)
            + "\n\n"
            + ctx._(
                "This chat cannot receive files. The PDF and CSV files are made with: "
                "wardbot report --ward {ward} --period {month} --out DIR"
            ).format(ward=ward.code, month=month),
            buttons,
        )
        return
    ctx.reply(summary(ctx, report), buttons)
    name, route, gettext = f"bao-cao-{slug(ward.name)}-{month}.pdf", ctx.route, ctx._
    documents, language = ctx.services.documents, ctx.language

    async def send_pdf() -> list[Outbound]:
        pdf = await _render_pdf(documents, report, language)
        media = (Media("pdf", "application/pdf", pdf, filename=name),)
        return [Outbound(route, Reply(gettext("The report as PDF:"), media=media))]

    ctx.after_commit(send_pdf)  # seconds of rendering, with no database lock held


async def _render_pdf(documents: DocumentWorker, report: MonthlyReport, language: str) -> bytes:
    """In a worker process: matplotlib and fpdf2 never enter the bot's process."""
    pdf = await documents.run(PDF_RENDERER, report, WorkerGettext(language))
    if not isinstance(pdf, bytes):  # pragma: no cover - render_pdf returns the bytes
        raise DocumentFailed
    return pdf


def _title(ctx: Context, report: MonthlyReport) -> str:
    if report.monthly:
        return ctx._("Monthly report {month}, {ward}").format(
            month=month_label(report.month), ward=report.ward
        )
    return ctx._("{title}: {period}, {ward}").format(
        title=ctx._(TITLES[report.period.kind]),
        period=report.period.label(ctx._),
        ward=report.ward,
    )


def summary(ctx: Context, report: MonthlyReport) -> str:
    tips = report.tips
    lines = [
        _title(ctx, report),
        ctx._("Tips received: {n} (urgent: {urgent})").format(n=tips.received, urgent=tips.urgent),
        ctx._("Acknowledged on time: {share}").format(share=tips.acknowledged_on_time.shown),
        ctx._("Closed: {n}, on time: {share}").format(
            n=tips.closed, share=tips.closed_on_time.shown
        ),
        ctx._("Residential groups reached by awareness messages: {share}").format(
            share=report.groups_reached.shown
        ),
        ctx._("Subscribers: {n} ({new} new)").format(
            n=report.subscribers, new=report.subscribers_new
        ),
        ctx._("Family pledges: {n} ({new} new); organisations: {orgs}").format(
            n=report.household_pledges,
            new=report.household_pledges_new,
            orgs=len(report.organisation_pledges),
        ),
        ctx._("Quiz: {people} residents, {share} right answers").format(
            people=report.quiz.participants, share=report.quiz.correct.shown
        ),
    ]
    if report.tip_work is not None:
        lines.append(report.tip_work.indicator_line(ctx._))
    lines += [f"• {note}" for note in report.notes]
    return "\n".join(lines)
