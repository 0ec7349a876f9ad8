"""The drug-free TDP tracker for officers: `/progress` shows drug-free TDPs against the
ward's targets; `/drugfree NAME` records a TDP's status for this year (registered,
achieved, maintained, lost), dated today, after a confirmation. Other years and dates:
`wardbot drugfree set`.

Buttons carry the choice, but the choice shown for confirmation is also kept in the
sealed conversation state: only a confirm button matching it records anything, and only
for the current year in the ward, so a forged button can neither pick another year nor
skip the confirmation."""

from __future__ import annotations

from enum import StrEnum

from engine.conversation import Context, Router
from handlers.flows import DrugFreeChoice
from handlers.guards import police, police_action, typing_officer
from kernel import drug_free as rules
from kernel.actions import DrugFreeCancel, DrugFreePick, DrugFreeSave
from kernel.drug_free import DrugFreeStatus, TransitionError
from kernel.messages import Button
from storage import drug_free, wards
from storage.models import Officer, ResidentialGroup, Ward

router = Router("drug_free")


class Step(StrEnum):
    NAME = "df:name"


def _cancel(ctx: Context) -> list[Button]:
    return [Button(ctx._("Cancel"), DrugFreeCancel())]


@police("progress", "tiendo", on=router)
async def show_progress(ctx: Context, officer: Officer) -> None:
    ward = await wards.get_ward(ctx.session, officer.ward_id)
    if ward is None:
        return
    ctx.reply(await progress_text(ctx, ward))


async def progress_text(ctx: Context, ward: Ward) -> str:
    year = ctx.local_now().date().year
    groups = await drug_free.active_groups(ctx.session, ward.id)
    marks = await drug_free.marks_by_group(ctx.session, ward.id)
    targets = ctx.services.settings.targets.get(ward.code, ())
    lines = [ctx._("Drug-free residential groups, {ward}:").format(ward=ward.name)]
    for row in rules.progress(marks, len(groups), targets, year):
        line = ctx._("{year}: {achieved} of {total} drug-free").format(
            year=row.year, achieved=row.achieved, total=row.total
        )
        if row.year > year:
            line = ctx._("{year}: {achieved} of {total} drug-free so far").format(
                year=row.year, achieved=row.achieved, total=row.total
            )
        if row.target is not None:
            mark = "✅" if row.met else "⏳" if row.year >= year else "❌"
            line += " · " + ctx._("target {target}").format(target=row.target.label(row.total))
            line += f" {mark}"
        lines.append("• " + line)
    if not targets:
        lines.append(ctx._("No targets are set for this ward (see [targets] in the config)."))
    counts: dict[DrugFreeStatus, int] = {}
    for group in groups:
        latest = rules.status_at(marks.get(group.id, []), year)
        if latest is not None and latest.year == year:
            counts[latest.status] = counts.get(latest.status, 0) + 1
    lines += ["", ctx._("Recorded for {year}:").format(year=year)]
    lines += [f"• {ctx._(label)}: {counts.get(s, 0)}" for s, label in rules.LABELS.items()]
    lines += ["", ctx._("To record a status: /drugfree NAME OF THE TDP")]
    return "\n".join(lines)


@police("drugfree", "khongmatuy", on=router)
async def record_start(ctx: Context, officer: Officer) -> None:
    ctx.end_flow(DrugFreeChoice)
    if ctx.args:
        await _group_named(ctx, officer, ctx.args)
        return
    ctx.go(Step.NAME)
    ctx.reply(ctx._("Which residential group? Type its name."), [_cancel(ctx)], free_text=True)


@router.step(Step.NAME)
async def name_typed(ctx: Context) -> None:
    officer = await typing_officer(ctx)
    if officer is not None:
        await _group_named(ctx, officer, ctx.inbound.text)


async def _group_named(ctx: Context, officer: Officer, text: str) -> None:
    ward = await wards.get_ward(ctx.session, officer.ward_id)
    found = await wards.match_groups(ctx.session, ward, text) if ward else []
    if len(found) != 1:
        ctx.go(Step.NAME)
        ctx.reply(
            ctx._("Please type the exact name of one residential group."),
            [_cancel(ctx)],
            free_text=True,
        )
        return
    ctx.go(None)
    group = found[0]
    year = ctx.local_now().date().year
    marks = await drug_free.history(ctx.session, group.id)
    latest = marks[-1] if marks else None
    now_text = (
        ctx._("{status} for {year}").format(
            status=ctx._(rules.LABELS[latest.status]), year=latest.year
        )
        if latest
        else ctx._("not registered")
    )
    choices = rules.allowed_next(latest, year)
    text = ctx._("Residential group {tdp}: {status}.").format(tdp=group.name, status=now_text)
    if not choices:
        ctx.reply(
            text
            + "\n"
            + ctx._(
                "Nothing can be recorded for {year} in the chat; use `wardbot drugfree set`."
            ).format(year=year)
        )
        return
    ctx.reply(
        text + "\n" + ctx._("Record for {year}:").format(year=year),
        [
            *([Button(ctx._(rules.LABELS[s]), DrugFreePick(group.id, year, s))] for s in choices),
            _cancel(ctx),
        ],
    )


@police_action(DrugFreePick, on=router)
async def picked(ctx: Context, officer: Officer) -> None:
    ctx.end_flow(DrugFreeChoice)
    pressed = ctx.action(DrugFreePick)
    parsed = await _parse(ctx, officer, pressed.group_id, pressed.year)
    if parsed is None:
        _nothing(ctx)
        return
    group, year, status = parsed, pressed.year, pressed.status
    marks = await drug_free.history(ctx.session, group.id)
    try:
        rules.check(marks[-1] if marks else None, year, status)
    except TransitionError as exc:
        ctx.reply(ctx._("Not recorded: {reason}.").format(reason=exc.translated(ctx._)))
        return
    choice = ctx.flow(DrugFreeChoice)
    choice.group_id, choice.year, choice.status = group.id, year, status
    ctx.reply(
        ctx._(
            "Record residential group {tdp} as {status} for {year}, decided today ({date})?"
        ).format(
            tdp=group.name,
            status=ctx._(rules.LABELS[status]),
            year=year,
            date=ctx.local_now().date().strftime("%d/%m/%Y"),
        ),
        [[Button(ctx._("Confirm"), DrugFreeSave(group.id, year, status))], _cancel(ctx)],
    )


@police_action(DrugFreeSave, on=router)
async def save(ctx: Context, officer: Officer) -> None:
    pending = ctx.flow(DrugFreeChoice)
    shown = (pending.group_id, pending.year, pending.status)
    ctx.end_flow(DrugFreeChoice)
    pressed = ctx.action(DrugFreeSave)
    matches = shown == (pressed.group_id, pressed.year, pressed.status)
    parsed = await _parse(ctx, officer, pressed.group_id, pressed.year) if matches else None
    if parsed is None:  # not the choice just confirmed: stale, repeated or forged
        _nothing(ctx)
        return
    group, year, status = parsed, pressed.year, pressed.status
    try:
        await drug_free.record(
            ctx.session,
            group,
            year=year,
            status=status,
            decided_on=ctx.local_now().date(),
            officer_id=officer.id,
        )
    except TransitionError as exc:
        ctx.reply(ctx._("Not recorded: {reason}.").format(reason=exc.translated(ctx._)))
        return
    await ctx.services.audit.append(
        ctx.session,
        "drug_free.record",
        ward_id=group.ward_id,
        officer_id=officer.id,
        detail={"group_id": group.id, "year": year, "status": str(status)},
    )
    ward = await wards.get_ward(ctx.session, officer.ward_id)
    ctx.reply(
        ctx._("Recorded: {tdp} is {status} for {year}.").format(
            tdp=group.name, status=ctx._(rules.LABELS[status]), year=year
        )
        + ("\n\n" + await progress_text(ctx, ward) if ward else "")
    )


@police_action(DrugFreeCancel, on=router)
async def cancel(ctx: Context, officer: Officer) -> None:
    ctx.end_flow(DrugFreeChoice)
    ctx.go(None)
    ctx.reply(ctx._("Cancelled. Nothing was recorded."))


def _nothing(ctx: Context) -> None:
    ctx.go(None)
    ctx.reply(ctx._("Nothing to record. Start again with /drugfree."))


async def _parse(
    ctx: Context, officer: Officer, group_id: int, year: int
) -> ResidentialGroup | None:
    """The button's group, if the button may record: its fields were checked as it was
    parsed (a group id within the column's range, a known status, kernel/actions.py);
    here the group must be of the officer's ward and in use, and the year this year in
    the ward and no other."""
    if year != ctx.local_now().date().year:
        return None
    group = await wards.get_group(ctx.session, group_id)
    if group is None or group.ward_id != officer.ward_id or not group.active:
        return None
    return group
