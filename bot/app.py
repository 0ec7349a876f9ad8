"""Builds the running bot from settings: database, keys, translations, dispatcher."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.config import Settings
from bot.conversation import Dispatcher, Services
from bot.i18n import Translator
from bot.langid import LanguageIdentifier
from broadcasts import library, planner
from handlers import build_routers, fallback, group_pointer
from storage import keyring as keyring_file
from storage import migrate
from storage.audit import AuditLog
from storage.crypto import Vault
from storage.db import Database
from storage.pseudonyms import Pseudonyms
from storage.receipts import ReceiptHasher
from storage.triage import Invites

log = logging.getLogger(__name__)


@dataclass
class App:
    services: Services
    dispatcher: Dispatcher

    async def close(self) -> None:
        await self.services.db.dispose()


def quiet_content_loggers() -> None:
    """Library loggers that can carry what residents sent, set so that they stay quiet
    even when the root logger is at DEBUG (a level set on a logger wins over the root's).

    Pillow logs EXIF values at DEBUG and pypdf quotes file content in its warnings. At
    DEBUG aiosqlite logs every SQL call with its parameters, SQLAlchemy's engine and pool
    statements and connections (its echo flag aside, which wardbot never sets), aiogram
    update ids and scene data, aiohttp's access log request lines. asyncio, aiohttp's
    server and client and SQLAlchemy's pool also report errors with exception messages
    and reprs of callbacks and their arguments: their warnings and errors still come,
    but as the exception's type and code locations only (`describe`), the way wardbot's
    own logs name exceptions."""
    from bot.conversation import describe

    for name, level in {
        "PIL": logging.WARNING,
        "pypdf": logging.CRITICAL,
        "aiosqlite": logging.CRITICAL,
        "aiogram": logging.CRITICAL,
        "aiohttp.access": logging.CRITICAL,
        "sqlalchemy.engine": logging.WARNING,
        "sqlalchemy.pool": logging.WARNING,
        "asyncio": logging.WARNING,
        "aiohttp.server": logging.WARNING,
        "aiohttp.web": logging.WARNING,
        "aiohttp.client": logging.WARNING,
        "aiohttp.internal": logging.WARNING,
        "aiohttp.websocket": logging.WARNING,
    }.items():
        logging.getLogger(name).setLevel(level)

    def types_only(record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:  # the text may quote the exception, a request, a callback's args
            record.msg, record.args = "an error (%s)", (describe(exc),)
        else:  # the first line of the template alone, without the values put into it
            record.msg, record.args = "%s", (str(record.msg).split("\n", 1)[0],)
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True

    types_only.wardbot_types_only = True  # type: ignore[attr-defined]
    for name in ("asyncio", "aiohttp.server", "aiohttp.web", "aiohttp.client",
                 "aiohttp.internal", "aiohttp.websocket", "sqlalchemy.pool"):  # fmt: skip
        logger = logging.getLogger(name)
        if not any(getattr(f, "wardbot_types_only", False) for f in logger.filters):
            logger.addFilter(types_only)


async def open_app(settings: Settings, *, create_keyring: bool = True) -> App:
    """Migrate the database to the newest schema, make the keyring on first start, and
    bring the shipped awareness messages and the configured campaigns into the tables."""
    quiet_content_loggers()
    if create_keyring:
        keys, created = keyring_file.load_or_create(settings.keyring_path)
        if created:
            log.warning(
                "created a new keyring at %s: back it up; without it nothing encrypted can be read",
                settings.keyring_path,
            )
    else:
        keys = keyring_file.load(settings.keyring_path)
    db = Database(settings.database_url)
    try:
        await migrate.upgrade(db)
        async with db.transaction() as session:
            await library.sync_shipped(session, library.read_library())
            await planner.sync_campaigns(session, settings.campaigns)
    except BaseException:
        await db.dispose()
        raise
    services = Services(
        db=db,
        vault=Vault(keys),
        pseudonyms=Pseudonyms(keys),
        receipts=ReceiptHasher(keys),
        translator=Translator(),
        settings=settings,
        langid=LanguageIdentifier(),
        audit=AuditLog(keys),
        invites=Invites(keys),
    )
    dispatcher = Dispatcher(
        services, build_routers(), fallback=fallback, group_fallback=group_pointer
    )
    return App(services, dispatcher)
