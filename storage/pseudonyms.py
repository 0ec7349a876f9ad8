"""Keyed pseudonyms for chat accounts, with a separate key per purpose.

A pseudonym lets the bot recognise "the same account again" (rate limits, conversation
state) without storing the account. Each purpose derives its own HMAC key, so the
database cannot link a subscriber's pseudonym to a reporter's.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum
from typing import NewType

from storage.keyring import Keyring

Pseudonym = NewType("Pseudonym", str)


class Purpose(StrEnum):
    CONVERSATION = "conversation"
    REPORTER = "reporter"
    SUBSCRIBER = "subscriber"
    OFFICER = "officer"
    OUTBOX = "outbox"
    RECEIPT_CHECK = "receipt-check"
    GROUP_CHAT = "group-chat"
    PLEDGE = "pledge"
    QUIZ = "quiz"
    JOIN = "join"
    RECEIPT_CODE = "receipt-code"


class Pseudonyms:
    def __init__(self, keyring: Keyring):
        self._keys = {purpose: keyring.derived_key(f"pseudonym/{purpose}") for purpose in Purpose}

    def __repr__(self) -> str:
        return "Pseudonyms(<keys hidden>)"

    def of(self, purpose: Purpose, channel: str, *account_parts: str) -> Pseudonym:
        if not channel or not account_parts or any(p == "" for p in account_parts):
            raise ValueError("a pseudonym needs a channel and a non-empty account")
        message = "\x1f".join((channel, *account_parts)).encode("utf-8")
        digest = hmac.new(self._keys[Purpose(purpose)], message, hashlib.sha256).hexdigest()
        return Pseudonym(f"{purpose[:2]}_{digest[:40]}")
