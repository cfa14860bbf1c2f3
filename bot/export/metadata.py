"""Removing metadata from media answers before they leave the researcher's machine.

- Photos are decoded and encoded again (Pillow) after applying the EXIF orientation: EXIF
  (GPS position, camera serial, time), XMP, IPTC, ICC profiles and comments do not survive.
- Ogg (Telegram voice notes are Ogg Opus; Vorbis too) keeps its audio pages untouched; the
  comment header (artist, location, encoder tags a phone may write) is replaced by an empty
  one, the header pages are laid out again and the following pages renumbered with new
  checksums.
- MP3 loses its ID3v2 and ID3v1 tags.

Any other format is refused (`Unsupported`): the caller leaves that file out and says so,
rather than export something that might carry a name or a place.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError


class Unsupported(Exception):
    """This file cannot be cleaned with confidence; it is not exported."""


@dataclass(frozen=True)
class Cleaned:
    data: bytes
    extension: str


def clean(mime_type: str, data: bytes) -> Cleaned:
    mime = (mime_type or "").split(";")[0].strip().lower()
    if mime.startswith("image/"):
        return clean_image(data)
    if data.startswith(b"OggS"):
        return Cleaned(clean_ogg(data), "ogg")
    if mime in ("audio/mpeg", "audio/mp3") or data.startswith(b"ID3"):
        return Cleaned(clean_mp3(data), "mp3")
    raise Unsupported(f"no metadata cleaner for {mime or 'unknown type'}")


# -- images -------------------------------------------------------------------------------
def clean_image(data: bytes) -> Cleaned:
    try:
        with warnings.catch_warnings():
            # A decompression bomb is refused, not half-decoded.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
                has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
                pixels = upright.convert("RGBA" if has_alpha else "RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise Unsupported(f"image could not be read ({exc.__class__.__name__})") from exc
    # A fresh image holds pixels only: no info dict, no EXIF, no ICC profile.
    bare = Image.new(pixels.mode, pixels.size)
    bare.paste(pixels)
    out = io.BytesIO()
    if has_alpha:
        bare.save(out, format="PNG", optimize=True)
        return Cleaned(out.getvalue(), "png")
    bare.save(out, format="JPEG", quality=90)
    return Cleaned(out.getvalue(), "jpg")


# -- Ogg ----------------------------------------------------------------------------------
def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
        table.append(crc & 0xFFFFFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def ogg_crc(page: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, no final XOR)."""
    crc = 0
    table = _CRC_TABLE
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ byte]
    return crc


@dataclass
class _Page:
    header_type: int
    granule: int
    serial: int
    sequence: int
    lacing: bytes
    body: bytes
    raw: bytes


def _pages(data: bytes) -> list[_Page]:
    pages: list[_Page] = []
    offset = 0
    while offset < len(data):
        if data[offset:offset + 4] != b"OggS" or len(data) < offset + 27:
            raise Unsupported("damaged Ogg page")
        version, header_type, granule, serial, sequence, _crc, count = struct.unpack_from(
            "<BBqIIIB", data, offset + 4)
        if version != 0:
            raise Unsupported("unknown Ogg version")
        lacing = data[offset + 27:offset + 27 + count]
        size = 27 + count + sum(lacing)
        if len(lacing) != count or offset + size > len(data):
            raise Unsupported("truncated Ogg page")
        body = data[offset + 27 + count:offset + size]
        pages.append(_Page(header_type, granule, serial, sequence, lacing, body,
                           data[offset:offset + size]))
        offset += size
    return pages


def _packets(pages: list[_Page], wanted: int) -> tuple[list[bytes], int]:
    """The first `wanted` packets and how many pages they fill (they must end a page)."""
    packets: list[bytes] = []
    current = bytearray()
    for index, page in enumerate(pages):
        position = 0
        for lace in page.lacing:
            current += page.body[position:position + lace]
            position += lace
            if lace < 255:
                packets.append(bytes(current))
                current = bytearray()
                if len(packets) == wanted:
                    if position != len(page.body):
                        raise Unsupported("audio starts inside a header page")
                    return packets, index + 1
    raise Unsupported("Ogg headers are incomplete")


def _page(header_type: int, serial: int, sequence: int, lacing: bytes, body: bytes) -> bytes:
    head = b"OggS" + struct.pack("<BBqIIIB", 0, header_type, 0, serial, sequence, 0, len(lacing))
    page = bytearray(head + lacing + body)
    struct.pack_into("<I", page, 22, ogg_crc(bytes(page)))
    return bytes(page)


def _lay_out(packets: list[bytes], serial: int, first_sequence: int) -> list[bytes]:
    """Header packets on fresh pages (at most 255 lacing values per page)."""
    laces: list[tuple[int, bytes]] = []  # (lacing value, bytes), packet after packet
    for packet in packets:
        chunks = [packet[i:i + 255] for i in range(0, len(packet), 255)]
        if not chunks or len(chunks[-1]) == 255:
            chunks.append(b"")
        laces += [(len(c), c) for c in chunks]
    pages: list[bytes] = []
    continued = False
    for start in range(0, len(laces), 255):
        group = laces[start:start + 255]
        pages.append(_page(0x01 if continued else 0x00, serial, first_sequence + len(pages),
                           bytes(n for n, _ in group), b"".join(c for _, c in group)))
        continued = group[-1][0] == 255
    return pages


def clean_ogg(data: bytes) -> bytes:
    pages = _pages(data)
    if not pages or len({p.serial for p in pages}) != 1:
        raise Unsupported("only single-stream Ogg files are cleaned")
    first = pages[0].body
    if first.startswith(b"OpusHead"):
        packets, used = _packets(pages, 2)
        comment = b"OpusTags" + struct.pack("<I", 0) + struct.pack("<I", 0)
        headers = [comment]
    elif first.startswith(b"\x01vorbis"):
        packets, used = _packets(pages, 3)
        if not packets[2].startswith(b"\x05vorbis"):
            raise Unsupported("unexpected Vorbis headers")
        comment = b"\x03vorbis" + struct.pack("<I", 0) + struct.pack("<I", 0) + b"\x01"
        headers = [comment, packets[2]]
    else:
        raise Unsupported("Ogg codec is neither Opus nor Vorbis")
    if pages[0].lacing != bytes([len(packets[0])]):
        raise Unsupported("identification header does not fill the first page alone")
    serial = pages[0].serial
    out = [pages[0].raw]  # the identification header is kept as it is (it holds no tags)
    out += _lay_out(headers, serial, 1)
    sequence = len(out)
    for page in pages[used:]:
        if page.sequence == sequence:
            out.append(page.raw)  # unchanged: no need to compute its checksum again
        else:
            raw = bytearray(page.raw)
            struct.pack_into("<II", raw, 18, sequence, 0)
            struct.pack_into("<I", raw, 22, ogg_crc(bytes(raw)))
            out.append(bytes(raw))
        sequence += 1
    return b"".join(out)


# -- MP3 ----------------------------------------------------------------------------------
def clean_mp3(data: bytes) -> bytes:
    body = data
    while body.startswith(b"ID3") and len(body) >= 10:
        flags = body[5]
        size = 0
        for byte in body[6:10]:
            if byte & 0x80:
                raise Unsupported("damaged ID3 tag")
            size = (size << 7) | byte
        total = 10 + size + (10 if flags & 0x10 else 0)  # footer present
        body = body[total:]
    if len(body) >= 128 and body[-128:-125] == b"TAG":
        body = body[:-128]
    if b"APETAGEX" in body[-64:] or body[-128:-125] == b"TAG":
        raise Unsupported("MP3 carries tags that are not removed")
    if len(body) < 2 or body[0] != 0xFF or body[1] & 0xE0 != 0xE0:
        raise Unsupported("no MPEG audio frame after the tags")
    return body
