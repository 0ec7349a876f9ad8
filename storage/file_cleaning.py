"""Photos and PDF files from residents, stripped of everything but what they show.

Only the sandbox's worker processes import this module (storage/sandbox.py): the bot's
own process never loads Pillow or pypdf (storage/attachments.py holds what it needs).

A phone photo carries where it was taken (EXIF GPS), the camera's serial number and
the moment; a PDF carries its author and the software that made it, and often embeds
such photos. Any of it can identify a reporter. So nothing is copied through: images
are decoded and re-encoded from their pixels alone, and PDFs are rebuilt from their
pages by a whitelist, with every embedded photo re-encoded the same way.

The type is read from the content, never from a file name or a declared MIME type.
Parsers only see files that passed the size check, and every parser failure becomes
a RejectReason, with at most the failure's type and code places for the log (never
its message): no exception text, file name or metadata value leaves here.

A file whose structure would cost too much to check (a JPEG of thousands of scans, a
PDF inflating to gigabytes or of millions of drawing operators) is refused as
TOO_COMPLEX before the expensive step, by limits counted here; the worker process that
calls sanitize() has its own memory and time limits as the last resort.

A truncated image is refused (UNREADABLE), as Pillow refuses it by default. Should a
process set ImageFile.LOAD_TRUNCATED_IMAGES, the decoded part is re-encoded from its
pixels like any other image, so the result is still free of metadata.
"""

from __future__ import annotations

import io
import math
import re
import warnings
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from PIL import Image, ImageOps
from pypdf import PageObject, PdfReader, PdfWriter, apply_configuration
from pypdf.errors import LimitReachedError
from pypdf.filters import (
    ASCII85Decode,
    ASCIIHexDecode,
    FlateDecode,
    LZWDecode,
    RunLengthDecode,
    decode_stream_data,
)
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    ByteStringObject,
    ContentStream,
    DecodedStreamObject,
    DictionaryObject,
    EncodedStreamObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NullObject,
    NumberObject,
    PdfObject,
    StreamObject,
    TextStringObject,
)

from kernel.errors import describe
from storage.attachments import (
    IMAGE_TYPES,
    MAX_BYTES,
    MB,
    PDF_TYPE,
    AttachmentRejected,
    CleanFile,
    RejectReason,
)

MAX_PIXELS = 50_000_000  # well above any phone camera; a bigger image is a decompression bomb
MAX_PDF_PAGES = 200
MAX_PDF_PIXELS = 4 * MAX_PIXELS  # all images of one PDF together: about 20 pages of 300-dpi scans
JPEG_QUALITY = 88

# --- limits on the cost of a file's structure (TOO_COMPLEX) --------------------------
# A decoder makes one pass over the whole image per progressive scan, which is how a
# 136 KB file repeating its last scan thousands of times kept Pillow busy for a minute.
# libjpeg and jpegtran write 10 scans for a colour photo (6 for grey), mozjpeg's searched
# scripts fewer than 20, Photoshop 3 to 5, a baseline file one per component: 64 is more
# than three times what any encoder writes. A repeated scan costs Pillow about 0.8 ms per
# megapixel, so 64 of them cost a 50-megapixel photo under 3 s.
MAX_JPEG_SCANS = 64
# Marker segments and markers between them (EXIF, XMP in 64 KB pieces, ICC chunks,
# tables, scans): a 20 MB file holds about 320 full segments; thousands of tiny ones (or
# of restart markers where none belongs) only cost time.
MAX_JPEG_SEGMENTS = 2048
# One decoded PDF stream that is not an image: font programs (a full CJK font is 10 to
# 20 MB), function samples, shading meshes. pypdf's own default is 75 MB. Images are held
# to the size their /Width, /Height and colour space declare instead, and those to
# MAX_PIXELS and MAX_PDF_PIXELS.
MAX_PDF_STREAM_BYTES = 32 * MB
# All those streams of one document together, decoded: six times the largest input.
# The 2.7 MB file that took 2.8 GB inflated dozens of streams to pypdf's 75 MB each.
MAX_PDF_DECODED_BYTES = 128 * MB
# Object streams, decoded, all together: pypdf parses every object of one as soon as one
# of them is read, at about 0.7 MB/s. Real documents hold 1 to 3 KB of objects per page,
# so this is 20 KB for each of MAX_PDF_PAGES pages.
MAX_PDF_OBJECT_STREAM_BYTES = 4 * MB
# LZW and run-length decoding and PNG/TIFF predictors (outside images, whose predictors
# are kept as they are) run in Python at 1 to 5 MB/s: input or output, whole document.
MAX_PDF_SLOW_DECODE_BYTES = 4 * MB
# Drawing operators (page contents, forms, tiling patterns, Type 3 glyphs) are parsed by
# pypdf at 0.5 to 0.7 MB/s, about 300,000 tokens a second, and checked before parsing.
# A page of dense text is 20 to 80 KB and 10,000 to 30,000 tokens, a detailed chart some
# 100,000; the 22 KB file that took 12 s inflated to megabytes of tiny operators.
MAX_PAGE_CONTENT_BYTES = 2 * MB  # one page's contents, or one form, pattern or glyph
MAX_PAGE_CONTENT_TOKENS = 400_000  # operators and operands of one of those: ~1.5 s
MAX_PDF_CONTENT_BYTES = 8 * MB  # the whole document's drawing operators, CMaps included
MAX_PDF_CONTENT_TOKENS = 2_000_000  # ~7 s: about 100 pages of dense text
# Array and dictionary entries read from the document (pypdf parses 0.3 million a second):
# a page with its fonts is a few hundred, a CID font's widths some thousands.
MAX_PDF_OBJECT_ELEMENTS = 1_000_000
# Forms drawn by forms (and patterns, glyphs, soft masks): real files nest two or three.
MAX_PDF_NESTING = 16


def clean_in_worker(data: bytes) -> CleanFile:
    """The sandbox worker's entry point (storage/sandbox.py names it, never imports it)."""
    try:
        return sanitize(data)
    except MemoryError:  # the address-space limit, hit outside the parsers' own guard
        raise AttachmentRejected(RejectReason.TOO_COMPLEX) from None


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
    """Runs a parse; any failure becomes a reason, and an unexpected one also says its
    type and code places (kernel.errors.describe) for the bot's process to log.

    Pillow and pypdf messages can quote the file, so none is kept, not even as the
    chained __context__ (the rejection is raised after the handler has finished).
    Warnings are silenced for the same reason, except Pillow's decompression-bomb
    warning, made an error. The filters are restored on exit: no global state changes.
    """
    reason: RejectReason
    where = ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return step()
    except AttachmentRejected as rejected:
        reason = rejected.reason
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        reason = RejectReason.TOO_MANY_PIXELS
    except LimitReachedError as limit:  # one of pypdf's own limits, set in _clean_pdf
        damaged = isinstance(limit.__cause__, zlib.error)  # its zlib repair, switched off
        reason = RejectReason.UNREADABLE if damaged else RejectReason.TOO_COMPLEX
    except (MemoryError, RecursionError):  # the worker's memory limit; nesting pypdf recurses on
        reason = RejectReason.TOO_COMPLEX
    except Exception as exc:  # whatever a parser raises on a hostile file, or a bug of ours
        reason = RejectReason.UNREADABLE
        where = describe(exc)  # its type and places only: the bot's process logs it
    raise AttachmentRejected(reason, where)


# --- images -------------------------------------------------------------------------

# Modes each encoder stores as they are; anything else is converted first.
_MODES = {"JPEG": ("L", "RGB"), "PNG": ("L", "LA", "RGB", "RGBA"), "WEBP": ("RGB", "RGBA")}
_GREY = ("1", "L", "LA", "La", "I", "F")
# What Pillow reports on re-opening our own output: structure, no metadata.
_HARMLESS_INFO = {"jfif", "jfif_version", "jfif_unit", "jfif_density", "loop", "background"}


def _clean_image(data: bytes, image_format: str) -> CleanFile:
    if image_format == "JPEG":
        _check_jpeg_structure(data)  # before Pillow reads a marker
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
    kind, mime_type, extension = IMAGE_TYPES[image_format]
    return CleanFile(kind, mime_type, clean, extension)


# The next marker: 0xFF followed by anything but a stuffed zero or another 0xFF (fill),
# and the end of a scan's entropy-coded data, where restart markers do not count either.
# One comparison per position: linear time, however the bytes are arranged.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xff]")
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _check_jpeg_structure(data: bytes) -> None:
    """Walks the marker segments up to the first EOI, as libjpeg reads them and without
    copying any, and refuses a file of too many scans or segments (TOO_COMPLEX) or of
    broken structure: a segment longer than the file, a second SOI (UNREADABLE). Bytes
    between segments are skipped, as libjpeg skips them. Data running out inside a scan
    is left to the decoder, which refuses a truncated file unless LOAD_TRUNCATED_IMAGES
    is set; what follows the first EOI (a depth map, a motion photo's video) is never
    decoded."""
    size = len(data)
    if not data.startswith(b"\xff\xd8"):
        raise AttachmentRejected(RejectReason.UNREADABLE)
    position, scans, segments = 2, 0, 0
    while True:
        found = _NEXT_MARKER.search(data, position)
        if found is None:
            return  # no marker left: the decoder decides
        code = data[found.start() + 1]
        position = found.end()
        if code == 0xD9:  # EOI
            return
        segments += 1
        if segments > MAX_JPEG_SEGMENTS:
            raise AttachmentRejected(RejectReason.TOO_COMPLEX)
        if code == 0x01 or 0xD0 <= code <= 0xD7:  # TEM, RSTn: no length, no content
            continue
        if code == 0xD8:  # a second SOI
            raise AttachmentRejected(RejectReason.UNREADABLE)
        if position + 2 > size:
            raise AttachmentRejected(RejectReason.UNREADABLE)
        length = (data[position] << 8) | data[position + 1]
        if length < 2 or position + length > size:
            raise AttachmentRejected(RejectReason.UNREADABLE)
        position += length
        if code == 0xDA:  # SOS: its entropy-coded data runs to the next marker
            scans += 1
            if scans > MAX_JPEG_SCANS:
                raise AttachmentRejected(RejectReason.TOO_COMPLEX)
            end = _SCAN_END.search(data, position)
            if end is None:
                return  # the file ends inside this scan
            position = end.start()


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
#
# The output is a new document built by a whitelist: for each kind of object a page can
# reach (the page, its resources, image and form XObjects, fonts with their descriptors,
# encodings, widths and CMaps, graphics states, patterns, shadings, functions, colour
# spaces) only the entries that take part in drawing are copied, each checked for its
# type; everything else stays behind. Drawing operators are parsed and written anew, so
# comments, marked content (tags, property lists, optional-content names) and unknown
# operators stay behind too, and resources are renamed (/F0, /X1, ...) and copied only
# when the operators use them. ICC profiles give way to the device colour space of the
# same number of components; optional content (layers) is flattened: a document that
# hides some by default is refused rather than shown differently.

# A page keeps what draws it and nothing else: no annotations (links, JavaScript,
# attached files), actions, thumbnails, piece info, dates, associated files (/AF).
_PAGE_KEYS = frozenset(
    {
        "/Type",
        "/Parent",
        "/Resources",
        "/Contents",
        "/MediaBox",
        "/CropBox",
        "/BleedBox",
        "/TrimBox",
        "/ArtBox",
        "/Rotate",
        "/Group",
        "/UserUnit",
    }
)
# Entries with no part in drawing a page, left behind wherever they appear: XMP streams,
# application data, dates, document information, associated and external files,
# annotations, actions and scripts, alternate images, thumbnails.
_DROP_EVERYWHERE = (
    "/Metadata",
    "/PieceInfo",
    "/LastModified",
    "/AF",
    "/OPI",
    "/Ref",
    "/Alternates",
    "/Thumb",
    "/Author",
    "/Creator",
    "/Producer",
    "/Title",
    "/Subject",
    "/Keywords",
    "/CreationDate",
    "/ModDate",
    "/Annots",
    "/AA",
    "/A",
    "/JS",
    "/OpenAction",
    "/Names",
    "/EmbeddedFiles",
    "/EF",
    "/FS",
    "/URI",
    "/AcroForm",
    "/Outlines",
    "/StructTreeRoot",
)
# Standard entries that are not copied either, and whose value is not looked at: they are
# known not to hide anything the whitelist would miss. Any other entry a dictionary holds
# is unknown: it is not copied, and what it points to is searched (check_dropped) for an
# annotation, an attached file, XMP or a photo, which a document has no reason to hide
# under a name of its own.
_KNOWN_UNCOPIED = frozenset(
    {
        *_DROP_EVERYWHERE,
        "/Parent",
        "/P",
        "/StructParent",
        "/StructParents",
        "/OC",
        "/OCProperties",
        "/Properties",
        "/ID",
        "/Name",
        "/Measure",
        "/PtData",
        "/Length",
        "/DL",
        "/Filter",
        "/DecodeParms",
        "/FFilter",
        "/FDecodeParms",
        "/Style",
        "/FD",
        "/Lang",
        "/CIDSet",
        "/CharSet",
        "/FontFamily",
        "/Tabs",
        "/Trans",
        "/Dur",
        "/PZ",
        "/SeparationInfo",
        "/VP",
        "/B",
        "/BoxColorInfo",
        "/PresSteps",
        "/TemplateInstantiated",
        "/DPart",
        "/OutputIntents",
        "/HT",
        "/HTO",
        "/HTP",
        "/Usage",
        "/ProcSet",
        "/DefaultGray",
        "/DefaultRGB",
        "/DefaultCMYK",
        "/Dests",
        "/Threads",
        "/PageLabels",
    }
)
# Objects that, once the above is gone, no page can reach unless the document's
# structure is not what it claims.
_FORBIDDEN_TYPES = frozenset(
    {
        "/Annot",
        "/Filespec",
        "/EmbeddedFile",
        "/Metadata",
        "/Action",
        "/Sig",
        "/Outlines",
    }
)
# Image encodings whose data has room for EXIF, XMP, comments or an ICC profile: such
# photos are decoded and re-encoded from their pixels. CCITT fax data is bare samples
# and is kept; the byte codecs are decoded and checked against the image's size.
_CONTAINERS = frozenset({"/DCTDecode", "/DCT", "/JPXDecode", "/JBIG2Decode"})
_FLATE = frozenset({"/FlateDecode", "/Fl"})
_LZW = frozenset({"/LZWDecode", "/LZW"})
_RUN_LENGTH = frozenset({"/RunLengthDecode", "/RL"})
_ASCII85 = frozenset({"/ASCII85Decode", "/A85"})
_ASCII_HEX = frozenset({"/ASCIIHexDecode", "/AHx"})
_CCITT = frozenset({"/CCITTFaxDecode", "/CCF"})
_BYTE_CODECS = _FLATE | _LZW | _RUN_LENGTH | _ASCII85 | _ASCII_HEX
_KNOWN_FILTERS = _CONTAINERS | _BYTE_CODECS | _CCITT
_MAX_FILTERS = 4  # real files chain two at most
# Bytes that are metadata wherever they appear, and the starts of whole files
# (photos, documents, archives) that have no business being a stream of their own.
_SIGNATURES = (b"Exif\x00\x00", b"xmpmeta", b"xapmeta", b"<?xpacket")
_FILE_STARTS = (
    b"\xff\xd8\xff",
    b"\x00\x00\x00\x0cjP  ",
    b"\xffO\xffQ",
    b"\x89PNG",
    b"GIF8",
    b"II*\x00",
    b"MM\x00*",
    b"%PDF",
    b"PK\x03\x04",
    b"RIFF",
)
_WHITESPACE = b"\x00\t\n\x0c\r "

# pypdf's own limits, for everything it decodes or parses itself (object and xref
# streams, content streams), set for the duration of one _clean_pdf call only: pypdf
# keeps its configuration in a context variable, so no global state changes.
_PYPDF_LIMITS: dict[str, Any] = {
    "maximum_declared_stream_length": MAX_BYTES,  # no stream is longer than the file
    "zlib_maximum_output_length": MAX_PDF_STREAM_BYTES,
    "lzw_maximum_output_length": MAX_PDF_STREAM_BYTES,
    "run_length_maximum_output_length": MAX_PDF_STREAM_BYTES,
    "brotli_maximum_output_length": MAX_PDF_STREAM_BYTES,
    "jbig2_maximum_output_length": MAX_PDF_STREAM_BYTES,
    "array_based_stream_maximum_output_length": MAX_PAGE_CONTENT_BYTES,
    "stream_decoding_work_maximum_length": 4 * MAX_PDF_STREAM_BYTES,
    "stream_filters_maximum_length": _MAX_FILTERS,
    "stream_parsing_work_maximum_count": MAX_PAGE_CONTENT_TOKENS,
    # Its byte-by-byte repair of a damaged zlib stream runs in Python for up to 5 MB: a
    # damaged stream is refused instead, like a damaged file structure (strict=True).
    "zlib_maximum_recovery_input_length": 0,
    "image_maximum_buffer_size": 4 * MAX_PIXELS,  # a 50-megapixel photo with alpha
    "jbig2dec_binary": None,  # never an external program on a resident's file
}


def _clean_pdf(data: bytes) -> CleanFile:
    with apply_configuration(**_PYPDF_LIMITS):
        return _clean_pdf_limited(data)


def _clean_pdf_limited(data: bytes) -> CleanFile:
    # strict: a document pypdf would have to repair is one whose structure we cannot be
    # sure of, so it is refused rather than guessed at (and nothing is logged about it).
    reader = PdfReader(io.BytesIO(data), strict=True)
    if reader.is_encrypted:
        raise AttachmentRejected(RejectReason.ENCRYPTED)
    rebuild = _Rebuild(reader)
    rebuild.check_object_streams()  # before pypdf parses any of them
    rebuild.hidden = rebuild.hidden_groups()
    count = len(reader.pages)
    if count == 0:
        raise AttachmentRejected(RejectReason.UNREADABLE)
    if count > MAX_PDF_PAGES:
        raise AttachmentRejected(RejectReason.TOO_LARGE)
    # A new document with the pages only: the catalog (/OpenAction, /Names with scripts
    # and embedded files, /AcroForm, outlines, XMP, optional-content names, output
    # intents with their ICC profiles) and the /Info dictionary stay behind.
    for page in reader.pages:
        rebuild.page(page)
    rebuild.check_dropped()
    writer = rebuild.writer
    _check_leftovers(writer, rebuild.rebuild_photos())
    # A second copy holds only what the pages reach: nothing a rebuilt photo replaced,
    # nothing built for a step and then let go.
    out = io.BytesIO()
    _pages_only(writer.pages).write(out)
    clean = out.getvalue()
    _check_pdf_output(clean, count)
    kind, mime_type, extension = PDF_TYPE
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


def _rejected(reason: RejectReason = RejectReason.UNREADABLE) -> AttachmentRejected:
    return AttachmentRejected(reason)


def _resolved(value: Any) -> Any:
    return value.get_object() if isinstance(value, PdfObject) else value


def _is_null(value: Any) -> bool:
    return value is None or isinstance(_resolved(value), NullObject)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value: Any) -> PdfObject:
    value = _resolved(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _rejected()
    if isinstance(value, int):
        return NumberObject(value)
    if not math.isfinite(value):
        raise _rejected()
    return FloatObject(value)


def _integer(value: Any) -> NumberObject:
    value = _resolved(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _rejected()
    return NumberObject(value)


def _boolean(value: Any) -> BooleanObject:
    value = _resolved(value)
    if not isinstance(value, BooleanObject):
        raise _rejected()
    return BooleanObject(bool(value.value))


def _name(value: Any) -> NameObject:
    value = _resolved(value)
    if not isinstance(value, NameObject):
        raise _rejected()
    return NameObject(value)


def _name_in(*allowed: str) -> Callable[[Any], NameObject]:
    def convert(value: Any) -> NameObject:
        name = _name(value)
        if name not in allowed:
            raise _rejected()
        return name

    return convert


def _string(value: Any) -> ByteStringObject:
    """A string as its bytes, written in hex: never re-encoded on the way out."""
    value = _resolved(value)
    if isinstance(value, TextStringObject):
        return ByteStringObject(value.original_bytes)
    if isinstance(value, ByteStringObject):
        return ByteStringObject(bytes(value))
    raise _rejected()


def _rectangle(value: Any) -> ArrayObject:
    return _numbers(value, 4)


def _matrix(value: Any) -> ArrayObject:
    return _numbers(value, 6)


_INTENTS = ("/AbsoluteColorimetric", "/RelativeColorimetric", "/Saturation", "/Perceptual")
_BLEND_MODES = (
    "/Normal",
    "/Compatible",
    "/Multiply",
    "/Screen",
    "/Overlay",
    "/Darken",
    "/Lighten",
    "/ColorDodge",
    "/ColorBurn",
    "/HardLight",
    "/SoftLight",
    "/Difference",
    "/Exclusion",
    "/Hue",
    "/Saturation",
    "/Color",
    "/Luminosity",
)
_STANDARD_ENCODINGS = (
    "/StandardEncoding",
    "/MacRomanEncoding",
    "/WinAnsiEncoding",
    "/MacExpertEncoding",
)
_DEVICE_SPACES = {1: "/DeviceGray", 3: "/DeviceRGB", 4: "/DeviceCMYK"}
_COMPONENTS = {
    "/DeviceGray": 1,
    "/DeviceRGB": 3,
    "/DeviceCMYK": 4,
    "/CalGray": 1,
    "/CalRGB": 3,
    "/Lab": 3,
    "/Indexed": 1,
    "/Separation": 1,
}
# Inline images may abbreviate (PDF 32000-1, table 93 and 94).
_INLINE_NAMES = {
    "/G": "/DeviceGray",
    "/RGB": "/DeviceRGB",
    "/CMYK": "/DeviceCMYK",
    "/I": "/Indexed",
    "/AHx": "/ASCIIHexDecode",
    "/A85": "/ASCII85Decode",
    "/LZW": "/LZWDecode",
    "/Fl": "/FlateDecode",
    "/RL": "/RunLengthDecode",
    "/CCF": "/CCITTFaxDecode",
    "/DCT": "/DCTDecode",
}
_INLINE_KEYS = {
    "/W": "/W",
    "/Width": "/W",
    "/H": "/H",
    "/Height": "/H",
    "/BPC": "/BPC",
    "/BitsPerComponent": "/BPC",
    "/CS": "/CS",
    "/ColorSpace": "/CS",
    "/F": "/F",
    "/Filter": "/F",
    "/DP": "/DP",
    "/DecodeParms": "/DP",
    "/D": "/D",
    "/Decode": "/D",
    "/I": "/I",
    "/Interpolate": "/I",
    "/IM": "/IM",
    "/ImageMask": "/IM",
    "/Intent": "/Intent",
}
# Decoding parameters (PDF 32000-1, tables 8 and 11): Flate and LZW predictors, CCITT.
_PARAMETER_INTEGERS = (
    "/Predictor",
    "/Colors",
    "/BitsPerComponent",
    "/Columns",
    "/EarlyChange",
    "/K",
    "/Rows",
    "/DamagedRowsBeforeError",
)
_PARAMETER_BOOLEANS = ("/EndOfLine", "/EncodedByteAlign", "/EndOfBlock", "/BlackIs1")


def _numbers(value: Any, length: int | None = None) -> ArrayObject:
    value = _resolved(value)
    if not isinstance(value, ArrayObject) or (length is not None and len(value) != length):
        raise _rejected()
    return ArrayObject([_number(item) for item in value])


def _filters(obj: DictionaryObject) -> list[str]:
    """The stream's filter names in order; anything but names is a broken file."""
    value = _resolved(obj.get("/Filter"))
    if _is_null(value):
        return []
    items = value if isinstance(value, ArrayObject) else [value]
    names = [_resolved(item) for item in items]
    if len(names) > _MAX_FILTERS or not all(isinstance(name, NameObject) for name in names):
        raise _rejected()
    return [str(name) for name in names]


def _filter_parameters(obj: DictionaryObject, count: int) -> list[DictionaryObject]:
    value = _resolved(obj.get("/DecodeParms"))
    if count == 0:
        return []
    if _is_null(value):
        return [DictionaryObject() for _ in range(count)]
    items = value if isinstance(value, ArrayObject) else [value]
    if len(items) != count:
        raise _rejected()
    parameters = []
    for item in items:
        item = _resolved(item)
        if _is_null(item):
            item = DictionaryObject()
        if not isinstance(item, DictionaryObject):
            raise _rejected()
        parameters.append(item)
    return parameters


def _predictor(parameters: DictionaryObject) -> int:
    predictor = int(_integer(parameters.get("/Predictor", 1)))
    if predictor not in (1, 2, *range(10, 16)):
        raise _rejected()
    return predictor


def _is_image(obj: DictionaryObject) -> bool:
    return isinstance(obj, StreamObject) and _resolved(obj.get("/Subtype")) == "/Image"


def _new_stream(data: bytes, entries: DictionaryObject | None = None) -> EncodedStreamObject:
    stream = EncodedStreamObject()
    if entries:
        stream.update(entries)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    stream._data = zlib.compress(data)
    return stream


def _inflate(data: bytes, limit: int) -> bytes:
    """Flate data, refused once it would exceed limit: never more than limit + 1 bytes
    are produced. A truncated stream gives what it holds, as viewers draw it."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, limit + 1)
    if len(out) > limit:
        raise _rejected(RejectReason.TOO_COMPLEX)
    return out


# Operands each drawing operator takes (PDF 32000-1, annex A): n number, N name, s string,
# t TJ array, a number array, * colour components (with a pattern name for scn/SCN).
# Marked content (tags, property lists, optional content), compatibility sections and
# operators not listed here are dropped with their operands.
_OPERATORS: dict[bytes, str] = {
    b"w": "n",
    b"J": "n",
    b"j": "n",
    b"M": "n",
    b"d": "an",
    b"ri": "N",
    b"i": "n",
    b"gs": "N",
    b"q": "",
    b"Q": "",
    b"cm": "nnnnnn",
    b"m": "nn",
    b"l": "nn",
    b"c": "nnnnnn",
    b"v": "nnnn",
    b"y": "nnnn",
    b"h": "",
    b"re": "nnnn",
    b"S": "",
    b"s": "",
    b"f": "",
    b"F": "",
    b"f*": "",
    b"B": "",
    b"B*": "",
    b"b": "",
    b"b*": "",
    b"n": "",
    b"W": "",
    b"W*": "",
    b"BT": "",
    b"ET": "",
    b"Tc": "n",
    b"Tw": "n",
    b"Tz": "n",
    b"TL": "n",
    b"Tf": "Nn",
    b"Tr": "n",
    b"Ts": "n",
    b"Td": "nn",
    b"TD": "nn",
    b"Tm": "nnnnnn",
    b"T*": "",
    b"Tj": "s",
    b"TJ": "t",
    b"'": "s",
    b'"': "nns",
    b"d0": "nn",
    b"d1": "nnnnnn",
    b"CS": "N",
    b"cs": "N",
    b"SC": "*",
    b"SCN": "*",
    b"sc": "*",
    b"scn": "*",
    b"G": "n",
    b"g": "n",
    b"RG": "nnn",
    b"rg": "nnn",
    b"K": "nnnn",
    b"k": "nnnn",
    b"sh": "N",
    b"Do": "N",
}
_MARKED_CONTENT = frozenset({b"BMC", b"BDC", b"EMC", b"MP", b"DP", b"BX", b"EX"})
_NAMED_RESOURCES = {b"gs": "/ExtGState", b"sh": "/Shading", b"Do": "/XObject", b"Tf": "/Font"}
_PREFIXES = {
    "/ExtGState": "GS",
    "/ColorSpace": "CS",
    "/Pattern": "P",
    "/Shading": "Sh",
    "/XObject": "X",
    "/Font": "F",
}
_DEVICE_NAMES = frozenset({"/DeviceGray", "/DeviceRGB", "/DeviceCMYK", "/Pattern"})
_STRINGS = (TextStringObject, ByteStringObject)
# Where an image is drawn from: the page it is on and the names of the forms leading to
# it, as pypdf's PageObject.images finds it; None inside a pattern, glyph or soft mask.
_Place = tuple[PageObject, tuple[str, ...]] | None
MAX_CMAP_BYTES = 2 * MB  # a ToUnicode map of all 65,536 two-byte codes is about 1 MB


def _skip(value: Any) -> None:
    """For entries a builder writes itself."""
    return None


def _tokens(operations: list[tuple[Any, bytes]]) -> int:
    count = 0
    for operands, operator in operations:
        count += 1
        if operator == b"INLINE IMAGE":
            count += 2 * len(operands["settings"])
            continue
        for operand in operands:
            nested = isinstance(operand, (ArrayObject, DictionaryObject))
            count += 1 + (len(operand) if nested else 0)
    return count


class _Resources:
    """The resources of one content stream (or of a Type 3 font's glyphs), copied when
    an operator names them and under a new name."""

    def __init__(self, rebuild: _Rebuild, source: Any, place: _Place, depth: int) -> None:
        source = _resolved(source)
        self.rebuild = rebuild
        self.source = source if isinstance(source, DictionaryObject) else None
        self.place = place
        self.depth = depth
        self.out = DictionaryObject()
        self.names: dict[tuple[str, str], PdfObject | None] = {}
        self.counted: set[str] = set()

    def lookup(self, category: str, name: str) -> Any:
        group = None if self.source is None else _resolved(self.source.get(category))
        if not isinstance(group, DictionaryObject):
            return None
        if category not in self.counted:
            self.counted.add(category)
            self.rebuild.charge_elements(len(group))
        value = group.get(name)
        return None if _is_null(value) else value

    def use(self, category: str, name: str) -> PdfObject | None:
        """Our name for the resource, or None when there is no such resource. A colour
        space that became a device space is named directly."""
        key = (category, str(name))
        if key in self.names:
            return self.names[key]
        self.names[key] = None  # until built: a form naming itself draws nothing more
        value = self.lookup(category, name)
        if value is None:
            return None
        group = self.out.get(category)
        if group is None:
            group = self.out[NameObject(category)] = DictionaryObject()
        new = NameObject(f"/{_PREFIXES[category]}{len(group)}")
        place = None
        if category == "/XObject" and self.place is not None:
            place = (self.place[0], (*self.place[1], str(new)))
        built = self.rebuild.resource(category, value, place, self.depth)
        if built is None:
            if not group:
                del self.out[category]
            return None
        if isinstance(built, NameObject):  # a colour space now a device space
            self.names[key] = built
            if not group:
                del self.out[category]
            return built
        group[new] = built
        self.names[key] = new
        return new

    def done(self) -> DictionaryObject:
        """The resources copied. Those no operator named are left behind, and only
        looked over (check_dropped) for an annotation or a filter no viewer knows."""
        for category, group in [] if self.source is None else self.source.items():
            group = _resolved(group)
            if isinstance(group, DictionaryObject) and category in (*_PREFIXES, "/Properties"):
                self.rebuild.dropped.extend(
                    (value, False)
                    for name, value in group.items()
                    if (category, name) not in self.names
                )
        return self.out


class _Rebuild:
    """Builds the output document from the source pages by the whitelist, counting what
    the source costs to read against the limits at the top of this module."""

    def __init__(self, reader: PdfReader) -> None:
        self.reader = reader
        self.writer = PdfWriter()
        self.writer.metadata = None
        self.memo: dict[tuple[Any, ...], PdfObject] = {}
        self.photos: list[tuple[StreamObject, tuple[PageObject, tuple[str, ...]], dict]] = []
        # What is not copied but looked at (check_dropped): values under unknown entries
        # (True: searched through) and resources no operator names (False: looked over).
        self.dropped: list[tuple[Any, bool]] = []
        self.decoded = self.slow = self.content_bytes = self.content_tokens = 0
        self.elements = self.pixels = 0
        self.hidden: set[int] = set()  # object numbers of the layers turned off

    # --- what reading the source costs ---

    def charge_elements(self, count: int) -> None:
        self.elements += count
        if self.elements > MAX_PDF_OBJECT_ELEMENTS:
            raise _rejected(RejectReason.TOO_COMPLEX)

    def charge_slow(self, count: int) -> None:
        self.slow += count
        if self.slow > MAX_PDF_SLOW_DECODE_BYTES:
            raise _rejected(RejectReason.TOO_COMPLEX)

    def charge_content(self, size: int, tokens: int = 0) -> None:
        if size > MAX_PAGE_CONTENT_BYTES:
            raise _rejected(RejectReason.TOO_COMPLEX)
        self.content_bytes += size
        self.content_tokens += tokens
        if (
            self.content_bytes > MAX_PDF_CONTENT_BYTES
            or self.content_tokens > MAX_PDF_CONTENT_TOKENS
        ):
            raise _rejected(RejectReason.TOO_COMPLEX)

    def check_object_streams(self) -> None:
        """Object streams are decoded here, within their limit, before pypdf parses one
        whole the first time an object of it is read."""
        total = 0
        for number in sorted({int(stream) for stream, _ in self.reader.xref_objStm.values()}):
            stream = self.reader.get_object(number)
            if not isinstance(stream, StreamObject):
                raise _rejected()
            total += len(self.decode(stream, MAX_PDF_OBJECT_STREAM_BYTES - total))

    def decode(self, stream: Any, limit: int = MAX_PDF_STREAM_BYTES) -> bytes:
        """A stream that is not an image, decoded within limit, the per-stream limit and
        what is left of the document's."""
        stream = _resolved(stream)
        if not isinstance(stream, StreamObject):
            raise _rejected()
        if "/F" in stream:  # its data in an external file
            raise _rejected(RejectReason.UNSUPPORTED_TYPE)
        filters = _filters(stream)
        parameters = _filter_parameters(stream, len(filters))
        limit = max(0, min(limit, MAX_PDF_STREAM_BYTES, MAX_PDF_DECODED_BYTES - self.decoded))
        data = self.decode_stages(stream._data, filters, parameters, limit)
        self.decoded += len(data)
        return data

    def decode_stages(
        self, data: bytes, filters: list[str], parameters: list[DictionaryObject], limit: int
    ) -> bytes:
        """Each filter in turn, none allowed to produce more than limit: the zlib, LZW and
        run-length decoders stop there, the ASCII ones cannot expand past it."""
        for name, parms in zip(filters, parameters, strict=True):
            if name in _FLATE:
                out = _inflate(data, limit)
                if _predictor(parms) > 1:
                    self.charge_slow(len(out))
                    with apply_configuration(zlib_maximum_output_length=max(1, limit)):
                        out = FlateDecode.decode(data, parms)  # pypdf undoes the predictor
            elif name in _LZW:
                if _predictor(parms) > 1:  # pypdf would ignore it and give wrong bytes
                    raise _rejected(RejectReason.UNSUPPORTED_TYPE)
                self.charge_slow(len(data))
                with apply_configuration(lzw_maximum_output_length=max(1, limit)):
                    out = LZWDecode.decode(data, parms)
            elif name in _RUN_LENGTH:
                self.charge_slow(len(data))
                with apply_configuration(run_length_maximum_output_length=max(1, limit)):
                    out = RunLengthDecode.decode(data)
            elif name in _ASCII85:
                zeros = data.count(b"z")  # one character for four zero bytes
                if 4 * zeros + (len(data) - zeros) * 4 // 5 + 4 > limit + 4:
                    raise _rejected(RejectReason.TOO_COMPLEX)
                out = ASCII85Decode.decode(data)
            elif name in _ASCII_HEX:
                out = ASCIIHexDecode.decode(data)
            elif name in _CONTAINERS or name in _CCITT:  # a photo where none belongs
                raise _rejected(RejectReason.UNSUPPORTED_TYPE)
            else:
                raise _rejected()
            if len(out) > limit:
                raise _rejected(RejectReason.TOO_COMPLEX)
            data = out
        return data

    # --- building ---

    def shared(self, role: str, value: Any, build: Callable[[Any], PdfObject]) -> PdfObject:
        """An object the source shares stays shared: built once, as an indirect object
        of ours, reserved before it is built so that a cycle ends at the reservation."""
        if not isinstance(value, IndirectObject):
            return build(_resolved(value))
        key = (role, value.idnum, value.generation)
        if key in self.memo:
            return self.memo[key]
        reference = self.writer._add_object(NullObject())
        self.memo[key] = reference
        try:
            built = build(value.get_object())
        except AttachmentRejected:
            del self.memo[key]  # the reservation stays a null, dropped by the last copy
            raise
        self.writer._replace_object(reference, built)
        return reference

    def copy(
        self, source: Any, schema: Mapping[str, Callable[[Any], PdfObject | None]]
    ) -> DictionaryObject:
        """The entries of source that schema names, each converted (and checked) by its
        function. What an unknown entry points to is kept aside for check_dropped."""
        source = _resolved(source)
        if not isinstance(source, DictionaryObject):
            raise _rejected()
        self.charge_elements(len(source))
        out = DictionaryObject()
        for key, value in source.items():
            convert = schema.get(key)
            if convert is None:
                if key not in _KNOWN_UNCOPIED and not key.startswith("/PTEX."):
                    self.dropped.append((value, True))
                continue
            if _is_null(value):
                continue
            new = convert(value)
            if new is not None:
                out[NameObject(key)] = new
        return out

    def array(self, value: Any) -> ArrayObject:
        value = _resolved(value)
        if not isinstance(value, ArrayObject):
            raise _rejected()
        self.charge_elements(len(value))
        return value

    def numbers(self, value: Any) -> ArrayObject:
        return ArrayObject([_number(item) for item in self.array(value)])

    def integers(self, value: Any) -> ArrayObject:
        return ArrayObject([_integer(item) for item in self.array(value)])

    def booleans(self, value: Any) -> ArrayObject:
        return ArrayObject([_boolean(item) for item in self.array(value)])

    def page(self, source: PageObject) -> None:
        self.charge_elements(len(source))
        out = self.writer.add_blank_page(1, 1)
        if _is_null(source.get("/MediaBox")):
            raise _rejected()
        for key in ("/MediaBox", "/CropBox", "/BleedBox", "/TrimBox", "/ArtBox"):
            if not _is_null(source.get(key)):
                out[NameObject(key)] = _rectangle(source[key])
        if not _is_null(source.get("/Rotate")):
            rotate = _integer(source["/Rotate"])
            if rotate % 90:
                raise _rejected()
            out[NameObject("/Rotate")] = rotate
        if not _is_null(source.get("/UserUnit")):
            out[NameObject("/UserUnit")] = _number(source["/UserUnit"])
        if not _is_null(source.get("/Group")):
            group = self.group(source.get("/Group"))
            if group is not None:
                out[NameObject("/Group")] = group
        resources = _Resources(self, source.get("/Resources"), (out, ()), 0)
        content = self.content(self.page_contents(source.get("/Contents")), resources)
        out[NameObject("/Resources")] = resources.done()
        out[NameObject("/Contents")] = self.writer._add_object(_new_stream(content))

    def page_contents(self, value: Any) -> bytes:
        value = _resolved(value)
        if _is_null(value):
            return b""
        parts = self.array(value) if isinstance(value, ArrayObject) else [value]
        chunks: list[bytes] = []
        total = 0
        for part in parts:
            if _is_null(part):
                continue
            chunks.append(self.decode(part, MAX_PAGE_CONTENT_BYTES - total))
            total += len(chunks[-1]) + 1
        return b"\n".join(chunks)

    def content(self, data: bytes, resources: _Resources) -> bytes:
        """Drawing operators parsed and written anew: no comment, no marked content, no
        unknown operator, no operand an operator does not take survives, and every
        resource is renamed. The size is checked before anything is parsed."""
        self.charge_content(len(data))
        if b"/DCT" in data or b"\xff\xd8\xff" in data:
            # An inline JPEG (BI /F /DCT ... ID <jpeg> EI) cannot be re-encoded in place.
            raise _rejected(RejectReason.UNSUPPORTED_TYPE)
        budget = min(MAX_PAGE_CONTENT_TOKENS, MAX_PDF_CONTENT_TOKENS - self.content_tokens)
        source = DecodedStreamObject()
        source.set_data(data)
        with apply_configuration(stream_parsing_work_maximum_count=max(1, budget)):
            operations = ContentStream(source, None).operations
        self.charge_content(0, _tokens(operations))
        kept = []
        for operands, operator in operations:
            operation = self.operation(operands, operator, resources)
            if operation is not None:
                kept.append(operation)
        out = ContentStream(None, None)
        out.operations = kept
        return out.get_data()

    def operation(
        self, operands: Any, operator: bytes, resources: _Resources
    ) -> tuple[Any, bytes] | None:
        if operator == b"INLINE IMAGE":
            return self.inline_image(operands, resources)
        if operator in _MARKED_CONTENT:
            if operator == b"BDC" and len(operands) == 2 and operands[0] == "/OC":
                name = operands[1]
                groups = resources.lookup("/Properties", name) if isinstance(name, str) else None
                if not self.visible(groups):
                    raise _rejected(RejectReason.UNSUPPORTED_TYPE)  # a hidden layer
            return None
        spec = _OPERATORS.get(operator)
        if spec is None:
            return None
        if spec == "*":
            return self.colour_operation(operands, operator, resources)
        if len(operands) != len(spec):  # as pdfium does, the operator is then ignored
            return None
        kept: list[Any] = []  # operands of every kind, checked one by one
        for kind, operand in zip(spec, operands, strict=True):
            if kind == "n":
                ok = _is_number(operand)
            elif kind == "N":
                ok = isinstance(operand, NameObject)
            elif kind == "s":
                ok = isinstance(operand, _STRINGS)
                operand = _string(operand) if ok else operand
            elif kind == "t":  # TJ: strings, and the spacing between them
                ok = isinstance(operand, ArrayObject) and all(
                    _is_number(item) or isinstance(item, _STRINGS) for item in operand
                )
                if ok:
                    operand = ArrayObject(
                        item if _is_number(item) else _string(item) for item in operand
                    )
            else:  # a dash array
                ok = isinstance(operand, ArrayObject) and all(map(_is_number, operand))
            if not ok:
                return None
            kept.append(operand)
        if operator in _NAMED_RESOURCES:
            new = resources.use(_NAMED_RESOURCES[operator], kept[0])
        elif operator in (b"cs", b"CS"):
            new = kept[0] if kept[0] in _DEVICE_NAMES else resources.use("/ColorSpace", kept[0])
        elif operator == b"ri":
            new = kept[0] if kept[0] in _INTENTS else None
        else:
            return kept, operator
        if new is None:
            return None
        kept[0] = new
        return kept, operator

    def colour_operation(
        self, operands: Any, operator: bytes, resources: _Resources
    ) -> tuple[Any, bytes] | None:
        values = list(operands)
        pattern = None
        if operator in (b"scn", b"SCN") and values and isinstance(values[-1], NameObject):
            pattern = resources.use("/Pattern", values.pop())
            if pattern is None:
                return None
        if len(values) > 32 or not all(map(_is_number, values)) or not (values or pattern):
            return None
        return [*values, *([pattern] if pattern is not None else [])], operator

    def inline_image(self, operands: Any, resources: _Resources) -> tuple[Any, bytes] | None:
        settings = DictionaryObject()
        for key, value in operands["settings"].items():
            short = _INLINE_KEYS.get(key)
            if short is None:
                continue
            if short in ("/W", "/H", "/BPC"):
                settings[NameObject(short)] = _integer(value)
            elif short == "/CS":
                if isinstance(value, NameObject):
                    space = _INLINE_NAMES.get(value, value)
                    if space in _DEVICE_NAMES:
                        settings[NameObject(short)] = NameObject(space)
                        continue
                    named = resources.use("/ColorSpace", value)
                    if named is None:
                        return None
                    settings[NameObject(short)] = named
                else:
                    settings[NameObject(short)] = self.colour_space(value, inline=True)
            elif short == "/F":
                names = value if isinstance(value, ArrayObject) else [value]
                full = [_INLINE_NAMES.get(_name(name), _name(name)) for name in names]
                if set(full) & _CONTAINERS:
                    raise _rejected(RejectReason.UNSUPPORTED_TYPE)
                if set(full) - _KNOWN_FILTERS or len(full) > _MAX_FILTERS:
                    raise _rejected()
                settings[NameObject(short)] = ArrayObject(NameObject(name) for name in full)
            elif short == "/DP":
                items = value if isinstance(value, ArrayObject) else [value]
                kept = ArrayObject(self.filter_parameters(item) for item in items)
                settings[NameObject(short)] = kept
            elif short == "/D":
                settings[NameObject(short)] = self.numbers(value)
            elif short in ("/I", "/IM"):
                settings[NameObject(short)] = _boolean(value)
            elif short == "/Intent" and value in _INTENTS:
                settings[NameObject(short)] = NameObject(value)
        data = operands["data"]
        if not data or data[-1:] not in (b"\n", b"\r", b" "):
            data += b"\n"  # pypdf writes EI straight after the data
        return {"settings": settings, "data": data}, b"INLINE IMAGE"

    def filter_parameters(self, value: Any) -> DictionaryObject | NullObject:
        if _is_null(value):
            return NullObject()
        schema: dict[str, Callable[[Any], PdfObject | None]] = {
            **dict.fromkeys(_PARAMETER_INTEGERS, _integer),
            **dict.fromkeys(_PARAMETER_BOOLEANS, _boolean),
        }
        return self.copy(value, schema)

    # --- optional content ---

    def hidden_groups(self) -> set[int]:
        """The layers the document's default configuration turns off."""
        properties = _resolved(self.reader.root_object.get("/OCProperties"))
        if not isinstance(properties, DictionaryObject):
            return set()
        default = _resolved(properties.get("/D"))
        default = default if isinstance(default, DictionaryObject) else DictionaryObject()

        def numbers(value: Any) -> set[int]:
            value = _resolved(value)
            items = self.array(value) if isinstance(value, ArrayObject) else []
            return {item.idnum for item in items if isinstance(item, IndirectObject)}

        on, off = numbers(default.get("/ON")), numbers(default.get("/OFF"))
        if _resolved(default.get("/BaseState")) == "/OFF":
            return (numbers(properties.get("/OCGs")) | off) - on
        return off - on

    def visible(self, value: Any, depth: int = 0) -> bool:
        """Whether content tagged with this group or membership dictionary is shown."""
        if depth > MAX_PDF_NESTING:
            raise _rejected(RejectReason.TOO_COMPLEX)
        if isinstance(value, IndirectObject) and value.idnum in self.hidden:
            return False
        obj = _resolved(value)
        if isinstance(obj, ArrayObject):  # a visibility expression
            if not obj or _resolved(obj[0]) not in ("/And", "/Or", "/Not"):
                raise _rejected()
            states = [self.visible(item, depth + 1) for item in self.array(obj)[1:]]
            if _resolved(obj[0]) == "/Not":
                if len(states) != 1:
                    raise _rejected()
                return not states[0]
            return all(states) if _resolved(obj[0]) == "/And" else any(states)
        if not isinstance(obj, DictionaryObject) or _resolved(obj.get("/Type")) != "/OCMD":
            return True
        if not _is_null(obj.get("/VE")):
            return self.visible(obj.get("/VE"), depth + 1)
        groups = obj.get("/OCGs")
        items = self.array(groups) if isinstance(_resolved(groups), ArrayObject) else [groups]
        states = [self.visible(item, depth + 1) for item in items if not _is_null(item)]
        if not states:
            return True
        policy = _resolved(obj.get("/P"))
        if policy == "/AllOn":
            return all(states)
        if policy == "/AnyOff":
            return not all(states)
        if policy == "/AllOff":
            return not any(states)
        return any(states)

    # --- resources by kind ---

    def resource(self, category: str, value: Any, place: _Place, depth: int) -> PdfObject | None:
        if category == "/Font":
            return self.font(value, depth)
        if category == "/XObject":
            return self.xobject(value, place, depth)
        if category == "/ExtGState":
            return self.ext_g_state(value, depth)
        if category == "/ColorSpace":
            return self.colour_space(value)
        if category == "/Pattern":
            return self.pattern(value, depth)
        return self.shading(value)

    def xobject(self, value: Any, place: _Place, depth: int) -> PdfObject | None:
        obj = _resolved(value)
        if not isinstance(obj, StreamObject):
            raise _rejected()
        if not self.visible(obj.get("/OC")):
            raise _rejected(RejectReason.UNSUPPORTED_TYPE)  # a hidden layer
        subtype = _resolved(obj.get("/Subtype"))
        if subtype == "/Image":
            return self.shared("image", value, lambda source: self.image(source, place))
        if subtype == "/Form":
            return self.shared("form", value, lambda source: self.form(source, place, depth + 1))
        if subtype == "/PS":  # PostScript: no PDF viewer draws it
            return None
        raise _rejected()

    def form(self, source: StreamObject, place: _Place, depth: int) -> StreamObject:
        if depth > MAX_PDF_NESTING:
            raise _rejected(RejectReason.TOO_COMPLEX)
        schema = {
            "/Type": _skip,
            "/Subtype": _skip,
            "/FormType": _integer,
            "/BBox": _rectangle,
            "/Matrix": _matrix,
            "/Group": self.group,
            "/Resources": _skip,
        }
        out = self.copy(source, schema)
        out[NameObject("/Type")] = NameObject("/XObject")
        out[NameObject("/Subtype")] = NameObject("/Form")
        if "/BBox" not in out:
            raise _rejected()
        resources = _Resources(self, source.get("/Resources"), place, depth)
        content = self.content(self.decode(source, MAX_PAGE_CONTENT_BYTES), resources)
        if resources.done():
            out[NameObject("/Resources")] = resources.out
        return _new_stream(content, out)

    def group(self, value: Any) -> DictionaryObject | None:
        """A transparency group; any other kind of group has no part in drawing."""
        group = _resolved(value)
        if not isinstance(group, DictionaryObject):
            raise _rejected()
        if _resolved(group.get("/S")) != "/Transparency":
            return None
        schema: dict[str, Callable[[Any], PdfObject | None]] = {
            "/Type": _skip,
            "/S": _skip,
            "/CS": self.colour_space,
            "/I": _boolean,
            "/K": _boolean,
        }
        out = self.copy(value, schema)
        out[NameObject("/Type")] = NameObject("/Group")
        out[NameObject("/S")] = NameObject("/Transparency")
        return out

    def image(self, source: StreamObject, place: _Place) -> StreamObject:
        self.charge_elements(len(source))
        if "/F" in source:  # its data in an external file
            raise _rejected(RejectReason.UNSUPPORTED_TYPE)
        width, height = _declared_size(source)
        self.pixels += width * height
        if width * height > MAX_PIXELS or self.pixels > MAX_PDF_PIXELS:
            raise _rejected(RejectReason.TOO_MANY_PIXELS)
        filters = _filters(source)
        parameters = _filter_parameters(source, len(filters))
        if set(filters) - _KNOWN_FILTERS:
            raise _rejected()
        schema = {
            "/Type": _skip,
            "/Subtype": _skip,
            "/Width": _skip,
            "/Height": _skip,
            "/ColorSpace": _skip,
            "/BitsPerComponent": _skip,
            "/ImageMask": _skip,
            "/SMask": _skip,
            "/Mask": _skip,
            "/Decode": self.numbers,
            "/Interpolate": _boolean,
            "/Intent": _name_in(*_INTENTS),
            "/SMaskInData": _integer,
            "/Matte": self.numbers,
        }
        out = self.copy(source, schema)
        out[NameObject("/Type")] = NameObject("/XObject")
        out[NameObject("/Subtype")] = NameObject("/Image")
        out[NameObject("/Width")] = NumberObject(width)
        out[NameObject("/Height")] = NumberObject(height)
        container = [name for name in filters if name in _CONTAINERS]
        jpx = container in (["/JPXDecode"],)
        components: int | None
        if _resolved(source.get("/ImageMask")) == BooleanObject(True):
            out[NameObject("/ImageMask")] = BooleanObject(True)
            bits, components = 1, 1
        else:
            space = source.get("/ColorSpace")
            if _is_null(space):
                if not jpx:
                    raise _rejected()
                components = None
            else:
                out[NameObject("/ColorSpace")] = self.colour_space(space)
                components = self.components(out["/ColorSpace"])
            bits_value = source.get("/BitsPerComponent")
            if _is_null(bits_value) and jpx:
                bits = 8
            else:
                bits = int(_integer(bits_value))
                if bits not in (1, 2, 4, 8, 16):
                    raise _rejected()
                out[NameObject("/BitsPerComponent")] = NumberObject(bits)
        masks = DictionaryObject()
        for key in ("/SMask", "/Mask"):
            mask = source.get(key)
            if _is_null(mask):
                continue
            if key == "/Mask" and isinstance(_resolved(mask), ArrayObject):
                out[NameObject(key)] = self.integers(mask)  # colour-key ranges
            else:  # an image of its own: a soft mask's greys or a stencil's bits
                built = self.shared("image", mask, lambda source: self.image(source, None))
                masks[NameObject(key)] = built
        raw = source._data
        if container:
            if place is None:  # in a pattern, glyph or soft mask: not where photos are redone
                raise _rejected(RejectReason.UNSUPPORTED_TYPE)
            if container != filters[-1:]:
                raise _rejected()
            data = self.decode_stages(raw, filters[:-1], parameters[:-1], MAX_BYTES)
            if container[0] in ("/DCTDecode", "/DCT"):
                _check_jpeg_structure(data)  # before pypdf hands it to Pillow
            stream = EncodedStreamObject()
            stream.update(out)
            stream[NameObject("/Filter")] = NameObject(container[0])
            stream._data = data
            self.photos.append((stream, place, masks))  # masks added once it is redone
            return stream
        if filters and filters[-1] in _CCITT:  # bare fax samples, kept as they are
            stream = EncodedStreamObject()
            stream.update(out)
            stream.update(masks)
            stream[NameObject("/Filter")] = NameObject("/CCITTFaxDecode")
            stream[NameObject("/DecodeParms")] = self.filter_parameters(parameters[-1])
            stream._data = self.decode_stages(raw, filters[:-1], parameters[:-1], MAX_BYTES)
            return stream
        assert components is not None  # only JPX goes without a colour space
        row = (width * components * bits + 7) // 8
        expected = row * height
        out.update(masks)
        if filters in (["/FlateDecode"], ["/Fl"]):
            return self.flate_image(raw, parameters[0], out, (width, components, bits), row, height)
        slack = expected // 16 + 4096  # room for an intermediate, compressed form
        samples = self.decode_stages(raw, filters, parameters, expected + slack)
        return _new_stream(samples[:expected], out)

    def flate_image(
        self,
        raw: bytes,
        parameters: DictionaryObject,
        out: DictionaryObject,
        layout: tuple[int, int, int],
        row: int,
        height: int,
    ) -> StreamObject:
        """A Flate image is kept as it came when it inflates to exactly its rows and
        nothing follows the compressed data; otherwise its rows alone are compressed
        anew. Predictors are left for the viewer: never undone here, in Python."""
        predictor = _predictor(parameters)
        stream = EncodedStreamObject()
        stream.update(out)
        stream[NameObject("/Filter")] = NameObject("/FlateDecode")
        if predictor > 1:
            width, components, bits = layout
            declared = tuple(
                int(_integer(parameters.get(key, default)))
                for key, default in (("/Columns", 1), ("/Colors", 1), ("/BitsPerComponent", 8))
            )
            if declared != layout:
                raise _rejected()
            stream[NameObject("/DecodeParms")] = DictionaryObject(
                {
                    NameObject("/Predictor"): NumberObject(predictor),
                    NameObject("/Columns"): NumberObject(width),
                    NameObject("/Colors"): NumberObject(components),
                    NameObject("/BitsPerComponent"): NumberObject(bits),
                }
            )
        rows = height * (row + (1 if predictor >= 10 else 0))  # a PNG predictor byte per row
        exact = _exact_flate(raw, rows)
        stream._data = raw if exact is None else zlib.compress(exact)
        return stream

    def components(self, space: Any) -> int:
        family = space if isinstance(space, NameObject) else _resolved(space[0])
        if family == "/DeviceN":
            return len(_resolved(space[1]))
        if family not in _COMPONENTS:
            raise _rejected()
        return _COMPONENTS[family]

    def colour_space(self, value: Any, depth: int = 0, inline: bool = False) -> PdfObject:
        if depth > 3:
            raise _rejected()
        if not isinstance(value, IndirectObject):
            return self._colour_space(value, depth, inline)
        key = ("colour space", value.idnum, value.generation, inline)
        if key not in self.memo:
            self.memo[key] = self._colour_space(value.get_object(), depth, inline)
        return self.memo[key]

    def _colour_space(self, value: Any, depth: int, inline: bool) -> PdfObject:
        value = _resolved(value)
        if isinstance(value, NameObject):
            name = _INLINE_NAMES.get(value, value) if inline else value
            if name not in _DEVICE_NAMES:
                raise _rejected()
            return NameObject(name)
        items = self.array(value)
        if not items:
            raise _rejected()
        family = _name(items[0])
        family = NameObject(_INLINE_NAMES.get(family, family)) if inline else family
        if family in _DEVICE_NAMES and len(items) == 1:
            return family
        if family == "/ICCBased" and len(items) == 2:
            # The profile names the device, the scanner or the person who calibrated it:
            # the device space of as many components takes its place.
            profile = _resolved(items[1])
            if not isinstance(profile, StreamObject):
                raise _rejected()
            count = _resolved(profile.get("/N"))
            if count not in _DEVICE_SPACES:
                raise _rejected(RejectReason.UNSUPPORTED_TYPE)
            return NameObject(_DEVICE_SPACES[count])
        if family in ("/CalGray", "/CalRGB", "/Lab") and len(items) == 2:

            def gamma(value: Any) -> PdfObject:
                if isinstance(_resolved(value), ArrayObject):
                    return self.numbers(value)  # CalRGB: one for each component
                return _number(value)

            schema = {
                "/WhitePoint": self.numbers,
                "/BlackPoint": self.numbers,
                "/Gamma": gamma,
                "/Matrix": self.numbers,
                "/Range": self.numbers,
            }
            return ArrayObject([family, self.copy(items[1], schema)])
        if family == "/Indexed" and len(items) == 4:
            base = self.colour_space(items[1], depth + 1, inline)
            if isinstance(base, ArrayObject) and base[0] in ("/Indexed", "/Pattern"):
                raise _rejected()
            highest = int(_integer(items[2]))
            if not 0 <= highest <= 255:
                raise _rejected()
            needed = (highest + 1) * self.components(base)
            lookup = _resolved(items[3])
            if isinstance(lookup, StreamObject):
                table = self.decode(lookup, needed + 4096)
            else:
                table = bytes(_string(lookup))
            return ArrayObject(
                [
                    family,
                    base,
                    NumberObject(highest),
                    ByteStringObject(table[:needed].ljust(needed, b"\x00")),
                ]
            )
        if family == "/Separation" and len(items) == 4:
            alternate = self.colour_space(items[2], depth + 1)
            if self.components(alternate) < 1 or alternate == "/Pattern":
                raise _rejected()
            return ArrayObject([family, _name(items[1]), alternate, self.function(items[3])])
        if family == "/DeviceN" and len(items) in (4, 5):
            names = ArrayObject(_name(item) for item in self.array(items[1]))
            alternate = self.colour_space(items[2], depth + 1)
            if not 1 <= len(names) <= 32 or alternate == "/Pattern":
                raise _rejected()
            # The attributes dictionary (NChannel colorants, process space) is left
            # behind: viewers then draw through the alternate space.
            return ArrayObject([family, names, alternate, self.function(items[3])])
        if family == "/Pattern" and len(items) == 2:
            return ArrayObject([family, self.colour_space(items[1], depth + 1)])
        raise _rejected()

    def function(self, value: Any, depth: int = 0) -> PdfObject:
        if depth > 4:
            raise _rejected(RejectReason.TOO_COMPLEX)
        return self.shared("function", value, lambda source: self._function(source, depth))

    def functions(self, value: Any) -> PdfObject:
        if isinstance(_resolved(value), ArrayObject):
            return ArrayObject(self.function(item) for item in self.array(value))
        return self.function(value)

    def _function(self, source: Any, depth: int) -> PdfObject:
        if not isinstance(source, DictionaryObject):
            raise _rejected()
        kind = int(_integer(source.get("/FunctionType")))
        schema: dict[str, Callable[[Any], PdfObject | None]] = {
            "/FunctionType": _skip,
            "/Domain": self.numbers,
            "/Range": self.numbers,
        }
        if kind == 0:
            schema.update(
                {
                    "/Size": self.integers,
                    "/BitsPerSample": _integer,
                    "/Order": _integer,
                    "/Encode": self.numbers,
                    "/Decode": self.numbers,
                }
            )
        elif kind == 2:
            schema.update({"/C0": self.numbers, "/C1": self.numbers, "/N": _number})
        elif kind == 3:

            def functions(value: Any) -> ArrayObject:
                return ArrayObject(self.function(item, depth + 1) for item in self.array(value))

            schema.update(
                {"/Functions": functions, "/Bounds": self.numbers, "/Encode": self.numbers}
            )
        elif kind != 4:
            raise _rejected()
        out = self.copy(source, schema)
        out[NameObject("/FunctionType")] = NumberObject(kind)
        if kind == 0:
            return _new_stream(self.decode(source), out)
        if kind == 4:
            data = self.decode(source, MAX_CMAP_BYTES)
            self.charge_content(len(data))
            return _new_stream(_calculator(data), out)
        return out

    def transfer(self, value: Any) -> PdfObject:
        if _resolved(value) in ("/Identity", "/Default"):
            return NameObject(_resolved(value))
        if isinstance(_resolved(value), ArrayObject):
            return ArrayObject(self.function(item) for item in self.array(value))
        return self.function(value)

    def ext_g_state(self, value: Any, depth: int) -> PdfObject:
        return self.shared("graphics state", value, lambda source: self._ext_g_state(source, depth))

    def _ext_g_state(self, source: Any, depth: int) -> DictionaryObject:
        def dash(value: Any) -> ArrayObject:
            items = self.array(value)
            if len(items) != 2:
                raise _rejected()
            return ArrayObject([self.numbers(items[0]), _number(items[1])])

        def font(value: Any) -> ArrayObject:
            items = self.array(value)
            if len(items) != 2:
                raise _rejected()
            return ArrayObject([self.font(items[0], depth), _number(items[1])])

        def blend_mode(value: Any) -> PdfObject:
            if isinstance(_resolved(value), ArrayObject):
                modes = [_name(item) for item in self.array(value)]
                return ArrayObject(mode for mode in modes if mode in _BLEND_MODES)
            return _name_in(*_BLEND_MODES)(value)

        def soft_mask(value: Any) -> PdfObject:
            if _resolved(value) == "/None":
                return NameObject("/None")
            mask = self.copy(
                value,
                {
                    "/Type": _skip,
                    "/S": _name_in("/Alpha", "/Luminosity"),
                    "/BC": self.numbers,
                    "/TR": self.transfer,
                    "/G": lambda g: self.shared(
                        "form", g, lambda form: self.form(form, None, depth + 1)
                    ),
                },
            )
            if "/S" not in mask or "/G" not in mask:
                raise _rejected()
            mask[NameObject("/Type")] = NameObject("/Mask")
            return mask

        schema: dict[str, Callable[[Any], PdfObject | None]] = {
            "/Type": _skip,
            "/LW": _number,
            "/LC": _integer,
            "/LJ": _integer,
            "/ML": _number,
            "/D": dash,
            "/RI": _name_in(*_INTENTS),
            "/OP": _boolean,
            "/op": _boolean,
            "/OPM": _integer,
            "/Font": font,
            "/BG": self.function,
            "/BG2": self.transfer,
            "/UCR": self.function,
            "/UCR2": self.transfer,
            "/TR": self.transfer,
            "/TR2": self.transfer,
            "/FL": _number,
            "/SM": _number,
            "/SA": _boolean,
            "/BM": blend_mode,
            "/SMask": soft_mask,
            "/CA": _number,
            "/ca": _number,
            "/AIS": _boolean,
            "/TK": _boolean,
            "/UseBlackPtComp": _name_in("/ON", "/OFF", "/Default"),
        }
        out = self.copy(source, schema)
        out[NameObject("/Type")] = NameObject("/ExtGState")
        return out

    def pattern(self, value: Any, depth: int) -> PdfObject:
        return self.shared("pattern", value, lambda source: self._pattern(source, depth + 1))

    def _pattern(self, source: Any, depth: int) -> PdfObject:
        if depth > MAX_PDF_NESTING:
            raise _rejected(RejectReason.TOO_COMPLEX)
        if not isinstance(source, DictionaryObject):
            raise _rejected()
        kind = int(_integer(source.get("/PatternType")))
        if kind == 2:
            out = self.copy(
                source,
                {
                    "/Type": _skip,
                    "/PatternType": _skip,
                    "/Shading": self.shading,
                    "/Matrix": _matrix,
                    "/ExtGState": lambda v: self.ext_g_state(v, depth),
                },
            )
        elif kind == 1 and isinstance(source, StreamObject):
            out = self.copy(
                source,
                {
                    "/Type": _skip,
                    "/PatternType": _skip,
                    "/PaintType": _integer,
                    "/TilingType": _integer,
                    "/BBox": _rectangle,
                    "/XStep": _number,
                    "/YStep": _number,
                    "/Matrix": _matrix,
                    "/Resources": _skip,
                },
            )
        else:
            raise _rejected()
        out[NameObject("/Type")] = NameObject("/Pattern")
        out[NameObject("/PatternType")] = NumberObject(kind)
        if kind == 2:
            return out
        resources = _Resources(self, source.get("/Resources"), None, depth)
        content = self.content(self.decode(source, MAX_PAGE_CONTENT_BYTES), resources)
        if resources.done():
            out[NameObject("/Resources")] = resources.out
        return _new_stream(content, out)

    def shading(self, value: Any) -> PdfObject:
        return self.shared("shading", value, self._shading)

    def _shading(self, source: Any) -> PdfObject:
        if not isinstance(source, DictionaryObject):
            raise _rejected()
        kind = int(_integer(source.get("/ShadingType")))
        if not 1 <= kind <= 7 or (kind >= 4) != isinstance(source, StreamObject):
            raise _rejected()
        schema: dict[str, Callable[[Any], PdfObject | None]] = {
            "/ShadingType": _skip,
            "/ColorSpace": self.colour_space,
            "/Background": self.numbers,
            "/BBox": _rectangle,
            "/AntiAlias": _boolean,
            "/Domain": self.numbers,
            "/Matrix": _matrix,
            "/Function": self.functions,
            "/Coords": self.numbers,
            "/Extend": self.booleans,
            "/BitsPerCoordinate": _integer,
            "/BitsPerComponent": _integer,
            "/BitsPerFlag": _integer,
            "/Decode": self.numbers,
            "/VerticesPerRow": _integer,
        }
        out = self.copy(source, schema)
        out[NameObject("/ShadingType")] = NumberObject(kind)
        if kind < 4:
            return out
        return _new_stream(self.decode(source), out)

    # --- fonts ---

    def font(self, value: Any, depth: int) -> PdfObject:
        return self.shared("font", value, lambda source: self._font(source, depth))

    def _font(self, source: Any, depth: int) -> DictionaryObject:
        if not isinstance(source, DictionaryObject):
            raise _rejected()
        subtype = _resolved(source.get("/Subtype"))
        schema: dict[str, Callable[[Any], PdfObject | None]] = {
            "/Type": _skip,
            "/Subtype": _skip,
            "/BaseFont": _name,
            "/ToUnicode": self.to_unicode,
        }
        simple = {
            "/FirstChar": _integer,
            "/LastChar": _integer,
            "/Widths": self.numbers,
            "/FontDescriptor": self.font_descriptor,
            "/Encoding": self.encoding,
        }
        if subtype in ("/Type1", "/MMType1", "/TrueType"):
            schema.update(simple)
        elif subtype == "/Type0":
            schema.update({"/Encoding": self.cmap_encoding, "/DescendantFonts": self.descendants})
        elif subtype == "/Type3":
            if depth + 1 > MAX_PDF_NESTING:
                raise _rejected(RejectReason.TOO_COMPLEX)
            schema.update(simple)
            schema.update(
                {
                    "/FontBBox": _rectangle,
                    "/FontMatrix": _matrix,
                    "/CharProcs": _skip,
                    "/Resources": _skip,
                }
            )
        else:
            raise _rejected()
        out = self.copy(source, schema)
        out[NameObject("/Type")] = NameObject("/Font")
        out[NameObject("/Subtype")] = NameObject(subtype)
        if subtype == "/Type3":
            resources = _Resources(self, source.get("/Resources"), None, depth + 1)
            procedures = _resolved(source.get("/CharProcs"))
            if not isinstance(procedures, DictionaryObject):
                raise _rejected()
            self.charge_elements(len(procedures))
            glyphs = DictionaryObject()
            for glyph, procedure in procedures.items():
                data = self.content(self.decode(procedure, MAX_PAGE_CONTENT_BYTES), resources)
                glyphs[NameObject(glyph)] = self.writer._add_object(_new_stream(data))
            out[NameObject("/CharProcs")] = glyphs
            if resources.done():
                out[NameObject("/Resources")] = resources.out
        return out

    def encoding(self, value: Any) -> PdfObject:
        if isinstance(_resolved(value), NameObject):
            return _name_in(*_STANDARD_ENCODINGS)(value)

        def differences(value: Any) -> ArrayObject:
            items = self.array(value)
            return ArrayObject(
                _name(item) if isinstance(_resolved(item), NameObject) else _integer(item)
                for item in items
            )

        out = self.copy(
            value,
            {
                "/Type": _skip,
                "/BaseEncoding": _name_in(*_STANDARD_ENCODINGS),
                "/Differences": differences,
            },
        )
        out[NameObject("/Type")] = NameObject("/Encoding")
        return out

    def font_descriptor(self, value: Any) -> PdfObject:
        numbers = dict.fromkeys(
            (
                "/FontWeight",
                "/ItalicAngle",
                "/Ascent",
                "/Descent",
                "/Leading",
                "/CapHeight",
                "/XHeight",
                "/StemV",
                "/StemH",
                "/AvgWidth",
                "/MaxWidth",
                "/MissingWidth",
            ),
            _number,
        )
        schema: dict[str, Callable[[Any], PdfObject | None]] = {
            "/Type": _skip,
            "/FontName": _name,
            "/FontStretch": _name,
            "/Flags": _integer,
            "/FontBBox": _rectangle,
            "/FontFile": self.font_file,
            "/FontFile2": self.font_file,
            "/FontFile3": self.font_file,
            **numbers,
        }

        def build(source: Any) -> DictionaryObject:
            out = self.copy(source, schema)
            out[NameObject("/Type")] = NameObject("/FontDescriptor")
            return out

        return self.shared("font descriptor", value, build)

    def font_file(self, value: Any) -> PdfObject:
        """A font program, decoded and compressed anew; its own tables are kept as
        they are (glyph outlines cannot be told apart from a font's name table here)."""
        schema = {
            "/Length1": _integer,
            "/Length2": _integer,
            "/Length3": _integer,
            "/Subtype": _name_in("/Type1C", "/CIDFontType0C", "/OpenType"),
        }
        return self.shared(
            "font file",
            value,
            lambda source: _new_stream(self.decode(source), self.copy(source, schema)),
        )

    def descendants(self, value: Any) -> ArrayObject:
        items = self.array(value)
        if len(items) != 1:
            raise _rejected()
        return ArrayObject([self.shared("CID font", items[0], self.cid_font)])

    def cid_font(self, source: Any) -> DictionaryObject:
        subtype = _resolved(_resolved(source).get("/Subtype"))
        if subtype not in ("/CIDFontType0", "/CIDFontType2"):
            raise _rejected()

        def widths(value: Any) -> ArrayObject:
            return ArrayObject(
                self.numbers(item) if isinstance(_resolved(item), ArrayObject) else _number(item)
                for item in self.array(value)
            )

        def cid_to_gid(value: Any) -> PdfObject:
            if _resolved(value) == "/Identity":
                return NameObject("/Identity")
            return self.shared("CID map", value, lambda map_: _new_stream(self.decode(map_)))

        out = self.copy(
            source,
            {
                "/Type": _skip,
                "/Subtype": _skip,
                "/BaseFont": _name,
                "/CIDSystemInfo": self.system_info,
                "/FontDescriptor": self.font_descriptor,
                "/DW": _number,
                "/W": widths,
                "/DW2": self.numbers,
                "/W2": widths,
                "/CIDToGIDMap": cid_to_gid,
            },
        )
        out[NameObject("/Type")] = NameObject("/Font")
        out[NameObject("/Subtype")] = NameObject(subtype)
        return out

    def system_info(self, value: Any) -> DictionaryObject:
        return self.copy(
            value, {"/Registry": _string, "/Ordering": _string, "/Supplement": _integer}
        )

    def to_unicode(self, value: Any) -> PdfObject | None:
        """A ToUnicode CMap, written anew from its code ranges and mappings alone. One
        this cannot read is left behind: the text is still drawn, only not copied out."""
        if not isinstance(_resolved(value), StreamObject):
            return None  # a name (/Identity-H) is no map at all
        try:
            return self.shared(
                "ToUnicode",
                value,
                lambda source: _new_stream(
                    _cmap(self.decode(source, MAX_CMAP_BYTES), self, unicode=True)
                ),
            )
        except AttachmentRejected as rejected:
            if rejected.reason is not RejectReason.UNREADABLE:
                raise
            return None

    def cmap_encoding(self, value: Any) -> PdfObject:
        """A predefined CMap by its name, or an embedded one written anew."""
        if isinstance(_resolved(value), NameObject):
            return _name(value)

        def build(source: Any) -> StreamObject:
            out = self.copy(
                source,
                {
                    "/Type": _skip,
                    "/CIDSystemInfo": self.system_info,
                    "/WMode": _integer,
                    "/CMapName": _skip,
                    "/UseCMap": _skip,
                },
            )
            if isinstance(_resolved(source.get("/UseCMap")), NameObject):
                out[NameObject("/UseCMap")] = _name(source["/UseCMap"])
            elif not _is_null(source.get("/UseCMap")):
                raise _rejected(RejectReason.UNSUPPORTED_TYPE)
            out[NameObject("/Type")] = NameObject("/CMap")
            out[NameObject("/CMapName")] = NameObject("/Embedded")
            return _new_stream(_cmap(self.decode(source, MAX_CMAP_BYTES), self, unicode=False), out)

        return self.shared("CMap", value, build)

    # --- after the pages ---

    def check_dropped(self) -> None:
        """What is left behind is still looked at, as before the whitelist existed: an
        annotation, an attached file, XMP or a photo under a name of a document's own is
        one trying to carry something past a blocklist, and is refused; so is a filter no
        viewer knows. Unused resources are only looked over (annotations, filters): a
        photo a page does not draw is common, and dropped with the resource."""
        seen: dict[int, bool] = {}
        queue: deque[tuple[Any, bool]] = deque(self.dropped)
        while queue:
            item, searched = queue.popleft()
            if isinstance(item, IndirectObject):
                if seen.get(item.idnum, False) or (item.idnum in seen and not searched):
                    continue
                seen[item.idnum] = searched
                item = item.get_object()
            if isinstance(item, ArrayObject):
                queue.extend((value, searched) for value in self.array(item))
                continue
            if not isinstance(item, DictionaryObject):
                continue
            self.charge_elements(len(item))
            kind = _resolved(item.get("/Type"))
            if kind in _FORBIDDEN_TYPES or "/Rect" in item:  # an annotation
                raise _rejected(RejectReason.UNSUPPORTED_TYPE)
            if kind in ("/Page", "/Pages", "/Catalog"):
                continue  # copied (or not) as pages
            if isinstance(item, StreamObject):
                filters = set(_filters(item))
                if filters - _KNOWN_FILTERS:
                    raise _rejected()
                if searched and filters & _CONTAINERS:
                    raise _rejected(RejectReason.UNSUPPORTED_TYPE)
                views = [item._data] if searched else []
                if searched and not _is_image(item):
                    views.append(self.decode(item))
                for view in views:
                    if view.startswith(_FILE_STARTS) or any(mark in view for mark in _SIGNATURES):
                        raise _rejected(RejectReason.UNSUPPORTED_TYPE)
            skipped = (*_DROP_EVERYWHERE, "/Parent", "/P")
            queue.extend((value, searched) for key, value in item.items() if key not in skipped)

    def rebuild_photos(self) -> set[int]:
        """Re-encodes from pixels every photo whose encoding can carry metadata, as
        pypdf decodes it for the page it is drawn on; returns their object numbers."""
        rebuilt: set[int] = set()
        for stream, (page, path), masks in self.photos:
            if stream.indirect_reference is None:  # every photo was added as an object
                raise _rejected()
            number = stream.indirect_reference.idnum
            if number in rebuilt:
                continue
            embedded = page.images[path[0] if len(path) == 1 else list(path)]
            if embedded.image is None:
                raise _rejected()
            if embedded.image.width * embedded.image.height > MAX_PIXELS:
                raise _rejected(RejectReason.TOO_MANY_PIXELS)  # lied in /Width
            # No EXIF orientation here: PDF viewers draw the stored pixels as they are.
            fresh = _pixels_only(embedded.image, "JPEG")
            out = io.BytesIO()
            fresh.save(out, "JPEG", quality=JPEG_QUALITY)
            kept = ("/Type", "/Subtype", "/Intent", "/Interpolate")
            for key in [key for key in stream if key not in kept]:
                del stream[key]
            grey = fresh.mode == "L"
            stream.update(
                {
                    NameObject("/Width"): NumberObject(fresh.width),
                    NameObject("/Height"): NumberObject(fresh.height),
                    NameObject("/ColorSpace"): NameObject("/DeviceGray" if grey else "/DeviceRGB"),
                    NameObject("/BitsPerComponent"): NumberObject(8),
                    NameObject("/Filter"): NameObject("/DCTDecode"),
                }
            )
            if "/SMask" not in masks and embedded.image.has_transparency_data:
                # Transparency inside the photo's own data (JPEG 2000's SMaskInData):
                # a soft mask of its alpha, since the JPEG that replaces it has none.
                alpha = embedded.image.convert("RGBA").getchannel("A")
                masks[NameObject("/SMask")] = self.writer._add_object(
                    _new_stream(
                        alpha.tobytes(),
                        DictionaryObject(
                            {
                                NameObject("/Type"): NameObject("/XObject"),
                                NameObject("/Subtype"): NameObject("/Image"),
                                NameObject("/Width"): NumberObject(alpha.width),
                                NameObject("/Height"): NumberObject(alpha.height),
                                NameObject("/ColorSpace"): NameObject("/DeviceGray"),
                                NameObject("/BitsPerComponent"): NumberObject(8),
                            }
                        ),
                    )
                )
            stream.update(masks)
            stream._data = out.getvalue()
            rebuilt.add(number)
        return rebuilt


def _declared_size(image: DictionaryObject) -> tuple[int, int]:
    width, height = _resolved(image.get("/Width")), _resolved(image.get("/Height"))
    if not isinstance(width, int) or not isinstance(height, int) or width < 1 or height < 1:
        raise AttachmentRejected(RejectReason.UNREADABLE)
    return width, height


def _exact_flate(raw: bytes, limit: int) -> bytes | None:
    """None when raw inflates to at most limit bytes and ends where its zlib stream
    does; otherwise its first limit bytes. Counted in 1 MB pieces, never held whole."""
    inflater = zlib.decompressobj()
    pending, total = raw, 0
    while True:
        chunk = inflater.decompress(pending, MB)
        total += len(chunk)
        if total > limit:
            break
        pending = inflater.unconsumed_tail
        if inflater.eof or not (chunk or pending):
            break
    if total <= limit and inflater.eof and not inflater.unused_data.strip(_WHITESPACE):
        return None
    return zlib.decompressobj().decompress(raw, limit)


_CMAP_TOKEN = re.compile(
    rb"(?P<space>[\x00\t\n\x0c\r ]+)|(?P<comment>%[^\r\n]*)|(?P<dict><<|>>)"
    rb"|(?P<hex><[0-9A-Fa-f\x00\t\n\x0c\r ]*>)|(?P<string>\((?:[^()\\]|\\.)*\))"
    rb"|(?P<name>/[^\x00\t\n\x0c\r ()<>\[\]{}/%]*)|(?P<open>\[)|(?P<close>\])|(?P<brace>[{}])"
    rb"|(?P<word>[^\x00\t\n\x0c\r ()<>\[\]{}/%]+)",
    re.S,
)
# Section: entries per item, and whether it belongs in a ToUnicode map (True) or in an
# encoding CMap (False).
_CMAP_SECTIONS = {
    b"codespacerange": (2, None),
    b"bfchar": (2, True),
    b"bfrange": (3, True),
    b"cidchar": (2, False),
    b"cidrange": (3, False),
    b"notdefchar": (2, False),
    b"notdefrange": (3, False),
}


def _cmap_hex(token: tuple[str, bytes], longest: int = 4) -> bytes:
    kind, text = token
    if kind != "hex":
        raise _rejected()
    digits = text[1:-1].translate(None, _WHITESPACE)
    value = bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode())
    if not 1 <= len(value) <= longest:
        raise _rejected()
    return b"<" + value.hex().upper().encode() + b">"


def _cmap_integer(token: tuple[str, bytes]) -> bytes:
    kind, text = token
    if kind != "word" or not text.isdigit() or int(text) > 0xFFFF:
        raise _rejected()
    return str(int(text)).encode()


def _cmap(data: bytes, rebuild: _Rebuild, unicode: bool) -> bytes:
    """A CMap written anew from its code space, mappings and writing mode: whatever
    else its PostScript held (comments, names, dates, a producer's notes) stays behind."""
    tokens: list[tuple[str, bytes]] = []
    position = 0
    while position < len(data):
        match = _CMAP_TOKEN.match(data, position)
        if match is None:
            raise _rejected()
        position = match.end()
        if match.lastgroup not in ("space", "comment"):
            tokens.append((str(match.lastgroup), match.group()))
    rebuild.charge_content(len(data), len(tokens))
    sections: dict[bytes, list[bytes]] = {name: [] for name in _CMAP_SECTIONS}
    writing_mode, base = b"0", b""
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        index += 1
        if kind == "name" and text == b"/WMode" and index < len(tokens):
            if tokens[index] in (("word", b"0"), ("word", b"1")):
                writing_mode = tokens[index][1]
            continue
        if kind == "name" and tokens[index : index + 1] == [("word", b"usecmap")]:
            base = text  # a predefined CMap this one adds to, by its name
            continue
        section = text[5:] if kind == "word" and text.startswith(b"begin") else None
        if section not in _CMAP_SECTIONS:
            continue
        width, _ = _CMAP_SECTIONS[section]
        items: list[tuple[str, bytes] | list[tuple[str, bytes]]] = []
        while index < len(tokens) and tokens[index] != ("word", b"end" + section):
            if tokens[index][0] == "open":  # a bfrange's list of destinations
                end = index + 1
                while end < len(tokens) and tokens[end][0] != "close":
                    end += 1
                items.append(tokens[index + 1 : end])
                index = end + 1
            else:
                items.append(tokens[index])
                index += 1
        index += 1
        if len(items) % width:
            raise _rejected()
        for start in range(0, len(items), width):
            entry = items[start : start + width]
            if any(isinstance(item, list) for item in entry[:-1]):
                raise _rejected()
            codes = [_cmap_hex(item) for item in entry[: width - 1]]  # type: ignore[arg-type]
            last = entry[-1]
            if section == b"codespacerange":
                target = _cmap_hex(last)  # type: ignore[arg-type]
            elif section in (b"bfchar", b"bfrange"):
                if isinstance(last, list):
                    target = b"[" + b" ".join(_cmap_hex(item, 512) for item in last) + b"]"
                elif last[0] == "name":
                    continue  # a glyph name: not a text mapping
                else:
                    target = _cmap_hex(last, 512)
            else:
                target = _cmap_integer(last)  # type: ignore[arg-type]
            sections[section].append(b" ".join([*codes, target]))
    lines = [b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap"]
    if unicode:
        lines += [
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            b"/CMapName /Adobe-Identity-UCS def",
            b"/CMapType 2 def",
        ]
    else:
        lines += [
            b"/CMapName /Embedded def",
            b"/CMapType 1 def",
            b"/WMode " + writing_mode + b" def",
            *([base + b" usecmap"] if base else []),
        ]
    for section, (_, for_unicode) in _CMAP_SECTIONS.items():
        entries = sections[section]
        if for_unicode not in (None, unicode):
            continue
        for start in range(0, len(entries), 100):
            chunk = entries[start : start + 100]
            lines.append(str(len(chunk)).encode() + b" begin" + section)
            lines.extend(chunk)
            lines.append(b"end" + section)
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines) + b"\n"


_CALCULATOR_OPERATORS = frozenset(
    b"abs add atan ceiling cos cvi cvr div exp floor idiv ln log mod mul neg round sin sqrt "
    b"sub truncate and bitshift eq false ge gt le lt ne not or true xor if ifelse copy dup "
    b"exch index pop roll".split()
)
_CALCULATOR_TOKEN = re.compile(
    rb"(?P<space>[\x00\t\n\x0c\r ]+)|(?P<comment>%[^\r\n]*)|(?P<brace>[{}])"
    rb"|(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<word>[a-z]+)"
)


def _calculator(data: bytes) -> bytes:
    """A type 4 (PostScript calculator) function written anew: braces, numbers and its
    operators, nothing else (no comment)."""
    parts: list[bytes] = []
    depth, position = 0, 0
    while position < len(data):
        match = _CALCULATOR_TOKEN.match(data, position)
        if match is None:
            raise _rejected()
        position = match.end()
        kind, text = match.lastgroup, match.group()
        if kind in ("space", "comment"):
            continue
        if kind == "word" and text not in _CALCULATOR_OPERATORS:
            raise _rejected()
        depth += {b"{": 1, b"}": -1}.get(text, 0)
        if depth < 0:
            raise _rejected()
        parts.append(text)
    if depth or not parts or parts[0] != b"{" or parts[-1] != b"}":
        raise _rejected()
    return b" ".join(parts)


def _check_leftovers(writer: PdfWriter, rebuilt: set[int]) -> None:
    """The last net, over everything the pages reach in our own output apart from the
    photos just re-encoded: should the whitelist ever let through an annotation, an
    attached file or XMP stream, a filter no viewer knows, a photo encoding left as it
    came, metadata bytes or a whole embedded file, the document is refused."""
    for obj, idnum in _reachable(writer.root_object):
        if _resolved(obj.get("/Type")) in _FORBIDDEN_TYPES or "/Rect" in obj:  # an annotation
            raise AttachmentRejected(RejectReason.UNSUPPORTED_TYPE)
        if not isinstance(obj, StreamObject) or idnum in rebuilt:
            continue
        filters = set(_filters(obj))
        if filters - _KNOWN_FILTERS:
            raise AttachmentRejected(RejectReason.UNREADABLE)
        if filters & _CONTAINERS:
            raise AttachmentRejected(RejectReason.UNSUPPORTED_TYPE)
        # As stored and, unless it is pixels or fax samples, as decoded.
        views = [obj._data]
        if not _is_image(obj):
            views.append(decode_stream_data(obj))
        for view in views:
            if view.startswith(_FILE_STARTS) or any(mark in view for mark in _SIGNATURES):
                raise AttachmentRejected(RejectReason.UNSUPPORTED_TYPE)


def _check_pdf_output(clean: bytes, count: int) -> None:
    """The invariant, checked on our own output: no /Info (so no /Producer), no XMP, no
    ICC profile, no pdfTeX key, no optional content, every page there."""
    check = PdfReader(io.BytesIO(clean))
    if check.metadata or "/Metadata" in check.root_object or len(check.pages) != count:
        raise AttachmentRejected(RejectReason.UNREADABLE)
    seen: set[int] = set()
    queue: deque[Any] = deque([check.root_object])
    while queue:
        item = queue.popleft()
        if isinstance(item, IndirectObject):
            if item.idnum in seen:
                continue
            seen.add(item.idnum)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            for key in item:
                if key.startswith("/PTEX") or key in ("/OCProperties", "/OC", "/Properties"):
                    raise AttachmentRejected(RejectReason.UNREADABLE)
            queue.extend(value for key, value in item.items() if key != "/Parent")
        elif isinstance(item, ArrayObject):
            queue.extend(item)
        elif isinstance(item, NameObject) and item == "/ICCBased":
            raise AttachmentRejected(RejectReason.UNREADABLE)


def _reachable(root: PdfObject) -> Iterator[tuple[DictionaryObject, int | None]]:
    """Every dictionary and stream reachable from root, once each, with its object
    number if it is an indirect object. No recursion: nesting depth is the file's
    choice."""
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
