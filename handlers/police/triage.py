"""Triage: ward police work the tip queue from a private chat with the bot.

Only enrolled officers of the tip's ward may use these commands; anyone else
(residents, strangers, revoked officers, an officer asking for a commander's command)
gets exactly the answer an unknown command gets, so nothing about the police side is
revealed. Tips are named by their 7-character code; another ward's tip is "not found".
"""

from __future__ import annotations

from datetime import datetime

from engine.conversation import Context, Router
from handlers.guards import officer_account, police, police_action
from handlers.ids import parse_typed_id
from handlers.notices import tell_reporter
from handlers.resident.status import ask_reporter
from handlers.start import home
from kernel.actions import PoliceClaim, PoliceClose, PoliceCloseAs, PoliceQueue, PoliceTip
from kernel.categories import CATEGORIES, WHEN
from kernel.clock import utcnow
from kernel.i18n import N_
from kernel.messages import Button, Media
from kernel.search_keys import search_key
from storage import officers, tips, triage, wards
from storage.models import Officer, OfficerRole, Tip, TipStatus
from storage.session import AsyncSession
from storage.tips import EventKind
from storage.triage import OUTCOME_LABELS, Outcome, TransitionRefused

router = Router("triage")

PAGE = 10
PRIORITY_MARK = {1: "🔴", 2: "🟠", 3: "🟢"}
STATUS_LABELS = {
    TipStatus.NEW: N_("new"),
    TipStatus.ACKNOWLEDGED: N_("acknowledged"),
    TipStatus.ASSIGNED: N_("assigned"),
    TipStatus.INVESTIGATING: N_("investigating"),
    TipStatus.CLOSED: N_("closed"),
}
OUTCOMES = {
    "confirmed": Outcome.CONFIRMED, "xacminh": Outcome.CONFIRMED, "dung": Outcome.CONFIRMED,
    "unfounded": Outcome.UNFOUNDED, "khongco": Outcome.UNFOUNDED, "sai": Outcome.UNFOUNDED,
    "duplicate": Outcome.DUPLICATE, "trung": Outcome.DUPLICATE,
    "referred": Outcome.REFERRED, "chuyen": Outcome.REFERRED,
}  # fmt: skip

EVENT_LABELS = {
    EventKind.QUESTION: N_("Question to the reporter"),
    EventKind.ANSWER: N_("Reporter's answer"),
    EventKind.ADDITION: N_("Reporter added"),
    EventKind.REPLY: N_("Public answer"),
    EventKind.NOTE: N_("Note"),
}


async def _tip(ctx: Context, officer: Officer, code_text: str) -> Tip | None:
    tip = await triage.tip_for_officer(ctx.session, officer, code_text)
    if tip is None or tip.wrapped_key is None:
        ctx.reply(ctx._("No tip with that code in your ward. Use /queue to see the open tips."))
        return None
    return tip


async def _tip_argument(ctx: Context, officer: Officer, usage: str) -> Tip | None:
    """The tip named by the command's first argument, after saying what went wrong."""
    code, _ = _split(ctx.args)
    if not code:
        _usage(ctx, usage)
        return None
    return await _tip(ctx, officer, code)


def _split(args: str) -> tuple[str, str]:
    first, _, rest = args.strip().partition(" ")
    return first, rest.strip()


def _usage(ctx: Context, usage: str) -> None:
    ctx.reply(ctx._("Usage: {usage}").format(usage=usage))


# ---- help and the queue ----------------------------------------------------------------


@router.command("help")
async def help_for_everyone(ctx: Context) -> None:
    """/help lists what the caller may use: the police commands for officers (the
    commander's too for commanders), the menu for everyone else."""
    officer = await officers.officer_for_account(ctx.session, officer_account(ctx))
    if officer is None:
        await home(ctx)
        return
    await help_police(ctx, officer)


async def help_police(ctx: Context, officer: Officer) -> None:
    lines = [
        ctx._("Commands for ward police:"),
        ctx._("/queue: open tips, most urgent first"),
        ctx._("/tip CODE: read a tip"),
        ctx._("/claim CODE: take a tip yourself"),
        ctx._("/triage CODE CATEGORY PRIORITY: set the category and priority (1 to 3)"),
        ctx._("/note CODE TEXT: an internal note"),
        ctx._("/ask CODE TEXT: an anonymous question to the reporter"),
        ctx._("/reply CODE TEXT: a public answer the reporter sees"),
        ctx._("/close CODE OUTCOME: confirmed, unfounded, duplicate OTHER-CODE, or referred"),
        ctx._("/merge CODE OTHER-CODE: the same matter as another tip"),
        ctx._("/stats: the queue in numbers"),
        ctx._("/progress: drug-free residential groups against the targets"),
        ctx._("/drugfree TDP: record a residential group's drug-free status"),
        ctx._("/orgpledge: record a school's, business's or TDP's pledge"),
    ]
    if officer.role == OfficerRole.COMMANDER:
        lines += [
            ctx._("/assign CODE OFFICER: give a tip to an officer (number or name)"),
            ctx._("/audit CODE: the full history of a tip"),
            ctx._("/baocao [MONTH]: the monthly report for the ward People's Committee (PDF)"),
        ]
    ctx.reply("\n".join(lines))


@police("queue", on=router)
async def show_queue(ctx: Context, officer: Officer) -> None:
    await _queue_page(ctx, officer, None)


@police_action(PoliceQueue, on=router)
async def queue_next(ctx: Context, officer: Officer) -> None:
    """The "More" button's cursor was checked as it was parsed (kernel/actions.py's
    QueueCursor: a priority digit, an aware time of 2000-2100, a tip id in range)."""
    await _queue_page(ctx, officer, ctx.action(PoliceQueue).after)


async def _queue_page(
    ctx: Context, officer: Officer, after: tuple[int, datetime, int] | None
) -> None:
    page = await triage.queue(ctx.session, officer.ward_id, after=after, size=PAGE)
    if not page.tips and after is None:
        ctx.reply(ctx._("The queue is empty: no open tips in your ward."))
        return
    now = utcnow()
    groups = await _group_names(ctx.session, {t.group_id for t in page.tips if t.group_id})
    lines = [ctx._("Open tips (most urgent first):")]
    for tip in page.tips:
        lines.append(_tip_line(ctx, tip, groups, now))
    buttons = [[Button(f"📄 {tip.code}", PoliceTip(tip.code))] for tip in page.tips]
    if page.next_after is not None:
        buttons.append([Button(ctx._("More ▶"), PoliceQueue(page.next_after))])
    ctx.reply("\n".join(lines), buttons)


def _tip_line(ctx: Context, tip: Tip, groups: dict[int, str], now: datetime) -> str:
    group = groups.get(tip.group_id or 0, ctx._("group not known"))
    category = ctx._(CATEGORIES.get(tip.category, N_("Something else")))
    status = ctx._(STATUS_LABELS[TipStatus(tip.status)])
    due = tip.ack_due_at if tip.status == TipStatus.NEW else tip.close_due_at
    flag = f" [{tip.language}]" if tip.language != "vi" else ""
    mark = PRIORITY_MARK.get(tip.priority, "⚪")
    return f"{mark} {tip.code} · {category} · {group} · {status} · {_left(ctx, due, now)}{flag}"


def _left(ctx: Context, due: datetime | None, now: datetime) -> str:
    if due is None:
        return ctx._("no deadline")
    seconds = (due - now).total_seconds()
    amount = abs(seconds)
    if amount >= 86400:
        span = ctx._("{n} d").format(n=int(amount // 86400))
    elif amount >= 3600:
        span = ctx._("{n} h").format(n=int(amount // 3600))
    else:
        span = ctx._("{n} min").format(n=max(1, int(amount // 60)))
    return (
        ctx._("{span} left").format(span=span)
        if seconds >= 0
        else ctx._("overdue by {span}").format(span=span)
    )


async def _group_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for group_id in ids:
        group = await wards.get_group(session, group_id)
        if group is not None:
            names[group_id] = group.name
    return names


# ---- reading a tip ---------------------------------------------------------------------


@police("tip", on=router)
async def read_tip(ctx: Context, officer: Officer) -> None:
    tip = await _tip_argument(ctx, officer, "/tip CODE")
    if tip is None:
        return
    services = ctx.services
    await services.audit.append(
        ctx.session, "view", ward_id=tip.ward_id, tip_id=tip.id, officer_id=officer.id
    )
    await triage.acknowledge(ctx.session, services.vault, services.audit, tip, officer)
    content = tips.read_content(services.vault, tip)
    groups = await _group_names(ctx.session, {tip.group_id} if tip.group_id else set())
    sent = tips.submitted_at(services.vault, tip)  # exact, sealed; the row keeps the hour
    local = sent.astimezone(services.settings.zone).strftime("%d/%m/%Y %H:%M")
    lines = [
        _tip_line(ctx, tip, groups, utcnow()),
        ctx._("Received: {when}").format(when=local),
        ctx._("When it happened: {value}").format(value=_when_label(ctx, content.get("when"))),
        ctx._("Place: {value}").format(value=content.get("where") or "-"),
    ]
    if content.get("location"):
        latitude, longitude = content["location"]
        lines.append(ctx._("Location pin: {lat}, {lon}").format(lat=latitude, lon=longitude))
    if content.get("hint_reasons"):
        lines.append(
            ctx._("Priority hint from keywords: {reasons}").format(
                reasons=", ".join(content["hint_reasons"])
            )
        )
    if tip.language != "vi":
        lines.append(ctx._("⚠ Written in: {language}").format(language=tip.language))
    lines += ["", content.get("what", "")]
    for entry in await tips.timeline(ctx.session, services.vault, tip):
        if entry.text and entry.kind in EVENT_LABELS:
            lines.append(f"— {ctx._(EVENT_LABELS[EventKind(entry.kind)])}: {entry.text}")
    for note in await tips.notes(ctx.session, services.vault, tip):
        lines.append(f"— {ctx._(EVENT_LABELS[EventKind.NOTE])}: {note}")
    if tip.sealed_route is None:
        lines.append(ctx._("The reporter cannot be contacted."))
    files = await tips.read_attachments(ctx.session, services.vault, tip)
    media = [
        Media("image" if f.kind == "image" else "pdf", f.mime_type, f.data, f"{tip.code}-{i}")
        for i, f in enumerate(files, start=1)
    ]
    buttons = []
    if tip.status in (TipStatus.NEW, TipStatus.ACKNOWLEDGED):
        buttons.append([Button(ctx._("Claim it"), PoliceClaim(tip.code))])
    if tip.status != TipStatus.CLOSED:
        buttons.append([Button(ctx._("Close…"), PoliceClose(tip.code))])
    buttons.append([Button(ctx._("◀ Queue"), PoliceQueue(None))])
    ctx.reply(
        "\n".join(lines),
        buttons,
        protect=True,
        delete_after=services.settings.tip_view_seconds,
        media=media,
    )


# The same actions from buttons, where the channel has them (numbered on the console).


@police_action(PoliceTip, on=router)
async def tip_button(ctx: Context, officer: Officer) -> None:
    ctx.args = ctx.action(PoliceTip).code
    await read_tip(ctx, officer)


@police_action(PoliceClaim, on=router)
async def claim_button(ctx: Context, officer: Officer) -> None:
    ctx.args = ctx.action(PoliceClaim).code
    await claim(ctx, officer)


@police_action(PoliceClose, on=router)
async def close_button(ctx: Context, officer: Officer) -> None:
    tip = await _tip(ctx, officer, ctx.action(PoliceClose).code)  # a forged code is not echoed
    if tip is None:
        return
    code = tip.code
    ctx.reply(
        ctx._("Close tip {code} as:").format(code=code),
        [[Button(ctx._(OUTCOME_LABELS[outcome]), PoliceCloseAs(code, outcome))]
         for outcome in (Outcome.CONFIRMED, Outcome.UNFOUNDED, Outcome.REFERRED)]
        + [[Button(ctx._("◀ Back"), PoliceTip(code))]],
    )  # fmt: skip


@police_action(PoliceCloseAs, on=router)
async def close_as_button(ctx: Context, officer: Officer) -> None:
    pressed = ctx.action(PoliceCloseAs)
    ctx.args = f"{pressed.code} {pressed.outcome}"
    await close(ctx, officer)


def _when_label(ctx: Context, key: object) -> str:
    label = WHEN.get(str(key))
    return ctx._(label) if label else "-"


# ---- changing a tip --------------------------------------------------------------------


async def _change(ctx: Context, officer: Officer, tip: Tip, to: str, **kwargs: object) -> bool:
    try:
        await triage.change_status(
            ctx.session,
            ctx.services.vault,
            ctx.services.audit,
            tip,
            to,
            officer,
            **kwargs,  # type: ignore[arg-type]
        )
    except TransitionRefused as refused:
        ctx.reply(
            ctx._("Tip {code} is {state}; that change is not possible now.").format(
                code=tip.code, state=ctx._(STATUS_LABELS[TipStatus(refused.current)])
            )
        )
        return False
    return True


@police("claim", on=router)
async def claim(ctx: Context, officer: Officer) -> None:
    tip = await _tip_argument(ctx, officer, "/claim CODE")
    if tip is None:
        return
    if tip.assigned_officer_id == officer.id and tip.status in (
        TipStatus.ASSIGNED,
        TipStatus.INVESTIGATING,
    ):
        ctx.reply(ctx._("Tip {code} is already yours.").format(code=tip.code))
        return
    if await _change(ctx, officer, tip, TipStatus.ASSIGNED, assignee=officer):
        ctx.reply(ctx._("✓ Tip {code} is now yours.").format(code=tip.code))


@police("assign", commander=True, on=router)
async def assign(ctx: Context, officer: Officer) -> None:
    code, who = _split(ctx.args)
    if not code or not who:
        _usage(ctx, "/assign CODE OFFICER")
        return
    tip = await _tip(ctx, officer, code)
    if tip is None:
        return
    colleagues = await triage.ward_officers(ctx.session, officer.ward_id)
    number = parse_typed_id(who)
    chosen = [o for o in colleagues if o.id == number or search_key(o.label) == search_key(who)]
    if len(chosen) != 1:
        listing = ", ".join(f"{o.id} {o.label}" for o in colleagues)
        ctx.reply(
            ctx._("No such officer in your ward. Officers: {listing}").format(listing=listing)
        )
        return
    if await _change(ctx, officer, tip, TipStatus.ASSIGNED, assignee=chosen[0]):
        ctx.reply(
            ctx._("✓ Tip {code} assigned to {name}.").format(code=tip.code, name=chosen[0].label)
        )
        route = officers.read_route(ctx.services.vault, chosen[0])
        if route is not None and chosen[0].id != officer.id:
            await ctx.notify(
                route, ctx._("📌 Tip {code} was assigned to you. /tip {code}").format(code=tip.code)
            )


@police("triage", on=router)
async def set_triage(ctx: Context, officer: Officer) -> None:
    parts = ctx.args.split()
    if len(parts) != 3 or parts[1] not in CATEGORIES or parts[2] not in ("1", "2", "3"):
        _usage(ctx, "/triage CODE CATEGORY PRIORITY")
        ctx.reply(ctx._("Categories: {keys}").format(keys=", ".join(CATEGORIES)))
        return
    tip = await _tip(ctx, officer, parts[0])
    if tip is None:
        return
    if tip.status == TipStatus.CLOSED:
        ctx.reply(ctx._("Tip {code} is closed.").format(code=tip.code))
        return
    before = {"category": tip.category, "priority": tip.priority}
    tip.category, tip.priority = parts[1], int(parts[2])
    await triage.acknowledge(ctx.session, ctx.services.vault, ctx.services.audit, tip, officer)
    await ctx.services.audit.append(
        ctx.session, "triage", ward_id=tip.ward_id, tip_id=tip.id, officer_id=officer.id,
        detail={"before": before, "after": {"category": tip.category, "priority": tip.priority}},
    )  # fmt: skip
    ctx.reply(
        ctx._("✓ Tip {code}: {category}, priority {priority}.").format(
            code=tip.code, category=ctx._(CATEGORIES[tip.category]), priority=tip.priority
        )
    )


async def _start_work(ctx: Context, officer: Officer, tip: Tip) -> None:
    """The assignee's first note or question starts the investigation."""
    if tip.status == TipStatus.ASSIGNED and tip.assigned_officer_id == officer.id:
        await _change(ctx, officer, tip, TipStatus.INVESTIGATING)
    elif tip.status == TipStatus.NEW:
        await triage.acknowledge(ctx.session, ctx.services.vault, ctx.services.audit, tip, officer)


async def _text_command(ctx: Context, officer: Officer, usage: str) -> tuple[Tip, str] | None:
    code, text = _split(ctx.args)
    if not code or not text:
        _usage(ctx, usage)
        return None
    if len(text) > 4000:
        ctx.reply(
            ctx._("That is longer than {limit} characters. Please shorten it.").format(limit=4000)
        )
        return None
    tip = await _tip(ctx, officer, code)
    if tip is None:
        return None
    if tip.status == TipStatus.CLOSED:
        ctx.reply(ctx._("Tip {code} is closed.").format(code=tip.code))
        return None
    return tip, text


@police("note", on=router)
async def note(ctx: Context, officer: Officer) -> None:
    found = await _text_command(ctx, officer, "/note CODE TEXT")
    if found is None:
        return
    tip, text = found
    await tips.add_event(
        ctx.session, ctx.services.vault, tip, EventKind.NOTE, body=text, actor_officer_id=officer.id
    )
    await ctx.services.audit.append(
        ctx.session, "note", ward_id=tip.ward_id, tip_id=tip.id, officer_id=officer.id
    )
    await _start_work(ctx, officer, tip)
    ctx.reply(ctx._("✓ Note added to tip {code}.").format(code=tip.code))


@police("ask", on=router)
async def ask(ctx: Context, officer: Officer) -> None:
    found = await _text_command(ctx, officer, "/ask CODE TEXT")
    if found is None:
        return
    tip, text = found
    reached = await ask_reporter(ctx.session, ctx.services, tip, text, officer_id=officer.id)
    _tell_reporter_apart(ctx, tip)
    await ctx.services.audit.append(
        ctx.session, "ask", ward_id=tip.ward_id, tip_id=tip.id, officer_id=officer.id
    )
    await _start_work(ctx, officer, tip)
    if reached:
        ctx.reply(ctx._("✓ Question sent. The reporter will see it when they check the tip."))
    else:
        ctx.reply(
            ctx._(
                "The question was saved with tip {code}, but the reporter asked not to be "
                "contacted; they will see it only if they check the tip themselves."
            ).format(code=tip.code)
        )


def _tell_reporter_apart(ctx: Context, tip: Tip) -> None:
    """The notice that the police wrote goes to the outbox in a commit of its own: a row
    for the reporter beside the tip's event would tie the two together on disk."""
    services = ctx.services
    ctx.apart(lambda session: tell_reporter(session, services, tip))


@police("reply", on=router)
async def public_reply(ctx: Context, officer: Officer) -> None:
    found = await _text_command(ctx, officer, "/reply CODE TEXT")
    if found is None:
        return
    tip, text = found
    await tips.add_event(
        ctx.session,
        ctx.services.vault,
        tip,
        EventKind.REPLY,
        body=text,
        actor_officer_id=officer.id,
    )
    await ctx.services.audit.append(
        ctx.session, "reply", ward_id=tip.ward_id, tip_id=tip.id, officer_id=officer.id
    )
    _tell_reporter_apart(ctx, tip)
    ctx.reply(ctx._("✓ Answer saved; the reporter sees it with /status."))


@police("close", on=router)
async def close(ctx: Context, officer: Officer) -> None:
    parts = ctx.args.split()
    # "xác minh" or "xacminh", "duplicate AB12CD3": officers type what is quickest.
    duplicate = len(parts) == 3 and OUTCOMES.get(search_key(parts[1])) == Outcome.DUPLICATE
    words = parts[1:2] if duplicate else parts[1:]
    outcome = OUTCOMES.get(search_key(" ".join(words)).replace(" ", "")) if words else None
    if outcome is None or (outcome == Outcome.DUPLICATE) != duplicate:
        _usage(ctx, "/close CODE confirmed|unfounded|referred, /close CODE duplicate OTHER-CODE")
        return
    tip = await _tip(ctx, officer, parts[0])
    if tip is None:
        return
    if duplicate:
        await _merge(ctx, officer, tip, parts[2])
        return
    if await _change(ctx, officer, tip, TipStatus.CLOSED, outcome=outcome):
        _tell_reporter_apart(ctx, tip)
        ctx.reply(
            ctx._("✓ Tip {code} closed: {outcome}.").format(
                code=tip.code, outcome=ctx._(OUTCOME_LABELS[outcome])
            )
        )


@police("merge", on=router)
async def merge(ctx: Context, officer: Officer) -> None:
    parts = ctx.args.split()
    if len(parts) != 2:
        _usage(ctx, "/merge CODE OTHER-CODE")
        return
    tip = await _tip(ctx, officer, parts[0])
    if tip is not None:
        await _merge(ctx, officer, tip, parts[1])


async def _merge(ctx: Context, officer: Officer, tip: Tip, other_code: str) -> None:
    other = await _tip(ctx, officer, other_code)
    if other is None:
        return
    if other.id == tip.id or other.status == TipStatus.CLOSED:
        ctx.reply(ctx._("Merge into a different tip that is still open."))
        return
    if not await _change(ctx, officer, tip, TipStatus.CLOSED, outcome=Outcome.DUPLICATE):
        return
    tip.merged_into_id = other.id
    await tips.add_event(
        ctx.session, ctx.services.vault, other, EventKind.NOTE,
        body=ctx._("Tip {code} was merged into this one.").format(code=tip.code),
        actor_officer_id=officer.id,
    )  # fmt: skip
    await ctx.services.audit.append(
        ctx.session, "merge", ward_id=tip.ward_id, tip_id=tip.id, officer_id=officer.id,
        detail={"into": other.id},
    )  # fmt: skip
    _tell_reporter_apart(ctx, tip)
    ctx.reply(ctx._("✓ Tip {code} merged into {other}.").format(code=tip.code, other=other.code))


# ---- numbers and history ---------------------------------------------------------------


@police("stats", on=router)
async def show_stats(ctx: Context, officer: Officer) -> None:
    numbers = await triage.stats(ctx.session, officer.ward_id, utcnow())
    ward = await wards.get_ward(ctx.session, officer.ward_id)
    lines = [ctx._("Tips of {ward}:").format(ward=ward.name if ward else "")]
    for status in (
        TipStatus.NEW,
        TipStatus.ACKNOWLEDGED,
        TipStatus.ASSIGNED,
        TipStatus.INVESTIGATING,
    ):
        lines.append(f"• {ctx._(STATUS_LABELS[status])}: {numbers.by_status.get(status, 0)}")
    lines += [
        ctx._("• not acknowledged in time: {n}").format(n=numbers.overdue_ack),
        ctx._("• past the closing deadline: {n}").format(n=numbers.overdue_close),
        ctx._("Last 30 days: {received} received, {closed} closed ({on_time} on time).").format(
            received=numbers.received_30d,
            closed=numbers.closed_30d,
            on_time=numbers.closed_on_time_30d,
        ),
    ]
    ctx.reply("\n".join(lines))


@police("audit", commander=True, on=router)
async def audit_history(ctx: Context, officer: Officer) -> None:
    tip = await _tip_argument(ctx, officer, "/audit CODE")
    if tip is None:
        return
    entries = await ctx.services.audit.history(ctx.session, tip.id)
    labels = {o.id: o.label for o in await triage.ward_officers(ctx.session, officer.ward_id)}
    lines = [ctx._("History of tip {code}:").format(code=tip.code)]
    zone = ctx.services.settings.zone
    for entry in entries:
        who = labels.get(
            entry.officer_id or 0,
            ctx._("system") if entry.officer_id is None else f"#{entry.officer_id}",
        )
        detail = " ".join(f"{k}={v}" for k, v in sorted(entry.detail.items()))
        when = entry.created_at.astimezone(zone)
        lines.append(f"{when:%d/%m %H:%M} {who}: {entry.action} {detail}".rstrip())
    ctx.reply("\n".join(lines))
