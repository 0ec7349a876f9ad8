"""Attachments lose every piece of metadata; anything else is refused with a reason."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest
from PIL import Image, ImageCms, PngImagePlugin
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from storage.attachments import MAX_BYTES, AttachmentRejected, RejectReason, sanitize

MARK = "Wardbot-Marker-4417"
XMP = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description creator="{MARK}"/></rdf:RDF></x:xmpmeta>'


def _exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = f"Make {MARK}"
    exif[0x0110] = f"Model {MARK}"
    exif[0x0112] = orientation
    exif[0x0132] = "2026:11:21 23:14:05"
    exif.get_ifd(0x8769)[0xA431] = f"Serial {MARK}"  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (20.0, 51.0, 30.5)
    gps[3], gps[4] = "E", (106.0, 41.0, 12.25)
    return exif


def _jpeg(orientation: int = 1, size: tuple[int, int] = (80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(
        out, "JPEG", exif=_exif(orientation), comment=f"comment {MARK}", xmp=XMP.encode()
    )
    return out.getvalue()


def _assert_no_metadata(data: bytes) -> Image.Image:
    for needle in (
        MARK.encode(),
        b"Exif\x00\x00",
        b"xmpmeta",
        b"ICC_PROFILE",
        b"iCCP",
        b"tEXt",
        b"iTXt",
        b"zTXt",
    ):
        assert needle not in data, needle
    image = Image.open(io.BytesIO(data))
    assert not image.getexif()
    assert not {"exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp"} & set(image.info)
    return image


def test_jpeg_loses_gps_serial_time_xmp_and_comment() -> None:
    original = _jpeg()
    assert MARK.encode() in original and Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    clean = sanitize(original)
    assert (clean.kind, clean.mime_type, clean.extension) == ("image", "image/jpeg", ".jpg")
    image = _assert_no_metadata(clean.data)
    assert image.size == (80, 40)
    assert abs(image.getpixel((10, 10))[0] - 200) < 10  # the picture itself is kept


def test_orientation_is_applied_before_the_tag_is_dropped() -> None:
    image = _assert_no_metadata(sanitize(_jpeg(orientation=6)).data)
    assert image.size == (40, 80)


def test_png_loses_text_chunks_and_icc_profile() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", MARK)
    info.add_itxt("Comment", MARK, zip=True)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGBA", (30, 20), (1, 2, 3, 128)).save(
        out, "PNG", pnginfo=info, icc_profile=icc, exif=_exif()
    )
    assert MARK.encode() in out.getvalue() and b"iCCP" in out.getvalue()
    clean = sanitize(out.getvalue())
    assert clean.mime_type == "image/png"
    image = _assert_no_metadata(clean.data)
    assert image.mode == "RGBA" and image.getpixel((0, 0)) == (1, 2, 3, 128)


def test_webp_loses_exif_and_xmp() -> None:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 90, 200)).save(out, "WEBP", exif=_exif(), xmp=XMP.encode())
    assert MARK.encode() in out.getvalue()
    clean = sanitize(out.getvalue())
    assert clean.mime_type == "image/webp"
    _assert_no_metadata(clean.data)


def test_palette_and_animated_images_keep_their_first_frame() -> None:
    frames = [Image.new("P", (16, 16), colour) for colour in (1, 2, 3)]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], exif=_exif())
    clean = sanitize(out.getvalue())
    assert getattr(Image.open(io.BytesIO(clean.data)), "n_frames", 1) == 1


def _pdf_with_everything() -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    photo = StreamObject()
    photo._data = _jpeg()  # a camera JPEG, EXIF and all, embedded as it is
    photo.update({
        NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
        NameObject("/Width"): NumberObject(80), NameObject("/Height"): NumberObject(40),
        NameObject("/ColorSpace"): NameObject("/DeviceRGB"), NameObject("/BitsPerComponent"): NumberObject(8),
        NameObject("/Filter"): NameObject("/DCTDecode"),
    })  # fmt: skip
    xmp = DecodedStreamObject()
    xmp.set_data(XMP.encode())
    photo[NameObject("/Metadata")] = writer._add_object(xmp)
    resources = DictionaryObject(
        {NameObject("/XObject"): DictionaryObject({NameObject("/Im0"): writer._add_object(photo)})}
    )
    page[NameObject("/Resources")] = resources
    contents = DecodedStreamObject()
    contents.set_data(b"q 80 0 0 40 10 10 cm /Im0 Do Q")
    page[NameObject("/Contents")] = writer._add_object(contents)
    page[NameObject("/Annots")] = ArrayObject()
    writer.add_metadata(
        {"/Author": f"Author {MARK}", "/Creator": f"Creator {MARK}", "/Title": MARK}
    )
    writer._root_object[NameObject("/Metadata")] = writer._add_object(xmp)
    script = DictionaryObject({
        NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject(f"app.alert('{MARK}');"),
    })  # fmt: skip
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(script)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_keeps_pages_and_loses_info_xmp_scripts_and_photo_exif() -> None:
    original = _pdf_with_everything()
    assert MARK.encode() in original and b"/JavaScript" in original
    clean = sanitize(original)
    assert (clean.kind, clean.mime_type) == ("pdf", "application/pdf")
    for needle in (
        MARK.encode(),
        b"/JavaScript",
        b"/OpenAction",
        b"pypdf",
        b"Exif\x00\x00",
        b"xmpmeta",
        b"/Author",
    ):
        assert needle not in clean.data, needle
    reader = PdfReader(io.BytesIO(clean.data))
    assert len(reader.pages) == 1
    assert not reader.metadata
    [embedded] = reader.pages[0].images
    assert embedded.image.size == (80, 40)


def test_encrypted_pdf_is_refused() -> None:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(out.getvalue())
    assert caught.value.reason is RejectReason.ENCRYPTED


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", MARK)
    return out.getvalue()


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (4, 4)).save(out, "GIF")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", RejectReason.EMPTY),
        (b"\x00" * (MAX_BYTES + 1), RejectReason.TOO_LARGE),
        (bytes(range(256)) * 4, RejectReason.UNSUPPORTED_TYPE),
        (_zip(), RejectReason.UNSUPPORTED_TYPE),
        (_gif(), RejectReason.UNSUPPORTED_TYPE),
        (b"<html><script>alert(1)</script></html>", RejectReason.UNSUPPORTED_TYPE),
        (b"MZ\x90\x00" + b"\x00" * 100, RejectReason.UNSUPPORTED_TYPE),
        (b"\xff\xd8\xff\xe0" + b"garbage" * 20, RejectReason.UNREADABLE),
        (_jpeg()[:300], RejectReason.UNREADABLE),
        (b"%PDF-1.7\n" + b"nonsense" * 20, RejectReason.UNREADABLE),
    ],
    ids=[
        "empty",
        "too-large",
        "random",
        "zip",
        "gif",
        "html",
        "exe",
        "jpeg-garbage",
        "truncated-jpeg",
        "broken-pdf",
    ],
)
def test_everything_else_is_refused_with_a_reason(data: bytes, reason: RejectReason) -> None:
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(data)
    assert caught.value.reason is reason
    assert MARK not in str(caught.value)


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )
    with pytest.raises(AttachmentRejected) as caught:
        sanitize(bomb)
    assert caught.value.reason is RejectReason.TOO_MANY_PIXELS


def test_a_clean_file_never_shows_its_bytes() -> None:
    clean = sanitize(_jpeg())
    assert "data" not in repr(clean) and "\\x" not in repr(clean)
