"""Builds the running bot from settings: database, keys, translations, dispatcher."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import notices
from broadcasts import library, planner
from engine.conversation import Dispatcher
from engine.services import Services
from handlers import build_routers, fallback, group_pointer
from kernel.config import Settings
from kernel.errors import describe
from kernel.i18n import Translator
from kernel.langid import LanguageIdentifier
from storage import migrate, wards
from storage.audit import AuditLog, Cut, anchor_path
from storage.crypto import Vault
from storage.db import Database
from storage.keyring import KeyringFile
from storage.keys import bind_keyring, rewrap_to_period_keys
from storage.pseudonyms import Pseudonyms
from storage.receipts import ReceiptHasher
from storage.session import AsyncSession
from storage.triage import Invites

log = logging.getLogger(__name__)


@dataclass
class App:
    services: Services
    dispatcher: Dispatcher
    # This start made the keyring (an empty database): the operator is told to back it up.
    keyring_created: bool = False

    async def close(self) -> None:
        await self.dispatcher.write_notes()
        self.services.sandbox.close()
        self.services.documents.close()
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
    for name in (
        "asyncio",
        "aiohttp.server",
        "aiohttp.web",
        "aiohttp.client",
        "aiohttp.internal",
        "aiohttp.websocket",
        "sqlalchemy.pool",
    ):
        logger = logging.getLogger(name)
        if not any(getattr(f, "wardbot_types_only", False) for f in logger.filters):
            logger.addFilter(types_only)


async def open_app(
    settings: Settings, *, create_keyring: bool = True, migrate_in_child: bool = False
) -> App:
    """Migrate the database to the newest schema, check the keyring is the database's
    own (made on first start with an empty database, refused when missing or another
    one), and bring the shipped awareness messages and the configured campaigns into the
    tables. `migrate_in_child` (`wardbot run`): a due migration runs in a child process,
    so Alembic never stays in this one (see storage/migrate.py)."""
    quiet_content_loggers()
    db = Database(settings.database_url)
    try:
        await migrate.upgrade(db, in_child=migrate_in_child)
        keys, created = await bind_keyring(db, settings.keyring_path, create=create_keyring)
        if created:  # the operator is told in their language to back it up (cli_common.opened)
            log.debug("made a new keyring at %s (first start)", settings.keyring_path)
        vault = Vault(keys, source=KeyringFile(settings.keyring_path))
        # Once: tips and conversations from before period keys move under them.
        await rewrap_to_period_keys(db, vault)
        async with db.transaction() as session:
            await library.sync_shipped(session, library.read_library())
            await planner.sync_campaigns(session, settings.campaigns)
    except BaseException:
        await db.dispose()
        raise

    async def tell_cut(session: AsyncSession, cut: Cut) -> None:  # after `services` is set
        await _cut(session, services, cut)

    services = Services(
        db=db,
        vault=vault,
        pseudonyms=Pseudonyms(keys),
        receipts=ReceiptHasher(keys),
        translator=Translator(),
        settings=settings,
        langid=LanguageIdentifier(),
        audit=AuditLog(keys, anchors=anchor_path(settings.keyring_path), on_cut=tell_cut),
        invites=Invites(keys),
    )
    dispatcher = Dispatcher(
        services, build_routers(), fallback=fallback, group_fallback=group_pointer
    )
    return App(services, dispatcher, keyring_created=created)


async def _cut(session: AsyncSession, services: Services, cut: Cut) -> None:
    """Tell every ward's commanders, in the transaction that noticed it, that the audit
    log no longer holds an entry it was known to hold (the log spans the wards)."""

    def compose(_: Callable[[str], str]) -> str:
        return _(
            "⚠ The audit log was cut: entry {id}, recorded before, is missing or changed (the "
            "log now ends at entry {last}). Ask the administrator to run 'wardbot audit "
            "verify', and compare with the heads in your morning digests."
        ).format(id=cut.anchored.id, last=cut.last_id)

    for ward in await wards.list_wards(session):
        await notices.tell_commanders(session, services, ward.id, compose)
