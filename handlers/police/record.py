"""Record a tip the police received another way: by phone on the hotline, found in a
TDP's tip box, told in person, through VNeID or from another agency. `/ghitin` asks the
source, the category, the TDP, whether it is urgent and what was reported, then stores
it as a tip like any other (a code, sealed content, the same deadlines, audit and
retention) and tells its area officer. The receipt it shows may be given to a person who
reported in person, to follow the tip anonymously in the bot."""

from __future__ import annotations

from engine.conversation import Context, Router
from handlers.guards import police, police_action, typing_officer
from kernel.categories import CATEGORIES
from kernel.clock import utcnow
from kernel.messages import Button
from kernel.tip_sources import RECORDED_BY_OFFICERS, SOURCE_LABELS, TipSource
from notices.police import notify_new_tip
from storage import triage, wards
from storage.models import Officer
from storage.triage import Received, RecordRefused

router = Router("record_tip")

DRAFT = "recorded_tip"
MOST_CHARS = 4000
GROUP_CHOICES = 6


def _cancel(ctx: Context) -> list[Button]:
    return [Button(ctx._("Cancel"), "rec:cancel")]


def _draft(ctx: Context) -> dict[str, object]:
    draft = ctx.state.data.get(DRAFT)
    if not isinstance(draft, dict):
        draft = {}
        ctx.state.data[DRAFT] = draft
    return draft


@police("ghitin", "recordtip", on=router)
async def start(ctx: Context, officer: Officer) -> None:
    ctx.state.data.pop(DRAFT, None)
    ctx.reply(
        ctx._("Record a tip the police received. Where did it come from?"),
        [
            *([Button(ctx._(SOURCE_LABELS[s]), f"rec:src:{s}")] for s in RECORDED_BY_OFFICERS),
            _cancel(ctx),
        ],
    )


@police_action("rec:src:", on=router)
async def source_chosen(ctx: Context, officer: Officer) -> None:
    try:
        source = TipSource(ctx.action_arg)
    except ValueError:
        source = TipSource.BOT
    if source not in RECORDED_BY_OFFICERS:  # a forged button: ask again
        await start(ctx, officer)
        return
    _draft(ctx)["source"] = str(source)
    ctx.reply(
        ctx._("What is it about?"),
        [
            *([Button(ctx._(label), f"rec:cat:{key}")] for key, label in CATEGORIES.items()),
            _cancel(ctx),
        ],
    )


@police_action("rec:cat:", on=router)
async def category_chosen(ctx: Context, officer: Officer) -> None:
    if ctx.action_arg not in CATEGORIES or "source" not in _draft(ctx):
        await start(ctx, officer)
        return
    _draft(ctx)["category"] = ctx.action_arg
    _ask_group(ctx)


def _ask_group(ctx: Context, text: str = "") -> None:
    ctx.go("rec:group")
    ctx.reply(
        text or ctx._("Which residential group is it about? Type its name."),
        [[Button(ctx._("Not known"), "rec:grp:none")], _cancel(ctx)],
        free_text=True,
    )


@router.step("rec:group")
async def group_typed(ctx: Context) -> None:
    officer = await typing_officer(ctx)
    if officer is None:
        return
    ward = await wards.get_ward(ctx.session, officer.ward_id)
    found = await wards.match_groups(ctx.session, ward, ctx.inbound.text) if ward else []
    if len(found) == 1:
        _draft(ctx)["group_id"] = found[0].id
        _ask_urgent(ctx)
        return
    if not found:
        _ask_group(ctx, ctx._("No residential group has that name. Please type it again."))
        return
    ctx.reply(
        ctx._("Which one?"),
        [
            *([Button(g.name, f"rec:grp:{g.id}")] for g in found[:GROUP_CHOICES]),
            [Button(ctx._("Not known"), "rec:grp:none")],
            _cancel(ctx),
        ],
        free_text=True,
    )


@police_action("rec:grp:", on=router)
async def group_chosen(ctx: Context, officer: Officer) -> None:
    draft = _draft(ctx)
    if "category" not in draft:
        await start(ctx, officer)
        return
    if ctx.action_arg == "none":
        draft["group_id"] = None
    else:
        group = None
        if ctx.action_arg.isascii() and ctx.action_arg.isdecimal() and len(ctx.action_arg) <= 10:
            group = await wards.get_group(ctx.session, int(ctx.action_arg))
        if group is None or group.ward_id != officer.ward_id or not group.active:
            _ask_group(ctx)
            return
        draft["group_id"] = group.id
    _ask_urgent(ctx)


def _ask_urgent(ctx: Context) -> None:
    ctx.go("")
    ctx.reply(
        ctx._("Is it urgent: is someone in danger now, or is it happening now?"),
        [
            [Button(ctx._("Yes, urgent"), "rec:urgent:yes")],
            [Button(ctx._("No"), "rec:urgent:no")],
            _cancel(ctx),
        ],
    )


@police_action("rec:urgent:", on=router)
async def urgency_chosen(ctx: Context, officer: Officer) -> None:
    draft = _draft(ctx)
    if "category" not in draft or ctx.action_arg not in ("yes", "no"):
        await start(ctx, officer)
        return
    draft["urgent"] = ctx.action_arg == "yes"
    ctx.go("rec:text")
    ctx.reply(
        ctx._(
            "Type what was reported: what, where, when. Do not write the name or the phone "
            "number of the person who reported it."
        ),
        [_cancel(ctx)],
        free_text=True,
    )


@router.step("rec:text", prose=True)
async def text_typed(ctx: Context) -> None:
    if await typing_officer(ctx) is None:
        return
    text = ctx.inbound.text.strip()
    if not text or len(text) > MOST_CHARS:
        ctx.reply(
            ctx._("Please type what was reported, in at most 4000 characters."),
            [_cancel(ctx)],
            free_text=True,
        )
        return
    draft = _draft(ctx)
    draft["text"] = text
    ctx.go("")
    group_id = draft.get("group_id")
    group = await wards.get_group(ctx.session, group_id) if isinstance(group_id, int) else None
    preview = text if len(text) <= 300 else text[:300] + "…"
    ctx.reply(
        ctx._(
            "Record this tip?\nSource: {source}\nCategory: {category}\nResidential group: "
            "{tdp}\nUrgent: {urgent}\n\n{text}"
        ).format(
            source=ctx._(SOURCE_LABELS[TipSource(str(draft["source"]))]),
            category=ctx._(CATEGORIES[str(draft["category"])]),
            tdp=group.name if group else ctx._("not known"),
            urgent=ctx._("yes") if draft.get("urgent") else ctx._("no"),
            text=preview,
        ),
        [[Button(ctx._("Record it"), "rec:save")], _cancel(ctx)],
        protect=True,
    )


@police_action("rec:save", on=router)
async def save(ctx: Context, officer: Officer) -> None:
    draft = ctx.state.data.get(DRAFT)
    if not isinstance(draft, dict) or not {"source", "category", "text"} <= set(draft):
        ctx.reply(ctx._("Nothing to record. Start again with /ghitin."))  # a stale button
        return
    group_id = draft.get("group_id")
    received = Received(
        ward_id=officer.ward_id,
        group_id=group_id if isinstance(group_id, int) else None,
        source=TipSource(str(draft["source"])),
        category=str(draft["category"]),
        urgent=bool(draft.get("urgent")),
        content={"what": str(draft["text"])},
        received_at=utcnow(),
    )
    s = ctx.services
    try:
        tip, receipt = await triage.record_received(
            ctx.session, s.vault, s.receipts, s.audit, s.sla, officer, received
        )
    except RecordRefused:
        ctx.reply(ctx._("This tip could not be recorded. Start again with /ghitin."))
        return
    ctx.state.data.pop(DRAFT, None)
    await notify_new_tip(ctx.session, s, tip)
    ctx.reply(
        ctx._(
            "✓ Recorded as tip {code}. If the person who reported it wants to follow it "
            "anonymously, give them, and only them, this receipt:\nCode: {code}\nSecret: "
            "{secret}\nThey send /kiemtra in a private chat with the bot."
        ).format(code=tip.code, secret=receipt.secret),
        [[Button(ctx._("Open tip {code}").format(code=tip.code), f"police:tip:{tip.code}")]],
        protect=True,
        delete_after=s.settings.tip_view_seconds,
    )


@police_action("rec:cancel", on=router)
async def cancel(ctx: Context, officer: Officer) -> None:
    ctx.state.data.pop(DRAFT, None)
    ctx.go("")
    ctx.reply(ctx._("Cancelled. Nothing was recorded."))
