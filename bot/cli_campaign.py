"""`wardbot poster`, `progress`, `drugfree`, `pledge` and `report`: the campaign's printed
posters, the drug-free TDP tracker, organisation pledges and the monthly report."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.app import App
from bot.cli_common import CommandError, Translate, on_app, the_group, the_ward, with_app
from campaign.links import group_payload, links_for
from kernel import drug_free as rules
from kernel.config import Settings
from kernel.drug_free import DrugFreeStatus, TransitionError
from kernel.i18n import Translator, normalise
from reports.city import city_rows, gather_city
from reports.monthly import gather
from reports.periods import PeriodKind, ReportPeriod, parse_report_period
from reports.poster import PosterLink, PosterText
from storage import drug_free, pledges
from storage.models import PledgeKind, ResidentialGroup, Ward
from storage.pledges import KIND_LABELS, PledgeError


def add_commands(
    commands: Any, command: Callable[..., argparse.ArgumentParser], _: Translate
) -> None:
    poster = command(
        "poster", _("a printable A4 poster (PDF and PNG) with QR codes for a TDP"), cmd_poster
    )
    poster.add_argument("--tdp", required=True, help=_("the residential group's name"))
    poster.add_argument("--out", required=True, type=Path, help=_("file name; .pdf and .png"))
    poster.add_argument("--ward", default="")
    poster.add_argument("--lang", default="vi", help=_("vi or en"))

    progress = command("progress", _("drug-free TDPs against the ward's targets"), cmd_progress)
    progress.add_argument("--ward", default="")
    progress.add_argument("--year", type=int, default=0)

    tracker = commands.add_parser("drugfree", help=_("drug-free TDP status")).add_subparsers(
        metavar=_("ACTION")
    )
    mark = tracker.add_parser("set", help=_("record a TDP's status for a year"))
    mark.add_argument("--tdp", required=True)
    mark.add_argument("--status", required=True, choices=[s.value for s in DrugFreeStatus])
    mark.add_argument("--year", type=int, default=0, help=_("default: this year"))
    mark.add_argument("--date", default="", help=_("date of the decision, YYYY-MM-DD"))
    mark.add_argument("--ward", default="")
    mark.set_defaults(handler=cmd_drugfree_set)
    listing = tracker.add_parser("list", help=_("every TDP's status for a year"))
    listing.add_argument("--year", type=int, default=0)
    listing.add_argument("--ward", default="")
    listing.set_defaults(handler=cmd_drugfree_list)

    pledge = commands.add_parser("pledge", help=_("pledges of schools, businesses and TDPs"))
    actions = pledge.add_subparsers(metavar=_("ACTION"))
    add = actions.add_parser("add", help=_("record a signed pledge"))
    add.add_argument("--kind", required=True, choices=[k.value for k in KIND_LABELS])
    add.add_argument("--name", default="", help=_("the organisation's name"))
    add.add_argument("--tdp", default="", help=_("its residential group (optional)"))
    add.add_argument("--date", default="", help=_("date signed, YYYY-MM-DD"))
    add.add_argument("--ward", default="")
    add.set_defaults(handler=cmd_pledge_add)
    shown = actions.add_parser("list", help=_("pledges in force"))
    shown.add_argument("--ward", default="")
    shown.set_defaults(handler=cmd_pledge_list)
    withdraw = actions.add_parser("withdraw", help=_("withdraw an organisation's pledge"))
    withdraw.add_argument("pledge_id", type=int)
    withdraw.add_argument("--ward", default="")
    withdraw.set_defaults(handler=cmd_pledge_withdraw)

    report = command(
        "report", _("the report for the ward People's Committee, or the city's"), cmd_report
    )
    when = report.add_mutually_exclusive_group(required=True)
    when.add_argument("--period", help=_("2026-11, 2026-Q3, 2026-H1 or 2026"))
    when.add_argument("--month", dest="period", help=_("the same as --period, e.g. 2026-11"))
    report.add_argument("--city", action="store_true", help=_("one row per ward, figures only"))
    report.add_argument("--out", type=Path, help=_("folder for the files"))
    report.add_argument("--ward", default="")
    report.add_argument("--lang", default="vi", help=_("vi or en"))


def _language(text: str, _: Translate) -> str:
    chosen = normalise(text)
    if chosen is None:
        raise CommandError(_("--lang must be vi or en, not {lang}").format(lang=text))
    return chosen


def _day(text: str, settings: Settings, _: Translate) -> date:
    if not text:
        return datetime.now(settings.zone).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(
            _("--date must look like 2026-11-22, not {date}").format(date=text)
        ) from None


async def cmd_poster(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    gettext = Translator().get(_language(args.lang, _)).gettext
    return await with_app(settings, _, _poster, args, settings, gettext, _)


async def _poster(
    app: App, args: argparse.Namespace, settings: Settings, gettext: Translate, _: Translate
) -> int:
    from reports.poster import render_poster  # fpdf2 and pdfium: loaded when needed

    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        group = await the_group(session, ward, args.tdp, _)
    try:
        text = poster_text(ward, group, settings, gettext)
        files = render_poster(text, args.out)
    except ValueError:
        raise CommandError(
            _(
                "the poster cannot hold this text on one A4 page: use at most "
                "8 hotline numbers with short labels, and bot links of at "
                "most 300 characters"
            )
        ) from None
    except OSError as exc:
        raise CommandError(
            _("cannot write {file}: {problem}").format(
                file=args.out, problem=exc.strerror or type(exc).__name__
            )
        ) from None
    if not text.links:
        print(
            _(
                "Note: no bot links are configured ([links] telegram_username, zalo), so "
                "the poster has no QR code."
            )
        )
    print(files.pdf)
    print(files.png)
    return 0


def poster_text(ward: Ward, group: ResidentialGroup, settings: Settings, _: Translate) -> Any:
    links = links_for(settings, group_payload(group.id))
    codes = []
    if links.telegram:
        codes.append(PosterLink("Telegram", links.telegram, _("Scan with the phone's camera")))
    if links.zalo:
        codes.append(
            PosterLink(
                "Zalo",
                links.zalo,
                _("Scan with Zalo, then send: {command}").format(command=links.zalo_command),
            )
        )
    return PosterText(
        heading=_("Ward police of {ward}").format(ward=ward.name).upper(),
        group=_("Residential group {tdp}").format(tdp=group.name),
        slogan=_("Every resident is a soldier, every family a fortress in the fight against drugs"),
        call_to_action=_(
            "Scan the code to report drug crime to the ward police anonymously, to receive "
            "anti-drug messages and to sign the drug-free family pledge. The bot does not "
            "keep your name or account, and it stores what you send encrypted; Telegram "
            "and Zalo carry your messages to it."
        ),
        hotlines_title=_("Hotline numbers"),
        hotlines=[(_("Emergency (police)"), "113"), *((label, n) for label, n in ward.hotlines)],
        links=codes,
        footer=_("The identity of people who report is kept secret. In an emergency, call 113."),
    )


async def _tracker(app: Any, args: argparse.Namespace, settings: Settings, _: Translate) -> Any:
    """The ward, the year asked for, its TDPs and their drug-free records."""
    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        groups = await drug_free.active_groups(session, ward.id)
        marks = await drug_free.marks_by_group(session, ward.id)
    return ward, args.year or datetime.now(settings.zone).year, groups, marks


@on_app
async def cmd_progress(app: App, args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    ward, year, groups, marks = await _tracker(app, args, settings, _)
    targets = settings.targets.get(ward.code, ())
    print(_("Drug-free residential groups, {ward}:").format(ward=ward.name))
    print("\t".join([_("year"), _("drug-free"), _("of"), _("target"), _("met")]))
    for row in rules.progress(marks, len(groups), targets, year):
        met = "" if row.met is None else (_("yes") if row.met else _("no"))
        target = row.target.label(row.total) if row.target else "—"
        print("\t".join(map(str, (row.year, row.achieved, row.total, target, met))))
    if not targets:
        print(_("No targets are set for this ward (see [targets] in the config)."))
    return 0


async def cmd_drugfree_set(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    decided = _day(args.date, settings, _)
    return await with_app(settings, _, _record_drug_free, args, settings, decided, _)


async def _record_drug_free(
    app: App, args: argparse.Namespace, settings: Settings, decided: date, _: Translate
) -> int:
    year = args.year or decided.year
    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        group = await the_group(session, ward, args.tdp, _)
        status = DrugFreeStatus(args.status)
        try:
            await drug_free.record(
                session, group, year=year, status=status, decided_on=decided, officer_id=None
            )
        except TransitionError as exc:
            raise CommandError(exc.translated(_)) from None
        await app.services.audit.append(
            session,
            "drug_free.record",
            ward_id=ward.id,
            detail={"group_id": group.id, "year": year, "status": str(status), "by": "cli"},
        )
    print(
        _("Recorded: {tdp} is {status} for {year}.").format(
            tdp=group.name, status=_(rules.LABELS[status]), year=year
        )
    )
    return 0


@on_app
async def cmd_drugfree_list(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    _ward, year, groups, marks = await _tracker(app, args, settings, _)
    for group in sorted(groups, key=lambda g: g.search_key):
        mark = rules.status_at(marks.get(group.id, []), year)
        shown = "—" if mark is None else f"{_(rules.LABELS[mark.status])} ({mark.year})"
        print(f"{group.name}\t{shown}")
    return 0


async def cmd_pledge_add(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    signed = _day(args.date, settings, _)
    return await with_app(settings, _, _add_pledge, args, settings, signed, _)


async def _add_pledge(
    app: App, args: argparse.Namespace, settings: Settings, signed: date, _: Translate
) -> int:
    kind = PledgeKind(args.kind)
    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        group = await the_group(session, ward, args.tdp, _) if args.tdp else None
        name = args.name or (group.name if kind is PledgeKind.GROUP and group else "")
        try:
            row = await pledges.add_organisation(
                session,
                ward_id=ward.id,
                kind=kind,
                name=name,
                group=group,
                signed_on=signed,
                officer_id=None,
            )
        except PledgeError as exc:
            raise CommandError(_(exc.reason)) from None
    print(_("Recorded pledge {id}: {name}").format(id=row.id, name=row.name))
    return 0


@on_app
async def cmd_pledge_list(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        rows = await pledges.organisations(session, ward.id)
        counts = await pledges.household_counts(session, ward.id)
        names = {g.id: g.name for g in await drug_free.active_groups(session, ward.id)}
    for row in rows:
        kind = _(KIND_LABELS.get(PledgeKind(row.kind), row.kind))
        group = names.get(row.group_id, "") if row.group_id else ""
        print(f"{row.id}\t{row.signed_on.isoformat()}\t{kind}\t{row.name}\t{group}")
    print(_("Family pledges in force: {n}").format(n=counts.total))
    for group_id, n in sorted(counts.by_group.items(), key=lambda item: -item[1]):
        print(f"\t{names.get(group_id, '?')}\t{n}")
    return 0


@on_app
async def cmd_pledge_withdraw(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        done = await pledges.withdraw_organisation(session, ward.id, args.pledge_id)
    if not done:
        raise CommandError(
            _("no organisation pledge {id} in force in this ward").format(id=args.pledge_id)
        )
    print(_("Pledge {id} withdrawn.").format(id=args.pledge_id))
    return 0


async def cmd_report(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    language = _language(args.lang, _)
    now = datetime.now(settings.zone)
    try:
        period = parse_report_period(args.period)
    except ValueError:
        raise CommandError(
            _("--period must look like 2026-11, 2026-Q3, 2026-H1 or 2026, not {period}").format(
                period=args.period
            )
        ) from None
    if period.first > now.date():
        raise CommandError(_("that period has not begun yet"))
    if args.city:
        return await with_app(settings, _, _city, args, period, language, now, _)
    if args.out is None:
        raise CommandError(_("say where to write the report with --out DIR"))
    return await with_app(settings, _, _report, args, settings, period, language, now, _)


async def _report(
    app: App,
    args: argparse.Namespace,
    settings: Settings,
    period: ReportPeriod,
    language: str,
    now: datetime,
    _: Translate,
) -> int:
    from reports.document import write_report  # matplotlib and fpdf2: loaded when needed

    gettext = Translator().get(language).gettext
    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        report = await gather(session, settings, ward, period.key, gettext, language, now)
        await app.services.audit.append(
            session,
            "report.monthly" if period.kind is PeriodKind.MONTH else "report.period",
            ward_id=ward.id,
            detail={"month": report.month, "by": "cli"},
        )
    try:
        files = await asyncio.to_thread(write_report, report, args.out, gettext)
    except OSError as exc:
        raise CommandError(
            _("cannot write {file}: {problem}").format(
                file=args.out, problem=exc.strerror or type(exc).__name__
            )
        ) from None
    for path in (files.pdf, *files.csvs, *files.charts):
        print(path)
    return 0


async def _city(
    app: App,
    args: argparse.Namespace,
    period: ReportPeriod,
    language: str,
    now: datetime,
    _: Translate,
) -> int:
    """Every ward's figures, one row each: counts and shares only, never a tip."""
    gettext = Translator().get(language).gettext
    async with app.services.db.transaction() as session:
        city = await gather_city(
            session, period, zone=app.services.settings.zone, now=now, gettext=gettext
        )
        await app.services.audit.append(
            session, "report.city", detail={"period": period.key, "by": "cli"}
        )
    rows = city_rows(city, gettext)
    title = gettext("City roll-up: {period}").format(period=period.label(gettext))
    print(title)
    for row in rows:
        print("\t".join(row))
    if args.out is None:
        return 0
    from reports.document import write_city  # fpdf2: loaded when needed

    try:
        written = await asyncio.to_thread(
            write_city, rows, title, args.out, f"city-{period.key}", language, gettext
        )
    except OSError as exc:
        raise CommandError(
            _("cannot write {file}: {problem}").format(
                file=args.out, problem=exc.strerror or type(exc).__name__
            )
        ) from None
    for path in written:
        print(path)
    return 0
