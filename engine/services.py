"""What handlers may use, built once from the configuration and passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from campaign.quiz import Question
from campaign.quiz import load as load_quiz
from kernel.config import Settings
from kernel.i18n import Translator
from kernel.langid import LanguageIdentifier
from storage.audit import AuditLog
from storage.crypto import Vault
from storage.db import Database
from storage.drops import Delays
from storage.pseudonyms import Pseudonyms
from storage.receipts import ReceiptHasher
from storage.sandbox import DocumentWorker, FileSandbox
from storage.triage import Invites, Sla

URGENT_MIX = timedelta(seconds=50)


@dataclass(frozen=True)
class Services:
    """What handlers may use; built once from the configuration and passed in."""

    db: Database
    vault: Vault
    pseudonyms: Pseudonyms
    receipts: ReceiptHasher
    translator: Translator
    settings: Settings
    langid: LanguageIdentifier
    audit: AuditLog
    invites: Invites
    # The weekly quiz, read and checked once at start.
    quiz: tuple[Question, ...] = field(default_factory=load_quiz)
    # Residents' files are cleaned in worker processes with limits, never in this one.
    sandbox: FileSandbox = field(default_factory=FileSandbox)
    # The monthly report's PDF is made in a worker process too (matplotlib, fpdf2).
    documents: DocumentWorker = field(default_factory=DocumentWorker)

    @property
    def sla(self) -> Sla:
        s = self.settings
        return Sla(
            urgent_ack=timedelta(minutes=s.urgent_ack_minutes),
            ack=timedelta(hours=s.ack_hours),
            close=timedelta(days=s.close_days),
        )

    @property
    def delays(self) -> Delays:
        """How long a sent tip waits for the mixer: an urgent one under a minute with the
        mixer's tick (MIX_SECONDS in bot/jobs.py), others up to tips.mix_minutes."""
        return Delays(urgent=URGENT_MIX, other=timedelta(minutes=self.settings.mix_minutes))
