"""Triage: ward police work the tip queue from a private chat with the bot.

Only enrolled officers of the tip's ward may use these commands; anyone else
(residents, strangers, revoked officers, an officer asking for a commander's command)
gets exactly the answer an unknown command gets, so nothing about the police side is
revealed. Tips are named by their 7-character code; another ward's tip is "not found".
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from engine.conversation import Context, Router
from handlers.flows import NoteFor
from handlers.guards import officer_account, police, police_action, typing_officer
from handlers.ids import parse_typed_id
from handlers.police import audit_text
from handlers.resident.status import ask_reporter
from handlers.start import home
from kernel.actions import (
    PoliceAck,
    PoliceAskPrepared,
    PoliceClaim,
    PoliceClose,
    PoliceCloseAs,
    PoliceNote,
    PoliceQueue,
    PoliceTip,
)
from kernel.categories import CATEGORIES, CATEGORY_WORDS, WHEN, category_for
from kernel.clock import utcnow
from kernel.i18n import N_
from kernel.messages import Button, Media
from kernel.search_keys import search_key
from kernel.tip_sources import SOURCE_LABELS, TipSource
from notices import tell_reporter
from storage import officers, tips, triage, wards
from storage.models import Officer, OfficerRole, Tip, TipStatus
from storage.session import AsyncSession
from storage.tips import EVENT_LABELS, EventKind
from storage.triage import (
    OUTCOME_LABELS,
    OUTCOME_WORDS,
    STATUS_LABELS,
    Outcome,
    TransitionRefused,
    outcome_for,
)

router = Router("triage")


class Step(StrEnum):
    NOTE = "police:note"


# Questions an officer can put to the reporter with one tap from an opened tip.
PREPARED = (
    N_("When does this usually happen (days, hours)?"),
    N_("Can you describe the place more exactly (house number, a landmark)?"),
    N_("How many people are involved, and how could they be recognised?"),
)

PAGE = 10
PRIORITY_MARK = {1: "🔴", 2: "🟠", 3: "🟢"}
# How each command is used, with its placeholders in the reader's language.
USAGE_TIP = N_("/tip CODE")
USAGE_CLAIM = N_("/claim CODE")
USAGE_ACK = N_("/tiepnhan CODE")
USAGE_ASSIGN = N_("/assign CODE OFFICER")
USAGE_TRIAGE = N_("/triage CODE CATEGORY PRIORITY (1, 2 or 3)")
USAGE_NOTE = N_("/note CODE TEXT")
USAGE_ASK = N_("/ask CODE TEXT")
USAGE_REPLY = N_("/reply CODE TEXT")
USAGE_CLOSE = N_(
    "/close CODE {confirmed}|{unfounded}|{referred}, or /close CODE {duplicate} OTHER-CODE"
)
USAGE_MERGE = N_("/merge CODE OTHER-CODE")
USAGE_AUDIT = N_("/audit CODE")


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
    """`usage`: one of the USAGE_ messages, not yet translated."""
    ctx.reply(ctx._("Usage: {usage}").format(usage=ctx._(usage).format(**_outcome_words(ctx))))


def _outcome_words(ctx: Context) -> dict[str, str]:
    """The word the reader types for each outcome: the Vietnamese one without accents, or
    the stored value for a reader in English (both are accepted from everyone)."""
    return {
        outcome.value: words[0] if ctx.language == "vi" else outcome.value
        for outcome, words in OUTCOME_WORDS.items()
    }


def _category_words(ctx: Context) -> str:
    """One line per category: the word /triage takes for it, and what it means."""
    return "\n".join(
        f"• {words[0] if ctx.language == 'vi' else key}: {ctx._(CATEGORIES[key])}"
        for key, words in CATEGORY_WORDS.items()
    )


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
    if officer.role == OfficerRole.CITY:  # figures only, never a tip
        ctx.reply(
            "\n".join(
                [
                    ctx._("Commands for the city's staff:"),
                    ctx._("/thanhpho [PERIOD]: every ward's figures side by side, never a tip"),
                ]
            )
        )
        return
    lines = [
        ctx._("Commands for ward police:"),
        ctx._("/queue: open tips, most urgent first"),
        ctx._("/tip CODE: read a tip"),
        ctx._("/claim CODE: take a tip yourself"),
        ctx._("/tiepnhan CODE: acknowledge a tip now, read it later"),
        ctx._("/triage CODE CATEGORY PRIORITY: set the category and priority (1 to 3)"),
        ctx._("/note CODE TEXT: an internal note"),
        ctx._("/ask CODE TEXT: an anonymous question to the reporter"),
        ctx._("/reply CODE TEXT: a public answer the reporter sees"),
        ctx._(
            "/close CODE OUTCOME: {confirmed}, {unfounded}, {duplicate} OTHER-CODE, or {referred}"
        ).format(**_outcome_words(ctx)),
        ctx._("/merge CODE OTHER-CODE: the same matter as another tip"),
        ctx._("/stats: the queue in numbers"),
        ctx._("/progress: drug-free residential groups against the targets"),
        ctx._("/drugfree TDP: record a residential group's drug-free status"),
        ctx._("/orgpledge: record a school's, business's or TDP's pledge"),
        ctx._(
            "/ghitin: record a tip received by phone, in a tip box, in person, VNeID or "
            "from another agency"
        ),
        ctx._("/hoso CODE: the tip as a PDF record for the case file (your own tips)"),
        ctx._("/hommthu: the residential groups' tip boxes and boards, and box openings"),
    ]
    if officer.role == OfficerRole.COMMANDER:
        lines += [
            ctx._("/khuvuc: the area officer of each residential group"),
            ctx._("/nhanxet [PERIOD]: difficulties and proposals for the report"),
            ctx._("/thanhpho [PERIOD]: every ward's figures side by side, never a tip"),
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


def _source(tip: Tip) -> TipSource:
    return TipSource(tip.source) if tip.source in set(TipSource) else TipSource.BOT


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
    tip = await _tip_argument(ctx, officer, USAGE_TIP)
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
        ctx._("Source: {source}").format(source=ctx._(SOURCE_LABELS[_source(tip)])),
        ctx._("When it happened: {value}").format(value=_when_label(ctx, content.get("when"))),
        ctx._("Place: {value}").format(value=content.get("where") or "-"),
    ]
    if content.get("location"):
        latitude, longitude = content["location"]
        lines.append(ctx._("Location pin: {lat}, {lon}").format(lat=latitude, lon=longitude))
        lines.append(
            ctx._("Open it in a map app: {geo} or {web}").format(
                geo=f"geo:{latitude},{longitude}",
                web=f"https://www.openstreetmap.org/?mlat={latitude}&mlon={longitude}#map=18/{latitude}/{longitude}",
            )
        )
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
        if tip.sealed_route is not None:  # the next sensible steps, one tap each
            buttons += [
                [
                    Button(
                        ctx._("Ask: {question}").format(question=ctx._(q)),
                        PoliceAskPrepared(tip.code, n),
                    )
                ]
                for n, q in enumerate(PREPARED, start=1)
            ]
        buttons.append([Button(ctx._("Note…"), PoliceNote(tip.code))])
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
        [
            [Button(ctx._(OUTCOME_LABELS[outcome]), PoliceCloseAs(code, outcome))]
            for outcome in (Outcome.CONFIRMED, Outcome.UNFOUNDED, Outcome.REFERRED)
        ]
        + [[Button(ctx._("◀ Back"), PoliceTip(code))]],
    )


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


@police("tiepnhan", "ack", on=router)
async def acknowledge(ctx: Context, officer: Officer) -> None:
    """Between patrols: the tip is seen and taken in hand, its content read later."""
    tip = await _tip_argument(ctx, officer, USAGE_ACK)
    if tip is None:
        return
    if await triage.acknowledge(ctx.session, ctx.services.vault, ctx.services.audit, tip, officer):
        ctx.reply(
            ctx._("✓ Tip {code} acknowledged. Open it when you can: /tip {code}").format(
                code=tip.code
            )
        )
    else:
        ctx.reply(ctx._("Tip {code} was already acknowledged. /tip {code}").format(code=tip.code))


@police_action(PoliceAck, on=router)
async def acknowledge_button(ctx: Context, officer: Officer) -> None:
    ctx.args = ctx.action(PoliceAck).code
    await acknowledge(ctx, officer)


@police_action(PoliceAskPrepared, on=router)
async def ask_prepared(ctx: Context, officer: Officer) -> None:
    pressed = ctx.action(PoliceAskPrepared)
    ctx.args = f"{pressed.code} {ctx._(PREPARED[pressed.question - 1])}"
    await ask(ctx, officer)


@police_action(PoliceNote, on=router)
async def note_button(ctx: Context, officer: Officer) -> None:
    tip = await _tip(ctx, officer, ctx.action(PoliceNote).code)
    if tip is None:
        return
    ctx.flow(NoteFor).code = tip.code
    ctx.go(Step.NOTE)
    ctx.reply(
        ctx._("Type the note for tip {code} (the reporter never sees it).").format(code=tip.code),
        free_text=True,
    )


@router.step(Step.NOTE, prose=True)
async def note_typed(ctx: Context) -> None:
    officer = await typing_officer(ctx)
    if officer is None:
        return
    code = ctx.flow(NoteFor).code
    ctx.end_flow(NoteFor)
    ctx.go(None)
    ctx.args = f"{code} {ctx.inbound.text.strip()}"
    await note(ctx, officer)


@police("claim", on=router)
async def claim(ctx: Context, officer: Officer) -> None:
    tip = await _tip_argument(ctx, officer, USAGE_CLAIM)
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
        _usage(ctx, USAGE_ASSIGN)
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
    # "/triage AB12CD3 mua bán 2": the category may be written in two words, with accents.
    parts = ctx.args.split()
    category = category_for(" ".join(parts[1:-1])) if len(parts) >= 3 else None
    if category is None or parts[-1] not in ("1", "2", "3"):
        _usage(ctx, USAGE_TRIAGE)
        ctx.reply(ctx._("Categories:") + "\n" + _category_words(ctx))
        return
    tip = await _tip(ctx, officer, parts[0])
    if tip is None:
        return
    if tip.status == TipStatus.CLOSED:
        ctx.reply(ctx._("Tip {code} is closed.").format(code=tip.code))
        return
    before = {"category": tip.category, "priority": tip.priority}
    tip.category, tip.priority = category, int(parts[-1])
    await triage.acknowledge(ctx.session, ctx.services.vault, ctx.services.audit, tip, officer)
    await ctx.services.audit.append(
        ctx.session,
        "triage",
        ward_id=tip.ward_id,
        tip_id=tip.id,
        officer_id=officer.id,
        detail={"before": before, "after": {"category": tip.category, "priority": tip.priority}},
    )
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
    found = await _text_command(ctx, officer, USAGE_NOTE)
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
    found = await _text_command(ctx, officer, USAGE_ASK)
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
    found = await _text_command(ctx, officer, USAGE_REPLY)
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
    # "xác minh" or "xacminh", "Trùng AB12CD3": officers type what is quickest.
    duplicate = len(parts) == 3 and outcome_for(parts[1]) == Outcome.DUPLICATE
    words = parts[1:2] if duplicate else parts[1:]
    outcome = outcome_for(" ".join(words)) if words else None
    if outcome is None or (outcome == Outcome.DUPLICATE) != duplicate:
        _usage(ctx, USAGE_CLOSE)
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
        _usage(ctx, USAGE_MERGE)
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
        ctx.session,
        ctx.services.vault,
        other,
        EventKind.NOTE,
        body=ctx._("Tip {code} was merged into this one.").format(code=tip.code),
        actor_officer_id=officer.id,
    )
    await ctx.services.audit.append(
        ctx.session,
        "merge",
        ward_id=tip.ward_id,
        tip_id=tip.id,
        officer_id=officer.id,
        detail={"into": other.id},
    )
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
    tip = await _tip_argument(ctx, officer, USAGE_AUDIT)
    if tip is None:
        return
    entries = await ctx.services.audit.history(ctx.session, tip.id)
    names = {o.id: o.label for o in await triage.ward_officers(ctx.session, officer.ward_id)}
    codes: dict[int, str] = {}
    for entry in entries:
        into = (entry.detail or {}).get("into")
        if entry.action == "merge" and isinstance(into, int) and into not in codes:
            other = await tips.get_tip(ctx.session, into)
            codes[into] = other.code if other is not None else "-"
    zone = ctx.services.settings.zone
    lines = [ctx._("History of tip {code}:").format(code=tip.code)]
    lines += [audit_text.line(ctx._, entry, zone, names, codes) for entry in entries]
    ctx.reply("\n".join(lines))
