"""Attachments lose every piece of metadata; anything else is refused with a reason.

Every input is a real file made here with Pillow or pypdf, and each test first checks
that the metadata it looks for is really in the input, so a test cannot pass by accident.
"""

from __future__ import annotations

import base64
import io
import pickle
import random
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterator

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageCms, ImageFile, PngImagePlugin
from pypdf import PdfReader, PdfWriter, get_configuration
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

import storage.file_cleaning as attachments
from storage.attachments import (
    MAX_BYTES,
    AttachmentRejected,
    CleanFile,
    RejectReason,
)
from storage.file_cleaning import sanitize
from tests import hostile_files

MARK = "WardbotMarker4417"  # alphanumeric: written as is, never escaped, in every format
XMP = (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    f'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="{MARK}"/>'
    '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)
RED, BLUE = (220, 30, 30), (30, 30, 220)
GPS_IFD, EXIF_IFD = 0x8825, 0x8769
DATE_TIME_ORIGINAL, BODY_SERIAL_NUMBER = 0x9003, 0xA431


def _exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = f"Make {MARK}"
    exif[0x0110] = f"Model {MARK}"
    exif[0x0112] = orientation
    exif[0x0132] = "2026:11:21 23:14:05"  # DateTime
    exif_ifd = exif.get_ifd(EXIF_IFD)
    exif_ifd[DATE_TIME_ORIGINAL] = "2026:11:21 23:14:05"
    exif_ifd[BODY_SERIAL_NUMBER] = f"Serial {MARK}"
    gps = exif.get_ifd(GPS_IFD)  # a made-up place
    gps[1], gps[2] = "N", (20.0, 51.0, 30.5)
    gps[3], gps[4] = "E", (106.0, 41.0, 12.25)
    return exif


def _photo(size: tuple[int, int] = (80, 40)) -> Image.Image:
    """Left half red, right half blue: where the red ends up shows the orientation."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    return image


def _noise(size: tuple[int, int] = (64, 64)) -> Image.Image:
    return Image.frombytes("RGB", size, random.Random(7).randbytes(size[0] * size[1] * 3))


def _jpeg(orientation: int = 1, image: Image.Image | None = None) -> bytes:
    out = io.BytesIO()
    (image or _photo()).save(
        out, "JPEG", exif=_exif(orientation), comment=f"comment {MARK}", xmp=XMP.encode()
    )
    return out.getvalue()


def _png(image: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", **params)
    return out.getvalue()


def _near(pixel: tuple[int, ...], colour: tuple[int, ...]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=False))


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_chunk_types(data: bytes) -> list[bytes]:
    kinds, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kinds.append(data[offset + 4 : offset + 8])
        offset += length + 12
    return kinds


def _assert_no_metadata(data: bytes) -> Image.Image:
    for needle in (MARK.encode(), b"Exif", b"xmpmeta", b"xpacket", b"ICC_PROFILE", b"2026:11:21"):
        assert needle not in data, needle
    image = Image.open(io.BytesIO(data))
    assert not image.getexif()
    assert not {"exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp", "dpi"} & set(
        image.info
    )
    return image


# --- images -------------------------------------------------------------------------


def test_jpeg_loses_gps_serial_dates_xmp_and_comment() -> None:
    original = _jpeg()
    before = Image.open(io.BytesIO(original))
    assert before.getexif().get_ifd(GPS_IFD)[2] == (20.0, 51.0, 30.5)
    assert before.getexif().get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] == "2026:11:21 23:14:05"
    assert {"exif", "xmp", "comment"} <= set(before.info) and b"Exif" in original
    assert original.count(MARK.encode()) >= 4  # make, model, serial, comment, XMP

    clean = sanitize(original)

    assert (clean.kind, clean.mime_type, clean.extension) == ("image", "image/jpeg", ".jpg")
    image = _assert_no_metadata(clean.data)
    assert image.format == "JPEG" and image.size == (80, 40)
    assert _near(image.getpixel((10, 20)), RED) and _near(image.getpixel((70, 20)), BLUE)


def test_exif_orientation_is_applied_before_the_tag_goes() -> None:
    image = _assert_no_metadata(sanitize(_jpeg(orientation=6)).data)
    # 6 = stored turned 90° anticlockwise: shown upright, the left half becomes the top.
    assert image.size == (40, 80)
    assert _near(image.getpixel((20, 10)), RED) and _near(image.getpixel((20, 70)), BLUE)


def test_png_loses_text_chunks_icc_profile_and_exif() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", f"Author {MARK}")
    info.add_text("Comment", f"zipped {MARK}", zip=True)  # zTXt
    info.add_itxt("Description", f"international {MARK}", lang="vi", zip=False)  # iTXt
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = _png(
        Image.new("RGBA", (30, 20), (1, 2, 3, 128)), pnginfo=info, icc_profile=icc, exif=_exif()
    )
    assert {b"tEXt", b"zTXt", b"iTXt", b"iCCP", b"eXIf"} <= set(_png_chunk_types(original))

    clean = sanitize(original)

    assert (clean.mime_type, clean.extension) == ("image/png", ".png")
    assert _png_chunk_types(clean.data) == [b"IHDR", b"IDAT", b"IEND"]
    image = _assert_no_metadata(clean.data)
    assert image.mode == "RGBA" and image.getpixel((0, 0)) == (1, 2, 3, 128)


def test_webp_loses_exif_xmp_and_icc_profile() -> None:
    out = io.BytesIO()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    _photo((32, 32)).save(out, "WEBP", exif=_exif(), xmp=XMP.encode(), icc_profile=icc)
    assert MARK.encode() in out.getvalue() and b"ICCP" in out.getvalue()

    clean = sanitize(out.getvalue())

    assert (clean.mime_type, clean.extension) == ("image/webp", ".webp")
    image = _assert_no_metadata(clean.data)
    assert b"ICCP" not in clean.data and b"XMP " not in clean.data
    assert image.size == (32, 32) and _near(image.getpixel((4, 16)), RED)


def test_an_animation_keeps_its_first_frame_only() -> None:
    frames = [Image.new("RGB", (16, 16), colour) for colour in (RED, BLUE, (0, 200, 0))]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], exif=_exif())
    assert Image.open(io.BytesIO(out.getvalue())).n_frames == 3

    image = _assert_no_metadata(sanitize(out.getvalue()).data)

    assert getattr(image, "n_frames", 1) == 1 and _near(image.getpixel((8, 8)), RED)


def test_a_second_picture_and_trailing_data_are_dropped() -> None:
    """Phones add a second JPEG (MPO depth map, with its own EXIF) or a video after
    the end of the picture (motion photos)."""
    mpo = io.BytesIO()
    _photo().save(mpo, "MPO", save_all=True, append_images=[_noise((80, 40))], exif=_exif())
    motion = _jpeg() + b"\x00\x00\x00\x18ftypmp42" + f"video {MARK}".encode() * 10
    assert Image.open(mpo).n_frames == 2
    assert motion.index(MARK.encode(), motion.index(b"\xff\xd9")) > 0  # after the picture's end
    for original in (mpo.getvalue(), motion):
        image = _assert_no_metadata(sanitize(original).data)

        assert getattr(image, "n_frames", 1) == 1 and image.size == (80, 40)


def _sixteen_bit_grey() -> bytes:
    image = Image.new("I;16", (4, 4))
    image.putpixel((0, 0), 32768)  # half brightness
    return _png(image)


def _cmyk_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(out, "JPEG", exif=_exif())
    return out.getvalue()


def _palette_png() -> bytes:
    image = Image.new("P", (8, 8), 1)
    image.putpalette([0, 0, 0, *RED])
    image.putpixel((0, 0), 0)
    return _png(image, transparency=0, exif=_exif())


@pytest.mark.parametrize(
    ("original", "mode", "pixel"),
    [
        (_cmyk_jpeg(), "RGB", (255, 0, 0)),
        (_palette_png(), "RGBA", (0, 0, 0, 0)),
        (_png(Image.new("1", (8, 8), 1)), "L", 255),
        (_sixteen_bit_grey(), "L", 128),
        (_png(Image.new("LA", (8, 8), (90, 60))), "LA", (90, 60)),
    ],
    ids=["cmyk-jpeg", "palette-png", "bilevel-png", "16-bit-png", "grey-alpha-png"],
)
def test_modes_the_encoder_cannot_store_are_converted(
    original: bytes, mode: str, pixel: int | tuple[int, ...]
) -> None:
    image = _assert_no_metadata(sanitize(original).data)
    assert image.mode == mode
    found = image.getpixel((0, 0))
    assert _near(found, pixel) if isinstance(pixel, tuple) else abs(found - pixel) <= 1


# --- PDF ----------------------------------------------------------------------------


def _image_xobject(writer: PdfWriter, jpeg: bytes, size: tuple[int, int] = (80, 40)) -> object:
    photo = StreamObject()
    photo._data = jpeg  # a camera JPEG, EXIF and all, embedded as it is
    photo.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(size[0]),
            NameObject("/Height"): NumberObject(size[1]),
            NameObject("/ColorSpace"): NameObject("/DeviceRGB"),
            NameObject("/BitsPerComponent"): NumberObject(8),
            NameObject("/Filter"): NameObject("/DCTDecode"),
        }
    )
    return writer._add_object(photo)


def _stream(writer: PdfWriter, data: bytes, **entries: object) -> object:
    stream = DecodedStreamObject()
    stream.set_data(data)
    stream.update({NameObject(f"/{key}"): value for key, value in entries.items()})
    return writer._add_object(stream)


def _xobjects(**named: object) -> DictionaryObject:
    xobjects = DictionaryObject({NameObject(f"/{key}"): value for key, value in named.items()})
    return DictionaryObject({NameObject("/XObject"): xobjects})


def _name(value: str) -> NameObject:
    return NameObject(value)


def _pdf_bytes(writer: PdfWriter, trailer_id: bool = False) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    if trailer_id:  # the document ID a reporter's own copy of the file would share
        data = data.replace(b"trailer\n<<\n", f"trailer\n<<\n/ID [({MARK}) ({MARK})]\n".encode(), 1)
    return data


def _pdf_with_everything() -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    xmp = _stream(writer, XMP.encode(), Type=_name("/Metadata"), Subtype=_name("/XML"))
    photo = _image_xobject(writer, _jpeg())
    photo.get_object()[NameObject("/Metadata")] = xmp
    page[NameObject("/Resources")] = _xobjects(Im0=photo)
    page[NameObject("/Contents")] = _stream(writer, b"q 80 0 0 40 10 10 cm /Im0 Do Q")
    page[NameObject("/Metadata")] = xmp
    page[NameObject("/LastModified")] = TextStringObject("D:20261121231405+07'00'")
    page[NameObject("/PrivateNote")] = TextStringObject(f"scanned by {MARK}")  # any app's own key
    page[NameObject("/PieceInfo")] = DictionaryObject(
        {
            NameObject("/Editor"): DictionaryObject(
                {NameObject("/Private"): TextStringObject(MARK)}
            ),
        }
    )
    attached = _stream(writer, f"attached file {MARK}".encode(), Type=_name("/EmbeddedFile"))
    script = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject(f"app.alert('{MARK}');"),
        }
    )
    rect = ArrayObject([FloatObject(0), FloatObject(0), FloatObject(20), FloatObject(20)])
    page[NameObject("/Annots")] = ArrayObject(
        [
            writer._add_object(
                DictionaryObject(
                    {
                        NameObject("/Type"): NameObject("/Annot"),
                        NameObject("/Subtype"): NameObject("/FileAttachment"),
                        NameObject("/Rect"): rect,
                        NameObject("/Contents"): TextStringObject(MARK),
                        NameObject("/FS"): DictionaryObject(
                            {
                                NameObject("/Type"): NameObject("/Filespec"),
                                NameObject("/F"): TextStringObject(f"{MARK}.txt"),
                                NameObject("/EF"): DictionaryObject({NameObject("/F"): attached}),
                            }
                        ),
                    }
                )
            ),
            writer._add_object(
                DictionaryObject(
                    {
                        NameObject("/Type"): NameObject("/Annot"),
                        NameObject("/Subtype"): NameObject("/Link"),
                        NameObject("/Rect"): rect,
                        NameObject("/A"): script,
                    }
                )
            ),
        ]
    )
    writer.add_metadata(
        {
            "/Author": f"Author {MARK}",
            "/Creator": f"Creator {MARK}",
            "/Title": MARK,
            "/CreationDate": "D:20261121231405+07'00'",
        }
    )
    writer.root_object[NameObject("/Metadata")] = xmp
    writer.root_object[NameObject("/OpenAction")] = writer._add_object(script)
    writer.add_attachment(f"{MARK}.txt", f"embedded {MARK}".encode())  # /Names /EmbeddedFiles
    named_script = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject(f"named {MARK}"),
        }
    )
    writer.root_object["/Names"][NameObject("/JavaScript")] = DictionaryObject(
        {
            NameObject("/Names"): ArrayObject(
                [TextStringObject("run"), writer._add_object(named_script)]
            ),
        }
    )
    writer.add_blank_page(100, 100)
    return _pdf_bytes(writer, trailer_id=True)


def test_pdf_keeps_its_pages_and_loses_info_xmp_scripts_attachments_and_photo_exif() -> None:
    original = _pdf_with_everything()
    before = PdfReader(io.BytesIO(original))
    assert before.metadata["/Author"] == f"Author {MARK}" and before.trailer["/ID"]
    assert {"/Metadata", "/OpenAction", "/Names"} <= set(before.root_object)
    assert b"Exif" in original and b"/JavaScript" in original and b"/EmbeddedFile" in original

    clean = sanitize(original)

    assert (clean.kind, clean.mime_type, clean.extension) == ("pdf", "application/pdf", ".pdf")
    for needle in (
        MARK.encode(),
        b"/JavaScript",
        b"/OpenAction",
        b"/JS",
        b"/AA",
        b"/Names",
        b"/AcroForm",
        b"/EmbeddedFile",
        b"/Annots",
        b"/Metadata",
        b"/LastModified",
        b"/PieceInfo",
        b"/ID",
        b"pypdf",
        b"/Producer",
        b"/Author",
        b"/Creator",
        b"/CreationDate",
        b"Exif",
        b"xmpmeta",
        b"2026:11:21",
    ):
        assert needle not in clean.data, needle
    reader = PdfReader(io.BytesIO(clean.data))
    assert len(reader.pages) == 2 and not reader.metadata and not reader.attachments
    [embedded] = reader.pages[0].images
    assert embedded.image.size == (80, 40)
    assert _near(embedded.image.getpixel((10, 20)), RED)


def test_a_pdf_photo_inside_a_form_is_reencoded_too() -> None:
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    form = _stream(
        writer,
        b"q 80 0 0 40 0 0 cm /Im0 Do Q",
        Type=_name("/XObject"),
        Subtype=_name("/Form"),
        BBox=ArrayObject([NumberObject(0), NumberObject(0), NumberObject(200), NumberObject(200)]),
        Resources=_xobjects(Im0=_image_xobject(writer, _jpeg())),
        LastModified=TextStringObject("D:20261121231405+07'00'"),
    )
    page[NameObject("/Resources")] = _xobjects(Fm0=form)
    page[NameObject("/Contents")] = _stream(writer, b"/Fm0 Do")
    original = _pdf_bytes(writer)
    assert MARK.encode() in original and b"Exif" in original

    clean = sanitize(original).data

    for needle in (MARK.encode(), b"Exif", b"xmpmeta", b"/LastModified"):
        assert needle not in clean, needle
    [embedded] = PdfReader(io.BytesIO(clean)).pages[0].images
    assert embedded.image.size == (80, 40)


def test_resources_keep_only_what_draws() -> None:
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    resources = _xobjects(Im0=_image_xobject(writer, _jpeg()))
    resources[NameObject("/Annots")] = ArrayObject([_attachment_annotation(writer)])  # misplaced
    resources[NameObject("/Wnnots")] = ArrayObject([_attachment_annotation(writer)])  # unknown
    page[NameObject("/Resources")] = resources
    page[NameObject("/Contents")] = _stream(writer, b"q 80 0 0 40 0 0 cm /Im0 Do Q")
    original = _pdf_bytes(writer)
    assert MARK.encode() in original

    clean = sanitize(original).data

    assert MARK.encode() not in clean and b"/Annot" not in clean and b"Exif" not in clean
    assert set(PdfReader(io.BytesIO(clean)).pages[0]["/Resources"]) == {"/XObject"}


def _encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.encrypt("")  # even an empty user password counts
    return _pdf_bytes(writer)


def _pdf_with_inline_jpeg() -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    jpeg = _commented_jpeg()  # its comment is all the metadata: no EXIF signature to spot
    inline = b"q 8 0 0 8 0 0 cm BI /W 8 /H 8 /CS /RGB /BPC 8 /F /DCT ID " + jpeg + b"\nEI Q"
    page[NameObject("/Contents")] = _stream(writer, inline)
    return _pdf_bytes(writer)


def _pdf_with_huge_image() -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    flate = StreamObject()
    flate._data = zlib.compress(b"\x00" * 100_000)
    flate.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(20_000),
            NameObject("/Height"): NumberObject(20_000),
            NameObject("/ColorSpace"): NameObject("/DeviceGray"),
            NameObject("/BitsPerComponent"): NumberObject(8),
            NameObject("/Filter"): NameObject("/FlateDecode"),
        }
    )
    page[NameObject("/Resources")] = _xobjects(Im0=writer._add_object(flate))
    page[NameObject("/Contents")] = _stream(writer, b"/Im0 Do")
    return _pdf_bytes(writer)


def _jbig2_image(writer: PdfWriter) -> object:
    scan = StreamObject()
    scan._data = b"\x00\x00\x00\x00\x30\x00\x01" + b"\x00" * 40  # no file header to spot
    scan.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(80),
            NameObject("/Height"): NumberObject(40),
            NameObject("/ColorSpace"): NameObject("/DeviceGray"),
            NameObject("/BitsPerComponent"): NumberObject(1),
            NameObject("/Filter"): NameObject("/JBIG2Decode"),
        }
    )
    return writer._add_object(scan)


def _pdf_with_photo_in_a_pattern(jbig2: bool = False) -> bytes:
    """A camera JPEG (or a scan) painted through a tiling pattern: outside the page's
    own images, which are the ones re-encoded."""
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    image = _jbig2_image(writer) if jbig2 else _image_xobject(writer, _jpeg())
    pattern = _stream(
        writer,
        b"q 80 0 0 40 0 0 cm /Im0 Do Q",
        Type=_name("/Pattern"),
        PatternType=NumberObject(1),
        PaintType=NumberObject(1),
        TilingType=NumberObject(1),
        XStep=NumberObject(80),
        YStep=NumberObject(40),
        BBox=ArrayObject([NumberObject(0), NumberObject(0), NumberObject(80), NumberObject(40)]),
        Resources=_xobjects(Im0=image),
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {
            NameObject("/Pattern"): DictionaryObject({NameObject("/P0"): pattern}),
        }
    )
    page[NameObject("/Contents")] = _stream(writer, b"/Pattern cs /P0 scn 0 0 100 100 re f")
    data = _pdf_bytes(writer)
    assert (b"/JBIG2Decode" if jbig2 else b"Exif") in data
    return data


def _pdf_needing_repair() -> bytes:
    """Every object offset is off by a few bytes: pypdf would search and repair."""
    data = _pdf_with_everything()
    return data.replace(b"\n", b"\n% shifted\n", 2)


def _pdf_with_form(**extra: object) -> bytes:
    """A page drawing a form XObject that carries extra entries, made with the writer so
    that unknown keys can point at things found by fuzzing to slip past a blocklist."""
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    entries = {key: value(writer) if callable(value) else value for key, value in extra.items()}
    form = _stream(
        writer,
        b"0 0 10 10 re f",
        Type=_name("/XObject"),
        Subtype=_name("/Form"),
        BBox=ArrayObject([NumberObject(0), NumberObject(0), NumberObject(10), NumberObject(10)]),
        **entries,
    )
    page[NameObject("/Resources")] = _xobjects(Fm0=form)
    page[NameObject("/Contents")] = _stream(writer, b"/Fm0 Do")
    data = _pdf_bytes(writer)
    assert MARK.encode() in data
    return data


def _camera_jpeg_with_unknown_filter(writer: PdfWriter) -> DictionaryObject:
    photo = _image_xobject(writer, _jpeg())
    photo.get_object()[NameObject("/Filter")] = NameObject("/vCTDecode")  # found by fuzzing
    return _xobjects(Im0=photo)


def _commented_jpeg() -> bytes:
    out = io.BytesIO()
    _photo((8, 8)).save(out, "JPEG", comment=MARK)  # no EXIF, no XMP: only a whole file
    return out.getvalue()


def _attachment_annotation(writer: PdfWriter) -> object:
    return writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/FileAttachment"),
                NameObject("/Rect"): ArrayObject([NumberObject(0)] * 4),
                NameObject("/Contents"): TextStringObject(MARK),
            }
        )
    )


@pytest.mark.parametrize(
    ("original", "reason"),
    [
        (_encrypted_pdf(), RejectReason.ENCRYPTED),
        (_pdf_bytes(PdfWriter()), RejectReason.UNREADABLE),
        (_pdf_with_inline_jpeg(), RejectReason.UNSUPPORTED_TYPE),
        (_pdf_with_huge_image(), RejectReason.TOO_MANY_PIXELS),
        (_pdf_with_photo_in_a_pattern(), RejectReason.UNSUPPORTED_TYPE),
        (_pdf_with_photo_in_a_pattern(jbig2=True), RejectReason.UNSUPPORTED_TYPE),
        (_pdf_needing_repair(), RejectReason.UNREADABLE),
        (_pdf_with_form(Resources=_camera_jpeg_with_unknown_filter), RejectReason.UNREADABLE),
        (
            _pdf_with_form(Wetadata=lambda w: _stream(w, XMP.encode())),
            RejectReason.UNSUPPORTED_TYPE,
        ),
        (_pdf_with_form(Wnnots=_attachment_annotation), RejectReason.UNSUPPORTED_TYPE),
        (
            _pdf_with_form(Thing=lambda w: _stream(w, _commented_jpeg())),
            RejectReason.UNSUPPORTED_TYPE,
        ),
        (b"%PDF-1.7\n" + f"nonsense {MARK}\n".encode() * 20, RejectReason.UNREADABLE),
        (_pdf_with_everything()[:600], RejectReason.UNREADABLE),
    ],
    ids=[
        "encrypted",
        "no-pages",
        "inline-jpeg",
        "huge-image",
        "photo-in-pattern",
        "jbig2-in-pattern",
        "needs-repair",
        "unknown-filter",
        "xmp-under-unknown-key",
        "annotation-under-unknown-key",
        "jpeg-under-unknown-key",
        "garbage",
        "truncated",
    ],
)
def test_pdfs_that_cannot_be_cleaned_are_refused(original: bytes, reason: RejectReason) -> None:
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(original)
    assert caught.value.reason is reason


# --- everything else ----------------------------------------------------------------


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", MARK)
    return out.getvalue()


def _other_image(image_format: str) -> bytes:
    out = io.BytesIO()
    _photo((8, 8)).save(out, image_format)
    return out.getvalue()


REFUSED = {
    "empty": (b"", RejectReason.EMPTY),
    "too-large": (b"\x00" * (MAX_BYTES + 1), RejectReason.TOO_LARGE),
    "too-large-jpeg": (_jpeg() + b"\x00" * MAX_BYTES, RejectReason.TOO_LARGE),
    "random": (random.Random(1).randbytes(4096), RejectReason.UNSUPPORTED_TYPE),
    "zip": (_zip(), RejectReason.UNSUPPORTED_TYPE),
    "gif": (_other_image("GIF"), RejectReason.UNSUPPORTED_TYPE),
    "tiff": (_other_image("TIFF"), RejectReason.UNSUPPORTED_TYPE),
    "bmp": (_other_image("BMP"), RejectReason.UNSUPPORTED_TYPE),
    "heic": (
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
        RejectReason.UNSUPPORTED_TYPE,
    ),
    "html": (
        f"<html><script>alert('{MARK}')</script></html>".encode(),
        RejectReason.UNSUPPORTED_TYPE,
    ),
    "svg": (
        f'<svg xmlns="http://www.w3.org/2000/svg"><text>{MARK}</text></svg>'.encode(),
        RejectReason.UNSUPPORTED_TYPE,
    ),
    "text": (f"Có người bán ma túy ở ngõ 5. {MARK}".encode(), RejectReason.UNSUPPORTED_TYPE),
    "exe": (b"MZ\x90\x00" + b"\x00" * 100, RejectReason.UNSUPPORTED_TYPE),
    "pdf-after-junk": (b"junk\n" + _pdf_bytes(PdfWriter()), RejectReason.UNSUPPORTED_TYPE),
    "jpeg-garbage": (b"\xff\xd8\xff\xe0" + MARK.encode() * 20, RejectReason.UNREADABLE),
    "png-garbage": (b"\x89PNG\r\n\x1a\n" + MARK.encode() * 20, RejectReason.UNREADABLE),
    "webp-garbage": (b"RIFF\x00\x01\x00\x00WEBP" + MARK.encode() * 20, RejectReason.UNREADABLE),
    "truncated-jpeg": (_jpeg(image=_noise())[:-2000], RejectReason.UNREADABLE),
    "truncated-png": (_png(_noise(), exif=_exif())[:-2000], RejectReason.UNREADABLE),
}


@pytest.mark.parametrize(("data", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_everything_else_is_refused_with_a_reason(data: bytes, reason: RejectReason) -> None:
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(data)
    assert caught.value.reason is reason


def test_damaged_files_are_refused_or_clean_never_anything_else() -> None:
    """A small deterministic fuzz: bytes flipped, cut or inserted at random. Each result
    is a rejection or a file free of the marker; no other exception escapes."""
    rng = random.Random(2026)
    webp = io.BytesIO()
    _photo((32, 32)).save(webp, "WEBP", exif=_exif(), xmp=XMP.encode())
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", MARK)
    samples = [
        _jpeg(6),
        _png(_photo(), pnginfo=info, exif=_exif()),
        webp.getvalue(),
        _pdf_with_everything(),
    ]
    outcomes = set()
    for sample in samples:
        for _ in range(150):
            data = bytearray(sample)
            position = rng.randrange(8, len(data))
            match rng.randrange(3):
                case 0:
                    data[position] = rng.randrange(256)
                case 1:
                    del data[position:]
                case _:
                    data[position:position] = rng.randbytes(rng.randint(1, 16))
            try:
                clean = sanitize(bytes(data))
            except AttachmentRejected as rejected:
                outcomes.add(rejected.reason)
                continue
            outcomes.add("clean")
            for needle in (
                MARK.encode(),
                b"Exif",
                b"xmpmeta",
                b"/Annot",
                b"/JavaScript",
                b"/Author",
            ):
                assert needle not in clean.data, needle
    assert {"clean", RejectReason.UNREADABLE} <= outcomes  # both paths were exercised


def test_a_truncated_image_decoded_anyway_is_still_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused by default; a process that sets LOAD_TRUNCATED_IMAGES gets the decoded
    part, re-encoded from pixels like any image."""
    truncated = _jpeg(image=_noise())[:-2000]
    assert MARK.encode() in truncated
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    _assert_no_metadata(sanitize(truncated).data)


def _bomb_jpeg(width: int, height: int) -> bytes:
    data = bytearray(_jpeg())
    sof = data.index(b"\xff\xc0")  # baseline frame header: precision, height, width
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize(
    "bomb",
    [
        hostile_files.huge_dimension_png(20_000, 20_000),
        hostile_files.huge_dimension_png(10_000, 10_000),
        hostile_files.huge_dimension_png(8_000, 7_000),
        _bomb_jpeg(9_000, 7_000),
    ],
    ids=["png-400mp", "png-100mp", "png-56mp", "jpeg-63mp"],
)
def test_a_decompression_bomb_is_refused_before_decoding(bomb: bytes) -> None:
    # Decoding would fail on the missing pixel data (UNREADABLE) and allocate
    # gigabytes first: TOO_MANY_PIXELS shows the header alone decided.
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(bomb)
    assert caught.value.reason is RejectReason.TOO_MANY_PIXELS


# --- the API itself -----------------------------------------------------------------


def test_metadata_a_library_lets_through_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The module checks its own output: should the pixel copy or the page copy ever
    let metadata through (say, after a Pillow or pypdf upgrade), the file is refused."""
    make_pages = attachments._pages_only

    def pages_with_producer(pages: object) -> PdfWriter:
        writer = make_pages(pages)
        writer.add_metadata({"/Producer": "pypdf"})
        return writer

    monkeypatch.setattr(attachments, "_pixels_only", lambda image, image_format: image.copy())
    monkeypatch.setattr(attachments, "_pages_only", pages_with_producer)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    blank = PdfWriter()
    blank.add_blank_page(100, 100)
    for data in (_png(Image.new("RGB", (8, 8)), icc_profile=icc), _pdf_bytes(blank)):
        with pytest.raises(AttachmentRejected) as caught:
            sanitize(data)
        assert caught.value.reason is RejectReason.UNREADABLE


@pytest.mark.parametrize(
    "data", [REFUSED["jpeg-garbage"][0], REFUSED["truncated-png"][0], _pdf_with_everything()[:600]]
)
def test_a_rejection_carries_no_content_and_no_parser_error(data: bytes) -> None:
    assert MARK.encode() in data
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(data)
    rejected = caught.value
    assert MARK not in str(rejected) and MARK not in repr(rejected)
    assert str(rejected) == str(AttachmentRejected(rejected.reason))  # a fixed sentence
    assert rejected.__cause__ is None and rejected.__context__ is None
    copy = pickle.loads(pickle.dumps(rejected))  # noqa: S301 (our own bytes)
    assert copy.reason is rejected.reason and str(copy) == str(rejected)


def test_a_parser_failure_says_its_type_and_place_but_never_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the catch-all turns into "damaged" is told (for the log) as type and code
    places only, so a bug of ours does not hide behind residents' damaged files."""
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(REFUSED["truncated-png"][0])
    assert caught.value.reason is RejectReason.UNREADABLE
    assert caught.value.where.startswith("OSError at ") and ".py:" in caught.value.where

    def broken(image: Image.Image, image_format: str) -> Image.Image:
        raise TypeError(f"a bug of ours, holding {MARK}")

    monkeypatch.setattr(attachments, "_pixels_only", broken)
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(_jpeg())
    where = caught.value.where
    assert where.startswith("TypeError at test_attachments.py:") and "file_cleaning.py:" in where
    assert MARK not in where and MARK not in str(caught.value)
    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 (our own bytes)
    assert copy.where == where  # it crosses from the worker to the bot's process
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(b"")  # refused by a check, not by a failure: nothing to tell
    assert caught.value.where == ""


def test_every_reason_has_its_own_fixed_sentence() -> None:
    sentences = {str(AttachmentRejected(reason)) for reason in RejectReason}
    assert len(sentences) == len(RejectReason)
    with pytest.raises(TypeError):
        AttachmentRejected("unreadable")  # type: ignore[arg-type]


def test_a_clean_file_never_shows_its_bytes_and_checks_its_type() -> None:
    clean = sanitize(_jpeg())
    text = repr(clean)
    assert "data" not in text and "\\x" not in text and "image/jpeg" in text
    with pytest.raises(ValueError, match="combination"):
        CleanFile("image", "application/pdf", clean.data, ".pdf")
    with pytest.raises(ValueError, match="bytes"):
        CleanFile("image", "image/jpeg", b"", ".jpg")
    with pytest.raises(TypeError):
        sanitize(bytearray(_jpeg()))  # type: ignore[arg-type]


def test_sanitize_changes_no_global_state() -> None:
    """Not the warning filters, not Pillow's pixel limit, not pypdf's configuration (its
    limits are set for each PDF in a context variable)."""
    filters, limit, configuration = (
        list(warnings.filters),
        Image.MAX_IMAGE_PIXELS,
        get_configuration(),
    )
    samples = (
        _jpeg(),
        hostile_files.huge_dimension_png(20_000, 20_000),
        hostile_files.huge_dimension_png(10_000, 10_000),
        b"\xff\xd8\xff",
        _pdf_with_everything(),
        hostile_files.pdf_parse_bomb(),
    )
    for data in samples:
        try:
            sanitize(data)
        except AttachmentRejected:
            pass
    assert warnings.filters == filters and Image.MAX_IMAGE_PIXELS == limit
    assert get_configuration() is configuration


# --- hostile files ------------------------------------------------------------------
#
# Files built to cost minutes or gigabytes (tests/hostile_files.py, shared with the
# benchmarks, which measure what they cost without the limits). Each is first shown to
# be what it claims, then refused before the expensive step: these tests take a second
# or two, where the same files took from ten seconds to minutes (and gigabytes) before.


def _jpeg_scans(data: bytes) -> int:
    return sum(code == 0xDA for code, _ in hostile_files._jpeg_segments(data))


def _inflated_size(data: bytes) -> int:
    inflater, size = zlib.decompressobj(), 0
    while data:
        size += len(inflater.decompress(data, 1 << 24))
        data = inflater.unconsumed_tail
    return size


def _flate_streams(data: bytes) -> list[int]:
    """Inflated size of each Flate stream of a PDF made here: counted, not kept, and
    once for streams of the same bytes."""
    reader = PdfReader(io.BytesIO(data))
    sizes, known = [], {}
    for number in reader.xref[0]:
        obj = reader.get_object(number)
        if isinstance(obj, StreamObject) and obj.get("/Filter") == "/FlateDecode":
            if obj._data not in known:
                known[obj._data] = _inflated_size(obj._data)
            sizes.append(known[obj._data])
    return sizes


def test_a_jpeg_repeating_its_last_scan_is_refused_before_decoding() -> None:
    bomb = hostile_files.many_scan_jpeg()
    assert 80_000 < len(bomb) < 150_000 and _jpeg_scans(bomb) > 2000
    with Image.open(io.BytesIO(bomb)) as image:  # a valid header: Pillow would decode it
        assert image.size == (2048, 2048) and image.info.get("progressive")

    with pytest.raises(AttachmentRejected) as caught:
        sanitize(bomb)

    assert caught.value.reason is RejectReason.TOO_COMPLEX
    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 (our own bytes)
    assert copy.reason is RejectReason.TOO_COMPLEX and str(copy) == str(caught.value)
    assert str(caught.value) == "The file is too complex to check safely."


def test_the_scan_limit_is_a_count_of_scans() -> None:
    """An ordinary progressive photo passes; the limit itself passes; one scan more is
    refused."""
    out = io.BytesIO()
    _noise((64, 48)).save(out, "JPEG", progressive=True, exif=_exif(), quality=90)
    assert 6 <= _jpeg_scans(out.getvalue()) <= 12  # libjpeg's script
    image = _assert_no_metadata(sanitize(out.getvalue()).data)
    assert image.size == (64, 48)

    base = _jpeg_scans(hostile_files.many_scan_jpeg(repeats=0, size=(64, 64)))
    at_limit = hostile_files.many_scan_jpeg(
        repeats=attachments.MAX_JPEG_SCANS - base, size=(64, 64)
    )
    assert _jpeg_scans(at_limit) == attachments.MAX_JPEG_SCANS
    assert sanitize(at_limit).kind == "image"
    over = hostile_files.many_scan_jpeg(
        repeats=attachments.MAX_JPEG_SCANS - base + 1, size=(64, 64)
    )
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(over)
    assert caught.value.reason is RejectReason.TOO_COMPLEX


def _jpeg_with(offset_of: bytes, insert: bytes = b"", replace: int = 0) -> bytes:
    data = _jpeg()
    at = data.index(offset_of)
    return data[:at] + insert + data[at + replace :]


@pytest.mark.parametrize(
    "broken",
    [
        _jpeg_with(b"\xff\xdb", insert=b"\xff\xfe\xff\xff"),  # a comment longer than the file
        _jpeg_with(b"\xff\xdb", insert=b"\xff\xfe\x00\x01"),  # a length shorter than itself
        _jpeg()[:2] + b"\xff\xd8" + _jpeg()[2:],  # a second SOI
        _jpeg()[:40] + b"\xff\xe1",  # cut inside a segment's length
    ],
    ids=["long-segment", "short-length", "second-soi", "cut-length"],
)
def test_a_jpeg_of_broken_marker_structure_is_unreadable(broken: bytes) -> None:
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(broken)
    assert caught.value.reason is RejectReason.UNREADABLE


@pytest.mark.parametrize(
    "quirky",
    [
        _jpeg_with(b"\xff\xdb", insert=b"\x00\x00junk\xff\x00"),  # bytes between two segments
        _jpeg_with(b"\xff\xdb", insert=b"\xff\xd3"),  # a restart marker outside a scan
        _jpeg_with(b"\xff\xdb", insert=b"\xff\xff\xff"),  # fill bytes before a marker
    ],
    ids=["junk", "stray-rst", "fill"],
)
def test_what_libjpeg_skips_between_segments_is_skipped(quirky: bytes) -> None:
    """Some cameras and editors write these; libjpeg reads past them, and so does the
    scan count. The photo is cleaned like any other."""
    image = _assert_no_metadata(sanitize(quirky).data)
    assert image.size == (80, 40) and _near(image.getpixel((10, 20)), RED)


def test_a_huge_declared_png_is_refused_before_decoding() -> None:
    bomb = hostile_files.huge_dimension_png()
    assert struct.unpack(">II", bomb[16:24]) == (100_000, 100_000) and len(bomb) < 200
    with pytest.raises(Image.DecompressionBombError):  # Pillow reads it as ten gigapixels
        Image.open(io.BytesIO(bomb))
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(bomb)
    assert caught.value.reason is RejectReason.TOO_MANY_PIXELS


def test_a_pdf_of_compressed_streams_is_refused_before_inflating_them() -> None:
    bomb = hostile_files.pdf_compression_bomb()
    sizes = _flate_streams(bomb)
    assert len(bomb) < 4 * attachments.MB and sum(sizes) > 2 * 1024 * attachments.MB
    assert max(sizes) < 75_000_000  # each under pypdf's own limit

    with pytest.raises(AttachmentRejected) as caught:
        sanitize(bomb)

    assert caught.value.reason is RejectReason.TOO_COMPLEX


def test_fonts_each_under_the_stream_limit_are_refused_beyond_the_document_limit() -> None:
    bomb = hostile_files.pdf_font_bomb()
    sizes = [size for size in _flate_streams(bomb) if size > attachments.MB]
    assert (
        max(sizes)
        < attachments.MAX_PDF_STREAM_BYTES
        < attachments.MAX_PDF_DECODED_BYTES
        < sum(sizes)
    )
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(bomb)
    assert caught.value.reason is RejectReason.TOO_COMPLEX

    fewer = hostile_files.pdf_font_bomb(fonts=2, font_mb=4)  # the same, within the limits
    assert len(PdfReader(io.BytesIO(sanitize(fewer).data)).pages) == 1


def test_one_stream_over_its_limit_is_refused_before_it_is_all_inflated() -> None:
    bomb = hostile_files.pdf_font_bomb(fonts=1, font_mb=40)
    assert max(_flate_streams(bomb)) > attachments.MAX_PDF_STREAM_BYTES
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(bomb)
    assert caught.value.reason is RejectReason.TOO_COMPLEX


def test_a_small_pdf_of_millions_of_operators_is_refused_before_parsing() -> None:
    bomb = hostile_files.pdf_parse_bomb()
    assert len(bomb) < 40_000 and max(_flate_streams(bomb)) > 10 * attachments.MB
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(bomb)
    assert caught.value.reason is RejectReason.TOO_COMPLEX


def _pages_of_operators(pages: int, operations: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        page = writer.add_blank_page(100, 100)
        page[NameObject("/Contents")] = _stream(
            writer, b"0 0 m\n" * operations + b"0 0 1 rg 0 0 9 9 re f"
        )
    return _pdf_bytes(writer)


def test_operators_are_counted_per_page_and_per_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token limits, lowered so that the real parser reaches them at once: a page
    over the page's limit, and pages each within it but together over the document's."""
    monkeypatch.setattr(attachments, "MAX_PAGE_CONTENT_TOKENS", 3_000)
    monkeypatch.setattr(attachments, "MAX_PDF_CONTENT_TOKENS", 10_000)
    assert len(PdfReader(io.BytesIO(sanitize(_pages_of_operators(3, 900)).data)).pages) == 3
    for pages, operations in ((1, 1_100), (5, 900)):
        with pytest.raises(AttachmentRejected) as caught:
            sanitize(_pages_of_operators(pages, operations))
        assert caught.value.reason is RejectReason.TOO_COMPLEX


def test_content_bytes_are_counted_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A page's operators over MAX_PAGE_CONTENT_BYTES, then pages together over
    MAX_PDF_CONTENT_BYTES (lowered), each refused before a token is read."""
    huge = _pages_of_operators(1, attachments.MAX_PAGE_CONTENT_BYTES // 6 + 1)
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(huge)
    assert caught.value.reason is RejectReason.TOO_COMPLEX
    monkeypatch.setattr(attachments, "MAX_PDF_CONTENT_BYTES", 20_000)
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(_pages_of_operators(5, 1_000))  # 6 KB a page
    assert caught.value.reason is RejectReason.TOO_COMPLEX


def _nested_forms(depth: int) -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    inner = _stream(
        writer,
        b"0 0 1 rg 0 0 50 50 re f",
        Type=_name("/XObject"),
        Subtype=_name("/Form"),
        BBox=ArrayObject([NumberObject(0), NumberObject(0), NumberObject(100), NumberObject(100)]),
    )
    for _ in range(depth - 1):
        inner = _stream(
            writer,
            b"/Fm0 Do",
            Type=_name("/XObject"),
            Subtype=_name("/Form"),
            BBox=ArrayObject(
                [NumberObject(0), NumberObject(0), NumberObject(100), NumberObject(100)]
            ),
            Resources=_xobjects(Fm0=inner),
        )
    page[NameObject("/Resources")] = _xobjects(Fm0=inner)
    page[NameObject("/Contents")] = _stream(writer, b"/Fm0 Do")
    return _pdf_bytes(writer)


def test_forms_nested_deeper_than_any_real_file_are_refused() -> None:
    clean = sanitize(_nested_forms(3)).data
    assert _render(clean).getpixel((25, 75)) == (0, 0, 255)
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(_nested_forms(attachments.MAX_PDF_NESTING + 1))
    assert caught.value.reason is RejectReason.TOO_COMPLEX


def test_array_and_dictionary_entries_read_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attachments, "MAX_PDF_OBJECT_ELEMENTS", 5_000)
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    font = DictionaryObject(
        {
            NameObject("/Type"): _name("/Font"),
            NameObject("/Subtype"): _name("/Type1"),
            NameObject("/BaseFont"): _name("/Helvetica"),
            NameObject("/FirstChar"): NumberObject(0),
            NameObject("/LastChar"): NumberObject(255),
            NameObject("/Widths"): ArrayObject([NumberObject(500)] * 6_000),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)}),
        }
    )
    page[NameObject("/Contents")] = _stream(writer, b"BT /F1 12 Tf (A) Tj ET")
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(_pdf_bytes(writer))
    assert caught.value.reason is RejectReason.TOO_COMPLEX


def test_object_streams_are_measured_before_pypdf_parses_one() -> None:
    ordinary = hostile_files.pdf_with_object_stream()
    assert PdfReader(io.BytesIO(ordinary)).xref_objStm  # the page is in an object stream
    assert _render(sanitize(ordinary).data).getpixel((30, 60)) == (0, 0, 255)
    bomb = hostile_files.pdf_object_stream_bomb()
    assert len(bomb) < 20_000
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(bomb)
    assert caught.value.reason is RejectReason.TOO_COMPLEX


def test_a_photo_of_too_many_scans_inside_a_pdf_is_refused() -> None:
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    photo = _image_xobject(writer, hostile_files.many_scan_jpeg(size=(256, 256)), (256, 256))
    photo.get_object()[NameObject("/ColorSpace")] = _name("/DeviceGray")
    page[NameObject("/Resources")] = _xobjects(Im0=photo)
    page[NameObject("/Contents")] = _stream(writer, b"q 100 0 0 100 0 0 cm /Im0 Do Q")
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(_pdf_bytes(writer))
    assert caught.value.reason is RejectReason.TOO_COMPLEX


# --- the PDF whitelist --------------------------------------------------------------


def _render(data: bytes) -> Image.Image:
    document = pdfium.PdfDocument(data)
    try:
        return document[0].render().to_pil().convert("RGB")
    finally:
        document.close()


def _every_object(reader: PdfReader) -> Iterator[object]:
    """Everything the trailer reaches: dictionaries, arrays, streams, names, strings."""
    seen: set[int] = set()
    queue: list[object] = [reader.trailer]
    while queue:
        item = queue.pop()
        if isinstance(item, IndirectObject):
            if item.idnum in seen:
                continue
            seen.add(item.idnum)
            item = item.get_object()
        yield item
        if isinstance(item, DictionaryObject):
            queue.extend(item.keys())
            queue.extend(item.values())
        elif isinstance(item, ArrayObject):
            queue.extend(item)


def test_pdf_leftovers_are_gone_and_the_page_still_draws() -> None:
    original = hostile_files.pdf_with_leftovers()
    markers = hostile_files.LEFTOVER_MARKERS
    for name, marker in markers.items():
        assert marker.encode() in original, name  # really there, as plain bytes
    before = PdfReader(io.BytesIO(original))
    assert "/OCProperties" in before.root_object and b"/PTEX.FileName" in original
    assert b"/ICCBased" in original and b"% ContentComment" in original

    clean = sanitize(original).data

    for name, marker in markers.items():
        assert marker.encode() not in clean, name
    reader = PdfReader(io.BytesIO(clean))
    decoded = []
    for item in _every_object(reader):
        if isinstance(item, StreamObject):
            decoded.append(item.get_data())
        if isinstance(item, DictionaryObject):
            assert not [key for key in item if key.startswith("/PTEX")], item
            assert not {"/OCProperties", "/OC", "/Properties", "/Metadata"} & set(item), item
        assert not (isinstance(item, NameObject) and item == "/ICCBased")
    assert len(decoded) >= 6  # contents, image, form, pattern, function, ToUnicode
    for data in decoded:
        for name, marker in markers.items():
            assert marker.encode() not in data, name
    assert not reader.metadata and len(reader.pages) == 1
    assert b"%" not in reader.pages[0].get_contents().get_data()  # no comment left
    assert "Hello" in reader.pages[0].extract_text()  # the ToUnicode map was rewritten
    # Drawn as before: the ICC red now in DeviceRGB, the layer's blue, the image's
    # green, the form's cyan, the pattern's magenta.
    image, expected = _render(clean), _render(original)
    for point in ((50, 150), (150, 150), (150, 50), (30, 30), (75, 35)):
        assert image.getpixel(point) == expected.getpixel(point), point
    assert _near(image.getpixel((50, 150)), (255, 26, 26)) and image.getpixel((150, 150)) == (
        0,
        0,
        255,
    )
    assert image.getpixel((150, 50)) == (20, 200, 20) and image.getpixel((30, 30)) == (0, 255, 255)


def _layered_pdf(hidden: bool, on_form: bool = False) -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    layer = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): _name("/OCG"),
                NameObject("/Name"): TextStringObject(MARK),
            }
        )
    )
    state = NameObject("/OFF" if hidden else "/ON")
    writer.root_object[NameObject("/OCProperties")] = DictionaryObject(
        {
            NameObject("/OCGs"): ArrayObject([layer]),
            NameObject("/D"): DictionaryObject({state: ArrayObject([layer])}),
        }
    )
    if on_form:
        form = _stream(
            writer,
            b"0 0 1 rg 0 0 50 50 re f",
            Type=_name("/XObject"),
            Subtype=_name("/Form"),
            BBox=ArrayObject(
                [NumberObject(0), NumberObject(0), NumberObject(100), NumberObject(100)]
            ),
            OC=layer,
        )
        page[NameObject("/Resources")] = _xobjects(Fm0=form)
        page[NameObject("/Contents")] = _stream(writer, b"/Fm0 Do")
    else:
        page[NameObject("/Resources")] = DictionaryObject(
            {
                NameObject("/Properties"): DictionaryObject({NameObject("/L0"): layer}),
            }
        )
        page[NameObject("/Contents")] = _stream(writer, b"/OC /L0 BDC 0 0 1 rg 0 0 50 50 re f EMC")
    return _pdf_bytes(writer)


@pytest.mark.parametrize("on_form", [False, True], ids=["marked-content", "form"])
def test_a_layer_shown_is_flattened_and_a_hidden_one_refused(on_form: bool) -> None:
    """Without its optional-content structure a hidden layer would be drawn: what the
    resident never saw would be sent. Such a document is refused instead."""
    clean = sanitize(_layered_pdf(hidden=False, on_form=on_form)).data
    assert MARK.encode() not in clean and b"/OC" not in clean
    assert _render(clean).getpixel((25, 75)) == (0, 0, 255)
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(_layered_pdf(hidden=True, on_form=on_form))
    assert caught.value.reason is RejectReason.UNSUPPORTED_TYPE


def _pdf_in_colour_space(space: object) -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    resolved = space(writer) if callable(space) else space
    page[NameObject("/Resources")] = DictionaryObject(
        {
            NameObject("/ColorSpace"): DictionaryObject({NameObject("/CS0"): resolved}),
        }
    )
    page[NameObject("/Contents")] = _stream(writer, b"/CS0 cs 1 sc 0 0 50 50 re f")
    return _pdf_bytes(writer)


def _icc(writer: PdfWriter, components: int) -> ArrayObject:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() + MARK.encode()
    return ArrayObject([_name("/ICCBased"), _stream(writer, profile, N=NumberObject(components))])


def test_icc_profiles_give_way_to_device_spaces_or_the_file_is_refused() -> None:
    def indexed(writer: PdfWriter) -> ArrayObject:
        return ArrayObject(
            [
                _name("/Indexed"),
                _icc(writer, 3),
                NumberObject(1),
                ByteStringObject(b"\x00\x00\x00\xff\x00\x00"),
            ]
        )

    def separation(writer: PdfWriter) -> ArrayObject:
        return ArrayObject(
            [
                _name("/Separation"),
                _name("/Spot"),
                _icc(writer, 3),
                writer._add_object(
                    DictionaryObject(
                        {
                            NameObject("/FunctionType"): NumberObject(2),
                            NameObject("/Domain"): ArrayObject([NumberObject(0), NumberObject(1)]),
                            NameObject("/C0"): ArrayObject([NumberObject(1)] * 3),
                            NameObject("/C1"): ArrayObject(
                                [NumberObject(1), NumberObject(0), NumberObject(0)]
                            ),
                            NameObject("/N"): NumberObject(1),
                        }
                    )
                ),
            ]
        )

    for space in (indexed, separation):
        original = _pdf_in_colour_space(space)
        assert MARK.encode() in original and b"/ICCBased" in original
        clean = sanitize(original).data
        assert MARK.encode() not in clean and b"/ICCBased" not in clean
        assert _render(clean).getpixel((25, 75)) == (255, 0, 0)
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(_pdf_in_colour_space(lambda writer: _icc(writer, 2)))  # no device space of 2
    assert caught.value.reason is RejectReason.UNSUPPORTED_TYPE


def test_drawing_operators_keep_only_what_draws() -> None:
    """Comments, marked content, unknown operators and operands an operator does not
    take are left behind; resources are renamed; the page draws the same."""
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    page[NameObject("/Resources")] = DictionaryObject(
        {
            NameObject("/ExtGState"): DictionaryObject(
                {
                    NameObject(f"/{MARK}"): writer._add_object(
                        DictionaryObject({NameObject("/ca"): FloatObject(0.5)})
                    ),
                }
            ),
        }
    )
    page[NameObject("/Contents")] = _stream(
        writer,
        (
            f"% {MARK}\n/{MARK}A BMC EMC /P << /MCID 0 /Lang ({MARK}) >> BDC ({MARK}) 0 0 1 rg EMC\n"
            f"/{MARK} gs ({MARK}) zzz BX 1 2 {MARK}op EX 0 0 50 50 re f\n"
        ).encode(),
    )
    original = _pdf_bytes(writer)

    clean = sanitize(original).data

    assert MARK.encode() not in clean
    content = PdfReader(io.BytesIO(clean)).pages[0].get_contents().get_data()
    assert content == b"/GS0 gs\n0 0 50 50 re\nf\n"  # rg had an operand too many
    assert _render(clean).getpixel((25, 75)) == _render(original).getpixel((25, 75))


def test_unused_resources_are_left_behind() -> None:
    """A photo in the resources that the page never draws is not sent."""
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    page[NameObject("/Resources")] = _xobjects(Im0=_image_xobject(writer, _jpeg()))
    page[NameObject("/Contents")] = _stream(writer, b"0 0 50 50 re f")
    clean = sanitize(_pdf_bytes(writer)).data
    assert not PdfReader(io.BytesIO(clean)).pages[0].images
    assert b"/Image" not in clean and b"/XObject" not in clean


def test_a_flate_image_keeps_its_rows_only() -> None:
    """Bytes after the compressed data, or rows beyond the declared height, are not
    copied; an image that is exactly its rows is kept byte for byte."""
    rows = bytes((20, 200, 20)) * 16
    exact = zlib.compress(rows)
    for data, kept in (
        (exact, True),
        (exact + MARK.encode(), False),
        (zlib.compress(rows + MARK.encode()), False),
    ):
        writer = PdfWriter()
        page = writer.add_blank_page(100, 100)
        image = StreamObject()
        image._data = data
        image.update(
            {
                NameObject("/Type"): _name("/XObject"),
                NameObject("/Subtype"): _name("/Image"),
                NameObject("/Width"): NumberObject(4),
                NameObject("/Height"): NumberObject(4),
                NameObject("/ColorSpace"): _name("/DeviceRGB"),
                NameObject("/BitsPerComponent"): NumberObject(8),
                NameObject("/Filter"): _name("/FlateDecode"),
            }
        )
        page[NameObject("/Resources")] = _xobjects(Im0=writer._add_object(image))
        page[NameObject("/Contents")] = _stream(writer, b"q 100 0 0 100 0 0 cm /Im0 Do Q")
        clean = sanitize(_pdf_bytes(writer)).data
        [embedded] = PdfReader(io.BytesIO(clean)).pages[0].images
        stream = embedded.indirect_reference.get_object()
        assert stream.get_data() == rows and MARK.encode() not in clean
        assert (stream._data == data) is kept  # as it came, or compressed anew
        assert _render(clean).getpixel((50, 50)) == (20, 200, 20)


def _page_with_content_stream(data: bytes, filters: str) -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    contents = StreamObject()
    contents._data = data
    contents[NameObject("/Filter")] = _name(filters)
    page[NameObject("/Contents")] = writer._add_object(contents)
    return _pdf_bytes(writer)


def _run_length(data: bytes) -> bytes:
    """Literal runs only: as long as the data, decoded a byte at a time in Python."""
    return (
        b"".join(
            bytes([len(part) - 1]) + part
            for part in (data[i : i + 128] for i in range(0, len(data), 128))
        )
        + b"\x80"
    )


def test_decoders_that_run_in_python_or_expand_are_bounded_before_they_run() -> None:
    drawing = b"0 0 1 rg 0 0 50 50 re f\n"
    for data, filters in (
        (_run_length(drawing), "/RunLengthDecode"),
        (base64.a85encode(drawing) + b"~>", "/ASCII85Decode"),
    ):
        assert _render(sanitize(_page_with_content_stream(data, filters)).data).getpixel(
            (25, 75)
        ) == (0, 0, 255)
    slow = _run_length(b" " * (attachments.MAX_PDF_SLOW_DECODE_BYTES + 1))
    zeros = b"z" * (attachments.MAX_PAGE_CONTENT_BYTES // 4 + 1) + b"~>"  # four bytes each
    for data, filters in ((slow, "/RunLengthDecode"), (zeros, "/ASCII85Decode")):
        with pytest.raises(AttachmentRejected) as caught:
            sanitize(_page_with_content_stream(data, filters))
        assert caught.value.reason is RejectReason.TOO_COMPLEX


def test_a_to_unicode_map_that_cannot_be_read_is_left_behind() -> None:
    """The text is still drawn; only copying it out of the PDF is lost."""
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    font = DictionaryObject(
        {
            NameObject("/Type"): _name("/Font"),
            NameObject("/Subtype"): _name("/Type1"),
            NameObject("/BaseFont"): _name("/Helvetica"),
            NameObject("/ToUnicode"): _stream(
                writer, f"1 beginbfchar <41> ({MARK} endbfchar".encode()
            ),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)}),
        }
    )
    page[NameObject("/Contents")] = _stream(writer, b"BT /F1 40 Tf 10 40 Td (Hi) Tj ET")
    original = _pdf_bytes(writer)
    clean = sanitize(original).data
    assert MARK.encode() not in clean and b"/ToUnicode" not in clean
    assert _render(clean) == _render(original)
