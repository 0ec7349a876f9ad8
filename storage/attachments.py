"""What the bot's own process knows of residents' files: the limits it checks before
fetching one, and the answer a cleaning worker gives back (a CleanFile, or
AttachmentRejected with a reason).

The cleaning itself (Pillow, pypdf and their fontTools) is in storage/file_cleaning.py,
which only the sandbox's worker processes import (storage/sandbox.py): the parsers cost
the bot's process no memory, and a hostile file costs at most one worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

MB = 1024 * 1024
MAX_FILES = 5
MAX_BYTES = 20 * MB


class RejectReason(StrEnum):
    TOO_LARGE = "too_large"
    EMPTY = "empty"
    UNSUPPORTED_TYPE = "unsupported_type"
    UNREADABLE = "unreadable"
    ENCRYPTED = "encrypted"
    TOO_MANY_PIXELS = "too_many_pixels"
    TOO_COMPLEX = "too_complex"
    BUSY = "busy"  # the file sandbox has too many files waiting (storage/sandbox.py)


_MESSAGES: dict[RejectReason, str] = {
    RejectReason.TOO_LARGE: "The file is too large.",
    RejectReason.EMPTY: "The file is empty.",
    RejectReason.UNSUPPORTED_TYPE: "The file is not a JPEG, PNG or WebP image or a PDF document.",
    RejectReason.UNREADABLE: "The file could not be read; it may be damaged.",
    RejectReason.ENCRYPTED: "The PDF document is encrypted.",
    RejectReason.TOO_MANY_PIXELS: "The image has too many pixels.",
    RejectReason.TOO_COMPLEX: "The file is too complex to check safely.",
    RejectReason.BUSY: "Too many files are being checked; try again shortly.",
}


class AttachmentRejected(Exception):
    """The file cannot be kept. The message is a fixed sentence per reason: it never
    holds the file's name, content or metadata, so it is safe to log or show."""

    def __init__(self, reason: RejectReason, where: str = "") -> None:
        """`where`: for a file refused because a parser failed on it, that failure as
        kernel.errors.describe gives it (type and code places, never its message), so
        the bot's process can log it; empty otherwise."""
        if not isinstance(reason, RejectReason):
            raise TypeError("reason must be a RejectReason")
        super().__init__(_MESSAGES[reason])
        self.reason: RejectReason = reason
        self.where = where

    def __reduce__(self) -> tuple[type[AttachmentRejected], tuple[RejectReason, str]]:
        return (type(self), (self.reason, self.where))  # picklable, e.g. across a process pool


# kind, MIME type and extension: the only combinations a CleanFile can hold.
_JPEG = ("image", "image/jpeg", ".jpg")
_PNG = ("image", "image/png", ".png")
_WEBP = ("image", "image/webp", ".webp")
_PDF = ("pdf", "application/pdf", ".pdf")
IMAGE_TYPES = {"JPEG": _JPEG, "PNG": _PNG, "WEBP": _WEBP}  # Pillow format name -> type
PDF_TYPE = _PDF


@dataclass(frozen=True)
class CleanFile:
    """A file as sanitize() re-made it. Its repr never shows the bytes."""

    kind: str  # "image" or "pdf"
    mime_type: str
    data: bytes = field(repr=False)
    extension: str

    def __post_init__(self) -> None:
        if (self.kind, self.mime_type, self.extension) not in (_JPEG, _PNG, _WEBP, _PDF):
            raise ValueError("unknown kind, MIME type and extension combination")
        if not isinstance(self.data, bytes) or not self.data:
            raise ValueError("a clean file holds non-empty bytes")
