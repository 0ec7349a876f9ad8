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
from typing import Any

from engine.conversation import Context, Router
from handlers.guards import is_commander
from handlers.ids import parse_id, parse_number
from handlers.resident.cleanup import offer_cleanup
from handlers.start import ask_ward, current_ward, show_menu
from kernel import hints
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

STEPS = ("category", "group", "where", "when", "what", "files", "contact", "confirm")


def _draft(ctx: Context) -> dict[str, Any]:
    return ctx.state.data.setdefault("draft", {})


def _nav(ctx: Context) -> list[Button]:
    return [Button(ctx._("◀ Back"), "report:back"), Button(ctx._("✖ Cancel"), "report:cancel")]


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
        [[Button(ctx._("Menu"), "menu:home")]],
    )
    return True


# ---- starting -------------------------------------------------------------------------


@router.command("report", "baotin")
@router.action("report:start")
async def start(ctx: Context) -> None:
    if ctx.command == "report" and await is_commander(ctx):
        # A commander's typed /report is the monthly report (handlers/police/ward_report.py);
        # /baotin, the "Report a tip" button and its number still open the tip wizard.
        await ctx.follow("wardreport:month:" + ctx.args.strip()[:7])
        return
    await _begin(ctx, danger=False)


@router.command("danger", "khancap")
@router.action("report:danger")
async def danger(ctx: Context) -> None:
    await _begin(ctx, danger=True)


async def _begin(ctx: Context, *, danger: bool) -> None:
    if danger:
        # Before any other step, and before anything that could fail or ask a question.
        ctx.reply(_emergency_text(ctx))
    ward = await current_ward(ctx)
    if ward is None:
        await ask_ward(ctx, "report:danger" if danger else "report:start")
        return
    if await _rate_limited(ctx):
        return
    if _draft(ctx).get("category") and not danger:
        await _resume(ctx)
        return
    await _discard_draft(ctx)
    draft = _draft(ctx)
    draft["ward_id"] = ward.id
    ctx.start_trace()
    if danger:
        draft.update(category="danger", urgent=True, when="now")
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
    await _ask(ctx, ctx.state.data.get("draft_step", "category"))


# ---- navigation -------------------------------------------------------------------------


async def _ask(ctx: Context, step: str) -> None:
    asks = {
        "category": ask_category,
        "group": ask_group,
        "where": ask_where,
        "when": ask_when,
        "what": ask_what,
        "files": ask_files,
        "contact": ask_contact,
        "confirm": ask_confirm,
    }
    await asks.get(step, ask_category)(ctx)


def _at(ctx: Context, step: str) -> None:
    ctx.state.data["draft_step"] = step
    ctx.go(f"report:{step}")


@router.action("report:back")
async def back(ctx: Context) -> None:
    step = ctx.state.data.get("draft_step", "category")
    if step not in STEPS or not _draft(ctx):
        await show_menu(ctx, ctx._("Please choose:"))
        return
    index = STEPS.index(step)
    if index == 0 or (index == 1 and _draft(ctx).get("category") == "danger"):
        ctx.reply(
            ctx._("Leave this report? What you wrote will be deleted."),
            [[Button(ctx._("Yes, delete it"), "report:discard")],
             [Button(ctx._("No, continue"), "report:continue")]],
        )  # fmt: skip
        return
    await _ask(ctx, STEPS[index - 1])


@router.action("report:cancel")
async def cancel(ctx: Context) -> None:
    if not _draft(ctx):
        await show_menu(ctx, ctx._("Please choose:"))
        return
    ctx.reply(
        ctx._("Cancel this report? What you wrote will be deleted."),
        [[Button(ctx._("Yes, delete it"), "report:discard")],
         [Button(ctx._("No, continue"), "report:continue")]],
    )  # fmt: skip


@router.action("report:continue")
async def keep_going(ctx: Context) -> None:
    if not _draft(ctx):
        await show_menu(ctx, ctx._("Please choose:"))
        return
    await _ask(ctx, ctx.state.data.get("draft_step", "category"))


@router.action("report:discard")
async def discard(ctx: Context) -> None:
    await _discard_draft(ctx)
    await show_menu(ctx, ctx._("The report was deleted. Nothing was sent."))


async def _discard_draft(ctx: Context) -> None:
    ctx.state.data.pop("draft", None)
    ctx.state.data.pop("draft_step", None)
    await conversations.drop_draft_files(ctx.session, ctx.stored)


# ---- category ---------------------------------------------------------------------------


async def ask_category(ctx: Context) -> None:
    _at(ctx, "category")
    rows = [[Button(ctx._("🚨 Someone is in danger now"), "report:cat:danger-now")]]
    rows += [[Button(ctx._(label), f"report:cat:{key}")] for key, label in CATEGORIES.items()]
    rows.append(_nav(ctx))
    ctx.reply(ctx._("What is your tip about?"), rows)


@router.action("report:cat:")
async def category_chosen(ctx: Context) -> None:
    draft = _draft(ctx)
    if not draft:
        await start(ctx)
        return
    key = ctx.action_arg
    if key == "danger-now":
        ctx.reply(_emergency_text(ctx))
        draft.update(category="danger", urgent=True, when="now")
    elif key in CATEGORIES:
        if key == "danger":
            ctx.reply(_emergency_text(ctx))
        draft["category"] = key
        draft["urgent"] = key == "danger"
    else:
        await ask_category(ctx)
        return
    await ask_group(ctx)


@router.step("report:category")
async def category_typed(ctx: Context) -> None:
    if _took_location(ctx):
        await ask_category(ctx)
        return
    ctx.reply(ctx._("Please choose one of the options, by its number or its button."))
    await ask_category(ctx)


# ---- residential group ----------------------------------------------------------------


async def ask_group(ctx: Context) -> None:
    _at(ctx, "group")
    preset = ctx.state.data.get("preset_group")
    group = await wards.get_group(ctx.session, preset) if isinstance(preset, int) else None
    if group is not None and group.ward_id == _draft(ctx).get("ward_id"):
        ctx.reply(
            ctx._("Is it in residential group {name}?").format(name=group.name),
            [[Button(ctx._("Yes"), f"report:grp:{group.id}")],
             [Button(ctx._("Another residential group"), "report:grp-other")],
             [Button(ctx._("I don't know"), "report:grp:none")],
             _nav(ctx)],
        )  # fmt: skip
        return
    _ask_group_name(ctx)


def _ask_group_name(ctx: Context, text: str | None = None) -> None:
    ctx.reply(
        text
        or ctx._(
            "Which residential group (tổ dân phố) is it in? Type its name; accents are not "
            "needed (for example: nam hai). Or choose:"
        ),
        [[Button(ctx._("Show the list"), "report:list:0")],
         [Button(ctx._("I don't know"), "report:grp:none")],
         _nav(ctx)],
    )  # fmt: skip


@router.action("report:grp-other")
async def group_other(ctx: Context) -> None:
    ctx.state.data.pop("preset_group", None)
    _at(ctx, "group")
    _ask_group_name(ctx)


@router.action("report:list:")
async def group_list(ctx: Context) -> None:
    draft = _draft(ctx)
    ward = await current_ward(ctx)
    if not draft or ward is None:
        await start(ctx)
        return
    groups = [g for g in await wards.list_groups(ctx.session, ward) if g.active]
    page = parse_number(ctx.action_arg)
    if page is None or page * GROUP_PAGE >= len(groups):
        page = 0  # a page that is not there (a forged or outdated button): the first
    chunk = groups[page * GROUP_PAGE : (page + 1) * GROUP_PAGE]
    _at(ctx, "group")
    if not chunk:
        _ask_group_name(ctx, ctx._("The ward has no residential groups listed. Choose:"))
        return
    rows = [[Button(g.name, f"report:grp:{g.id}")] for g in chunk]
    paging = []
    if page > 0:
        paging.append(Button(ctx._("◀ Previous"), f"report:list:{page - 1}"))
    if (page + 1) * GROUP_PAGE < len(groups):
        paging.append(Button(ctx._("Next ▶"), f"report:list:{page + 1}"))
    if paging:
        rows.append(paging)
    rows += [[Button(ctx._("I don't know"), "report:grp:none")], _nav(ctx)]
    pages = (len(groups) + GROUP_PAGE - 1) // GROUP_PAGE
    ctx.reply(
        ctx._("Residential groups (page {page} of {pages}):").format(page=page + 1, pages=pages),
        rows,
    )


@router.step("report:group")
async def group_typed(ctx: Context) -> None:
    if _took_location(ctx):
        await ask_group(ctx)
        return
    ward = await current_ward(ctx)
    text = ctx.inbound.text.strip()
    if ward is None or not _draft(ctx):
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
    rows = [[Button(g.name, f"report:grp:{g.id}")] for g in matches[:GROUP_PAGE]]
    rows += [[Button(ctx._("None of these"), "report:grp-other")], _nav(ctx)]
    ctx.reply(ctx._("Which one do you mean?"), rows)


@router.action("report:grp:")
async def group_picked(ctx: Context) -> None:
    draft = _draft(ctx)
    if not draft:
        await start(ctx)
        return
    if ctx.action_arg == "none":
        draft["group_id"] = None
        await ask_where(ctx)
        return
    group_id = parse_id(ctx.action_arg)
    group = await wards.get_group(ctx.session, group_id) if group_id else None
    if group is None or group.ward_id != draft.get("ward_id") or not group.active:
        _ask_group_name(ctx)  # an old or forged button, or a group the ward retired
        return
    await _group_chosen(ctx, group)


async def _group_chosen(ctx: Context, group: ResidentialGroup) -> None:
    _draft(ctx)["group_id"] = group.id
    ctx.reply(ctx._("✓ Residential group: {name}").format(name=group.name))
    await ask_where(ctx)


# ---- where ------------------------------------------------------------------------------


async def ask_where(ctx: Context) -> None:
    _at(ctx, "where")
    ctx.reply(
        ctx._(
            "Where is it? Describe the place: street, alley, house number, or a landmark.\n"
            "You may also send a location pin. Careful: a pin shows an exact position, so "
            "do not send one from your own home."
        ),
        [[Button(ctx._("Skip"), "report:where-skip")], _nav(ctx)],
    )


@router.step("report:where", prose=True)
async def where_typed(ctx: Context) -> None:
    draft = _draft(ctx)
    if ctx.inbound.location is not None:
        latitude, longitude = ctx.inbound.location
        draft["location"] = [round(latitude, 6), round(longitude, 6)]
        ctx.reply(ctx._("✓ Location pin received."))
        if not ctx.inbound.text.strip():
            await ask_when_or_skip(ctx)
            return
    text = await _accept_text(ctx)
    if text is None:
        return
    draft["where"] = text
    await ask_when_or_skip(ctx)


@router.action("report:where-skip")
async def where_skipped(ctx: Context) -> None:
    await ask_when_or_skip(ctx)


async def ask_when_or_skip(ctx: Context) -> None:
    """'Danger now' already said when: it is happening now."""
    if _draft(ctx).get("category") == "danger" and _draft(ctx).get("urgent"):
        _draft(ctx)["when"] = "now"
        await ask_what(ctx)
        return
    await ask_when(ctx)


# ---- when -------------------------------------------------------------------------------


async def ask_when(ctx: Context) -> None:
    _at(ctx, "when")
    rows = [[Button(ctx._(label), f"report:when:{key}")] for key, label in WHEN.items()]
    ctx.reply(ctx._("When did it happen?"), [*rows, _nav(ctx)])


@router.action("report:when:")
async def when_chosen(ctx: Context) -> None:
    if ctx.action_arg not in WHEN or not _draft(ctx):
        await ask_when(ctx)
        return
    _draft(ctx)["when"] = ctx.action_arg
    await ask_what(ctx)


@router.step("report:when")
async def when_typed(ctx: Context) -> None:
    if _took_location(ctx):
        await ask_when(ctx)
        return
    ctx.reply(ctx._("Please choose one of the options, by its number or its button."))
    await ask_when(ctx)


# ---- what -------------------------------------------------------------------------------


async def ask_what(ctx: Context) -> None:
    _at(ctx, "what")
    parts = _draft(ctx).get("what", [])
    if parts:
        ctx.reply(
            ctx._("You can add more, or continue."),
            [[Button(ctx._("Continue ▶"), "report:what-done")], _nav(ctx)],
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


@router.step("report:what", prose=True)
async def what_typed(ctx: Context) -> None:
    if _took_location(ctx):
        await ask_what(ctx)
        return
    draft = _draft(ctx)
    text = await _accept_text(ctx, limit=None)
    if text is None:
        return
    parts: list[str] = draft.setdefault("what", [])
    if sum(len(p) for p in parts) + len(text) > MAX_WHAT:
        ctx.reply(
            ctx._(
                "This report is already long. I could not add that message; what you wrote "
                "before is kept. Please continue with what you have, or shorten it."
            ),
            [[Button(ctx._("Continue ▶"), "report:what-done")], _nav(ctx)],
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
        [[Button(ctx._("Continue ▶"), "report:what-done")], _nav(ctx)],
    )


@router.action("report:what-done")
async def what_done(ctx: Context) -> None:
    if not _draft(ctx).get("what"):
        ctx.reply(ctx._("Please describe what happened first."))
        await ask_what(ctx)
        return
    await ask_files(ctx)


# ---- files ------------------------------------------------------------------------------


async def ask_files(ctx: Context) -> None:
    _at(ctx, "files")
    count = await conversations.count_draft_files(ctx.session, ctx.stored)
    label = ctx._("Done ▶") if count else ctx._("No files, continue ▶")
    ctx.reply(
        ctx._(
            "You may send photos or PDF files ({max} at most, up to 20 MB each). Hidden data "
            "in them, such as where a photo was taken, is removed before they are stored."
        ).format(max=MAX_FILES),
        [[Button(label, "report:files-done")], _nav(ctx)],
    )


@router.step("report:files", prose=True)
async def file_sent(ctx: Context) -> None:
    if _took_location(ctx):
        await ask_files(ctx)
        return
    if not ctx.inbound.attachments:
        if ctx.inbound.text.strip():
            text = await _accept_text(ctx, limit=None)
            if text is None:
                return
            _draft(ctx).setdefault("what", []).append(text[:MAX_TEXT])
            ctx.reply(ctx._("✓ Added to the description."))
        await ask_files(ctx)
        return
    if ctx.inbound.text.strip():  # a caption belongs to the description
        _draft(ctx).setdefault("what", []).append(ctx.inbound.text.strip()[:MAX_TEXT])
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
    if ctx.state.data.get("draft_step") != "files" or not _draft(ctx):
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
                ctx.session, ctx.services.vault, ctx.stored,
                DraftFileData(result.kind, result.mime_type, result.data),
            )  # fmt: skip
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


@router.action("report:files-done")
async def files_done(ctx: Context) -> None:
    await ask_contact(ctx)


# ---- contact ----------------------------------------------------------------------------


async def ask_contact(ctx: Context) -> None:
    _at(ctx, "contact")
    ctx.reply(
        ctx._(
            "May the police send you follow-up questions through this bot? They never see "
            "your account, and you answer only if you want to."
        ),
        [[Button(ctx._("Yes, they may ask me"), "report:contact:yes")],
         [Button(ctx._("No, do not contact me"), "report:contact:no")],
         _nav(ctx)],
    )  # fmt: skip


@router.action("report:contact:")
async def contact_chosen(ctx: Context) -> None:
    if ctx.action_arg not in ("yes", "no") or not _draft(ctx):
        await ask_contact(ctx)
        return
    _draft(ctx)["contact"] = ctx.action_arg == "yes"
    await ask_confirm(ctx)


@router.step("report:contact")
async def contact_typed(ctx: Context) -> None:
    if _took_location(ctx):
        await ask_contact(ctx)
        return
    ctx.reply(ctx._("Please choose one of the options, by its number or its button."))
    await ask_contact(ctx)


# ---- confirm and send -------------------------------------------------------------------


async def ask_confirm(ctx: Context) -> None:
    _at(ctx, "confirm")
    draft = _draft(ctx)
    group = None
    if isinstance(draft.get("group_id"), int):
        group = await wards.get_group(ctx.session, draft["group_id"])
    what = _shortened(ctx, "\n".join(draft.get("what", [])), 1500)
    files = await conversations.count_draft_files(ctx.session, ctx.stored)
    lines = [
        ctx._("Please check your report before sending:"),
        "",
        ctx._("Topic: {value}").format(value=_category_label(ctx, draft)),
        ctx._("Residential group: {value}").format(
            value=group.name if group else ctx._("not known")
        ),
        ctx._("Place: {value}").format(
            value=_shortened(ctx, draft.get("where", ""), 500) or ctx._("not given")
        ),
    ]
    if draft.get("location"):
        lines.append(ctx._("Location pin: attached"))
    lines += [
        ctx._("When: {value}").format(
            value=ctx._(WHEN.get(draft.get("when", ""), N_("not given")))
        ),
        ctx._("What happened: {value}").format(value=what),
        ctx._("Files: {count}").format(count=files),
        ctx._("Follow-up questions: {value}").format(
            value=ctx._("allowed") if draft.get("contact") else ctx._("not allowed")
        ),
    ]
    ctx.reply(
        "\n".join(lines),
        [[Button(ctx._("✅ Send"), "report:send")], _nav(ctx)],
    )


def _shortened(ctx: Context, text: str, limit: int) -> str:
    """The confirm screen must fit in one chat message; the draft keeps everything."""
    if len(text) <= limit:
        return text
    return text[:limit] + ctx._("… (and {count} more characters)").format(count=len(text) - limit)


def _category_label(ctx: Context, draft: dict[str, Any]) -> str:
    label = ctx._(CATEGORIES.get(draft.get("category", ""), N_("Something else")))
    return ("🚨 " + label) if draft.get("urgent") else label


@router.step("report:confirm")
async def confirm_typed(ctx: Context) -> None:
    if _took_location(ctx):
        await ask_confirm(ctx)
        return
    ctx.reply(ctx._("Please choose “Send”, or go back to change something."))
    await ask_confirm(ctx)


@router.action("report:send")
async def send(ctx: Context) -> None:
    draft = _draft(ctx)
    required = ("ward_id", "category", "what", "contact")
    if ctx.state.data.get("draft_step") != "confirm" or not all(k in draft for k in required):
        await (keep_going(ctx) if draft else show_menu(ctx, ctx._("Please choose:")))
        return
    if await _rate_limited(ctx):
        return
    what = "\n".join(draft["what"])
    hint = hints.suggest(
        draft["category"], draft.get("when"), " ".join([what, draft.get("where", "")]),
        urgent=bool(draft.get("urgent")),
    )  # fmt: skip
    files = await conversations.draft_files(ctx.session, ctx.services.vault, ctx.stored)
    content = {
        "what": what,
        "where": draft.get("where", ""),
        "location": draft.get("location"),
        "when": draft.get("when"),
        "hint_reasons": list(hint.reasons),
    }
    receipt, secret_hash = await tips.new_receipt(ctx.session, ctx.services.receipts)
    urgent = bool(draft.get("urgent"))
    submission = tips.Submission(
        ward_id=draft["ward_id"],
        group_id=draft.get("group_id"),
        category=draft["category"],
        content=content,
        route=ctx.route if draft["contact"] else None,
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
    ctx.go("report:sent")
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
    if ctx.inbound.location is None or not _draft(ctx):
        return False
    latitude, longitude = ctx.inbound.location
    _draft(ctx)["location"] = [round(latitude, 6), round(longitude, 6)]
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
