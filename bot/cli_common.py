"""What the `wardbot` subcommands share: opening the app or the database, finding a
ward, and the one kind of error they print as a line."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from bot.app import App, open_app
from kernel.config import Settings
from storage import migrate, wards
from storage.db import Database
from storage.models import Ward


class CommandError(Exception):
    """An expected failure: printed as one line, exit status 1."""


async def with_app(
    settings: Settings,
    work: Callable[[App], Coroutine[Any, Any, int | None]],
    *,
    migrate_in_child: bool = False,
) -> int:
    app = await open_app(settings, migrate_in_child=migrate_in_child)
    try:
        return await work(app) or 0
    finally:
        await app.close()


async def with_db(
    settings: Settings, work: Callable[[Database], Coroutine[Any, Any, int | None]]
) -> int:
    db = Database(settings.database_url)
    try:
        await migrate.upgrade(db)
        return await work(db) or 0
    finally:
        await db.dispose()


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
