"""Accent-free search keys, so `nam hai` finds `Nam Hải` and `dau son 1` finds `Đẩu Sơn 1`.

Residents type on phones, often without Vietnamese diacritics; names are stored as
written and matched on this folded form.
"""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[^0-9a-z]+")


def search_key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_WORD.sub(" ", stripped.casefold()).strip()


def word_key(text: str) -> str:
    """A typed word as one accent-free lower-case token: `Mua bán`, `muaban` and
    `MUA-BAN` all give `muaban`, so the police type command words however is quickest."""
    return search_key(text).replace(" ", "")
