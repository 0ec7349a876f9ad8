"""Ad-hoc broadcasts: an officer writes a message for the ward's residents, sees it as
they will and how many it reaches, and sends it to the commanders; a commander other
than the writer approves or rejects it. Nothing reaches residents before that.

Only officers see these commands (everyone else gets the unknown-command answer).
"""

from __future__ import annotations

from enum import StrEnum

from broadcasts import approval, deliveries
from broadcasts.approval import ApprovalRefused, Refusal
from broadcasts.library import (
    HOTLINE_HEADING,
    ContentError,
    check_rendered,
    check_text,
    headings,
    render,
)
from broadcasts.planner import quiet_hours
from engine.conversation import Context, Router
from handlers.flows import BroadcastDraft
from handlers.guards import police, police_action, typing_officer
from handlers.ids import parse_typed_id
from handlers.start import fallback
from kernel.actions import (
    BroadcastAgain,
    BroadcastApprove,
    BroadcastCancel,
    BroadcastReject,
    BroadcastScope,
    BroadcastSubmit,
)
from kernel.clock import utcnow
from kernel.i18n import N_
from kernel.messages import Button
from storage import officers, triage, wards
from storage.labels import BROADCAST_KIND_LABELS, label_of
from storage.models import Broadcast, BroadcastStatus, Officer, OfficerRole, Ward

router = Router("broadcast")


class Step(StrEnum):
    TEXT = "bc:text"
    GROUP = "bc:group"


STATUS = {
    BroadcastStatus.PENDING_APPROVAL: "⏳",
    BroadcastStatus.SCHEDULED: "🕒",
    BroadcastStatus.SENDING: "📤",
    BroadcastStatus.DONE: "✅",
    BroadcastStatus.REJECTED: "✖",
    BroadcastStatus.CANCELLED: "✖",
}


def _steps(ctx: Context) -> list[Button]:
    return [Button(ctx._("Cancel"), BroadcastCancel())]


def _drop_draft(ctx: Context) -> None:
    ctx.end_flow(BroadcastDraft)


async def _ward(ctx: Context, officer: Officer) -> Ward | None:
    """The officer's ward; if it is gone (removed while they were writing), the draft
    is dropped and they are told that nothing can be sent."""
    ward = await wards.get_ward(ctx.session, officer.ward_id)
    if ward is None:
        _drop_draft(ctx)
        ctx.go(None)
        ctx.reply(
            ctx._(
                "Your ward is no longer in the bot's records, so this message cannot be "
                "sent; nothing was sent."
            )
        )
    return ward


@police("broadcast", "thongbao", on=router)
async def start(ctx: Context, officer: Officer) -> None:
    _drop_draft(ctx)
    ctx.go(Step.TEXT)
    ctx.reply(
        ctx._(
            "Write the message residents will receive (up to 3,500 characters). You may "
            "write {ward} for the ward's name and {hotlines} for its hotline numbers. It "
            "is sent only after a commander approves it."
        ),
        [_steps(ctx)],
        free_text=True,
    )


@router.step(Step.TEXT)
async def text_written(ctx: Context) -> None:
    officer = await typing_officer(ctx)
    if officer is None:
        return
    text = ctx.inbound.text.strip()
    ward = await _ward(ctx, officer)
    if ward is None or not _acceptable(ctx, text, ward):
        return
    ctx.flow(BroadcastDraft).text = text
    ctx.go(None)
    ctx.reply(
        ctx._("Who should receive it?"),
        [
            [
                Button(
                    ctx._("Every residential group of {ward}").format(ward=ward.name),
                    BroadcastScope("all"),
                )
            ],
            [Button(ctx._("One residential group"), BroadcastScope("one"))],
            _steps(ctx),
        ],
    )


def _acceptable(ctx: Context, text: str, ward: Ward) -> bool:
    """Whether the draft can go to residents: bare {ward} and {hotlines} only, and not
    longer than a message once they are filled in, for every language residents read.
    If not, the officer is told why, in their language, and asked to write it again."""
    try:
        if not text:
            raise ContentError(N_("the text is empty"))
        check_text(text)
        check_rendered(text, ward, headings(ctx.services.translator))
    except ContentError as exc:
        ctx.go(Step.TEXT)
        ctx.reply(
            ctx._("This text cannot be sent: {problem}. Please write it again.").format(
                problem=ctx._(exc.problem).format(value=exc.value)
            ),
            [_steps(ctx)],
            free_text=True,
        )
        return False
    return True


@police_action(BroadcastScope, on=router)
async def scope_chosen(ctx: Context, officer: Officer) -> None:
    draft = ctx.flow(BroadcastDraft)
    if draft.text is None:
        await start(ctx, officer)
        return
    if ctx.action(BroadcastScope).scope == "one":
        ctx.go(Step.GROUP)
        ctx.reply(ctx._("Which residential group? Type its name."), [_steps(ctx)], free_text=True)
        return
    draft.group_id = None
    await _preview(ctx, officer)


@router.step(Step.GROUP)
async def group_typed(ctx: Context) -> None:
    officer = await typing_officer(ctx)
    if officer is None:
        return
    ward = await _ward(ctx, officer)
    if ward is None:
        return
    matches = await wards.match_groups(ctx.session, ward, ctx.inbound.text)
    if len(matches) != 1:
        ctx.reply(
            ctx._("Please type the exact name of one residential group."),
            [_steps(ctx)],
            free_text=True,
        )
        return
    ctx.flow(BroadcastDraft).group_id = matches[0].id
    ctx.go(None)
    await _preview(ctx, officer)


async def _preview(ctx: Context, officer: Officer) -> None:
    ward = await _ward(ctx, officer)
    if ward is None:
        return
    draft = ctx.flow(BroadcastDraft)
    group_id = draft.group_id
    chats, people = await approval.audience(ctx.session, officer.ward_id, group_id)
    scope = await _scope_name(ctx, ward, group_id)
    text = render(draft.text or "", ward, ctx._(HOTLINE_HEADING))
    ctx.reply(
        ctx._(
            "Preview:\n\n{text}\n\n— To: {scope}, {chats} group chats and {people} "
            "subscribers. Send it to the commander for approval?"
        ).format(text=text, scope=scope, chats=chats, people=people),
        [
            [Button(ctx._("Send for approval"), BroadcastSubmit())],
            [Button(ctx._("Write it again"), BroadcastAgain())],
            _steps(ctx),
        ],
    )


async def _scope_name(ctx: Context, ward: Ward, group_id: int | None) -> str:
    if group_id is not None:
        group = await wards.get_group(ctx.session, group_id)
        if group is not None:
            return group.name
    return ctx._("every residential group of {ward}").format(ward=ward.name)


@police_action(BroadcastAgain, on=router)
async def again(ctx: Context, officer: Officer) -> None:
    await start(ctx, officer)


@police_action(BroadcastSubmit, on=router)
async def submit(ctx: Context, officer: Officer) -> None:
    draft = ctx.flow(BroadcastDraft)
    text, group_id = draft.text, draft.group_id
    _drop_draft(ctx)
    if text is None:
        ctx.reply(ctx._("There is no draft to send. Start with /broadcast."))
        return
    ward = await _ward(ctx, officer)
    if ward is None:
        return
    if not _acceptable(ctx, text, ward):  # checked again: the ward's numbers may have grown
        return
    now = utcnow()
    broadcast = await approval.draft(
        ctx.session, officer, text, group_id, now, quiet_hours(ctx.services.settings)
    )
    await ctx.services.audit.append(
        ctx.session,
        "broadcast_drafted",
        ward_id=officer.ward_id,
        officer_id=officer.id,
        detail={"broadcast": broadcast.id},
    )
    scope = await _scope_name(ctx, ward, group_id)
    chats, people = await approval.audience(ctx.session, officer.ward_id, group_id)
    asked = 0
    for commander in await triage.ward_officers(
        ctx.session, officer.ward_id, roles=[OfficerRole.COMMANDER]
    ):
        route = officers.read_route(ctx.services.vault, commander)
        if commander.id == officer.id or route is None:
            continue
        _ = ctx.services.translator.get(ctx.services.settings.default_language).gettext
        await ctx.notify(
            route,
            _(
                "📣 {officer} asks to send broadcast #{id} to {scope} ({chats} group chats, "
                "{people} subscribers):\n\n{text}\n\n/approve {id} or /reject {id}"
            ).format(
                officer=officer.label,
                id=broadcast.id,
                scope=scope,
                chats=chats,
                people=people,
                text=render(text, ward, _(HOTLINE_HEADING)),
            ),
            [
                [
                    Button(
                        _("Approve"), BroadcastApprove(broadcast.id), f"/approve {broadcast.id}"
                    ),
                    Button(_("Reject"), BroadcastReject(broadcast.id), f"/reject {broadcast.id}"),
                ]
            ],
        )
        asked += 1
    if asked:
        ctx.reply(
            ctx._(
                "Broadcast #{id} is waiting for a commander's approval. You will be "
                "told when it is decided and when it has been sent."
            ).format(id=broadcast.id)
        )
    else:
        text = ctx._(
            "Broadcast #{id} is saved, but no other commander can approve it yet: a "
            "second commander must join first."
        )
        ctx.reply(text.format(id=broadcast.id))


@police_action(BroadcastCancel, on=router)
async def cancel(ctx: Context, officer: Officer) -> None:
    _drop_draft(ctx)
    ctx.go(None)
    ctx.reply(ctx._("Cancelled; nothing was sent."))


# Deciding is for commanders only: to anyone else these commands and buttons do not
# exist (the unknown-command answer), so a plain officer learns nothing from them.


@police("approve", "duyet", commander=True, on=router)
async def approve_command(ctx: Context, officer: Officer) -> None:
    await _decide(ctx, officer, parse_typed_id(ctx.args.strip().lstrip("#＃")), approve=True)


@police("reject", "tuchoi", commander=True, on=router)
async def reject_command(ctx: Context, officer: Officer) -> None:
    await _decide(ctx, officer, parse_typed_id(ctx.args.strip().lstrip("#＃")), approve=False)


@police_action(BroadcastApprove, commander=True, on=router)
async def approve_pressed(ctx: Context, officer: Officer) -> None:
    await _decide(ctx, officer, ctx.action(BroadcastApprove).broadcast_id, approve=True)


@police_action(BroadcastReject, commander=True, on=router)
async def reject_pressed(ctx: Context, officer: Officer) -> None:
    await _decide(ctx, officer, ctx.action(BroadcastReject).broadcast_id, approve=False)


async def _decide(ctx: Context, officer: Officer, number: int | None, *, approve: bool) -> None:
    """`number`: the broadcast's, as parse_id read it ("007" is #7); None when it is not one."""
    if number is None:
        ctx.reply(ctx._("Usage: {usage}").format(usage=ctx._("/approve NUMBER · /reject NUMBER")))
        return
    try:
        broadcast = await approval.decide(
            ctx.session,
            number,
            officer,
            approve=approve,
            now=utcnow(),
            quiet=quiet_hours(ctx.services.settings),
        )
    except ApprovalRefused as refused:
        if refused.reason is Refusal.NOT_COMMANDER:
            await fallback(ctx)  # not reached past the guard above; kept for safety
            return
        ctx.reply(_refusal(ctx, refused.reason, number))
        return
    await ctx.services.audit.append(
        ctx.session,
        "broadcast_approved" if approve else "broadcast_rejected",
        ward_id=officer.ward_id,
        officer_id=officer.id,
        detail={"broadcast": broadcast.id},
    )
    when = broadcast.scheduled_at.astimezone(ctx.services.settings.zone).strftime("%H:%M %d/%m")
    if approve:
        ctx.reply(
            ctx._("Broadcast #{id} is approved and will be sent from {when}.").format(
                id=broadcast.id, when=when
            )
        )
    else:
        ctx.reply(
            ctx._("Broadcast #{id} is rejected; nothing will be sent.").format(id=broadcast.id)
        )
    writer = (
        await officers.get_officer(ctx.session, broadcast.created_by)
        if broadcast.created_by
        else None
    )
    route = officers.read_route(ctx.services.vault, writer) if writer is not None else None
    if route is not None:
        _ = ctx.services.translator.get(ctx.services.settings.default_language).gettext
        told = (
            _("✅ Broadcast #{id} was approved by {commander}; it goes out from {when}.")
            if approve
            else _("✖ Broadcast #{id} was rejected by {commander}.")
        )
        await ctx.notify(route, told.format(id=broadcast.id, commander=officer.label, when=when))


def _refusal(ctx: Context, reason: Refusal, number: int) -> str:
    return {
        Refusal.NOT_FOUND: ctx._("No broadcast #{id} in your ward."),
        Refusal.NOT_PENDING: ctx._("Broadcast #{id} has been decided already."),
        Refusal.BAD_TEXT: ctx._(
            "Broadcast #{id} cannot be approved: its text does not pass today's checks. "
            "Please reject it and ask for a new draft."
        ),
        Refusal.OWN_DRAFT: ctx._(
            "You wrote broadcast #{id}: another commander must approve it. Two people "
            "check every message that goes to the whole ward."
        ),
    }[reason].format(id=number)


@police("broadcasts", on=router)
async def listing(ctx: Context, officer: Officer) -> None:
    rows = await approval.recent(ctx.session, officer.ward_id)
    if not rows:
        ctx.reply(ctx._("No broadcasts yet. Write one with /broadcast."))
        return
    lines = [ctx._("Recent broadcasts:")]
    for broadcast in rows:
        lines.append(await _line(ctx, broadcast))
    ctx.reply("\n".join(lines))


async def _line(ctx: Context, broadcast: Broadcast) -> str:
    done = await deliveries.progress(ctx.session, broadcast.id)
    when = broadcast.scheduled_at.astimezone(ctx.services.settings.zone).strftime("%d/%m %H:%M")
    return ctx._(
        "{mark} #{id} {kind}, {when}: {sent} of {total} delivered, {blocked} "
        "blocked, {failed} failed"
    ).format(
        mark=STATUS.get(BroadcastStatus(broadcast.status), ""),
        id=broadcast.id,
        kind=ctx._(label_of(BROADCAST_KIND_LABELS, broadcast.kind)),
        when=when,
        sent=done.sent,
        total=done.total,
        blocked=done.blocked,
        failed=done.failed,
    )
