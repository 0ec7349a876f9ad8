"""Photos and PDF files from residents, stripped of everything but what they show.

A phone photo carries where it was taken (EXIF GPS), the camera's serial number and
the moment; a PDF carries its author and the software that made it, and often embeds
such photos. Any of it can identify a reporter. So nothing is copied through: images
are decoded and re-encoded from their pixels alone, and PDFs are rebuilt from their
pages, with every embedded photo re-encoded the same way.

The type is read from the content, never from a file name or a declared MIME type.
Parsers only see files that passed the size check, and every parser failure becomes
a bare RejectReason: no exception text, file name or metadata value leaves here.

A truncated image is refused (UNREADABLE), as Pillow refuses it by default. Should a
process set ImageFile.LOAD_TRUNCATED_IMAGES, the decoded part is re-encoded from its
pixels like any other image, so the result is still free of metadata.
"""

from __future__ import annotations

import io
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from PIL import Image, ImageOps
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    EncodedStreamObject,
    IndirectObject,
    NameObject,
    PdfObject,
    StreamObject,
)

MAX_FILES = 5
MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 50_000_000  # well above any phone camera; a bigger image is a decompression bomb
MAX_PDF_PAGES = 200
MAX_PDF_PIXELS = 4 * MAX_PIXELS  # all images of one PDF together: about 20 pages of 300-dpi scans
JPEG_QUALITY = 88


class RejectReason(StrEnum):
    TOO_LARGE = "too_large"
    EMPTY = "empty"
    UNSUPPORTED_TYPE = "unsupported_type"
    UNREADABLE = "unreadable"
    ENCRYPTED = "encrypted"
    TOO_MANY_PIXELS = "too_many_pixels"


_MESSAGES: dict[RejectReason, str] = {
    RejectReason.TOO_LARGE: "The file is too large.",
    RejectReason.EMPTY: "The file is empty.",
    RejectReason.UNSUPPORTED_TYPE: "The file is not a JPEG, PNG or WebP image or a PDF document.",
    RejectReason.UNREADABLE: "The file could not be read; it may be damaged.",
    RejectReason.ENCRYPTED: "The PDF document is encrypted.",
    RejectReason.TOO_MANY_PIXELS: "The image has too many pixels.",
}


class AttachmentRejected(Exception):
    """The file cannot be kept. The message is a fixed sentence per reason: it never
    holds the file's name, content or metadata, so it is safe to log or show."""

    def __init__(self, reason: RejectReason) -> None:
        if not isinstance(reason, RejectReason):
            raise TypeError("reason must be a RejectReason")
        super().__init__(_MESSAGES[reason])
        self.reason: RejectReason = reason

    def __reduce__(self) -> tuple[type[AttachmentRejected], tuple[RejectReason]]:
        return (type(self), (self.reason,))  # picklable, e.g. across a process pool


# kind, MIME type and extension: the only combinations a CleanFile can hold.
_JPEG = ("image", "image/jpeg", ".jpg")
_PNG = ("image", "image/png", ".png")
_WEBP = ("image", "image/webp", ".webp")
_PDF = ("pdf", "application/pdf", ".pdf")
_IMAGE_TYPES = {"JPEG": _JPEG, "PNG": _PNG, "WEBP": _WEBP}  # Pillow format name -> type


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


def sanitize(data: bytes) -> CleanFile:
    """The file re-made without any metadata, or AttachmentRejected with a reason."""
    if not isinstance(data, bytes):
        raise TypeError("sanitize() takes the file's bytes")
    if not data:
        raise AttachmentRejected(RejectReason.EMPTY)
    if len(data) > MAX_BYTES:  # before any parser sees it
        raise AttachmentRejected(RejectReason.TOO_LARGE)
    if data.startswith(b"%PDF-"):
        return _guarded(lambda: _clean_pdf(data))
    image_format = _image_format(data)
    if image_format is None:
        raise AttachmentRejected(RejectReason.UNSUPPORTED_TYPE)
    return _guarded(lambda: _clean_image(data, image_format))


def _image_format(data: bytes) -> str | None:
    """The Pillow format the magic bytes announce; the parse then has to agree."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _guarded(step: Callable[[], CleanFile]) -> CleanFile:
    """Runs a parse; any failure becomes a bare reason.

    Pillow and pypdf messages can quote the file, so none is kept, not even as the
    chained __context__ (the rejection is raised after the handler has finished).
    Warnings are silenced for the same reason, except Pillow's decompression-bomb
    warning, made an error. The filters are restored on exit: no global state changes.
    """
    reason: RejectReason
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return step()
    except AttachmentRejected as rejected:
        reason = rejected.reason
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        reason = RejectReason.TOO_MANY_PIXELS
    except Exception:  # whatever a parser raises on a hostile file
        reason = RejectReason.UNREADABLE
    raise AttachmentRejected(reason)


# --- images -------------------------------------------------------------------------

# Modes each encoder stores as they are; anything else is converted first.
_MODES = {"JPEG": ("L", "RGB"), "PNG": ("L", "LA", "RGB", "RGBA"), "WEBP": ("RGB", "RGBA")}
_GREY = ("1", "L", "LA", "La", "I", "F")
# What Pillow reports on re-opening our own output: structure, no metadata.
_HARMLESS_INFO = {"jfif", "jfif_version", "jfif_unit", "jfif_density", "loop", "background"}


def _clean_image(data: bytes, image_format: str) -> CleanFile:
    with Image.open(io.BytesIO(data), formats=[image_format]) as image:
        if image.width * image.height > MAX_PIXELS:  # from the header: no pixel decoded yet
            raise AttachmentRejected(RejectReason.TOO_MANY_PIXELS)
        image.seek(0)  # an animation keeps its first frame only
        image.load()
        try:
            upright = ImageOps.exif_transpose(image)  # the orientation tag is about to go
        except Exception:  # unparsable EXIF: keep the pixels as stored
            upright = image
        fresh = _pixels_only(upright, image_format)
    out = io.BytesIO()
    if image_format == "PNG":
        fresh.save(out, "PNG")
    else:
        fresh.save(out, image_format, quality=JPEG_QUALITY)
    clean = out.getvalue()
    _check_image_output(clean, image_format)
    kind, mime_type, extension = _IMAGE_TYPES[image_format]
    return CleanFile(kind, mime_type, clean, extension)


def _pixels_only(image: Image.Image, image_format: str) -> Image.Image:
    """A new image holding only the pixels, in a mode the encoder stores.

    Image.convert() and copy() carry .info (ICC profile, EXIF, text chunks) along,
    and encoders read some of it back, so the pixels are pasted into a blank image.
    """
    mode = _target_mode(image, image_format)
    if image.mode.startswith("I") and mode in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("I").point(lambda value: value / 256)  # 16-bit to 8-bit
    source = image if image.mode == mode else image.convert(mode)
    fresh = Image.new(mode, source.size)
    fresh.paste(source)
    return fresh


def _target_mode(image: Image.Image, image_format: str) -> str:
    if image.mode in _MODES[image_format]:
        return image.mode
    grey = image.mode in _GREY or image.mode.startswith("I;16")
    alpha = image.has_transparency_data
    if image_format == "JPEG":
        return "L" if grey else "RGB"
    if image_format == "PNG" and grey:
        return "LA" if alpha else "L"
    return "RGBA" if alpha else "RGB"


def _check_image_output(clean: bytes, image_format: str) -> None:
    """The invariant, checked on our own output: should a Pillow upgrade start writing
    metadata, files are refused rather than stored with it."""
    with Image.open(io.BytesIO(clean), formats=[image_format]) as check:
        if check.getexif() or set(check.info) - _HARMLESS_INFO:
            raise AttachmentRejected(RejectReason.UNREADABLE)


# --- PDF ----------------------------------------------------------------------------

# A page keeps what draws it and nothing else: no annotations (links, JavaScript,
# attached files), actions, thumbnails, piece info, dates, associated files (/AF).
_PAGE_KEYS = frozenset({
    "/Type", "/Parent", "/Resources", "/Contents", "/MediaBox", "/CropBox", "/BleedBox",
    "/TrimBox", "/ArtBox", "/Rotate", "/Group", "/UserUnit",
})  # fmt: skip
_RESOURCE_KEYS = frozenset({
    "/ExtGState", "/ColorSpace", "/Pattern", "/Shading", "/XObject", "/Font", "/ProcSet",
    "/Properties",
})  # fmt: skip
# Dropped wherever they appear, for they have no part in drawing a page: XMP streams,
# application data, dates, document information, associated and external files,
# annotations, actions and scripts, alternate images, thumbnails.
_DROP_EVERYWHERE = (
    "/Metadata", "/PieceInfo", "/LastModified", "/AF", "/OPI", "/Ref", "/Alternates", "/Thumb",
    "/Author", "/Creator", "/Producer", "/Title", "/Subject", "/Keywords", "/CreationDate",
    "/ModDate", "/Annots", "/AA", "/A", "/JS", "/OpenAction", "/Names", "/EmbeddedFiles", "/EF",
    "/FS", "/URI", "/AcroForm", "/Outlines", "/StructTreeRoot",
)  # fmt: skip
# Objects that, once the above is gone, no page can reach unless the document's
# structure is not what it claims.
_FORBIDDEN_TYPES = frozenset({
    "/Annot", "/Filespec", "/EmbeddedFile", "/Metadata", "/Action", "/Sig", "/Outlines",
})  # fmt: skip
# Image encodings whose data has room for EXIF, XMP, comments or an ICC profile.
# Other encodings (Flate, CCITT, run-length, raw) are bare samples and are kept.
_CONTAINERS = frozenset({"/DCTDecode", "/DCT", "/JPXDecode", "/JBIG2Decode"})
_BYTE_CODECS = frozenset({
    "/FlateDecode", "/Fl", "/LZWDecode", "/LZW", "/ASCII85Decode", "/A85", "/ASCIIHexDecode",
    "/AHx", "/RunLengthDecode", "/RL",
})  # fmt: skip
_KNOWN_FILTERS = _CONTAINERS | _BYTE_CODECS | {"/CCITTFaxDecode", "/CCF"}
# Bytes that are metadata wherever they appear, and the starts of whole files
# (photos, documents, archives) that have no business being a stream of their own.
_SIGNATURES = (b"Exif\x00\x00", b"xmpmeta", b"xapmeta", b"<?xpacket")
_FILE_STARTS = (
    b"\xff\xd8\xff", b"\x00\x00\x00\x0cjP  ", b"\xffO\xffQ", b"\x89PNG", b"GIF8", b"II*\x00",
    b"MM\x00*", b"%PDF", b"PK\x03\x04", b"RIFF",
)  # fmt: skip


def _clean_pdf(data: bytes) -> CleanFile:
    # strict: a document pypdf would have to repair is one whose structure we cannot be
    # sure of, so it is refused rather than guessed at (and nothing is logged about it).
    reader = PdfReader(io.BytesIO(data), strict=True)
    if reader.is_encrypted:
        raise AttachmentRejected(RejectReason.ENCRYPTED)
    count = len(reader.pages)
    if count == 0:
        raise AttachmentRejected(RejectReason.UNREADABLE)
    if count > MAX_PDF_PAGES:
        raise AttachmentRejected(RejectReason.TOO_LARGE)
    # A new document with the pages only: the catalog (/OpenAction, /Names with scripts
    # and embedded files, /AcroForm, outlines, XMP) and the /Info dictionary stay behind.
    writer = _pages_only(reader.pages)
    _scrub(writer)
    _check_leftovers(writer, _rebuild_photos(writer))
    # The writer still holds what was cut loose (photos as they came, annotations and
    # the files they attach): pypdf writes every object it holds, and its orphan removal
    # takes one layer per pass. A second copy holds only what the pages reach.
    out = io.BytesIO()
    _pages_only(writer.pages).write(out)
    clean = out.getvalue()
    _check_pdf_output(clean, count)
    kind, mime_type, extension = _PDF
    return CleanFile(kind, mime_type, clean, extension)


def _pages_only(pages: Iterable[PageObject]) -> PdfWriter:
    """A new document holding copies of the pages, each keeping only what draws it."""
    writer = PdfWriter()
    for page in pages:
        copy = writer.add_page(page)
        for key in [key for key in copy if key not in _PAGE_KEYS]:
            del copy[key]
    writer.metadata = None  # no /Info at all, not even pypdf's own /Producer
    return writer


def _scrub(writer: PdfWriter) -> None:
    """Drops metadata keys everywhere, and refuses oversized or inline photos before any
    image is decoded."""
    total = 0
    for obj, _ in _reachable(writer.root_object):
        for key in [key for key in _DROP_EVERYWHERE if key in obj]:
            del obj[NameObject(key)]
        resources = _resolved(obj.get("/Resources"))
        if isinstance(resources, DictionaryObject):
            for key in [key for key in resources if key not in _RESOURCE_KEYS]:
                del resources[key]
        if _is_image(obj):
            pixels = _declared_pixels(obj)
            total += pixels
            if pixels > MAX_PIXELS or total > MAX_PDF_PIXELS:
                raise AttachmentRejected(RejectReason.TOO_MANY_PIXELS)
        for stream in _content_streams(obj):
            content = stream.get_data()
            # An inline JPEG (BI /F /DCT ... ID <jpeg> EI) cannot be re-encoded in place.
            if b"/DCT" in content or b"\xff\xd8\xff" in content:
                raise AttachmentRejected(RejectReason.UNSUPPORTED_TYPE)


def _rebuild_photos(writer: PdfWriter) -> set[int]:
    """Re-encodes from pixels every page image whose encoding can carry metadata;
    returns their object numbers."""
    rebuilt: set[int] = set()
    for page in writer.pages:
        images = page.images
        for key in images.keys():  # a VirtualListImages: keys() lists its names
            if isinstance(key, str) and key.startswith("~"):
                continue  # inline image: screened in _scrub
            xobject = _xobject_at(page, key)
            ref = xobject.indirect_reference
            if ref is None or ref.idnum in rebuilt or not _filters(xobject) & _CONTAINERS:
                continue
            embedded = images[key]
            if embedded.image is None:
                raise AttachmentRejected(RejectReason.UNREADABLE)
            if embedded.image.width * embedded.image.height > MAX_PIXELS:
                raise AttachmentRejected(RejectReason.TOO_MANY_PIXELS)  # lied in /Width
            # No EXIF orientation here: PDF viewers draw the stored pixels as they are.
            embedded.replace(_pixels_only(embedded.image, "JPEG"), quality=JPEG_QUALITY)
            rebuilt.add(ref.idnum)
    return rebuilt


def _check_leftovers(writer: PdfWriter, rebuilt: set[int]) -> None:
    """The last net, over everything the pages still reach apart from the photos just
    re-encoded. A key this module does not know can point anywhere, so an annotation,
    attached file or XMP stream, a filter no viewer knows, a photo encoding left as it
    came (in a pattern, font or soft mask), metadata bytes or a whole embedded file
    refuse the document."""
    for obj, idnum in _reachable(writer.root_object):
        if _resolved(obj.get("/Type")) in _FORBIDDEN_TYPES or "/Rect" in obj:  # an annotation
            raise AttachmentRejected(RejectReason.UNSUPPORTED_TYPE)
        if not isinstance(obj, StreamObject) or idnum in rebuilt:
            continue
        filters = _filters(obj)
        if filters - _KNOWN_FILTERS:
            raise AttachmentRejected(RejectReason.UNREADABLE)
        if filters & _CONTAINERS:
            raise AttachmentRejected(RejectReason.UNSUPPORTED_TYPE)
        # As stored (pypdf keeps encoded bytes in _data, and writes them as they are)
        # and, unless it is pixels, as decoded.
        views = [obj._data if isinstance(obj, EncodedStreamObject) else obj.get_data()]
        if not _is_image(obj):
            views.append(obj.get_data())
        for view in views:
            if view.startswith(_FILE_STARTS) or any(mark in view for mark in _SIGNATURES):
                raise AttachmentRejected(RejectReason.UNSUPPORTED_TYPE)


def _check_pdf_output(clean: bytes, count: int) -> None:
    """The invariant, checked on our own output: no /Info (so no /Producer), no XMP."""
    check = PdfReader(io.BytesIO(clean))
    if check.metadata or "/Metadata" in check.root_object or len(check.pages) != count:
        raise AttachmentRejected(RejectReason.UNREADABLE)


def _reachable(root: PdfObject) -> Iterator[tuple[DictionaryObject, int | None]]:
    """Every dictionary and stream reachable from root, once each, with its object
    number if it is an indirect object. No recursion: nesting depth is the file's
    choice. Keys the caller deletes from a yielded dictionary are not followed."""
    seen_numbers: set[int] = set()
    seen_direct: set[int] = set()
    queue: deque[tuple[Any, int | None]] = deque([(root, None)])
    while queue:
        item, idnum = queue.popleft()
        if isinstance(item, IndirectObject):
            if item.idnum not in seen_numbers:
                seen_numbers.add(item.idnum)
                queue.append((item.get_object(), item.idnum))
            continue
        if id(item) in seen_direct:
            continue
        if isinstance(item, DictionaryObject):
            seen_direct.add(id(item))
            yield item, idnum
            queue.extend((value, None) for value in list(item.values()))
        elif isinstance(item, ArrayObject):
            seen_direct.add(id(item))
            queue.extend((value, None) for value in item)


def _resolved(value: Any) -> Any:
    return value.get_object() if isinstance(value, PdfObject) else value


def _is_image(obj: DictionaryObject) -> bool:
    return isinstance(obj, StreamObject) and _resolved(obj.get("/Subtype")) == "/Image"


def _filters(obj: DictionaryObject) -> set[str]:
    value = _resolved(obj.get("/Filter"))
    if isinstance(value, ArrayObject):
        return {str(_resolved(item)) for item in value}
    return set() if value is None else {str(value)}


def _declared_pixels(image: DictionaryObject) -> int:
    width, height = _resolved(image.get("/Width")), _resolved(image.get("/Height"))
    if not isinstance(width, int) or not isinstance(height, int) or width < 1 or height < 1:
        raise AttachmentRejected(RejectReason.UNREADABLE)
    return width * height


def _content_streams(obj: DictionaryObject) -> list[StreamObject]:
    """The streams of drawing operators obj owns: a page's contents, a form or tiling
    pattern itself, a Type 3 font's glyphs. Inline images can only hide there."""
    if _resolved(obj.get("/Type")) == "/Page":
        found = _resolved(obj.get("/Contents"))
    elif isinstance(obj, StreamObject) and (
        _resolved(obj.get("/Subtype")) == "/Form" or _resolved(obj.get("/PatternType")) == 1
    ):
        return [obj]
    else:
        found = _resolved(obj.get("/CharProcs"))
        found = ArrayObject(found.values()) if isinstance(found, DictionaryObject) else None
    if isinstance(found, ArrayObject):
        return [s for s in (_resolved(item) for item in found) if isinstance(s, StreamObject)]
    return [found] if isinstance(found, StreamObject) else []


def _xobject_at(page: PageObject, key: str | list[str]) -> DictionaryObject:
    """The XObject pypdf names by key: "/Im0", or a path through forms."""
    holder: DictionaryObject = page
    for name in [key] if isinstance(key, str) else key:
        holder = holder["/Resources"]["/XObject"][name]
    return holder
