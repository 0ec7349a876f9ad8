"""Report a tip: the wizard a resident walks through, step by step.

category → residential group → where → when → what happened → files → contact →
confirm. Every step has Back and Cancel; the draft lives sealed in the conversation, so
a restart resumes it. "Danger now" shows the emergency number before anything else.
Nothing is acknowledged before it is committed: the receipt is a reply, and replies go
out only after the transaction that left the tip, sealed, for the mixer (bot/mixer.py),
which stores it in the tips table at a random time within minutes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from enum import StrEnum

from engine.conversation import Context, Router
from handlers.flows import DraftStep, ReportDraft, Resident
from handlers.guards import is_commander
from handlers.resident.cleanup import offer_cleanup
from handlers.start import ask_ward, current_ward, show_menu
from kernel import hints
from kernel.actions import (
    DANGER_NOW,
    MenuHome,
    ReportBack,
    ReportCancel,
    ReportCategory,
    ReportContact,
    ReportContinue,
    ReportDanger,
    ReportDiscard,
    ReportFilesDone,
    ReportGroup,
    ReportGroupList,
    ReportGroupOther,
    ReportSend,
    ReportStart,
    ReportWhatDone,
    ReportWhen,
    ReportWhereSkip,
    WardReportMonth,
)
from kernel.categories import CATEGORIES, WHEN
from kernel.clock import utcnow
from kernel.i18n import N_
from kernel.messages import Attachment, Button
from storage import conversations, rate_limits, tips, wards
from storage.attachments import MAX_BYTES, MAX_FILES, AttachmentRejected, CleanFile, RejectReason
from storage.conversations import DraftFileData
from storage.models import ResidentialGroup, floor_minute
from storage.sandbox import FileSandbox

router = Router("report")

MAX_TEXT = 4000
MAX_WHAT = 16000
GROUP_PAGE = 8

STEPS = tuple(DraftStep)


class Step(StrEnum):
    """The wizard's steps, as the conversation's step (what typed text answers)."""

    CATEGORY = "report:category"
    GROUP = "report:group"
    WHERE = "report:where"
    WHEN = "report:when"
    WHAT = "report:what"
    FILES = "report:files"
    CONTACT = "report:contact"
    CONFIRM = "report:confirm"
    SENT = "report:sent"  # nothing typed is answered there: a marker that it went


def _draft(ctx: Context) -> ReportDraft:
    return ctx.flow(ReportDraft)


def _nav(ctx: Context) -> list[Button]:
    return [Button(ctx._("◀ Back"), ReportBack()), Button(ctx._("✖ Cancel"), ReportCancel())]


def _limits(ctx: Context) -> list[rate_limits.Limit]:
    settings = ctx.services.settings
    return [
        rate_limits.Limit(settings.tips_per_hour, 1),
        rate_limits.Limit(settings.tips_per_day, 24),
    ]


def _count_sent(ctx: Context) -> None:
    """When this chat sent its tips (the last day, to the minute), in its sealed state
    only: a counter row would be written beside each tip and tie them to one person."""
    ctx.state.tips_sent = [*_sent(ctx), floor_minute(utcnow()).isoformat()]


def _sent(ctx: Context) -> list[str]:
    day_ago = utcnow() - timedelta(hours=24)
    return [t for t in ctx.state.tips_sent if datetime.fromisoformat(t) > day_ago]


async def _rate_limited(ctx: Context) -> bool:
    sent = [datetime.fromisoformat(t) for t in _sent(ctx)]
    decision = rate_limits.decide(sent, _limits(ctx), utcnow())
    if decision.allowed:
        return False
    minutes = max(1, round(decision.retry_after / timedelta(minutes=1)))
    ctx.reply(
        ctx._(
            "You have sent several tips in a short time. To keep the service working for "
            "everyone, please wait about {minutes} minutes before sending another. "
            "What you have already sent is safe. If someone is in danger, call 113."
        ).format(minutes=minutes),
        [[Button(ctx._("Menu"), MenuHome())]],
    )
    return True


# ---- starting -------------------------------------------------------------------------


@router.command("report", "baotin")
@router.action(ReportStart)
async def start(ctx: Context) -> None:
    if ctx.command == "report" and await is_commander(ctx):
        # A commander's typed /report is the monthly report (handlers/police/ward_report.py);
        # /baotin, the "Report a tip" button and its number still open the tip wizard.
        await ctx.follow(WardReportMonth.typed(ctx.args))
        return
    await _begin(ctx, danger=False)


@router.command("danger", "khancap")
@router.action(ReportDanger)
async def danger(ctx: Context) -> None:
    await _begin(ctx, danger=True)


async def _begin(ctx: Context, *, danger: bool) -> None:
    if danger:
        # Before any other step, and before anything that could fail or ask a question.
        ctx.reply(_emergency_text(ctx))
    ward = await current_ward(ctx)
    if ward is None:
        await ask_ward(ctx, ReportDanger() if danger else ReportStart())
        return
    if await _rate_limited(ctx):
        return
    if _draft(ctx).category and not danger:
        await _resume(ctx)
        return
    await _discard_draft(ctx)
    draft = _draft(ctx)
    draft.ward_id = ward.id
    ctx.start_trace()
    if danger:
        draft.category, draft.urgent, draft.when = "danger", True, "now"
        await ask_group(ctx)
    else:
        await ask_category(ctx)


def _emergency_text(ctx: Context) -> str:
    return ctx._(
        "🚨 If someone is in danger now, call 113 immediately.\n"
        "Stay away from the person and keep others away. Do not try to stop them yourself.\n"
        "When you are safe, you can also tell the ward police here."
    )


async def _resume(ctx: Context) -> None:
    ctx.reply(ctx._("You have a report you did not finish. Let us continue where you stopped."))
    await _ask(ctx, _draft(ctx).step)


# ---- navigation -------------------------------------------------------------------------


async def _ask(ctx: Context, step: DraftStep) -> None:
    asks = {
        DraftStep.CATEGORY: ask_category,
        DraftStep.GROUP: ask_group,
        DraftStep.WHERE: ask_where,
        DraftStep.WHEN: ask_when,
        DraftStep.WHAT: ask_what,
        DraftStep.FILES: ask_files,
        DraftStep.CONTACT: ask_contact,
        DraftStep.CONFIRM: ask_confirm,
    }
    await asks[step](ctx)


def _at(ctx: Context, step: DraftStep) -> None:
    _draft(ctx).step = step
    ctx.go(Step(f"report:{step.value}"))


@router.action(ReportBack)
async def back(ctx: Context) -> None:
    draft = _draft(ctx)
    if draft.empty:
        await show_menu(ctx, ctx._("Please choose:"))
        return
    index = STEPS.index(draft.step)
    if index == 0 or (index == 1 and draft.category == "danger"):
        ctx.reply(
            ctx._("Leave this report? What you wrote will be deleted."),
            [
                [Button(ctx._("Yes, delete it"), ReportDiscard())],
                [Button(ctx._("No, continue"), ReportContinue())],
            ],
        )
        return
    await _ask(ctx, STEPS[index - 1])


@router.action(ReportCancel)
async def cancel(ctx: Context) -> None:
    if _draft(ctx).empty:
        await show_menu(ctx, ctx._("Please choose:"))
        return
    ctx.reply(
        ctx._("Cancel this report? What you wrote will be deleted."),
        [
            [Button(ctx._("Yes, delete it"), ReportDiscard())],
            [Button(ctx._("No, continue"), ReportContinue())],
        ],
    )


@router.action(ReportContinue)
async def keep_going(ctx: Context) -> None:
    if _draft(ctx).empty:
        await show_menu(ctx, ctx._("Please choose:"))
        return
    await _ask(ctx, _draft(ctx).step)


@router.action(ReportDiscard)
async def discard(ctx: Context) -> None:
    await _discard_draft(ctx)
    await show_menu(ctx, ctx._("The report was deleted. Nothing was sent."))


async def _discard_draft(ctx: Context) -> None:
    ctx.end_flow(ReportDraft)
    await conversations.drop_draft_files(ctx.session, ctx.stored)


# ---- category ---------------------------------------------------------------------------


async def ask_category(ctx: Context) -> None:
    _at(ctx, DraftStep.CATEGORY)
    rows = [[Button(ctx._("🚨 Someone is in danger now"), ReportCategory(DANGER_NOW))]]
    rows += [[Button(ctx._(label), ReportCategory(key))] for key, label in CATEGORIES.items()]
    rows.append(_nav(ctx))
    ctx.reply(ctx._("What is your tip about?"), rows)


@router.action(ReportCategory)
async def category_chosen(ctx: Context) -> None:
    draft = _draft(ctx)
    if draft.empty:
        await start(ctx)
        return
    key = ctx.action(ReportCategory).category
    if key == DANGER_NOW:
        ctx.reply(_emergency_text(ctx))
        draft.category, draft.urgent, draft.when = "danger", True, "now"
    elif key in CATEGORIES:
        if key == "danger":
            ctx.reply(_emergency_text(ctx))
        draft.category = key
        draft.urgent = key == "danger"
    else:
        await ask_category(ctx)
        return
    await ask_group(ctx)


@router.step(Step.CATEGORY)
async def category_typed(ctx: Context) -> None:
    if _took_location(ctx):
        await ask_category(ctx)
        return
    ctx.reply(ctx._("Please choose one of the options, by its number or its button."))
    await ask_category(ctx)


# ---- residential group ----------------------------------------------------------------


async def ask_group(ctx: Context) -> None:
    _at(ctx, DraftStep.GROUP)
    preset = ctx.flow(Resident).preset_group
    group = await wards.get_group(ctx.session, preset) if preset is not None else None
    if group is not None and group.ward_id == _draft(ctx).ward_id:
        ctx.reply(
            ctx._("Is it in residential group {name}?").format(name=group.name),
            [
                [Button(ctx._("Yes"), ReportGroup(group.id))],
                [Button(ctx._("Another residential group"), ReportGroupOther())],
                [Button(ctx._("I don't know"), ReportGroup(None))],
                _nav(ctx),
            ],
        )
        return
    _ask_group_name(ctx)


def _ask_group_name(ctx: Context, text: str | None = None) -> None:
    ctx.reply(
        text
        or ctx._(
            "Which residential group (tổ dân phố) is it in? Type its name; accents are not "
            "needed (for example: nam hai). Or choose:"
        ),
        [
            [Button(ctx._("Show the list"), ReportGroupList(0))],
            [Button(ctx._("I don't know"), ReportGroup(None))],
            _nav(ctx),
        ],
    )


@router.action(ReportGroupOther)
async def group_other(ctx: Context) -> None:
    ctx.flow(Resident).preset_group = None
    _at(ctx, DraftStep.GROUP)
    _ask_group_name(ctx)


@router.action(ReportGroupList)
async def group_list(ctx: Context) -> None:
    draft = _draft(ctx)
    ward = await current_ward(ctx)
    if draft.empty or ward is None:
        await start(ctx)
        return
    groups = [g for g in await wards.list_groups(ctx.session, ward) if g.active]
    page = ctx.action(ReportGroupList).page
    if page * GROUP_PAGE >= len(groups):
        page = 0  # a page that is not there (an outdated button): the first
    chunk = groups[page * GROUP_PAGE : (page + 1) * GROUP_PAGE]
    _at(ctx, DraftStep.GROUP)
    if not chunk:
        _ask_group_name(ctx, ctx._("The ward has no residential groups listed. Choose:"))
        return
    rows = [[Button(g.name, ReportGroup(g.id))] for g in chunk]
    paging = []
    if page > 0:
        paging.append(Button(ctx._("◀ Previous"), ReportGroupList(page - 1)))
    if (page + 1) * GROUP_PAGE < len(groups):
        paging.append(Button(ctx._("Next ▶"), ReportGroupList(page + 1)))
    if paging:
        rows.append(paging)
    rows += [[Button(ctx._("I don't know"), ReportGroup(None))], _nav(ctx)]
    pages = (len(groups) + GROUP_PAGE - 1) // GROUP_PAGE
    ctx.reply(
        ctx._("Residential groups (page {page} of {pages}):").format(page=page + 1, pages=pages),
        rows,
    )


@router.step(Step.GROUP)
async def group_typed(ctx: Context) -> None:
    if _took_location(ctx):
        await ask_group(ctx)
        return
    ward = await current_ward(ctx)
    text = ctx.inbound.text.strip()
    if ward is None or _draft(ctx).empty:
        await start(ctx)
        return
    if not text or len(text) > 120:
        _ask_group_name(ctx)
        return
    matches = await wards.match_groups(ctx.session, ward, text, limit=GROUP_PAGE)
    if len(matches) == 1:
        await _group_chosen(ctx, matches[0])
        return
    if not matches:
        _ask_group_name(
            ctx,
            ctx._(
                "I could not find a residential group called “{name}”. Please type it again, "
                "or choose:"
            ).format(name=text[:60]),
        )
        return
    rows = [[Button(g.name, ReportGroup(g.id))] for g in matches[:GROUP_PAGE]]
    rows += [[Button(ctx._("None of these"), ReportGroupOther())], _nav(ctx)]
    ctx.reply(ctx._("Which one do you mean?"), rows)


@router.action(ReportGroup)
async def group_picked(ctx: Context) -> None:
    draft = _draft(ctx)
    if draft.empty:
        await start(ctx)
        return
    group_id = ctx.action(ReportGroup).group_id
    if group_id is None:  # "I don't know"
        draft.group_id = None
        await ask_where(ctx)
        return
    group = await wards.get_group(ctx.session, group_id)
    if group is None or group.ward_id != draft.ward_id or not group.active:
        _ask_group_name(ctx)  # an old or forged button, or a group the ward retired
        return
    await _group_chosen(ctx, group)


async def _group_chosen(ctx: Context, group: ResidentialGroup) -> None:
    _draft(ctx).group_id = group.id
    ctx.reply(ctx._("✓ Residential group: {name}").format(name=group.name))
    await ask_where(ctx)


# ---- where ------------------------------------------------------------------------------


async def ask_where(ctx: Context) -> None:
    _at(ctx, DraftStep.WHERE)
    ctx.reply(
        ctx._(
            "Where is it? Describe the place: street, alley, house number, or a landmark.\n"
            "You may also send a location pin. Careful: a pin shows an exact position, so "
            "do not send one from your own home."
        ),
        [[Button(ctx._("Skip"), ReportWhereSkip())], _nav(ctx)],
    )


@router.step(Step.WHERE, prose=True)
async def where_typed(ctx: Context) -> None:
    draft = _draft(ctx)
    if ctx.inbound.location is not None:
        latitude, longitude = ctx.inbound.location
        draft.location = [round(latitude, 6), round(longitude, 6)]
        ctx.reply(ctx._("✓ Location pin received."))
        if not ctx.inbound.text.strip():
            await ask_when_or_skip(ctx)
            return
    text = await _accept_text(ctx)
    if text is None:
        return
    draft.where = text
    await ask_when_or_skip(ctx)


@router.action(ReportWhereSkip)
async def where_skipped(ctx: Context) -> None:
    await ask_when_or_skip(ctx)


async def ask_when_or_skip(ctx: Context) -> None:
    """'Danger now' already said when: it is happening now."""
    if _draft(ctx).category == "danger" and _draft(ctx).urgent:
        _draft(ctx).when = "now"
        await ask_what(ctx)
        return
    await ask_when(ctx)


# ---- when -------------------------------------------------------------------------------


async def ask_when(ctx: Context) -> None:
    _at(ctx, DraftStep.WHEN)
    rows = [[Button(ctx._(label), ReportWhen(key))] for key, label in WHEN.items()]
    ctx.reply(ctx._("When did it happen?"), [*rows, _nav(ctx)])


@router.action(ReportWhen)
async def when_chosen(ctx: Context) -> None:
    when = ctx.action(ReportWhen).when
    if when not in WHEN or _draft(ctx).empty:
        await ask_when(ctx)
        return
    _draft(ctx).when = when
    await ask_what(ctx)


@router.step(Step.WHEN)
async def when_typed(ctx: Context) -> None:
    if _took_location(ctx):
        await ask_when(ctx)
        return
    ctx.reply(ctx._("Please choose one of the options, by its number or its button."))
    await ask_when(ctx)


# ---- what -------------------------------------------------------------------------------


async def ask_what(ctx: Context) -> None:
    _at(ctx, DraftStep.WHAT)
    parts = _draft(ctx).what
    if parts:
        ctx.reply(
            ctx._("You can add more, or continue."),
            [[Button(ctx._("Continue ▶"), ReportWhatDone())], _nav(ctx)],
        )
        return
    ctx.reply(
        ctx._(
            "What happened? Describe what you saw or know: what, where exactly, how often, "
            "what the people look like. Do not write your own name.\n"
            "You can send it in several messages."
        ),
        [_nav(ctx)],
    )


@router.step(Step.WHAT, prose=True)
async def what_typed(ctx: Context) -> None:
    if _took_location(ctx):
        await ask_what(ctx)
        return
    draft = _draft(ctx)
    text = await _accept_text(ctx, limit=None)
    if text is None:
        return
    parts = draft.what
    if sum(len(p) for p in parts) + len(text) > MAX_WHAT:
        ctx.reply(
            ctx._(
                "This report is already long. I could not add that message; what you wrote "
                "before is kept. Please continue with what you have, or shorten it."
            ),
            [[Button(ctx._("Continue ▶"), ReportWhatDone())], _nav(ctx)],
        )
        return
    parts.append(text)
    if len(text) > MAX_TEXT:
        ctx.reply(
            ctx._(
                "Your message is longer than {limit} characters. I kept all of it; nothing "
                "was lost."
            ).format(limit=MAX_TEXT)
        )
    ctx.reply(
        ctx._("✓ Noted. You can send more, or continue."),
        [[Button(ctx._("Continue ▶"), ReportWhatDone())], _nav(ctx)],
    )


@router.action(ReportWhatDone)
async def what_done(ctx: Context) -> None:
    if not _draft(ctx).what:
        ctx.reply(ctx._("Please describe what happened first."))
        await ask_what(ctx)
        return
    await ask_files(ctx)


# ---- files ------------------------------------------------------------------------------


async def ask_files(ctx: Context) -> None:
    _at(ctx, DraftStep.FILES)
    count = await conversations.count_draft_files(ctx.session, ctx.stored)
    label = ctx._("Done ▶") if count else ctx._("No files, continue ▶")
    ctx.reply(
        ctx._(
            "You may send photos or PDF files ({max} at most, up to 20 MB each). Hidden data "
            "in them, such as where a photo was taken, is removed before they are stored."
        ).format(max=MAX_FILES),
        [[Button(label, ReportFilesDone())], _nav(ctx)],
    )


@router.step(Step.FILES, prose=True)
async def file_sent(ctx: Context) -> None:
    if _took_location(ctx):
        await ask_files(ctx)
        return
    if not ctx.inbound.attachments:
        if ctx.inbound.text.strip():
            text = await _accept_text(ctx, limit=None)
            if text is None:
                return
            _draft(ctx).what.append(text[:MAX_TEXT])
            ctx.reply(ctx._("✓ Added to the description."))
        await ask_files(ctx)
        return
    if ctx.inbound.text.strip():  # a caption belongs to the description
        _draft(ctx).what.append(ctx.inbound.text.strip()[:MAX_TEXT])
    room = MAX_FILES - await conversations.count_draft_files(ctx.session, ctx.stored)
    wanted: list[Attachment] = []
    for attachment in ctx.inbound.attachments:
        if len(wanted) >= room:
            ctx.reply(
                ctx._("You have already sent {max} files, the most I can take.").format(
                    max=MAX_FILES
                )
            )
            break
        if attachment.kind in ("voice", "audio"):
            ctx.reply(
                ctx._(
                    "I cannot accept voice or audio messages: a voice can identify you. "
                    "Please type instead."
                )
            )
        elif attachment.kind not in ("photo", "document"):
            ctx.reply(ctx._("I can only take photos and PDF files here."))
        elif attachment.size > MAX_BYTES:
            ctx.reply(_rejection(ctx, RejectReason.TOO_LARGE))
        else:
            wanted.append(attachment)
    if not wanted:
        await ask_files(ctx)
        return
    # Downloading and cleaning take seconds, a hostile file up to the sandbox's limits:
    # done after this transaction, so nobody else waits for it.
    fetch, sandbox = ctx.channel.fetch, ctx.services.sandbox

    async def clean_all() -> list[CleanFile | RejectReason | None]:
        return [await _fetch_and_clean(fetch, sandbox, attachment) for attachment in wanted]

    ctx.continue_after(clean_all, _files_cleaned)


async def _fetch_and_clean(
    fetch: Callable[[Attachment], Awaitable[bytes]], sandbox: FileSandbox, attachment: Attachment
) -> CleanFile | RejectReason | None:
    """The cleaned file, why it was refused, or None when it could not be downloaded."""
    try:
        return await sandbox.clean(await fetch(attachment))
    except AttachmentRejected as rejected:
        return rejected.reason
    except LookupError:
        return None


async def _files_cleaned(ctx: Context, results: list[CleanFile | RejectReason | None]) -> None:
    if _draft(ctx).step is not DraftStep.FILES or _draft(ctx).empty:
        ctx.reply(ctx._("That file arrived after the report was closed, so it was not kept."))
        return
    for result in results:
        count = await conversations.count_draft_files(ctx.session, ctx.stored)
        if isinstance(result, RejectReason):
            ctx.reply(_rejection(ctx, result))
        elif result is None:
            ctx.reply(ctx._("I could not download that file. Please try sending it again."))
        elif count >= MAX_FILES:
            ctx.reply(
                ctx._("You have already sent {max} files, the most I can take.").format(
                    max=MAX_FILES
                )
            )
        else:
            await conversations.add_draft_file(
                ctx.session,
                ctx.services.vault,
                ctx.stored,
                DraftFileData(result.kind, result.mime_type, result.data),
            )
            ctx.reply(
                ctx._("✓ File {number} received; hidden data removed.").format(number=count + 1)
            )
    await ask_files(ctx)


def _rejection(ctx: Context, reason: RejectReason) -> str:
    messages = {
        RejectReason.TOO_LARGE: N_(
            "That file is too large (over 20 MB, or a PDF over 200 pages). Please send a "
            "smaller one."
        ),
        RejectReason.EMPTY: N_("That file is empty."),
        RejectReason.UNSUPPORTED_TYPE: N_(
            "I can only take photos (JPEG, PNG, WebP) and PDF files. That file was not kept."
        ),
        RejectReason.UNREADABLE: N_("I could not read that file; it may be damaged."),
        RejectReason.ENCRYPTED: N_(
            "That PDF is protected with a password, so I cannot check it. Please send it "
            "without a password."
        ),
        RejectReason.TOO_MANY_PIXELS: N_("That image is too large. Please send a smaller one."),
        RejectReason.TOO_COMPLEX: N_(
            "I could not check that file safely in time, so it was not kept. Please send "
            "a simpler one: a photo taken with the camera, or a short PDF. Your report "
            "is kept."
        ),
        RejectReason.BUSY: N_(
            "Many files are being checked right now. Please send that file again in a "
            "minute; your report is kept."
        ),
    }
    return ctx._(messages.get(reason, messages[RejectReason.UNREADABLE]))


@router.action(ReportFilesDone)
async def files_done(ctx: Context) -> None:
    await ask_contact(ctx)


# ---- contact ----------------------------------------------------------------------------


async def ask_contact(ctx: Context) -> None:
    _at(ctx, DraftStep.CONTACT)
    ctx.reply(
        ctx._(
            "May the police send you follow-up questions through this bot? They never see "
            "your account, and you answer only if you want to."
        ),
        [
            [Button(ctx._("Yes, they may ask me"), ReportContact(allowed=True))],
            [Button(ctx._("No, do not contact me"), ReportContact(allowed=False))],
            _nav(ctx),
        ],
    )


@router.action(ReportContact)
async def contact_chosen(ctx: Context) -> None:
    if _draft(ctx).empty:
        await ask_contact(ctx)
        return
    _draft(ctx).contact = ctx.action(ReportContact).allowed
    await ask_confirm(ctx)


@router.step(Step.CONTACT)
async def contact_typed(ctx: Context) -> None:
    if _took_location(ctx):
        await ask_contact(ctx)
        return
    ctx.reply(ctx._("Please choose one of the options, by its number or its button."))
    await ask_contact(ctx)


# ---- confirm and send -------------------------------------------------------------------


async def ask_confirm(ctx: Context) -> None:
    _at(ctx, DraftStep.CONFIRM)
    draft = _draft(ctx)
    group = None
    if draft.group_id is not None:
        group = await wards.get_group(ctx.session, draft.group_id)
    what = _shortened(ctx, "\n".join(draft.what), 1500)
    files = await conversations.count_draft_files(ctx.session, ctx.stored)
    lines = [
        ctx._("Please check your report before sending:"),
        "",
        ctx._("Topic: {value}").format(value=_category_label(ctx, draft)),
        ctx._("Residential group: {value}").format(
            value=group.name if group else ctx._("not known")
        ),
        ctx._("Place: {value}").format(
            value=_shortened(ctx, draft.where, 500) or ctx._("not given")
        ),
    ]
    if draft.location:
        lines.append(ctx._("Location pin: attached"))
    lines += [
        ctx._("When: {value}").format(value=ctx._(WHEN.get(draft.when or "", N_("not given")))),
        ctx._("What happened: {value}").format(value=what),
        ctx._("Files: {count}").format(count=files),
        ctx._("Follow-up questions: {value}").format(
            value=ctx._("allowed") if draft.contact else ctx._("not allowed")
        ),
    ]
    ctx.reply(
        "\n".join(lines),
        [[Button(ctx._("✅ Send"), ReportSend())], _nav(ctx)],
    )


def _shortened(ctx: Context, text: str, limit: int) -> str:
    """The confirm screen must fit in one chat message; the draft keeps everything."""
    if len(text) <= limit:
        return text
    return text[:limit] + ctx._("… (and {count} more characters)").format(count=len(text) - limit)


def _category_label(ctx: Context, draft: ReportDraft) -> str:
    label = ctx._(CATEGORIES.get(draft.category or "", N_("Something else")))
    return ("🚨 " + label) if draft.urgent else label


@router.step(Step.CONFIRM)
async def confirm_typed(ctx: Context) -> None:
    if _took_location(ctx):
        await ask_confirm(ctx)
        return
    ctx.reply(ctx._("Please choose “Send”, or go back to change something."))
    await ask_confirm(ctx)


@router.action(ReportSend)
async def send(ctx: Context) -> None:
    draft = _draft(ctx)
    ward_id, category, contact = draft.ward_id, draft.category, draft.contact
    if (
        draft.step is not DraftStep.CONFIRM
        or ward_id is None
        or category is None
        or not draft.what
        or contact is None
    ):
        await (keep_going(ctx) if not draft.empty else show_menu(ctx, ctx._("Please choose:")))
        return
    if await _rate_limited(ctx):
        return
    what = "\n".join(draft.what)
    hint = hints.suggest(
        category,
        draft.when,
        " ".join([what, draft.where]),
        urgent=draft.urgent,
    )
    files = await conversations.draft_files(ctx.session, ctx.services.vault, ctx.stored)
    content = {
        "what": what,
        "where": draft.where,
        "location": draft.location,
        "when": draft.when,
        "hint_reasons": list(hint.reasons),
    }
    receipt, secret_hash = await tips.new_receipt(ctx.session, ctx.services.receipts)
    urgent = draft.urgent
    submission = tips.Submission(
        ward_id=ward_id,
        group_id=draft.group_id,
        category=category,
        content=content,
        route=ctx.route if contact else None,
        code=receipt.code,
        secret_hash=secret_hash,
        submitted_at=utcnow(),
        priority=hint.priority,
        urgent=urgent,
        language=_tip_language(ctx, what),
        attachments=[tips.NewAttachment(f.kind, f.mime_type, f.data) for f in files],
    )
    # Only a sealed drop is written with this conversation; the mixer stores the tip.
    await ctx.drop(submission.to_payload(), urgent=urgent, code=receipt.code)
    _count_sent(ctx)
    await _discard_draft(ctx)
    ctx.go(Step.SENT)
    ctx.reply(
        ctx._(
            "✅ Your tip has been received. Thank you.\n\n"
            "Tip code: {code}\n"
            "Secret: {secret}\n\n"
            "Keep both somewhere safe. With them you can check your tip, read the police's "
            "answers and add information, from any phone, with:\n"
            "/status {code} {secret}\n\n"
            "Nobody, not even the police, can find out who you are from them."
        ).format(code=receipt.code, secret=receipt.secret)
    )
    await offer_cleanup(ctx)


def _tip_language(ctx: Context, text: str) -> str:
    detected = ctx.services.langid.detect(text)
    return detected if detected != "und" else (ctx.state.language or ctx.language)


# ---- shared -----------------------------------------------------------------------------


def _took_location(ctx: Context) -> bool:
    """A pin sent after the 'where' step is kept too, wherever the wizard is."""
    if ctx.inbound.location is None or _draft(ctx).empty:
        return False
    latitude, longitude = ctx.inbound.location
    _draft(ctx).location = [round(latitude, 6), round(longitude, 6)]
    ctx.reply(ctx._("✓ Location pin received."))
    return True


async def _accept_text(ctx: Context, limit: int | None = MAX_TEXT) -> str | None:
    """The typed text of this message, or None after explaining what was wrong."""
    if ctx.inbound.attachments:
        kinds = {a.kind for a in ctx.inbound.attachments}
        if kinds & {"voice", "audio"}:
            ctx.reply(
                ctx._(
                    "I cannot accept voice or audio messages: a voice can identify you. "
                    "Please type instead."
                )
            )
        else:
            ctx.reply(ctx._("Please type your answer here; you can send photos a little later."))
        return None
    text = ctx.inbound.text.strip()
    if not text:
        ctx.reply(ctx._("That message was empty. Please type your answer."))
        return None
    if limit is not None and len(text) > limit:
        ctx.reply(
            ctx._(
                "That is longer than {limit} characters. Please shorten it; what you sent "
                "before is kept."
            ).format(limit=limit),
            [_nav(ctx)],
        )
        return None
    return text
