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
    """Pillow logs EXIF values at DEBUG and pypdf quotes file content in its warnings;
    those files are residents' photos and documents, so neither may log, at any level."""
    logging.getLogger("PIL").setLevel(logging.WARNING)
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)


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
