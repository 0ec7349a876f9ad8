"""What the `wardbot` subcommands share: opening the app or the database, finding a
ward, and the one kind of error they print as a line."""

from __future__ import annotations

import argparse
import functools
import gettext
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec

from bot.app import App, open_app
from kernel.config import Settings
from kernel.i18n import N_
from storage import migrate, wards
from storage.db import Database
from storage.models import Ward

P = ParamSpec("P")
Translate = Callable[[str], str]
# What argparse calls for a subcommand: its arguments, the settings, the translator.
Handler = Callable[[argparse.Namespace, Settings, Translate], Coroutine[Any, Any, int | None]]
AppCommand = Callable[[App, argparse.Namespace, Settings, Translate], Awaitable[int | None]]
DbCommand = Callable[[Database, argparse.Namespace, Settings, Translate], Awaitable[int | None]]


# argparse's own words, as the argparse of Python 3.11 writes them: what an operator can
# meet (the messages only a programmer's mistake raises are left out). Marked here so the
# catalogues keep them; `argparse_speaks` gives argparse our catalogue to say them with.
ARGPARSE_WORDS = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"),
    N_("unexpected option string: %s"),
)


@contextmanager
def argparse_speaks(translations: gettext.NullTranslations) -> Iterator[None]:
    """Within the block, argparse writes its own words (usage:, error:, "the following
    arguments are required"…) from our catalogue: it looks its `_` and `ngettext` up in
    its module each time it writes one, so those two are ours until the block ends."""
    saved = argparse.__dict__["_"], argparse.__dict__["ngettext"]
    setattr(argparse, "_", translations.gettext)  # noqa: B010  # not in argparse's stubs
    setattr(argparse, "ngettext", translations.ngettext)  # noqa: B010
    try:
        yield
    finally:
        setattr(argparse, "_", saved[0])  # noqa: B010
        setattr(argparse, "ngettext", saved[1])  # noqa: B010


class CommandError(Exception):
    """An expected failure: printed as one line, exit status 1."""


async def opened(settings: Settings, _: Translate, *, migrate_in_child: bool = False) -> App:
    """The app, opened; on the first start, which made the keyring, the operator is told
    (in their language) where it is and to back it up."""
    app = await open_app(settings, migrate_in_child=migrate_in_child)
    if app.keyring_created:
        print(
            _(
                "wardbot: created a new keyring at {path}: back it up in a safe place now; "
                "without it nothing encrypted can be read"
            ).format(path=settings.keyring_path),
            file=sys.stderr,
        )
    return app


async def with_app(
    settings: Settings,
    _: Translate,
    work: Callable[Concatenate[App, P], Awaitable[int | None]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> int:
    """`await work(app, *args, **kwargs)` with the whole app open (database, keyring,
    services), closed again whatever happens; the exit status (0 for None)."""
    app = await opened(settings, _)
    try:
        return await work(app, *args, **kwargs) or 0
    finally:
        await app.close()


async def with_db(
    settings: Settings,
    work: Callable[Concatenate[Database, P], Awaitable[int | None]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> int:
    """`await work(db, *args, **kwargs)` with only the database open (migrated first):
    for commands that need no keyring."""
    db = Database(settings.database_url)
    try:
        await migrate.upgrade(db)
        return await work(db, *args, **kwargs) or 0
    finally:
        await db.dispose()


def on_app(command: AppCommand) -> Handler:
    """A subcommand written as `async def command(app, args, settings, _)`: the app is
    opened for it and closed after."""

    @functools.wraps(command)
    async def handler(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
        return await with_app(settings, _, command, args, settings, _)

    return handler


def on_db(command: DbCommand) -> Handler:
    """A subcommand written as `async def command(db, args, settings, _)`: the database
    is opened (and migrated) for it and closed after."""

    @functools.wraps(command)
    async def handler(args: argparse.Namespace, settings: Settings, _: Translate) -> int:
        return await with_db(settings, command, args, settings, _)

    return handler


async def find_ward(session: Any, text: str, _: Callable[[str], str]) -> Ward:
    ward = await wards.find_ward(session, text)
    if ward is None:
        raise CommandError(_("no ward matches {ward}; see 'wardbot ward list'").format(ward=text))
    return ward


async def the_ward(session: Any, text: str, settings: Settings, _: Callable[[str], str]) -> Ward:
    """The ward named with --ward, else the configured default, else the only one."""
    if text or settings.default_ward:
        return await find_ward(session, text or settings.default_ward, _)
    every = await wards.list_wards(session)
    if len(every) != 1:
        raise CommandError(_("several wards: say which with --ward"))
    return every[0]


async def the_group(session: Any, ward: Ward, text: str, _: Callable[[str], str]) -> Any:
    """The one residential group of `ward` that `text` names (accents optional)."""
    found = await wards.match_groups(session, ward, text)
    if len(found) != 1:
        names = ", ".join(g.name for g in found[:8])
        raise CommandError(
            _("no residential group of {ward} matches {tdp}").format(ward=ward.name, tdp=text)
            if not found
            else _("{tdp} matches several residential groups: {names}").format(
                tdp=text, names=names
            )
        )
    return found[0]
