"""`wardbot content`, `wardbot campaign` and `wardbot coverage`: the awareness library,
the yearly campaigns, and the monthly coverage table a commander reports from."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from bot.app import App
from bot.cli_common import CommandError, Translate, find_ward, on_app, the_ward, with_app
from broadcasts import approval, coverage, deliveries, library, review
from broadcasts.calendar import parse_period, period_of
from broadcasts.library import Content, ContentError
from campaign import quiz
from campaign.links import links_for, ward_payload
from kernel.clock import utcnow
from kernel.config import CampaignSettings, ConfigError, Settings, parse_campaigns
from kernel.i18n import Translator, normalise
from reports import exports
from storage import broadcasts as broadcast_rows
from storage import campaigns
from storage.labels import (
    BROADCAST_KIND_LABELS,
    BROADCAST_STATUS_LABELS,
    CAMPAIGN_ORIGIN_LABELS,
    label_of,
)
from storage.models import BroadcastStatus, Campaign, Ward


def add_commands(
    commands: Any, command: Callable[..., argparse.ArgumentParser], _: Translate
) -> None:
    content = commands.add_parser("content", help=_("awareness messages")).add_subparsers(
        metavar=_("ACTION")
    )
    listing = content.add_parser("list", help=_("list the awareness messages"))
    listing.add_argument("--campaign", default=None, help=_("only this campaign's set"))
    listing.set_defaults(handler=cmd_content_list)
    show = content.add_parser("show", help=_("show one message in full"))
    show.add_argument("slug")
    show.set_defaults(handler=cmd_content_show)
    review = content.add_parser("review", help=_("list the shipped content due for review"))
    review.add_argument(
        "--months",
        type=int,
        default=12,
        help=_("reviewed longer ago than this is due (default: 12)"),
    )
    review.add_argument(
        "--library",
        type=Path,
        default=library.LIBRARY,
        help=_("a library file to check instead of the shipped one"),
    )
    review.add_argument(
        "--quiz",
        type=Path,
        default=quiz.QUIZ_FILE,
        help=_("a quiz file to check instead of the shipped one"),
    )
    review.set_defaults(handler=cmd_content_review)
    export = content.add_parser(
        "export",
        help=_("the month's messages for the loudspeaker, the notice board or the ward's page"),
    )
    export.add_argument("--month", required=True, help=_("e.g. 2026-06"))
    export.add_argument(
        "--for", dest="channel", required=True, help=_("loudspeaker, board or post")
    )
    export.add_argument("--out", type=Path, default=None, help=_("file to write (board: a PDF)"))
    export.add_argument("--ward", default="")
    export.add_argument("--lang", default="vi", help=_("vi or en"))
    export.set_defaults(handler=cmd_content_export)
    for name, handler, help_text in (
        ("add", cmd_content_add, _("add a message")),
        ("edit", cmd_content_edit, _("change a message")),
    ):
        sub = content.add_parser(name, help=help_text)
        sub.add_argument("slug")
        sub.add_argument("--topic", choices=library.TOPICS, default=None)
        sub.add_argument("--audience", choices=library.AUDIENCES, default=None)
        sub.add_argument("--campaign", default=None, help=_("campaign set, e.g. june"))
        sub.add_argument("--vi", type=Path, default=None, help=_("file with the Vietnamese text"))
        sub.add_argument("--en", type=Path, default=None, help=_("file with the English text"))
        sub.add_argument("--image", default=None, help=_("public https:// address of an image"))
        sub.add_argument("--source", default=None, help=_("where the facts come from"))
        sub.set_defaults(handler=handler)
    for name, active in (("disable", False), ("enable", True)):
        sub = content.add_parser(
            name, help=_("stop using a message") if not active else _("use a message again")
        )
        sub.add_argument("slug")
        sub.set_defaults(handler=cmd_content_toggle, active=active)

    campaign = commands.add_parser("campaign", help=_("yearly campaigns")).add_subparsers(
        metavar=_("ACTION")
    )
    campaign.add_parser("list", help=_("list campaigns")).set_defaults(handler=cmd_campaign_list)
    add = campaign.add_parser("add", help=_("add a yearly date, e.g. 19/8"))
    add.add_argument("slug")
    add.add_argument("--name", required=True)
    add.add_argument("--date", required=True, help=_("day/month, e.g. 19/8"))
    add.add_argument("--time", default="08:00")
    add.add_argument("--content", default="", help=_("message set; empty: the rotation"))
    add.add_argument("--ward", default="", help=_("only this ward (default: every ward)"))
    add.add_argument("--groups-only", action="store_true", help=_("not to subscribers"))
    add.set_defaults(handler=cmd_campaign_add)
    stop = campaign.add_parser("disable", help=_("stop a campaign"))
    stop.add_argument("slug")
    stop.set_defaults(handler=cmd_campaign_disable)

    broadcast = commands.add_parser("broadcast", help=_("broadcasts and their delivery"))
    actions = broadcast.add_subparsers(metavar=_("ACTION"))
    recent = actions.add_parser("list", help=_("recent broadcasts with their figures"))
    recent.add_argument("--ward", default="")
    recent.set_defaults(handler=cmd_broadcast_list)
    watch = actions.add_parser("watch", help=_("a progress bar until the broadcast is sent"))
    watch.add_argument("broadcast_id", type=int)
    watch.set_defaults(handler=cmd_broadcast_watch)

    cov = command("coverage", _("which TDPs received anti-drug messages in a month"), cmd_coverage)
    cov.add_argument("--month", default="", help=_("e.g. 2026-11 (default: this month)"))
    cov.add_argument("--ward", default="")


def _content_from(args: argparse.Namespace, _: Translate) -> dict[str, str | None]:
    def read(path: Path | None) -> str | None:
        if path is None:
            return None
        try:
            return path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise CommandError(_("cannot read {path} as UTF-8 text").format(path=path)) from None

    return {
        "topic": args.topic,
        "audience": args.audience,
        "campaign": args.campaign,
        "text_vi": read(args.vi),
        "text_en": read(args.en),
        "image_url": args.image,
        "source": args.source,
    }


def _content_error(exc: ContentError, _: Translate) -> CommandError:
    return CommandError(_(exc.problem).format(value=exc.value))


@on_app
async def cmd_content_list(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with app.services.db.transaction() as session:
        rows = await library.list_messages(session, campaign=args.campaign)
    for row in rows:
        state = _("on") if row.active else _("off")
        first = row.text_vi.strip().splitlines()[0][:60]
        print(f"{row.slug}\t{row.topic}\t{row.audience}\t{row.campaign or '-'}\t{state}\t{first}")
    print(_("{count} messages").format(count=len(rows)))
    return 0


@on_app
async def cmd_content_show(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with app.services.db.transaction() as session:
        row = await _message(session, args.slug, _)
    print(f"{row.slug} · {row.topic} · {row.audience} · {row.campaign or '-'}")
    print(_("source: {source}").format(source=row.source or "-"))
    print(f"\n[vi]\n{row.text_vi}\n\n[en]\n{row.text_en or '-'}")
    return 0


async def cmd_content_review(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    """The shipped messages and quiz questions last reviewed more than --months ago, or
    whose validity ends within 60 days or has ended. Reads the files, not the database."""
    if args.months < 0:
        raise CommandError(_("--months must be 0 or more"))
    try:
        messages = library.read_library(args.library)
        questions = quiz.load(args.quiz)
    except ContentError as exc:
        raise _content_error(exc, _) from None
    except (quiz.QuizFileError, OSError, ValueError) as exc:
        raise CommandError(_("cannot read the content files: {error}").format(error=exc)) from None
    today = utcnow().astimezone(settings.zone).date()
    found = review.due(today, args.months, messages, questions)
    kinds = {"message": _("message"), "question": _("quiz question")}
    for item in found:
        day = item.day.strftime("%d/%m/%Y")
        if item.why is review.Why.STALE:
            why = _("last reviewed {day}, more than {months} months ago").format(
                day=day, months=args.months
            )
        elif item.why is review.Why.ENDING:
            why = _("valid until {day}, in {days} days").format(
                day=day, days=(item.day - today).days
            )
        else:
            why = _("was valid until {day}, no longer valid").format(day=day)
        print(f"{kinds[item.kind]}\t{item.slug}\t{why}")
    if found:
        print(_("{count} to review").format(count=len(found)))
    else:
        print(
            _(
                "nothing to review: {messages} messages and {questions} quiz questions checked"
            ).format(messages=len(messages), questions=len(questions))
        )
    return 0


async def cmd_content_export(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    """The month's messages as a loudspeaker script, a notice-board PDF or a post; the
    arguments are checked before anything is opened."""
    if args.channel not in exports.FORMATS:
        raise CommandError(
            _("--for must be loudspeaker, board or post, not {value}").format(value=args.channel)
        )
    try:
        first = parse_period(args.month)
    except ValueError:
        raise CommandError(
            _("--month must look like 2026-11, not {month}").format(month=args.month)
        ) from None
    language = normalise(args.lang)
    if language is None:
        raise CommandError(_("--lang must be vi or en, not {lang}").format(lang=args.lang))
    if args.channel == "board" and args.out is None:
        raise CommandError(_("a notice for the board is a PDF: say where with --out"))
    gettext = Translator().get(language).gettext
    return await with_app(settings, _, _export, args, settings, first, language, gettext, _)


async def _export(
    app: App,
    args: argparse.Namespace,
    settings: Settings,
    first: date,
    language: str,
    gettext: Translate,
    _: Translate,
) -> int:
    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        found = await exports.month_messages(session, settings, ward, first, language, gettext)
    if not found:
        raise CommandError(
            _("no message to export for {month}: the content library has none in force").format(
                month=args.month
            )
        )
    texts = [m.text for m in found]
    try:
        if args.channel == "board":
            # fpdf2 is imported inside render_board: loaded only for a board notice
            print(exports.render_board(_board_text(ward, first, texts, gettext), args.out))
            return 0
        if args.channel == "loudspeaker":
            output = exports.loudspeaker_script(ward.name, first, texts, language, gettext)
        else:
            output = exports.post_text(
                ward.name, first, texts, _post_links(settings, ward, gettext), gettext
            )
        if args.out is None:
            sys.stdout.write(output)
        else:
            args.out.write_text(output, encoding="utf-8")
            print(args.out)
    except OSError as exc:
        raise CommandError(
            _("cannot write {file}: {problem}").format(
                file=args.out, problem=exc.strerror or type(exc).__name__
            )
        ) from None
    return 0


def _board_text(ward: Ward, first: date, texts: list[str], _: Translate) -> exports.BoardText:
    return exports.BoardText(
        heading=_("Ward police of {ward}").format(ward=ward.name).upper(),
        title=_("Anti-drug messages for the residents of {ward} ward, {month}").format(
            ward=ward.name, month=exports.month_label(first)
        ),
        messages=texts,
        hotlines_title=_("Hotline numbers"),
        hotlines=[(_("Emergency (police)"), "113"), *((label, n) for label, n in ward.hotlines)],
        footer=_("The identity of people who report is kept secret. In an emergency, call 113."),
    )


def _post_links(settings: Settings, ward: Ward, _: Translate) -> list[tuple[str, str]]:
    links = links_for(settings, ward_payload(ward.id))
    found = []
    if links.telegram:
        found.append(("Telegram", links.telegram))
    if links.zalo:
        found.append(
            (
                "Zalo",
                _("{link}, then send: {command}").format(
                    link=links.zalo, command=links.zalo_command
                ),
            )
        )
    return found


async def _message(session: Any, slug: str, _: Translate) -> Any:
    row = await library.find(session, slug)
    if row is None:
        raise CommandError(
            _("no message called {slug}; see 'wardbot content list'").format(slug=slug)
        )
    return row


async def cmd_content_add(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    fields = _content_from(args, _)  # the files are read before anything is opened
    if not fields["text_vi"] or not fields["topic"] or not fields["audience"]:
        raise CommandError(_("a new message needs --topic, --audience and --vi"))
    return await with_app(settings, _, _add_message, args.slug, fields, _)


async def _add_message(app: App, slug: str, fields: dict[str, str | None], _: Translate) -> int:
    try:
        content = Content(slug, **{k: v or "" for k, v in fields.items()})  # type: ignore[arg-type]
        async with app.services.db.transaction() as session:
            await library.add(session, content)
    except ContentError as exc:
        raise _content_error(exc, _) from None
    print(_("message {slug} added").format(slug=slug))
    return 0


async def cmd_content_edit(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    return await with_app(settings, _, _edit_message, args.slug, _content_from(args, _), _)


async def _edit_message(app: App, slug: str, fields: dict[str, str | None], _: Translate) -> int:
    try:
        async with app.services.db.transaction() as session:
            row = await _message(session, slug, _)
            await library.edit(session, row, **fields)  # type: ignore[arg-type]
    except ContentError as exc:
        raise _content_error(exc, _) from None
    print(_("message {slug} changed").format(slug=slug))
    return 0


@on_app
async def cmd_content_toggle(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with app.services.db.transaction() as session:
        row = await _message(session, args.slug, _)
        row.active = args.active
        row.edited = True  # the library file no longer decides for this message
        row.updated_at = utcnow()
    line = (
        _("message {slug} is used again")
        if args.active
        else _("message {slug} will not be sent any more")
    )
    print(line.format(slug=args.slug))
    return 0


@on_app
async def cmd_campaign_list(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with app.services.db.transaction() as session:
        rows = await campaigns.by_date(session)
    for row in rows:
        when = (
            f"{row.day}/{row.month}"
            if row.day
            else _("every week of month {month}").format(month=row.month)
        )
        state = _("on") if row.active else _("off")
        origin = _(label_of(CAMPAIGN_ORIGIN_LABELS, row.origin))
        print(
            f"{row.slug}\t{when} {row.at_time}\t{row.content or '-'}\t{origin}\t{state}\t{row.name}"
        )
    return 0


async def cmd_campaign_add(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    try:
        entry = parse_campaigns(
            {
                "campaign": [
                    {
                        "slug": args.slug,
                        "name": args.name,
                        "date": args.date,
                        "time": args.time,
                        "content": args.content,
                        "subscribers": not args.groups_only,
                    }
                ]
            }
        )[0]
    except ConfigError as exc:
        raise CommandError(f"{exc.key}: {_(exc.problem).format(value=exc.value)}") from None
    return await with_app(settings, _, _add_campaign, args, entry, _)


async def _add_campaign(
    app: App, args: argparse.Namespace, entry: CampaignSettings, _: Translate
) -> int:
    async with app.services.db.transaction() as session:
        if await campaigns.find(session, entry.slug):
            raise CommandError(_("a campaign called {slug} exists already").format(slug=entry.slug))
        ward = await find_ward(session, args.ward, _) if args.ward else None
        campaigns.add(
            session,
            Campaign(
                slug=entry.slug,
                name=entry.name,
                ward_id=ward.id if ward else None,
                month=entry.month,
                day=entry.day,
                at_time=entry.at_time,
                content=entry.content,
                subscribers=entry.subscribers,
                active=True,
                origin="admin",
                created_at=utcnow(),
            ),
        )
    print(
        _("campaign {slug} added: every year on {date} at {time}").format(
            slug=entry.slug, date=f"{entry.day}/{entry.month}", time=entry.at_time
        )
    )
    return 0


@on_app
async def cmd_campaign_disable(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with app.services.db.transaction() as session:
        row = await campaigns.find(session, args.slug)
        if row is None:
            raise CommandError(_("no campaign called {slug}").format(slug=args.slug))
        row.active = False
    print(_("campaign {slug} stopped").format(slug=args.slug))
    return 0


async def cmd_coverage(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    month = args.month.strip() or period_of(utcnow(), settings.zone)
    try:
        parse_period(month)
    except ValueError:
        raise CommandError(
            _("--month must look like 2026-11, not {month}").format(month=month)
        ) from None
    return await with_app(settings, _, _coverage, args, settings, month, _)


async def _coverage(
    app: App, args: argparse.Namespace, settings: Settings, month: str, _: Translate
) -> int:
    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        table = await coverage.month_table(session, ward.id, month)
    print(coverage.render_table(table, ward.name, month, _, settings.zone))
    return 0


@on_app
async def cmd_broadcast_list(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with app.services.db.transaction() as session:
        ward = await the_ward(session, args.ward, settings, _)
        rows = await approval.recent(session, ward.id, limit=20)
        for row in rows:
            done = await deliveries.progress(session, row.id)
            when = row.scheduled_at.astimezone(settings.zone).strftime("%d/%m/%Y %H:%M")
            print(
                _(
                    "#{id}\t{kind}\t{status}\t{when}\t{sent}/{total} delivered, {blocked} "
                    "blocked, {failed} failed"
                ).format(
                    id=row.id,
                    kind=_(label_of(BROADCAST_KIND_LABELS, row.kind)),
                    status=_(label_of(BROADCAST_STATUS_LABELS, row.status)),
                    when=when,
                    sent=done.sent,
                    total=done.total,
                    blocked=done.blocked,
                    failed=done.failed,
                )
            )
    if not rows:
        print(_("no broadcasts yet"))
    return 0


FINISHED = {BroadcastStatus.DONE, BroadcastStatus.REJECTED, BroadcastStatus.CANCELLED}


@on_app
async def cmd_broadcast_watch(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    """Follows a broadcast the running bot is sending; the bar counts finished messages."""
    from tqdm import tqdm

    bar = None
    try:
        while True:
            async with app.services.db.transaction() as session:
                row = await broadcast_rows.get(session, args.broadcast_id)
                if row is None:
                    raise CommandError(_("no broadcast #{id}").format(id=args.broadcast_id))
                done = await deliveries.progress(session, row.id)
            if bar is None:
                bar = tqdm(
                    total=done.total,
                    unit=_("msg"),
                    file=sys.stderr,
                    desc=f"#{row.id}",
                    dynamic_ncols=True,
                )
            bar.total = max(bar.total or 0, done.total)
            bar.n = done.total - done.waiting
            bar.set_postfix_str(
                _("{sent} delivered, {blocked} blocked, {failed} failed").format(
                    sent=done.sent, blocked=done.blocked, failed=done.failed
                ),
                refresh=True,
            )
            if row.status in FINISHED:
                break
            await asyncio.sleep(1.0)
    finally:
        if bar is not None:
            bar.close()
    print(
        _("#{id} {status}: {sent} delivered, {blocked} blocked, {failed} failed").format(
            id=row.id,
            status=_(label_of(BROADCAST_STATUS_LABELS, row.status)),
            sent=done.sent,
            blocked=done.blocked,
            failed=done.failed,
        )
    )
    return 0
