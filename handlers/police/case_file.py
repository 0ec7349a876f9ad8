"""`/hoso CODE`: a tip as a PDF record for the case file ("phiếu tiếp nhận"), for a
commander or the officer the tip is assigned to; anyone else gets the answer a tip that
does not exist gets. Every production is written to the audit log, the PDF says who
produced it and when, and it is sent protected (no forwarding or saving) where the
channel can, made in a document worker after the update's transaction."""

from __future__ import annotations

from engine.conversation import Context, Router
from handlers.guards import police
from kernel.i18n import WorkerGettext
from kernel.messages import Media, Outbound, Reply
from reports.case_file import gather_case
from storage import triage, wards
from storage.models import Officer, OfficerRole
from storage.sandbox import DocumentFailed

router = Router("case_file")
RENDERER = "reports.case_file:render_case_file"  # run in a document worker, never here


@police("hoso", "casefile", on=router)
async def case_file(ctx: Context, officer: Officer) -> None:
    code = ctx.args.strip()
    if not code:
        ctx.reply(ctx._("Usage: {usage}").format(usage=ctx._("/hoso CODE")))
        return
    tip = await triage.tip_for_officer(ctx.session, officer, code)
    allowed = tip is not None and (
        officer.role == OfficerRole.COMMANDER or tip.assigned_officer_id == officer.id
    )
    ward = await wards.get_ward(ctx.session, officer.ward_id)
    if tip is None or tip.wrapped_key is None or not allowed or ward is None:
        ctx.reply(ctx._("No tip with that code in your ward. Use /queue to see the open tips."))
        return
    if not ctx.channel.can_send_files:
        ctx.reply(ctx._("This chat cannot receive files: ask for the record in Telegram."))
        return
    s = ctx.services
    case = await gather_case(
        ctx.session,
        s.vault,
        ward,
        tip,
        produced_by=officer,
        zone=s.settings.zone,
        gettext=ctx._,
        language=ctx.language,
        now=ctx.local_now(),
    )
    await s.audit.append(
        ctx.session,
        "case_file",
        ward_id=tip.ward_id,
        tip_id=tip.id,
        officer_id=officer.id,
        detail={"channel": ctx.route.channel},
    )
    route, gettext, documents, language = ctx.route, ctx._, s.documents, ctx.language
    name, seconds = f"phieu-{tip.code}.pdf", s.settings.tip_view_seconds

    async def send_pdf() -> list[Outbound]:
        try:
            pdf = await documents.run(RENDERER, case, WorkerGettext(language))
        except DocumentFailed:
            return [
                Outbound(
                    route, Reply(gettext("The record could not be made. Please try again later."))
                )
            ]
        media = (Media("pdf", "application/pdf", pdf, filename=name),)
        text = gettext("Record of tip {code} (confidential):").format(code=case.code)
        return [Outbound(route, Reply(text, media=media, protect=True, delete_after=seconds))]

    ctx.reply(ctx._("Making the record of tip {code}…").format(code=tip.code))
    ctx.after_commit(send_pdf)
