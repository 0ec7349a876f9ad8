"""Attachments lose every piece of metadata; anything else is refused with a reason.

Every input is a real file made here with Pillow or pypdf, and each test first checks
that the metadata it looks for is really in the input, so a test cannot pass by accident.
"""

from __future__ import annotations

import io
import pickle
import random
import struct
import warnings
import zipfile
import zlib

import pytest
from PIL import Image, ImageCms, ImageFile, PngImagePlugin
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

import storage.attachments as attachments
from storage.attachments import (
    MAX_BYTES,
    AttachmentRejected,
    CleanFile,
    RejectReason,
    sanitize,
)

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
    photo.update({
        NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
        NameObject("/Width"): NumberObject(size[0]), NameObject("/Height"): NumberObject(size[1]),
        NameObject("/ColorSpace"): NameObject("/DeviceRGB"), NameObject("/BitsPerComponent"): NumberObject(8),
        NameObject("/Filter"): NameObject("/DCTDecode"),
    })  # fmt: skip
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
    page[NameObject("/PieceInfo")] = DictionaryObject({
        NameObject("/Editor"): DictionaryObject({NameObject("/Private"): TextStringObject(MARK)}),
    })  # fmt: skip
    attached = _stream(writer, f"attached file {MARK}".encode(), Type=_name("/EmbeddedFile"))
    script = DictionaryObject({
        NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject(f"app.alert('{MARK}');"),
    })  # fmt: skip
    rect = ArrayObject([FloatObject(0), FloatObject(0), FloatObject(20), FloatObject(20)])
    page[NameObject("/Annots")] = ArrayObject([
        writer._add_object(DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/FileAttachment"),
            NameObject("/Rect"): rect, NameObject("/Contents"): TextStringObject(MARK),
            NameObject("/FS"): DictionaryObject({
                NameObject("/Type"): NameObject("/Filespec"), NameObject("/F"): TextStringObject(f"{MARK}.txt"),
                NameObject("/EF"): DictionaryObject({NameObject("/F"): attached}),
            }),
        })),
        writer._add_object(DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): rect, NameObject("/A"): script,
        })),
    ])  # fmt: skip
    writer.add_metadata({
        "/Author": f"Author {MARK}", "/Creator": f"Creator {MARK}", "/Title": MARK,
        "/CreationDate": "D:20261121231405+07'00'",
    })  # fmt: skip
    writer.root_object[NameObject("/Metadata")] = xmp
    writer.root_object[NameObject("/OpenAction")] = writer._add_object(script)
    writer.add_attachment(f"{MARK}.txt", f"embedded {MARK}".encode())  # /Names /EmbeddedFiles
    named_script = DictionaryObject({
        NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject(f"named {MARK}"),
    })  # fmt: skip
    writer.root_object["/Names"][NameObject("/JavaScript")] = DictionaryObject({
        NameObject("/Names"): ArrayObject([TextStringObject("run"), writer._add_object(named_script)]),
    })  # fmt: skip
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
        MARK.encode(), b"/JavaScript", b"/OpenAction", b"/JS", b"/AA", b"/Names", b"/AcroForm",
        b"/EmbeddedFile", b"/Annots", b"/Metadata", b"/LastModified", b"/PieceInfo", b"/ID",
        b"pypdf", b"/Producer", b"/Author", b"/Creator", b"/CreationDate", b"Exif", b"xmpmeta",
        b"2026:11:21",
    ):  # fmt: skip
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
        writer, b"q 80 0 0 40 0 0 cm /Im0 Do Q", Type=_name("/XObject"), Subtype=_name("/Form"),
        BBox=ArrayObject([NumberObject(0), NumberObject(0), NumberObject(200), NumberObject(200)]),
        Resources=_xobjects(Im0=_image_xobject(writer, _jpeg())),
        LastModified=TextStringObject("D:20261121231405+07'00'"),
    )  # fmt: skip
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
    flate.update({
        NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
        NameObject("/Width"): NumberObject(20_000), NameObject("/Height"): NumberObject(20_000),
        NameObject("/ColorSpace"): NameObject("/DeviceGray"), NameObject("/BitsPerComponent"): NumberObject(8),
        NameObject("/Filter"): NameObject("/FlateDecode"),
    })  # fmt: skip
    page[NameObject("/Resources")] = _xobjects(Im0=writer._add_object(flate))
    page[NameObject("/Contents")] = _stream(writer, b"/Im0 Do")
    return _pdf_bytes(writer)


def _jbig2_image(writer: PdfWriter) -> object:
    scan = StreamObject()
    scan._data = b"\x00\x00\x00\x00\x30\x00\x01" + b"\x00" * 40  # no file header to spot
    scan.update({
        NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
        NameObject("/Width"): NumberObject(80), NameObject("/Height"): NumberObject(40),
        NameObject("/ColorSpace"): NameObject("/DeviceGray"), NameObject("/BitsPerComponent"): NumberObject(1),
        NameObject("/Filter"): NameObject("/JBIG2Decode"),
    })  # fmt: skip
    return writer._add_object(scan)


def _pdf_with_photo_in_a_pattern(jbig2: bool = False) -> bytes:
    """A camera JPEG (or a scan) painted through a tiling pattern: outside the page's
    own images, which are the ones re-encoded."""
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    image = _jbig2_image(writer) if jbig2 else _image_xobject(writer, _jpeg())
    pattern = _stream(
        writer, b"q 80 0 0 40 0 0 cm /Im0 Do Q", Type=_name("/Pattern"), PatternType=NumberObject(1),
        PaintType=NumberObject(1), TilingType=NumberObject(1), XStep=NumberObject(80), YStep=NumberObject(40),
        BBox=ArrayObject([NumberObject(0), NumberObject(0), NumberObject(80), NumberObject(40)]),
        Resources=_xobjects(Im0=image),
    )  # fmt: skip
    page[NameObject("/Resources")] = DictionaryObject({
        NameObject("/Pattern"): DictionaryObject({NameObject("/P0"): pattern}),
    })  # fmt: skip
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
        writer, b"0 0 10 10 re f", Type=_name("/XObject"), Subtype=_name("/Form"),
        BBox=ArrayObject([NumberObject(0), NumberObject(0), NumberObject(10), NumberObject(10)]),
        **entries,
    )  # fmt: skip
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
    return writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/FileAttachment"),
        NameObject("/Rect"): ArrayObject([NumberObject(0)] * 4), NameObject("/Contents"): TextStringObject(MARK),
    }))  # fmt: skip


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


def _bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header declaring a huge image, with almost no pixel data behind it."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + _png_chunk(b"IEND", b"")
    )


def _bomb_jpeg(width: int, height: int) -> bytes:
    data = bytearray(_jpeg())
    sof = data.index(b"\xff\xc0")  # baseline frame header: precision, height, width
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize(
    "bomb",
    [
        _bomb_png(20_000, 20_000),
        _bomb_png(10_000, 10_000),
        _bomb_png(8_000, 7_000),
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
    filters, limit = list(warnings.filters), Image.MAX_IMAGE_PIXELS
    for data in (_jpeg(), _bomb_png(20_000, 20_000), _bomb_png(10_000, 10_000), b"\xff\xd8\xff"):
        try:
            sanitize(data)
        except AttachmentRejected:
            pass
    assert warnings.filters == filters and Image.MAX_IMAGE_PIXELS == limit
