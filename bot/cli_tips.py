"""`wardbot tips add`, `wardbot area` and `wardbot box`: tips received other than through
the bot (by phone, in a tip box, in person, through VNeID or another agency), the area
officers of the residential groups, and the groups' tip boxes and boards."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.app import App
from bot.cli_common import CommandError, Translate, on_app, the_group, the_ward
from kernel.categories import category_for
from kernel.config import Settings
from kernel.tip_sources import RECORDED_BY_OFFICERS, TipSource
from notices.police import notify_new_tip
from storage import areas, officers, tip_boxes, triage, wards
from storage.areas import AreaRefused
from storage.models import Ward
from storage.session import AsyncSession
from storage.tip_boxes import OpeningRefused
from storage.triage import Received, RecordRefused

MOST_ROWS = 500
MOST_TEXT = 4000
CSV_COLUMNS = ("source", "category", "tdp", "urgent", "received", "text")


def add_commands(
    commands: Any, tips: Any, command: Callable[..., argparse.ArgumentParser], _: Translate
) -> None:
    add = tips.add_parser(
        "add",
        help=_("record tips received by phone, in a tip box, in person, VNeID or another agency"),
    )
    add.add_argument("--source", choices=[str(s) for s in RECORDED_BY_OFFICERS])
    add.add_argument(
        "--category", default="other", help=_("a tip category, e.g. dealing or muaban")
    )
    add.add_argument("--tdp", default="", help=_("the residential group's name (optional)"))
    add.add_argument("--urgent", action="store_true")
    add.add_argument(
        "--received", default="", help=_("when it was received, YYYY-MM-DD HH:MM (default: now)")
    )
    add.add_argument(
        "--text",
        default="",
        help=_(
            "what was reported (better on standard input, which no shell history keeps), "
            "without the reporter's name or phone"
        ),
    )
    add.add_argument(
        "--csv", type=Path, help=_("a CSV file of tips: source,category,tdp,urgent,received,text")
    )
    add.add_argument("--ward", default="")
    add.set_defaults(handler=cmd_tips_add)

    area = commands.add_parser("area", help=_("area officers of the residential groups"))
    actions = area.add_subparsers(metavar=_("ACTION"))
    give = actions.add_parser("set", help=_("give a residential group its area officer and deputy"))
    give.add_argument("--tdp", required=True)
    give.add_argument(
        "--officer", required=True, help=_("number or name, see 'wardbot officer list'")
    )
    give.add_argument("--deputy", default="")
    give.add_argument("--ward", default="")
    give.set_defaults(handler=cmd_area_set)
    clear = actions.add_parser("clear", help=_("a residential group no longer has an area officer"))
    clear.add_argument("--tdp", required=True)
    clear.add_argument("--ward", default="")
    clear.set_defaults(handler=cmd_area_clear)
    listing = actions.add_parser("list", help=_("every residential group and its area officer"))
    listing.add_argument("--ward", default="")
    listing.set_defaults(handler=cmd_area_list)

    box = commands.add_parser("box", help=_("tip boxes and boards of the residential groups"))
    actions = box.add_subparsers(metavar=_("ACTION"))
    points = actions.add_parser(
        "set", help=_("whether a group has a tip box and a board, since when")
    )
    points.add_argument("--tdp", required=True)
    points.add_argument("--box-since", default="", help=_("YYYY-MM-DD, or 'none'"))
    points.add_argument("--board-since", default="", help=_("YYYY-MM-DD, or 'none'"))
    points.add_argument("--ward", default="")
    points.set_defaults(handler=cmd_box_set)
    opened = actions.add_parser("open", help=_("record an opening of a group's tip box"))
    opened.add_argument("--tdp", required=True)
    opened.add_argument("--date", default="", help=_("YYYY-MM-DD (default: today)"))
    opened.add_argument("--by", required=True, help=_("who opened it"))
    opened.add_argument(
        "--found", type=int, required=True, help=_("how many tips were in it (0 too)")
    )
    opened.add_argument("--ward", default="")
    opened.set_defaults(handler=cmd_box_open)
    shown = actions.add_parser(
        "list", help=_("every group's tip box and board, and this month's openings")
    )
    shown.add_argument("--ward", default="")
    shown.set_defaults(handler=cmd_box_list)


# ---- tips ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    line: int
    source: str
    category: str
    tdp: str
    urgent: bool
    received: str
    text: str


@on_app
async def cmd_tips_add(app: App, args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    if args.csv is not None:
        rows = _read_rows(args.csv, _)
    elif args.source:
        # Read from standard input unless given: a tip typed on the command line stays in
        # the shell's history and, while it runs, in the process list.
        text = args.text if args.text.strip() else sys.stdin.read(MOST_TEXT + 1)
        if not text.strip() or len(text) > MOST_TEXT:
            raise CommandError(_("the tip's text, 1 to 4000 characters, on standard input"))
        rows = [_Row(0, args.source, args.category, args.tdp, args.urgent, args.received, text)]
    else:
        raise CommandError(_("give --source (the text on standard input), or --csv FILE"))
    s = app.services
    async with s.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        entries = [await _received(session, ward, row, settings, _) for row in rows]
        recorded = []
        for row, entry in zip(rows, entries, strict=True):
            try:
                recorded.append(
                    await triage.record_received(
                        session, s.vault, s.receipts, s.audit, s.sla, None, entry
                    )
                )
            except RecordRefused as refused:
                raise CommandError(_where(row, _) + _refusal(refused.reason, _)) from None
        for tip, _receipt in recorded:
            await notify_new_tip(session, s, tip)  # its area officer first, as any tip
    print(
        _(
            "{n} tips recorded. Give a receipt only to the person who reported it, if they "
            "want to follow it anonymously in the bot (/status):"
        ).format(n=len(recorded))
    )
    for tip, receipt in recorded:
        print(f"{tip.code}\t{receipt.secret}")
    return 0


def _read_rows(path: Path, _: Translate) -> list[_Row]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not set(CSV_COLUMNS) <= set(reader.fieldnames):
                raise CommandError(
                    _("{file}: the first line must name the columns {columns}").format(
                        file=path.name, columns=",".join(CSV_COLUMNS)
                    )
                )
            rows = []
            for number, raw in enumerate(reader, start=2):
                if number - 1 > MOST_ROWS:
                    raise CommandError(_("{file}: at most 500 tips a file").format(file=path.name))
                values = {k: (raw.get(k) or "").strip() for k in CSV_COLUMNS}
                urgent = values["urgent"].lower() in ("1", "yes", "y", "co", "có", "x", "true")
                rows.append(
                    _Row(
                        number,
                        values["source"],
                        values["category"] or "other",
                        values["tdp"],
                        urgent,
                        values["received"],
                        values["text"],
                    )
                )
    except OSError as exc:
        raise CommandError(
            _("cannot read {file}: {problem}").format(
                file=path, problem=exc.strerror or type(exc).__name__
            )
        ) from None
    except (UnicodeDecodeError, csv.Error):
        raise CommandError(_("{file} is not a UTF-8 CSV file").format(file=path.name)) from None
    if not rows:
        raise CommandError(_("{file} holds no tips").format(file=path.name))
    return rows


async def _received(
    session: AsyncSession, ward: Ward, row: _Row, settings: Settings, _: Translate
) -> Received:
    where = _where(row, _)
    try:
        source = TipSource(row.source)
    except ValueError:
        source = None
    if source is None or source not in RECORDED_BY_OFFICERS:
        raise CommandError(
            where
            + _("the source must be one of {sources}").format(
                sources=", ".join(str(s) for s in RECORDED_BY_OFFICERS)
            )
        )
    category = category_for(row.category)
    if category is None:
        raise CommandError(
            where + _("{category} is not a tip category").format(category=row.category)
        )
    if not row.text.strip():
        raise CommandError(where + _("the tip has no text"))
    group = await the_group(session, ward, row.tdp, _) if row.tdp else None
    return Received(
        ward_id=ward.id,
        group_id=group.id if group else None,
        source=source,
        category=category,
        urgent=row.urgent,
        content={"what": row.text.strip()},
        received_at=_moment(row.received, settings, where, _),
    )


def _moment(text: str, settings: Settings, where: str, _: Translate) -> datetime:
    if not text:
        return datetime.now(settings.zone)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            where + _("the time must look like 2026-11-22 14:30, not {value}").format(value=text)
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.zone)


def _where(row: _Row, _: Translate) -> str:
    return _("line {n}: ").format(n=row.line) if row.line else ""


def _refusal(reason: str, _: Translate) -> str:
    known = {
        "received more than 92 days ago or in the future": _(
            "the time it was received must be within the last 92 days"
        ),
        "no content": _("the tip has no text"),
    }
    return known.get(reason, _("the tip cannot be recorded"))


# ---- areas --------------------------------------------------------------------------------


@on_app
async def cmd_area_set(app: App, args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        group = await the_group(session, ward, args.tdp, _)
        officer = await _one_officer(session, ward, args.officer, _)
        deputy = await _one_officer(session, ward, args.deputy, _) if args.deputy else None
        try:
            await areas.set_area(session, group, officer, deputy)
        except AreaRefused:
            raise CommandError(
                _(
                    "the area officer and the deputy must be two different "
                    "active officers of the ward"
                )
            ) from None
        await app.services.audit.append(
            session,
            "area",
            ward_id=ward.id,
            detail={
                "group": group.id,
                "officer": officer.id,
                "deputy": deputy.id if deputy else None,
            },
        )
    print(
        _("{tdp}: area officer {officer}").format(tdp=group.name, officer=officer.label)
        + (_(", deputy {deputy}").format(deputy=deputy.label) if deputy else "")
    )
    return 0


@on_app
async def cmd_area_clear(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        group = await the_group(session, ward, args.tdp, _)
        await areas.set_area(session, group, None)
        await app.services.audit.append(
            session, "area", ward_id=ward.id, detail={"group": group.id, "officer": None}
        )
    print(_("{tdp}: no area officer; its tips go to every officer on duty").format(tdp=group.name))
    return 0


@on_app
async def cmd_area_list(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        given = await areas.areas_of_ward(session, ward.id)
        groups = [g for g in await wards.list_groups(session, ward) if g.active]
    for group in groups:
        area = given.get(group.id)
        officer = area.officer.label if area and area.officer else _("none: every officer on duty")
        deputy = area.deputy.label if area and area.deputy else ""
        print("\t".join(part for part in (group.name, officer, deputy) if part))
    return 0


async def _one_officer(session: AsyncSession, ward: Ward, text: str, _: Translate) -> Any:
    found = await officers.matching(session, ward.id, text)
    if len(found) != 1:
        raise CommandError(
            _("no single active officer of {ward} is {who}; see 'wardbot officer list'").format(
                ward=ward.name, who=text
            )
        )
    return found[0]


# ---- tip boxes ----------------------------------------------------------------------------


@on_app
async def cmd_box_set(app: App, args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        group = await the_group(session, ward, args.tdp, _)
        current = (await tip_boxes.points_of_ward(session, ward.id)).get(group.id)
        box = _since(args.box_since, current.box_since if current else None, _)
        board = _since(args.board_since, current.board_since if current else None, _)
        await tip_boxes.set_points(session, group, box_since=box, board_since=board)
    print(
        _("{tdp}: tip box {box}; board {board}").format(
            tdp=group.name, box=_shown(box, _), board=_shown(board, _)
        )
    )
    return 0


@on_app
async def cmd_box_open(app: App, args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    today = datetime.now(settings.zone).date()
    opened_on = _date(args.date, _) if args.date else today
    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        group = await the_group(session, ward, args.tdp, _)
        try:
            await tip_boxes.record_opening(
                session,
                group,
                opened_on=opened_on,
                opened_by=args.by,
                tips_found=args.found,
                recorded_by=None,
                today=today,
            )
        except OpeningRefused as refused:
            raise CommandError(_opening_refusal(refused.reason, _)) from None
    print(
        _(
            "{tdp}: box opened on {day}, {n} tips found. Record each with "
            "'wardbot tips add --source tip_box'."
        ).format(tdp=group.name, day=opened_on.strftime("%d/%m/%Y"), n=args.found)
    )
    return 0


@on_app
async def cmd_box_list(app: App, args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    today = datetime.now(settings.zone).date()
    first = today.replace(day=1)
    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        points = await tip_boxes.points_of_ward(session, ward.id)
        openings = await tip_boxes.openings_between(session, ward.id, first, today)
        groups = [g for g in await wards.list_groups(session, ward) if g.active]
    count: dict[int, int] = {}
    for opening in openings:
        count[opening.group_id] = count.get(opening.group_id, 0) + 1
    print("\t".join((_("TDP"), _("tip box"), _("board"), _("openings this month"))))
    for group in groups:
        p = points.get(group.id)
        print(
            "\t".join(
                (
                    group.name,
                    _shown(p.box_since if p else None, _),
                    _shown(p.board_since if p else None, _),
                    str(count.get(group.id, 0)),
                )
            )
        )
    return 0


def _since(text: str, current: date | None, _: Translate) -> date | None:
    if not text:
        return current
    if text.strip().lower() in ("none", "khong", "không"):
        return None
    return _date(text, _)


def _date(text: str, _: Translate) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            _("--date must look like 2026-11-22, not {date}").format(date=text)
        ) from None


def _shown(day: date | None, _: Translate) -> str:
    return _("since {day}").format(day=day.strftime("%d/%m/%Y")) if day else _("none")


def _opening_refusal(reason: str, _: Translate) -> str:
    return {
        "no tip box on that day": _(
            "the group had no tip box on that day: set it first with 'wardbot box set'"
        ),
        "a date in the future": _("the date of an opening cannot be in the future"),
        "tips found: 0 to 500": _("--found must be from 0 to 500"),
    }.get(reason, _("--by must say who opened the box, in at most 120 characters"))
