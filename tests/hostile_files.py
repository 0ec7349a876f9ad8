"""Hostile files, built in memory: what a sender could craft to make cleaning a file cost
minutes or gigabytes, or to carry something past it.

Each generator is deterministic, needs only Pillow, pypdf and zlib (no pytest: the
benchmarks import this module too) and takes well under a second. The files are
refused by storage.file_cleaning.sanitize() before the expensive step; the benchmarks
measure what they cost without those limits.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageCms
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    EncodedStreamObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

MB = 1024 * 1024

# pdf_with_leftovers(): what survived the PDF rebuild before the whitelist, one marker
# each (letters and digits only, so that no format escapes them).
LEFTOVER_MARKERS = {
    "ptex_file_name": "PtexFileNameHome4417",  # the path pdfTeX records, with a user name
    "ptex_info": "PtexInfoDictAuthor4417",  # the included PDF's own /Info, kept by pdfTeX
    "ptex_banner": "PtexFullbanner4417",
    "layer_name": "LayerNameOCG4417",  # an optional-content group's /Name
    "layer_intent": "LayerUsageCreator4417",  # /Usage /CreatorInfo of the group
    "icc_profile": "IccProfileDescription4417",  # text inside an ICC profile
    "font_custom_key": "FontDescriptorCustom4417",
    "nested_custom_key": "NestedCustomDict4417",  # a custom dictionary inside a custom key
    "image_custom_key": "ImageCustomKey4417",
    "graphics_state_custom_key": "ExtGStateCustom4417",
    "form_custom_key": "FormCustomKey4417",
    "resources_custom_key": "ResourcesCustom4417",
    "page_custom_key": "PageCustomKey4417",
    "content_comment": "ContentComment4417",  # % a comment in the page's operators
    "form_comment": "FormComment4417",
    "pattern_comment": "PatternComment4417",
    "marked_content_tag": "MarkedContentTag4417",  # /Tag BMC
    "property_list": "PropertyListText4417",  # /Span << /ActualText (...) >> BDC
    "resource_name": "ResourceName4417",  # /XObject << /Im... >> named by the producer
    "to_unicode_comment": "ToUnicodeComment4417",  # %%Title in a ToUnicode CMap
    "calculator_comment": "CalculatorComment4417",  # % in a type 4 function
    "flate_trailer": "FlateTrailer4417",  # bytes after the end of an image's zlib data
    "unknown_operator": "UnknownOperator4417",  # (text) xyzzy: an operator no one knows
    "extra_operand": "ExtraOperand4417",  # (text) 10 10 m: an operand m does not take
}


def many_scan_jpeg(repeats: int = 2500, size: tuple[int, int] = (2048, 2048)) -> bytes:
    """A small progressive JPEG (about 100 KB) whose last scan, with the Huffman table
    before it, is repeated `repeats` times: a decoder passes over the whole image once
    per scan."""
    out = io.BytesIO()
    Image.new("L", size, 128).save(out, "JPEG", progressive=True, quality=90)
    data = out.getvalue()
    segments = _jpeg_segments(data)
    last_scan = max(index for index, (code, _) in enumerate(segments) if code == 0xDA)
    first = last_scan - 1 if segments[last_scan - 1][0] == 0xC4 else last_scan
    start, end = segments[first][1], segments[-1][1]  # up to EOI
    return data[:end] + data[start:end] * repeats + data[end:]


def _jpeg_segments(data: bytes) -> list[tuple[int, int]]:
    """(marker code, offset) of every marker up to EOI, for a well-formed file."""
    found, position = [], 2
    while True:
        code = data[position + 1]
        found.append((code, position))
        if code == 0xD9:
            return found
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        position += 2 + length
        if code == 0xDA:  # entropy-coded data up to the next marker that is not RST
            while not (
                data[position] == 0xFF and data[position + 1] not in (0, *range(0xD0, 0xD8))
            ):
                position += 1


def huge_dimension_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header declaring width x height pixels, with almost no data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def pdf_compression_bomb(streams: int = 40, stream_mb: int = 64) -> bytes:
    """A few MB of compressed streams inflating to GBs: one page drawing `streams` forms,
    each of `stream_mb` MB of content (under pypdf's own 75 MB limit per stream)."""
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    inflated = zlib.compress(b" " * (stream_mb * MB))  # once, and shared: fast to build
    forms = DictionaryObject()
    for index in range(streams):
        form = EncodedStreamObject()
        form._data = inflated
        form.update(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Form"),
                NameObject("/BBox"): _box(100, 100),
                NameObject("/Filter"): NameObject("/FlateDecode"),
            }
        )
        forms[NameObject(f"/Fm{index}")] = writer._add_object(form)
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/XObject"): forms})
    drawing = b"".join(f"/Fm{index} Do\n".encode() for index in range(streams))
    page[NameObject("/Contents")] = _stream(writer, drawing)
    return _pdf_bytes(writer)


def pdf_font_bomb(fonts: int = 5, font_mb: int = 30) -> bytes:
    """Embedded font programs each under the per-stream limit, all of them together
    over the document's: `fonts` fonts of `font_mb` MB, each used on the page."""
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    program = zlib.compress(b"\x00" * (font_mb * MB))
    font_resources = DictionaryObject()
    for index in range(fonts):
        font_file = EncodedStreamObject()
        font_file._data = program
        font_file[NameObject("/Filter")] = NameObject("/FlateDecode")
        descriptor = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/FontDescriptor"),
                NameObject("/FontName"): NameObject(f"/Bomb{index}"),
                NameObject("/Flags"): NumberObject(32),
                NameObject("/FontBBox"): _box(1000, 1000),
                NameObject("/ItalicAngle"): NumberObject(0),
                NameObject("/Ascent"): NumberObject(800),
                NameObject("/Descent"): NumberObject(-200),
                NameObject("/CapHeight"): NumberObject(700),
                NameObject("/StemV"): NumberObject(80),
                NameObject("/FontFile2"): writer._add_object(font_file),
            }
        )
        font_resources[NameObject(f"/F{index}")] = writer._add_object(
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Font"),
                    NameObject("/Subtype"): NameObject("/TrueType"),
                    NameObject("/BaseFont"): NameObject(f"/Bomb{index}"),
                    NameObject("/FirstChar"): NumberObject(65),
                    NameObject("/LastChar"): NumberObject(65),
                    NameObject("/Widths"): ArrayObject([NumberObject(600)]),
                    NameObject("/FontDescriptor"): writer._add_object(descriptor),
                }
            )
        )
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): font_resources})
    text = b"".join(f"BT /F{index} 12 Tf 10 10 Td (A) Tj ET\n".encode() for index in range(fonts))
    page[NameObject("/Contents")] = _stream(writer, text)
    return _pdf_bytes(writer)


def pdf_parse_bomb(content_mb: int = 20) -> bytes:
    """A small PDF (about 30 KB) whose one page holds `content_mb` MB of the tiniest
    drawing operators once inflated: millions of them to parse."""
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    contents = EncodedStreamObject()
    contents._data = zlib.compress(b"0 0 m\n" * (content_mb * MB // 6), 9)
    contents[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(contents)
    return _pdf_bytes(writer)


def pdf_object_stream_bomb(padding_mb: float = 6) -> bytes:
    """A page kept in an object stream with an object of `padding_mb` MB of filler:
    pypdf parses a whole object stream as soon as one of its objects is read."""
    return pdf_with_object_stream(b"(" + b"a" * int(padding_mb * MB) + b")")


def pdf_with_object_stream(extra_object: bytes = b"(spare)") -> bytes:
    """A one-page PDF 1.5 whose page object sits in a compressed object stream (as
    Acrobat, Word and qpdf write them), beside extra_object; with an xref stream."""
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] /Contents 4 0 R /Resources << >> >>"
    )
    header = f"3 0 7 {len(page) + 1} ".encode()
    packed = header + page + b"\n" + extra_object
    compressed = zlib.compress(packed)
    drawing = b"0 0 1 rg 10 10 50 50 re f"
    parts: list[bytes] = [b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"]
    offsets: dict[int, int] = {}

    def add(number: int, body: bytes) -> None:
        offsets[number] = sum(map(len, parts))
        parts.append(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")

    add(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    add(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    add(4, f"<< /Length {len(drawing)} >>\nstream\n".encode() + drawing + b"\nendstream")
    add(
        5,
        f"<< /Type /ObjStm /N 2 /First {len(header)} /Filter /FlateDecode /Length {len(compressed)} >>\nstream\n".encode()
        + compressed
        + b"\nendstream",
    )
    offsets[6] = sum(map(len, parts))
    rows = [
        (0, 0, 0xFFFF),
        (1, offsets[1], 0),
        (1, offsets[2], 0),
        (2, 5, 0),
        (1, offsets[4], 0),
        (1, offsets[5], 0),
        (1, offsets[6], 0),
        (2, 5, 1),
    ]
    table = b"".join(struct.pack(">BIH", *row) for row in rows)
    parts.append(
        f"6 0 obj\n<< /Type /XRef /Size 8 /Root 1 0 R /W [1 4 2] /Length {len(table)} >>\nstream\n".encode()
        + table
        + f"\nendstream\nendobj\nstartxref\n{offsets[6]}\n%%EOF\n".encode()
    )
    return b"".join(parts)


def pdf_with_leftovers() -> bytes:
    """A one-page PDF drawing a red square in an ICC colour space, a blue one in a layer,
    a green image and a form from another PDF (as pdfTeX includes one), carrying every
    LEFTOVER_MARKERS value somewhere the page reaches."""
    m = LEFTOVER_MARKERS
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)

    # An ICC profile: a real sRGB profile with a note of its maker inside.
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    profile += f"made for {m['icc_profile']}".encode()
    profile = struct.pack(">I", len(profile)) + profile[4:]
    icc = _stream(writer, profile, N=NumberObject(3), Alternate=NameObject("/DeviceRGB"))
    icc_space = ArrayObject([NameObject("/ICCBased"), icc])

    # A layer, shown, with its name and its creator.
    layer = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/OCG"),
                NameObject("/Name"): TextStringObject(m["layer_name"]),
                NameObject("/Usage"): DictionaryObject(
                    {
                        NameObject("/CreatorInfo"): DictionaryObject(
                            {
                                NameObject("/Creator"): TextStringObject(m["layer_intent"]),
                                NameObject("/Subtype"): NameObject("/Artwork"),
                            }
                        )
                    }
                ),
            }
        )
    )
    writer.root_object[NameObject("/OCProperties")] = DictionaryObject(
        {
            NameObject("/OCGs"): ArrayObject([layer]),
            NameObject("/D"): DictionaryObject(
                {
                    NameObject("/Order"): ArrayObject([layer]),
                    NameObject("/ON"): ArrayObject([layer]),
                }
            ),
        }
    )

    # A green image with a custom key, in the ICC space, with bytes after its zlib data.
    green = zlib.compress(bytes((20, 200, 20)) * 64) + m["flate_trailer"].encode()
    image = EncodedStreamObject()
    image._data = green
    image.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(8),
            NameObject("/Height"): NumberObject(8),
            NameObject("/ColorSpace"): icc_space,
            NameObject("/BitsPerComponent"): NumberObject(8),
            NameObject("/Filter"): NameObject("/FlateDecode"),
            NameObject("/Photographer"): TextStringObject(m["image_custom_key"]),
        }
    )
    image_name = f"/Im{m['resource_name']}"

    # A form as pdfTeX includes a PDF page: its file name, page and /Info kept aside.
    info = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Author"): TextStringObject(m["ptex_info"]),
                NameObject("/Producer"): TextStringObject("pdfTeX"),
            }
        )
    )
    form = _stream(
        writer,
        f"% {m['form_comment']}\n0 1 1 rg 0 0 40 40 re f".encode(),
        Type=NameObject("/XObject"),
        Subtype=NameObject("/Form"),
        BBox=_box(40, 40),
        **{
            "PTEX.FileName": TextStringObject(f"/home/{m['ptex_file_name']}/tips/scan.pdf"),
            "PTEX.PageNumber": NumberObject(1),
            "PTEX.InfoDict": info,
        },
        OC=layer,
        Custom=TextStringObject(m["form_custom_key"]),
    )

    # A tiling pattern with a comment; a Separation colour whose tint transform is a
    # type 4 function with a comment.
    pattern = _stream(
        writer,
        f"% {m['pattern_comment']}\n1 0 1 rg 0 0 5 5 re f".encode(),
        Type=NameObject("/Pattern"),
        PatternType=NumberObject(1),
        PaintType=NumberObject(1),
        TilingType=NumberObject(1),
        BBox=_box(10, 10),
        XStep=NumberObject(10),
        YStep=NumberObject(10),
    )
    calculator = _stream(
        writer,
        f"{{ % {m['calculator_comment']}\n dup 0 exch }}".encode(),
        FunctionType=NumberObject(4),
        Domain=ArrayObject([NumberObject(0), NumberObject(1)]),
        Range=ArrayObject([NumberObject(0), NumberObject(1)] * 3),
    )
    separation = ArrayObject(
        [NameObject("/Separation"), NameObject("/Spot"), NameObject("/DeviceRGB"), calculator]
    )

    # A standard font with a ToUnicode map that carries a comment, and a descriptor-like
    # custom key holding a custom dictionary.
    to_unicode = _stream(
        writer,
        (
            f"%%Title: {m['to_unicode_comment']}\n/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            "1 begincodespacerange <00> <FF> endcodespacerange\n1 beginbfchar <48> <0048> endbfchar\n"
            "1 beginbfrange <61> <7A> <0061> endbfrange\nendcmap CMapName currentdict /CMap defineresource pop end end\n"
        ).encode(),
    )
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
                NameObject("/ToUnicode"): to_unicode,
                NameObject("/AppNote"): TextStringObject(m["font_custom_key"]),
                NameObject("/AppData"): DictionaryObject(
                    {
                        NameObject("/Inner"): DictionaryObject(
                            {NameObject("/Who"): TextStringObject(m["nested_custom_key"])}
                        ),
                    }
                ),
            }
        )
    )
    graphics_state = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/ExtGState"),
                NameObject("/ca"): FloatObject(0.9),
                NameObject("/AppState"): TextStringObject(m["graphics_state_custom_key"]),
            }
        )
    )

    resources = DictionaryObject(
        {
            NameObject("/ColorSpace"): DictionaryObject(
                {
                    NameObject("/CS0"): icc_space,
                    NameObject("/CS1"): separation,
                }
            ),
            NameObject("/XObject"): DictionaryObject(
                {
                    NameObject(image_name): writer._add_object(image),
                    NameObject("/Fm0"): form,
                }
            ),
            NameObject("/Pattern"): DictionaryObject({NameObject("/P0"): pattern}),
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): font}),
            NameObject("/ExtGState"): DictionaryObject({NameObject("/GS0"): graphics_state}),
            NameObject("/Properties"): DictionaryObject({NameObject("/MC0"): layer}),
            NameObject("/AppResources"): TextStringObject(m["resources_custom_key"]),
        }
    )
    page[NameObject("/Resources")] = resources
    page[NameObject("/PrivateNote")] = TextStringObject(m["page_custom_key"])
    drawing = (
        f"% {m['content_comment']}\n"
        "q /GS0 gs /CS0 cs 1 0 0 sc 10 10 80 80 re f Q\n"  # red square, bottom left
        "/OC /MC0 BDC q 0 0 1 rg 110 10 80 80 re f Q EMC\n"  # blue square in the layer
        f"/{m['marked_content_tag']} BMC EMC\n"
        f"/Span << /ActualText ({m['property_list']}) >> BDC\n"
        "BT /F1 12 Tf 10 100 Td (Hello) Tj ET EMC\n"
        f"q 80 0 0 80 110 110 cm {image_name} Do Q\n"  # green image, top right
        "q 1 0 0 1 10 150 cm /Fm0 Do Q\n"  # cyan form
        "q /Pattern cs /P0 scn 60 150 30 30 re f Q\n"  # magenta pattern
        "q /CS1 cs 1 scn 95 150 10 10 re f Q\n"
        f"({m['unknown_operator']}) xyzzy\n"
        f"({m['extra_operand']}) 10 10 m\n"
    ).encode()
    page[NameObject("/Contents")] = _stream(writer, drawing)
    writer.add_metadata({"/PTEX.Fullbanner": m["ptex_banner"]})
    return _pdf_bytes(writer)


def _box(width: float, height: float) -> ArrayObject:
    return ArrayObject(
        [NumberObject(0), NumberObject(0), NumberObject(width), NumberObject(height)]
    )


def _stream(writer: PdfWriter, data: bytes, **entries: object) -> IndirectObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    stream.update({NameObject(f"/{key}"): value for key, value in entries.items()})
    return writer._add_object(stream)


def _pdf_bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
