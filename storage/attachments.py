"""Photos and PDF files from residents, stripped of everything but what they show.

A phone photo carries where it was taken (EXIF GPS), the camera's serial number and
the moment; a PDF carries its author and the software that made it, and may embed
such photos. Any of it can identify a reporter. So nothing is copied through: images
are decoded and re-encoded from their pixels alone, and PDFs are rebuilt from their
pages, with every embedded image re-encoded the same way.

The type is read from the content, never from a file name or a declared MIME type.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from enum import StrEnum

from PIL import Image, ImageOps
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject

MAX_FILES = 5
MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 50_000_000  # well above any phone camera; a bigger image is a decompression bomb
MAX_PDF_PAGES = 200

_FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
_PAGE_KEYS_TO_DROP = ("/Metadata", "/AA", "/Annots", "/PieceInfo", "/Thumb")


class RejectReason(StrEnum):
    TOO_LARGE = "too_large"
    EMPTY = "empty"
    UNSUPPORTED_TYPE = "unsupported_type"
    UNREADABLE = "unreadable"
    ENCRYPTED = "encrypted"
    TOO_MANY_PIXELS = "too_many_pixels"


class AttachmentRejected(Exception):
    """The file cannot be kept. The message names only the reason: never the file's
    name, content or metadata."""

    def __init__(self, reason: RejectReason):
        super().__init__(f"attachment rejected: {reason.value}")
        self.reason = reason


@dataclass(frozen=True)
class CleanFile:
    kind: str  # "image" or "pdf"
    mime_type: str
    data: bytes = field(repr=False)
    extension: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("image", "pdf") or not self.data:
            raise ValueError("a clean file is an image or a PDF, and not empty")


def sanitize(data: bytes) -> CleanFile:
    """The file re-made without metadata, or AttachmentRejected."""
    if not data:
        raise AttachmentRejected(RejectReason.EMPTY)
    if len(data) > MAX_BYTES:
        raise AttachmentRejected(RejectReason.TOO_LARGE)
    if data.startswith(b"%PDF-"):
        return CleanFile("pdf", "application/pdf", _clean_pdf(data), ".pdf")
    image_format = _image_format(data)
    if image_format is None:
        raise AttachmentRejected(RejectReason.UNSUPPORTED_TYPE)
    mime_type, extension = _FORMATS[image_format]
    with _pillow_errors():
        image = _open_image(data, image_format)
        clean = _encode(_pixels_only(image), image_format)
    return CleanFile("image", mime_type, clean, extension)


def _image_format(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


class _pillow_errors:
    """Any decoder failure becomes a reason; decoder messages never leave this module."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, _tb) -> bool:  # type: ignore[no-untyped-def]
        if error is None or isinstance(error, AttachmentRejected):
            return False
        if isinstance(error, Image.DecompressionBombError | Image.DecompressionBombWarning):
            raise AttachmentRejected(RejectReason.TOO_MANY_PIXELS) from None
        if isinstance(error, Exception):
            raise AttachmentRejected(RejectReason.UNREADABLE) from None
        return False


def _open_image(data: bytes, image_format: str) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data), formats=[image_format])
        width, height = image.size  # read from the header: no pixels decoded yet
        if width * height > MAX_PIXELS:
            raise AttachmentRejected(RejectReason.TOO_MANY_PIXELS)
        image.seek(0)  # an animation keeps its first frame only
        image.load()
    return image


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image holding only the pixels, turned upright as the camera meant."""
    upright = ImageOps.exif_transpose(image) or image
    mode = upright.mode
    if mode not in ("RGB", "RGBA", "L", "LA"):
        mode = "RGBA" if "A" in mode or "transparency" in upright.info else "RGB"
    source = upright.convert(mode) if upright.mode != mode else upright
    fresh = Image.new(mode, source.size)
    fresh.paste(source)
    return fresh


def _encode(image: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    if image_format == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=88)
    elif image_format == "PNG":
        image.save(out, "PNG")
    else:
        image.save(out, "WEBP", quality=85)
    return out.getvalue()


def _clean_pdf(data: bytes) -> bytes:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise AttachmentRejected(RejectReason.ENCRYPTED)
        if len(reader.pages) > MAX_PDF_PAGES:
            raise AttachmentRejected(RejectReason.TOO_LARGE)
        writer = PdfWriter()
        for page in reader.pages:
            writer.add_page(page)
        writer.metadata = None  # no /Info at all, not even pypdf's own /Producer
        for page in writer.pages:
            for key in _PAGE_KEYS_TO_DROP:
                if key in page:
                    del page[NameObject(key)]
            _drop_xobject_metadata(page)
            for embedded in page.images:
                with _pillow_errors():
                    fresh = _pixels_only(embedded.image)
                    if fresh.mode not in ("RGB", "L"):
                        fresh = fresh.convert("RGB")
                embedded.replace(fresh, quality=88)
        # Objects no longer referenced (the old photos, their XMP) would still be written.
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        out = io.BytesIO()
        writer.write(out)
    except AttachmentRejected:
        raise
    except Exception:
        raise AttachmentRejected(RejectReason.UNREADABLE) from None
    return out.getvalue()


def _drop_xobject_metadata(page: DictionaryObject) -> None:
    resources = page.get("/Resources")
    resources = resources.get_object() if resources is not None else None
    xobjects = resources.get("/XObject") if isinstance(resources, DictionaryObject) else None
    xobjects = xobjects.get_object() if xobjects is not None else None
    if not isinstance(xobjects, DictionaryObject):
        return
    for reference in xobjects.values():
        xobject = reference.get_object()
        if isinstance(xobject, DictionaryObject) and "/Metadata" in xobject:
            del xobject[NameObject("/Metadata")]
