"""Answers to the weekly quiz, one per resident and week, under a quiz pseudonym of its
own key. Only participation per TDP and the share of right answers are ever read out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.routes import Route
from storage.models import QuizAnswer
from storage.pseudonyms import Pseudonym, Pseudonyms, Purpose


def account_of(pseudonyms: Pseudonyms, route: Route) -> Pseudonym:
    return pseudonyms.of(Purpose.QUIZ, route.channel, *route.account_parts())


async def answer_of(
    session: AsyncSession, pseudonyms: Pseudonyms, route: Route, week: str
) -> QuizAnswer | None:
    return await session.scalar(
        select(QuizAnswer).where(
            QuizAnswer.account == account_of(pseudonyms, route), QuizAnswer.week == week
        )
    )


async def record(
    session: AsyncSession,
    pseudonyms: Pseudonyms,
    route: Route,
    *,
    ward_id: int,
    group_id: int | None,
    week: str,
    question: str,
    correct: bool,
    today: date,
) -> QuizAnswer | None:
    """The week's answer, or None when this resident already answered this week (the
    first answer stands). Only the month of `today` (the ward's date) is kept: the
    report counts by month, and a day beside the TDP could be matched with a pledge's."""
    if await answer_of(session, pseudonyms, route, week) is not None:
        return None
    row = QuizAnswer(
        account=account_of(pseudonyms, route),
        ward_id=ward_id,
        group_id=group_id,
        week=week,
        question=question,
        correct=correct,
        answered_on=today.replace(day=1),
    )
    session.add(row)
    await session.flush()
    return row


@dataclass(frozen=True)
class Score:
    answered: int
    correct: int


async def score(session: AsyncSession, pseudonyms: Pseudonyms, route: Route) -> Score:
    """The resident's own tally, shown to them after each answer."""
    account = account_of(pseudonyms, route)
    answered, correct = (
        await session.execute(
            select(
                func.count(), func.coalesce(func.sum(case((QuizAnswer.correct, 1), else_=0)), 0)
            ).where(QuizAnswer.account == account)
        )
    ).one()
    return Score(int(answered), int(correct))


@dataclass(frozen=True)
class Participation:
    participants: int
    answers: int
    correct: int
    by_group: dict[int, int]  # residents who answered at least once, per TDP


async def participation(
    session: AsyncSession, ward_id: int, first: date, last: date
) -> Participation:
    rows = (
        await session.execute(
            select(QuizAnswer.account, QuizAnswer.group_id, QuizAnswer.correct).where(
                QuizAnswer.ward_id == ward_id,
                QuizAnswer.answered_on >= first,
                QuizAnswer.answered_on <= last,
            )
        )
    ).all()
    people: dict[str, int | None] = {}
    for account, group_id, _correct in rows:
        if people.get(account) is None:
            people[account] = group_id
    by_group: dict[int, int] = {}
    for group_id in people.values():
        if group_id is not None:
            by_group[group_id] = by_group.get(group_id, 0) + 1
    return Participation(len(people), len(rows), sum(1 for r in rows if r[2]), by_group)
