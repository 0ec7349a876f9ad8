"""The `wardbot` command: run the bot, chat in the console, set up wards and keys."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot import cli_broadcasts, cli_campaign, cli_tips
from bot.app import App, quiet_content_loggers
from bot.channels import console
from bot.cli_common import (
    CommandError,
    Handler,
    Translate,
    argparse_speaks,
    find_ward,
    on_app,
    on_db,
    opened,
    with_app,
    with_db,
)
from bot.jobs import Jobs, retention_tick
from bot.tdp_csv import read_groups
from kernel import config as config_module
from kernel.config import ConfigError, Settings
from kernel.errors import describe
from kernel.i18n import Translator, normalise
from storage import keyring as keyring_file
from storage import migrate, officers, wards
from storage.crypto import Vault
from storage.db import Database
from storage.keyring import KeyringError
from storage.keys import bind_keyring, rewrap_all, wrapped_under_master
from storage.labels import OFFICER_STATUS_LABELS, ROLE_LABELS, label_of
from storage.models import OfficerRole
from storage.wards import GroupRow, Problem, WardError

log = logging.getLogger("wardbot")


def cli_language(environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    for name in ("WARDBOT_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        chosen = normalise(environ.get(name, "").split(".")[0])
        if chosen:
            return chosen
    return "vi"


def main(argv: Sequence[str] | None = None) -> int:
    translations = Translator().get(cli_language())
    _ = translations.gettext
    with argparse_speaks(translations):  # its usage lines and errors in the same language
        parser = _parser(_)
        args = parser.parse_args(argv)
        if not hasattr(args, "handler"):
            parser.print_help()
            return 2
    try:
        settings = config_module.load(args.config)
        quiet = getattr(args, "quiet_logs", False)
        if quiet == "console":  # the console chat would drown in log lines; servers log
            quiet = not settings.channels
        _configure_logging(settings, quiet=bool(quiet))
        return asyncio.run(args.handler(args, settings, _)) or 0
    except ConfigError as exc:
        problem = _(exc.problem).format(value=exc.value)
        line = _("wardbot: configuration error: {key}: {problem}")
        print(line.format(key=exc.key, problem=problem), file=sys.stderr)
        return 2
    except KeyringError as exc:
        problem = _(exc.problem).format(**exc.params)
        print(_("wardbot: keyring error: {problem}").format(problem=problem), file=sys.stderr)
        return 2
    except WardError as exc:
        for ward_problem in exc.problems:
            print(f"wardbot: {_render(ward_problem, _)}", file=sys.stderr)
        return 1
    except CommandError as exc:
        print(f"wardbot: {exc}", file=sys.stderr)
        return 1
    except migrate.MigrationFailed:
        print(
            _("wardbot: the database could not be migrated; 'wardbot db upgrade' shows why"),
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:  # `wardbot content list | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, ConnectionError) as exc:
        line = _("wardbot: cannot reach the database or a file: {problem}")
        print(line.format(problem=describe(exc)), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _render(problem: Problem, _: Callable[[str], str]) -> str:
    text = _(problem.message).format(**problem.params)
    return (
        _("line {line}: {problem}").format(line=problem.line, problem=text)
        if problem.line
        else text
    )


def _configure_logging(settings: Settings, *, quiet: bool) -> None:
    level = logging.WARNING if quiet else getattr(logging, settings.log_level)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # At every level, also for commands that open only the database: libraries that would
    # log SQL parameters or payloads stay quiet (open_app sets the same again).
    quiet_content_loggers()
    if level > logging.DEBUG:
        logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration step
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # two lines per tick
        logging.getLogger("fontTools").setLevel(logging.WARNING)  # a line per font table


def _parser(_: Callable[[str], str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wardbot", description=_("Ward anti-drug bot."))
    parser.add_argument("--config", type=Path, help=_("configuration file (TOML)"))
    # `wardbot run --config FILE` as well as `wardbot --config FILE run`: every command
    # and action takes --config too (their parsers are of this class, nested ones as
    # well); given there, it wins, and when it is not, the top-level value stays.
    config_option = argparse.ArgumentParser(add_help=False)
    config_option.add_argument(
        "--config", type=Path, default=argparse.SUPPRESS, help=_("configuration file (TOML)")
    )

    class WithConfig(argparse.ArgumentParser):
        def __init__(self, *args: Any, **kw: Any) -> None:
            kw["parents"] = [config_option, *kw.get("parents", ())]
            super().__init__(*args, **kw)

    commands = parser.add_subparsers(metavar=_("COMMAND"), parser_class=WithConfig)

    def command(name: str, help_text: str, handler: Handler, **kw: Any) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, **kw)
        sub.set_defaults(handler=handler)
        return sub

    run = command(
        "run", _("start the bot (the console chat when no channel is configured)"), cmd_run
    )
    run.add_argument("--user", default="local", help=_("console user name"))
    run.set_defaults(quiet_logs="console")
    chat = command("chat", _("talk to the bot in this terminal as a user"), cmd_chat)
    chat.add_argument("--user", default="local", help=_("the user you talk as"))
    chat.set_defaults(quiet_logs=True)

    db = commands.add_parser("db", help=_("database schema")).add_subparsers(metavar=_("ACTION"))
    db.add_parser("upgrade", help=_("apply migrations")).set_defaults(handler=cmd_db_upgrade)

    keys = commands.add_parser("keys", help=_("encryption keys")).add_subparsers(
        metavar=_("ACTION")
    )
    keys.add_parser("init", help=_("create the keyring file")).set_defaults(handler=cmd_keys_init)
    keys.add_parser("rotate", help=_("add a new master key and make it active")).set_defaults(
        handler=cmd_keys_rotate
    )
    keys.add_parser(
        "rewrap",
        help=_("re-wrap every data key where it belongs: the active master key or its month's key"),
    ).set_defaults(handler=cmd_keys_rewrap)
    retire = keys.add_parser(
        "retire",
        help=_("remove an old master key from the keyring, once no data key is wrapped under it"),
    )
    retire.add_argument("version", type=int)
    retire.set_defaults(handler=cmd_keys_retire)

    ward = commands.add_parser("ward", help=_("wards")).add_subparsers(metavar=_("ACTION"))
    add = ward.add_parser("add", help=_("add a ward"))
    add.add_argument("name")
    add.add_argument("--code", default="", help=_("short code, e.g. phu-lien"))
    add.add_argument("--city", default="")
    add.set_defaults(handler=cmd_ward_add)
    ward.add_parser("list", help=_("list wards")).set_defaults(handler=cmd_ward_list)
    hotline = ward.add_parser("hotline", help=_("set the hotline numbers residents see"))
    hotline.add_argument("ward")
    hotline.add_argument("entries", nargs="*", metavar="LABEL=NUMBER")
    hotline.add_argument("--clear", action="store_true", help=_("remove every number first"))
    hotline.set_defaults(handler=cmd_ward_hotline)

    officer = commands.add_parser("officer", help=_("ward police officers")).add_subparsers(
        metavar=_("ACTION")
    )
    invite = officer.add_parser("invite", help=_("a one-time code for /join, valid 24 hours"))
    invite.add_argument("--ward", required=True)
    invite.add_argument("--role", choices=["officer", "commander", "city"], default="officer")
    invite.add_argument("--label", default="", help=_("how the officer is shown to colleagues"))
    invite.set_defaults(handler=cmd_officer_invite)
    listing = officer.add_parser("list", help=_("list officers"))
    listing.add_argument("--ward", default="")
    listing.set_defaults(handler=cmd_officer_list)
    revoke = officer.add_parser("revoke", help=_("take an officer's access away at once"))
    revoke.add_argument("officer_id", type=int)
    revoke.set_defaults(handler=cmd_officer_revoke)

    audit = commands.add_parser("audit", help=_("audit log")).add_subparsers(metavar=_("ACTION"))
    audit.add_parser("verify", help=_("check that the audit chain is intact")).set_defaults(
        handler=cmd_audit_verify
    )

    tips = commands.add_parser("tips", help=_("tips")).add_subparsers(metavar=_("ACTION"))
    tips.add_parser(
        "shred-expired", help=_("destroy the content of tips closed longer than the retention")
    ).set_defaults(handler=cmd_tips_shred)
    cli_tips.add_commands(commands, tips, command, _)

    tdp = commands.add_parser("tdp", help=_("residential groups (TDP)")).add_subparsers(
        metavar=_("ACTION")
    )
    imp = tdp.add_parser("import", help=_("import residential groups from a CSV file"))
    imp.add_argument("file", type=Path)
    imp.add_argument("--ward", required=True)
    imp.set_defaults(handler=cmd_tdp_import)
    lst = tdp.add_parser("list", help=_("list residential groups"))
    lst.add_argument("--ward", required=True)
    lst.set_defaults(handler=cmd_tdp_list)
    cli_broadcasts.add_commands(commands, command, _)
    cli_campaign.add_commands(commands, command, _)
    return parser


async def cmd_run(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    """Every configured chat platform; the console chat when none is configured."""
    if not settings.channels:
        return await _console(args, settings, _, with_jobs=True)
    # The long-running process never imports Alembic: a due migration runs in a child.
    app = await opened(settings, _, migrate_in_child=True)
    try:
        return await _serve(app, settings, _)
    finally:
        await app.close()


async def _serve(app: App, settings: Settings, _: Translate) -> int:
    from bot import server  # the platform clients load only when a platform runs

    try:
        await server.serve(app, settings)
    except server.ListenError as exc:
        raise CommandError(
            _("cannot listen on {address}: is another program using that port?").format(
                address=str(exc)
            )
        ) from None
    return 0


async def _console(
    args: argparse.Namespace, settings: Settings, _: Translate, *, with_jobs: bool
) -> int:
    if not args.user.strip():
        raise CommandError(_("--user must not be empty"))
    sys.stdin.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[union-attr]
    return await with_app(settings, _, _chat_in_console, args.user.strip(), with_jobs)


async def _chat_in_console(app: App, user: str, with_jobs: bool) -> int:
    jobs = Jobs(app.services)
    jobs.start(only_mixer=not with_jobs)
    try:
        # The streams as they are now, not as they were when the module was loaded.
        await console.chat(app.dispatcher, user, stdin=sys.stdin, stdout=sys.stdout)
    finally:
        await jobs.stop()
    return 0


async def cmd_chat(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    return await _console(args, settings, _, with_jobs=False)


@on_db
async def cmd_db_upgrade(
    db: Database, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    print(
        _("database schema is at revision {revision}").format(
            revision=await migrate.current_revision(db)
        )
    )
    return 0


async def cmd_keys_init(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    keyring_file.save(keyring_file.Keyring.generate(), settings.keyring_path, overwrite=False)
    print(
        _("created keyring {path} (mode 0600); keep a backup in a safe place").format(
            path=settings.keyring_path
        )
    )
    return 0


async def cmd_keys_rotate(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    # Under the keyring's lock: a running bot deleting period keys meanwhile loses nothing.
    rotated = keyring_file.update(settings.keyring_path, lambda keys: keys.rotated())
    print(
        _(
            "master key version {version} is now active; restart the bot, then run "
            "'wardbot keys rewrap'"
        ).format(version=rotated.active_version)
    )
    return 0


@on_db
async def cmd_keys_rewrap(
    db: Database, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    keys, _created = await bind_keyring(db, settings.keyring_path, create=False)
    counts = await rewrap_all(db, Vault(keys))
    for table, done in counts.items():
        print(_("{table}: {count} data keys re-wrapped").format(table=table, count=done.rewrapped))
        if done.unreadable:
            line = _("{table}: {count} data keys could not be opened with this keyring")
            print(line.format(table=table, count=done.unreadable), file=sys.stderr)
    unreadable = sum(done.unreadable for done in counts.values())
    if unreadable:
        print(
            _(
                "wardbot: {count} data keys could not be opened and were left as they "
                "are: they were made under another keyring, or damaged; the records "
                "they belong to stay unreadable until that keyring is restored"
            ).format(count=unreadable),
            file=sys.stderr,
        )
        return 3
    return 0


@on_db
async def cmd_keys_retire(
    db: Database, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    await bind_keyring(db, settings.keyring_path, create=False)
    left = await wrapped_under_master(db, args.version)
    if left:
        print(
            _(
                "wardbot: {count} data keys are still wrapped under master key {version}: "
                "run 'wardbot keys rotate' if it is the active one, then 'wardbot keys "
                "rewrap', and retire it after"
            ).format(count=left, version=args.version),
            file=sys.stderr,
        )
        return 3
    keyring_file.update(settings.keyring_path, lambda keys: keys.without_master(args.version))
    print(
        _(
            "master key {version} removed from the keyring: what it wrapped no longer "
            "opens, in old copies of the database either; keyring backups made before "
            "still hold it"
        ).format(version=args.version)
    )
    return 0


@on_db
async def cmd_ward_add(
    db: Database, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with db.transaction() as session:
        ward = await wards.add_ward(session, args.name, code=args.code, city=args.city)
    print(_("added ward {name} (code {code})").format(name=ward.name, code=ward.code))
    return 0


@on_db
async def cmd_ward_list(
    db: Database, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with db.transaction() as session:
        found = await wards.list_wards(session)
    if not found:
        print(_("no wards yet; add one with: wardbot ward add NAME"))
    for ward in found:
        print(f"{ward.code}\t{ward.name}\t{ward.city}")
    return 0


async def cmd_ward_hotline(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    entries = []
    for entry in args.entries:
        label, sep, number = entry.partition("=")
        if not sep or not label.strip() or not number.strip():
            raise CommandError(
                _("write each number as LABEL=NUMBER, not {entry}").format(entry=entry)
            )
        entries.append([" ".join(label.split()), number.strip()])
    return await with_db(settings, _set_hotlines, args, entries, _)


async def _set_hotlines(
    db: Database, args: argparse.Namespace, entries: list[list[str]], _: Translate
) -> int:
    async with db.transaction() as session:
        ward = await find_ward(session, args.ward, _)
        ward.hotlines = ([] if args.clear else list(ward.hotlines)) + entries
        shown = list(ward.hotlines)
    print(_("{ward}: hotline numbers residents see:").format(ward=args.ward))
    print("• 113")
    for label, number in shown:
        print(f"• {label}: {number}")
    return 0


@on_app
async def cmd_tips_shred(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    count = await retention_tick(app.services)
    print(_("{count} closed tips destroyed").format(count=count))
    return 0


@on_app
async def cmd_officer_invite(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with app.services.db.transaction() as session:
        ward = await find_ward(session, args.ward, _)
        count = len(await officers.list_officers(session, ward.id))
        label = args.label.strip() or _("Officer {n}").format(n=count + 1)
        officer, code = await app.services.invites.create(
            session, ward_id=ward.id, role=OfficerRole(args.role), label=label
        )
        await app.services.audit.append(
            session,
            "invited",
            ward_id=ward.id,
            officer_id=officer.id,
            detail={"role": args.role},
        )
    role = _(ROLE_LABELS[OfficerRole(args.role)])
    print(
        _("Invite for {label} ({role}) of {ward}: {code}").format(
            label=label, role=role, ward=ward.name, code=code
        )
    )
    print(
        _("In a private chat with the bot, send: /join {code} (valid 24 hours, once)").format(
            code=code
        )
    )
    return 0


@on_db
async def cmd_officer_list(
    db: Database, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with db.transaction() as session:
        ward_ids = (
            [(await find_ward(session, args.ward, _)).id]
            if args.ward
            else [w.id for w in await wards.list_wards(session)]
        )
        rows = [o for ward_id in ward_ids for o in await officers.list_officers(session, ward_id)]
    if not rows:
        print(_("no officers yet; invite one with: wardbot officer invite --ward WARD"))
    for officer in rows:
        role = _(label_of(ROLE_LABELS, officer.role))
        standing = _(label_of(OFFICER_STATUS_LABELS, officer.status))
        fields = (officer.id, officer.label, role, standing, officer.ward_id)
        print("\t".join(str(field) for field in fields))
    return 0


@on_app
async def cmd_officer_revoke(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with app.services.db.transaction() as session:
        officer = await officers.get_officer(session, args.officer_id)
        if officer is None:
            raise CommandError(_("no officer {id}").format(id=args.officer_id))
        await officers.revoke(session, officer)
        await app.services.audit.append(
            session, "revoked", ward_id=officer.ward_id, officer_id=officer.id
        )
        name = officer.label
    print(_("{label} no longer has access").format(label=name))
    return 0


@on_app
async def cmd_audit_verify(
    app: App, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with app.services.db.transaction() as session:
        result = await app.services.audit.verify(session)
    if result.intact:
        print(_("audit log intact: {count} entries checked").format(count=result.checked))
        if result.head is not None:
            print(
                _("last entry {id}, MAC {mac} (the commanders' digests show the same)").format(
                    id=result.head.id, mac=result.head.short
                )
            )
        if result.anchors is None:
            if result.checked:
                print(
                    _(
                        "no anchor file beside the keyring yet (the next entry writes "
                        "it): until then a cut end of the log cannot be detected"
                    )
                )
        else:
            print(_("{count} anchored heads agree with the database").format(count=result.anchors))
        return 0
    reason = _(result.reason).format(**result.params)
    if result.by_anchor:
        print(_("audit log BROKEN: {reason}").format(reason=reason))
        return 3
    broken = _("audit log BROKEN at entry {id}: {reason} ({count} entries before it are intact)")
    print(broken.format(id=result.broken_at, reason=reason, count=result.checked))
    return 3


async def cmd_tdp_import(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
    rows = read_groups(args.file)  # before anything is opened: a bad file changes nothing
    return await with_db(settings, _import_groups, args, rows, _)


async def _import_groups(
    db: Database, args: argparse.Namespace, rows: list[GroupRow], _: Translate
) -> int:
    async with db.transaction() as session:
        ward = await find_ward(session, args.ward, _)
        result = await wards.import_groups(session, ward, rows)
    print(
        _("{ward}: {added} residential groups added, {updated} updated").format(
            ward=ward.name, added=result.added, updated=result.updated
        )
    )
    return 0


@on_db
async def cmd_tdp_list(
    db: Database, args: argparse.Namespace, settings: Settings, _: Translate
) -> int:
    async with db.transaction() as session:
        ward = await find_ward(session, args.ward, _)
        groups = await wards.list_groups(session, ward)
    if not groups:
        print(_("{ward} has no residential groups yet").format(ward=ward.name))
    for group in groups:
        aliases = "; ".join(group.aliases)
        print(f"{group.code or '-'}\t{group.name}\t{aliases}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
