"""Check a tip: from any account, with the tip code and the secret of the receipt.

The reporter sees the state, the police's public answers and questions; answers the
questions, adds information, or stops all contact. A wrong secret says so without
telling whether the code exists, and repeated wrong tries are slowed down per account
and per code.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from engine.conversation import Context, Router
from engine.services import Services
from handlers.flows import UnlockedTip
from handlers.resident.cleanup import offer_cleanup
from handlers.start import show_menu
from kernel.actions import (
    MenuHome,
    StatusAdd,
    StatusAnswer,
    StatusDone,
    StatusQuestion,
    StatusStart,
    StatusStop,
    StatusStopYes,
    StatusView,
)
from kernel.clock import utcnow
from kernel.i18n import N_
from kernel.messages import Button
from storage import drops, rate_limits, tips
from storage.models import Tip, TipStatus
from storage.pseudonyms import Purpose
from storage.receipts import ReceiptSecret, TipCode, Verdict, parse_code, parse_secret
from storage.session import AsyncSession
from storage.tips import EventKind
from storage.triage import OUTCOME_LABELS

router = Router("status")


class Step(StrEnum):
    RECEIPT = "status:receipt"
    VIEW = "status:view"
    ADDING = "status:adding"
    ANSWERING = "status:answering"


MAX_TEXT = 4000
# Per tip code, from all accounts: 5 wrong secrets an hour are free, then 1, 2, 4 minutes
# between tries, at most 4. Guessing 80 bits is hopeless anyway; this only slows floods.
CODE_WAITS = rate_limits.GrowingWait(
    free=5, first=timedelta(minutes=1), longest=timedelta(minutes=4)
)
# Someone else may pick up the phone later: an unlocked tip needs its secret again after
# this. Its conversation forgets which tip it was by 30 minutes at the latest (the
# retention tick runs every 5 minutes), even if the chat is never used again.
UNLOCKED_FOR = timedelta(minutes=25)
STATUS_LABELS = {
    TipStatus.NEW: N_("received, waiting to be read"),
    TipStatus.ACKNOWLEDGED: N_("read by the ward police"),
    TipStatus.ASSIGNED: N_("assigned to an officer"),
    TipStatus.INVESTIGATING: N_("being looked into"),
    TipStatus.CLOSED: N_("closed"),
}


def _account_subject(ctx: Context) -> str:
    return ctx.services.pseudonyms.of(
        Purpose.RECEIPT_CHECK, ctx.route.channel, *ctx.route.account_parts()
    )


def _code_subject(ctx: Context, code: str) -> str:
    """A tip code as a keyed pseudonym: a probed code is never kept in clear."""
    return ctx.services.pseudonyms.of(Purpose.RECEIPT_CODE, "code", code)


@router.command("status", "kiemtra")
@router.action(StatusStart)
async def start(ctx: Context) -> None:
    ctx.start_trace()
    if ctx.args:
        await _check(ctx, ctx.args)
        return
    ctx.go(Step.RECEIPT)
    ctx.reply(
        ctx._(
            "Please type the tip code and the secret from your receipt, for example:\n"
            "AB12CD3 ABCD-EFGH-JKMN-PQRS"
        ),
        [[Button(ctx._("Menu"), MenuHome())]],
    )


@router.step(Step.RECEIPT)
async def receipt_typed(ctx: Context) -> None:
    if not ctx.inbound.text.strip():
        ctx.reply(ctx._("Please type the tip code and the secret."))
        return
    await _check(ctx, ctx.inbound.text)


async def _check(ctx: Context, text: str) -> None:
    words = text.split()
    code_text, secret_text = (words[0], " ".join(words[1:])) if len(words) > 1 else (text, "")
    now = utcnow()
    code = parse_code(code_text)
    limits = [rate_limits.Limit(ctx.services.settings.status_failures_per_hour, 1)]
    account = _account_subject(ctx)
    code_subject = _code_subject(ctx, code) if code else ""
    decision = await rate_limits.check(ctx.session, account, "receipt-fail", limits, now)
    wait = decision.retry_after if not decision.allowed else None
    if wait is None and code_subject:
        # Wrong secrets for this code, from any account, slow its checks down a little:
        # never so much that the reporter is kept from their own tip.
        left = await rate_limits.wait_left(ctx.session, code_subject, "receipt-fail", now)
        wait = left or None
    if wait is not None:
        ctx.go(None)
        if wait < timedelta(minutes=1):
            message = ctx._("Please wait a minute, then try again.")
        else:
            minutes = max(1, round(wait / timedelta(minutes=1)))
            message = ctx._(
                "Too many wrong tries. Please wait about {minutes} minutes, then try again."
            ).format(minutes=minutes)
        ctx.reply(message, [[Button(ctx._("Menu"), MenuHome())]])
        return
    found = await tips.find_by_receipt(ctx.session, ctx.services.receipts, code_text, secret_text)
    if isinstance(found, tips.Unverified):
        # A tip sent before keyed hashes: its slow hash is checked after this commit, in
        # a worker thread, and the answer given in the conversation's next transaction.
        async def slow_check() -> bool:
            return await ctx.services.receipts.verify_slowly(found.code, found.secret, found.stored)

        async def checked(follow: Context, matched: bool) -> None:
            await _answer(follow, found if matched else None, code_text, secret_text, now)

        ctx.continue_after(slow_check, checked)
        return
    await _answer(ctx, found, code_text, secret_text, now)


async def _answer(
    ctx: Context,
    found: Tip | tips.Unverified | None,
    code_text: str,
    secret_text: str,
    now: datetime,
) -> None:
    """The tip shown, or why not, once its receipt is known to match (`found`) or not."""
    code = parse_code(code_text)
    if found is None and code and await _waiting(ctx, code, secret_text):
        ctx.go(None)
        ctx.reply(
            ctx._(
                "Your tip {code} has been received and is on its way to the ward police; "
                "it appears here within a few minutes. Please check again later."
            ).format(code=code),
            [[Button(ctx._("Menu"), MenuHome())]],
        )
        return
    tip = await _matched_tip(ctx, found)
    if tip is None:
        account = _account_subject(ctx)
        code_subject = _code_subject(ctx, code) if code else ""
        # Counted after this conversation commits, each in a commit of its own: a copy
        # of the data folder must not find the account's counter beside the code's.
        ctx.apart(lambda s: rate_limits.record(s, account, "receipt-fail", now))
        if code_subject:
            ctx.apart(
                lambda s: rate_limits.record_failure(
                    s, code_subject, "receipt-fail", now, CODE_WAITS
                )
            )
        ctx.go(Step.RECEIPT)
        ctx.reply(
            ctx._(
                "The code or the secret is not right. Please check them and type both again, "
                "for example: AB12CD3 ABCD-EFGH-JKMN-PQRS"
            ),
            [[Button(ctx._("Menu"), MenuHome())]],
        )
        return
    # Which tip this chat opened is kept only for UNLOCKED_FOR, however the chat ends.
    ctx.end_flow(UnlockedTip)
    ctx.flow_until(UnlockedTip, utcnow() + UNLOCKED_FOR).tip_id = tip.id
    await show(ctx, tip)


async def _matched_tip(ctx: Context, found: Tip | tips.Unverified | None) -> Tip | None:
    if not isinstance(found, tips.Unverified):
        return found
    tip = await tips.get_tip(ctx.session, found.tip_id)
    if tip is None or tip.secret_hash != found.stored:
        return None  # shredded or changed while the slow check ran
    # In a commit of its own, as for every write to a tip this conversation is about.
    receipts = ctx.services.receipts
    ctx.apart(lambda s: tips.upgrade_receipt(s, receipts, found))
    return tip


async def _waiting(ctx: Context, code: str, secret_text: str) -> bool:
    """Whether this receipt is of a tip sent minutes ago that the mixer has not stored
    yet (storage/drops.py)."""
    services = ctx.services
    payload = await drops.find_waiting(ctx.session, services.vault, services.pseudonyms, code)
    stored = tips.Submission.from_payload(payload).secret_hash if payload else None
    secret = parse_secret(secret_text)
    # The keyed hash runs either way, so the answer time does not tell a waiting code. A
    # drop left by the version before keyed hashes (SLOW) is stored within minutes and
    # then checked as an old tip; until then it is not recognised.
    verdict = services.receipts.verify(
        TipCode(code), secret or ReceiptSecret("0000-0000-0000-0000"), stored
    )
    return verdict is Verdict.MATCH and secret is not None


async def _open_tip(ctx: Context) -> Tip | None:
    """The tip this chat has unlocked with its receipt, if any."""
    tip_id = ctx.flow(UnlockedTip).tip_id  # None once UNLOCKED_FOR has passed
    tip = await tips.get_tip(ctx.session, tip_id) if tip_id is not None else None
    if tip is None or tip.wrapped_key is None:
        ctx.end_flow(UnlockedTip)
        await show_menu(ctx, ctx._("Please check your tip again with its code and secret."))
        return None
    return tip


async def show(ctx: Context, tip: Tip) -> None:
    ctx.go(Step.VIEW)
    status = ctx._(STATUS_LABELS.get(TipStatus(tip.status), N_("received, waiting to be read")))
    if tip.status == TipStatus.CLOSED and tip.outcome in OUTCOME_LABELS:
        status = f"{status}: {ctx._(OUTCOME_LABELS[tip.outcome])}"
    lines = [
        ctx._("Tip {code}").format(code=tip.code),
        ctx._("Sent on: {date}").format(
            date=_date(ctx, tips.submitted_at(ctx.services.vault, tip))
        ),
        ctx._("State: {status}").format(status=status),
    ]
    entries = await tips.timeline(ctx.session, ctx.services.vault, tip)
    messages = [e for e in entries if e.text]
    if messages:
        lines += ["", ctx._("Messages:")]
    for entry in messages:
        who = {
            EventKind.REPLY: ctx._("Police"),
            EventKind.QUESTION: ctx._("Police question"),
            EventKind.ANSWER: ctx._("Your answer"),
            EventKind.ADDITION: ctx._("You added"),
        }.get(EventKind(entry.kind), "")
        lines.append(f"[{_date(ctx, entry.at)}] {who}: {entry.text}")
    questions = await tips.open_questions(ctx.session, ctx.services.vault, tip)
    rows: list[list[Button]] = []
    if tip.status != TipStatus.CLOSED:
        if questions:
            rows.append([Button(ctx._("Answer the police"), StatusAnswer())])
        rows.append([Button(ctx._("Add information"), StatusAdd())])
    if tip.sealed_route is not None:
        rows.append([Button(ctx._("Stop all contact about this tip"), StatusStop())])
    rows.append([Button(ctx._("Done"), StatusDone())])
    ctx.reply("\n".join(lines), rows)


def _date(ctx: Context, moment) -> str:  # type: ignore[no-untyped-def]
    local = moment.astimezone(ctx.services.settings.zone)
    return local.strftime("%d/%m/%Y %H:%M")


@router.action(StatusAdd)
async def add(ctx: Context) -> None:
    if await _open_tip(ctx) is None:
        return
    ctx.go(Step.ADDING)
    ctx.reply(
        ctx._("Type the information you want to add. Do not write your own name."),
        [[Button(ctx._("◀ Back"), StatusView())]],
    )


@router.step(Step.ADDING, prose=True)
async def adding_typed(ctx: Context) -> None:
    tip = await _open_tip(ctx)
    text = await _text(ctx)
    if tip is None or text is None:
        return
    await _send(ctx, tip, tips.ReporterMessage(tip.id, EventKind.ADDITION, text))
    ctx.reply(ctx._("✓ Added to your tip. Thank you. It appears here within a few minutes."))
    await show(ctx, tip)


@router.action(StatusAnswer)
async def answer(ctx: Context) -> None:
    tip = await _open_tip(ctx)
    if tip is None:
        return
    questions = await tips.open_questions(ctx.session, ctx.services.vault, tip)
    if not questions:
        await show(ctx, tip)
        return
    if len(questions) == 1:
        await _ask_answer(ctx, questions[0].id, questions[0].text or "")
        return
    ctx.reply(
        ctx._("Which question do you want to answer?"),
        [[Button((q.text or "")[:60], StatusQuestion(q.id))] for q in questions[:8]]
        + [[Button(ctx._("◀ Back"), StatusView())]],
    )


@router.action(StatusQuestion)
async def question_picked(ctx: Context) -> None:
    tip = await _open_tip(ctx)
    if tip is None:
        return
    questions = {q.id: q for q in await tips.open_questions(ctx.session, ctx.services.vault, tip)}
    chosen = questions.get(ctx.action(StatusQuestion).question_id)
    if chosen is None:
        await show(ctx, tip)
        return
    await _ask_answer(ctx, chosen.id, chosen.text or "")


async def _ask_answer(ctx: Context, question_id: int, question: str) -> None:
    ctx.flow(UnlockedTip).answering = question_id
    ctx.go(Step.ANSWERING)
    ctx.reply(
        ctx._("The police asked:\n{question}\n\nType your answer.").format(question=question),
        [[Button(ctx._("◀ Back"), StatusView())]],
    )


@router.step(Step.ANSWERING, prose=True)
async def answer_typed(ctx: Context) -> None:
    tip = await _open_tip(ctx)
    text = await _text(ctx)
    if tip is None or text is None:
        return
    unlocked = ctx.flow(UnlockedTip)
    question_id, unlocked.answering = unlocked.answering, None
    open_ids = {q.id for q in await tips.open_questions(ctx.session, ctx.services.vault, tip)}
    if question_id not in open_ids:
        await show(ctx, tip)
        return
    await _send(ctx, tip, tips.ReporterMessage(tip.id, EventKind.ANSWER, text, question_id))
    ctx.reply(
        ctx._(
            "✓ Your answer is on its way to the police; it appears here within a few "
            "minutes. Thank you."
        )
    )
    await show(ctx, tip)


@router.action(StatusView)
async def view(ctx: Context) -> None:
    tip = await _open_tip(ctx)
    if tip is not None:
        await show(ctx, tip)


@router.action(StatusStop)
async def stop(ctx: Context) -> None:
    if await _open_tip(ctx) is None:
        return
    ctx.reply(
        ctx._(
            "Stop all contact? The police will no longer be able to send you questions about "
            "this tip. This cannot be undone. You can still check it with your code and secret."
        ),
        [
            [Button(ctx._("Yes, stop contact"), StatusStopYes())],
            [Button(ctx._("◀ Back"), StatusView())],
        ],
    )


@router.action(StatusStopYes)
async def stop_confirmed(ctx: Context) -> None:
    tip = await _open_tip(ctx)
    if tip is None:
        return
    await _send(ctx, tip, tips.ReporterMessage(tip.id, EventKind.CONTACT_STOPPED), urgent=True)
    ctx.reply(
        ctx._(
            "✓ Done. The way to reach you about this tip is deleted within a minute; "
            "from now on the police cannot send you questions about it."
        ),
        [[Button(ctx._("Done"), StatusDone())]],
    )
    ctx.go(None)


@router.action(StatusDone)
async def done(ctx: Context) -> None:
    ctx.end_flow(UnlockedTip)
    ctx.go(None)
    await offer_cleanup(ctx)


@router.step(Step.VIEW)
async def view_typed(ctx: Context) -> None:
    tip = await _open_tip(ctx)
    if tip is not None:
        ctx.reply(ctx._("Please choose one of the options, by its number or its button."))
        await show(ctx, tip)


async def _send(
    ctx: Context, tip: Tip, message: tips.ReporterMessage, *, urgent: bool | None = None
) -> None:
    """Through the mixer, like a new tip: a tip event written beside this conversation
    would tell which tip the chat's owner reported."""
    await ctx.drop(message.to_payload(), urgent=tip.urgent if urgent is None else urgent)


async def _text(ctx: Context) -> str | None:
    text = ctx.inbound.text.strip()
    if ctx.inbound.attachments or not text:
        ctx.reply(ctx._("Please type your message as text."))
        return None
    if len(text) > MAX_TEXT:
        ctx.reply(
            ctx._("That is longer than {limit} characters. Please shorten it.").format(
                limit=MAX_TEXT
            )
        )
        return None
    return text


async def ask_reporter(
    session: AsyncSession, services: Services, tip: Tip, question: str, *, officer_id: int | None
) -> bool:
    """A police question, stored sealed with the tip. Returns whether the reporter can
    be told: the caller then leaves the notice with `tell_reporter` in a commit of its
    own (Context.apart), since a notice for the reporter beside the tip's event would
    tie the two together on disk."""
    await tips.add_event(
        session, services.vault, tip, EventKind.QUESTION, body=question, actor_officer_id=officer_id
    )
    return tip.sealed_route is not None
