"""The weekly quiz: one question on the law or the harms of drugs each week, the same for
every resident; after answering, whether it was right and why. The first answer of the
week counts; the resident sees their own tally, the ward only counts per TDP."""

from __future__ import annotations

from campaign.quiz import Question, question_for, week_of
from engine.conversation import Context, Router
from handlers.flows import Resident
from handlers.start import current_ward, menu_button, private_ward
from kernel.actions import InviteShow, QuizAnswer, QuizStart
from kernel.messages import Button
from storage import pledges, quiz_answers, subscribers, wards
from storage.models import Ward

router = Router("quiz")


def _this_week(ctx: Context) -> str:
    return week_of(ctx.local_now().date())


def _menu(ctx: Context) -> list[Button]:
    return [menu_button(ctx)]


@router.command("quiz", "dodui", in_groups=True)
@router.action(QuizStart)
async def start(ctx: Context) -> None:
    if await private_ward(ctx, QuizStart()) is None:
        return
    ctx.go(None)
    week = _this_week(ctx)
    question = question_for(ctx.services.quiz, week)
    answered = await quiz_answers.answer_of(ctx.session, ctx.services.pseudonyms, ctx.route, week)
    if answered is not None:
        await _explain(ctx, question, answered.correct, again=True)
        return
    choices = question.choices(ctx.language)
    ctx.reply(
        ctx._("This week's question:") + "\n\n" + question.text(ctx.language),
        [
            *([Button(choice, QuizAnswer(week, n))] for n, choice in enumerate(choices, start=1)),
            _menu(ctx),
        ],
    )


@router.action(QuizAnswer)
async def answered(ctx: Context) -> None:
    ward = await current_ward(ctx)
    pressed = ctx.action(QuizAnswer)
    week, choice = pressed.week, pressed.choice
    if ward is None or week != _this_week(ctx):
        # A button of an earlier week's question: that quiz has closed.
        ctx.reply(ctx._("That question has closed. Here is this week's:"))
        await start(ctx)
        return
    ctx.go(None)
    question = question_for(ctx.services.quiz, week)
    if not 1 <= choice <= len(question.choices(ctx.language)):
        await start(ctx)
        return
    services, route = ctx.services, ctx.route
    if await quiz_answers.answer_of(ctx.session, services.pseudonyms, route, week) is not None:
        await start(ctx)  # a second answer: the first one stands, and is shown again
        return
    group_id = await _group_of(ctx, ward)
    correct, today = choice == question.answer, ctx.local_now().date()
    # In a commit of its own, after this conversation's (see Context.apart).
    ctx.apart(
        lambda session: quiz_answers.record(
            session,
            services.pseudonyms,
            route,
            ward_id=ward.id,
            group_id=group_id,
            week=week,
            question=question.slug,
            correct=correct,
            today=today,
        )
    )
    await _explain(ctx, question, correct, again=False)


async def _group_of(ctx: Context, ward: Ward) -> int | None:
    """The resident's TDP in this ward, if they told us one: participation is counted
    per TDP (a subscription kept in another ward counts there, not here)."""
    known: list[int | None] = []
    subscription = await subscribers.find(ctx.session, ctx.services.pseudonyms, ctx.route)
    if subscription is not None and subscription.active:
        known.append(subscription.group_id)
    pledge = await pledges.household(ctx.session, ctx.services.pseudonyms, ctx.route)
    if pledge is not None and pledge.active:
        known.append(pledge.group_id)
    known.append(ctx.flow(Resident).preset_group)
    for group_id in known:
        group = await wards.get_group(ctx.session, group_id) if group_id else None
        if group is not None and group.ward_id == ward.id:
            return group.id
    return None


async def _explain(ctx: Context, question: Question, correct: bool, *, again: bool) -> None:
    """`again`: the answer was counted before; otherwise it is being written now, after
    this conversation commits, and the tally shown includes it."""
    right = question.right_choice(ctx.language)
    if again:
        verdict = ctx._(
            "You have already answered this week's question. The right answer is: {answer}"
        ).format(answer=right)
    elif correct:
        verdict = ctx._("Correct! The answer is: {answer}").format(answer=right)
    else:
        verdict = ctx._("Not quite. The right answer is: {answer}").format(answer=right)
    tally = await quiz_answers.score(ctx.session, ctx.services.pseudonyms, ctx.route)
    if not again:
        tally = quiz_answers.Score(tally.answered + 1, tally.correct + int(correct))
    ctx.reply(
        "\n\n".join(
            [
                verdict,
                question.why(ctx.language),
                ctx._("Your answers so far: {correct} right of {answered}.").format(
                    correct=tally.correct, answered=tally.answered
                )
                + " "
                + ctx._("A new question comes every Monday."),
            ]
        ),
        [[Button(ctx._("Invite neighbours"), InviteShow())], _menu(ctx)],
    )
