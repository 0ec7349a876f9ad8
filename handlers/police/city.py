"""`/thanhpho [PERIOD]`: every ward of the deployment side by side, for a city's
figures-only staff and for commanders: tips received, received and handled in time, TDPs
reached by awareness messages, with the same small-count masking as every report. Never
a tip's content, code or TDP."""

from __future__ import annotations

from engine.conversation import Context, Router
from handlers.guards import police
from reports.city import gather_city
from reports.periods import parse_report_period
from storage.models import Officer

router = Router("city")


@police("thanhpho", "city", city=True, on=router)
async def city_view(ctx: Context, officer: Officer) -> None:
    typed = ctx.args.strip() or ctx.local_now().strftime("%Y-%m")
    try:
        period = parse_report_period(typed)
    except ValueError:
        ctx.reply(
            ctx._("Usage: {usage}").format(
                usage=ctx._("/thanhpho [2026-11 | 2026-Q3 | 2026-H1 | 2026]")
            )
        )
        return
    s = ctx.services
    city = await gather_city(
        ctx.session, period, zone=s.settings.zone, now=ctx.local_now(), gettext=ctx._
    )
    lines = [ctx._("Every ward, {period}:").format(period=period.label(ctx._))]
    for line in city.lines:
        shares = ""
        if line.received_on_time is not None and line.handled_on_time is not None:
            shares = ctx._("; received on time {received}, handled on time {handled}").format(
                received=line.received_on_time.shown, handled=line.handled_on_time.shown
            )
        lines.append(
            ctx._("• {ward}: {tips} tips{shares}; TDPs reached {reached}").format(
                ward=line.ward, tips=line.received, shares=shares, reached=line.groups_reached.shown
            )
        )
    lines.append(
        ctx._(
            "All wards: {tips} tips; received on time {received}, handled on time {handled}; "
            "TDPs reached {reached}"
        ).format(
            tips=city.received,
            received=city.received_on_time.shown,
            handled=city.handled_on_time.shown,
            reached=city.groups_reached.shown,
        )
    )
    ctx.reply("\n".join(lines))
