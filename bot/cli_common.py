"""What the `wardbot` subcommands share: opening the app or the database, finding a
ward, and the one kind of error they print as a line."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from bot.app import App, open_app
from bot.config import Settings
from storage import migrate, wards
from storage.db import Database


class CommandError(Exception):
    """An expected failure: printed as one line, exit status 1."""


async def with_app(
    settings: Settings, work: Callable[[App], Coroutine[Any, Any, int | None]]
) -> int:
    app = await open_app(settings)
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


async def find_ward(session: Any, text: str, _: Callable[[str], str]) -> wards.Ward:
    ward = await wards.find_ward(session, text)
    if ward is None:
        raise CommandError(_("no ward matches {ward}; see 'wardbot ward list'").format(ward=text))
    return ward
