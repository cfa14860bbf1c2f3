"""Removing metadata from media answers before they leave the researcher's machine.

- Photos are decoded and encoded again (Pillow) after applying the EXIF orientation: EXIF
  (GPS position, camera serial, time), XMP, IPTC, ICC profiles and comments do not survive.
- Ogg (Telegram voice notes are Ogg Opus; Vorbis too) keeps its audio pages untouched; the
  comment header (artist, location, encoder tags a phone may write) is replaced by an empty
  one, the header pages are laid out again and the following pages renumbered with new
  checksums.
- MP3 keeps only its audio frames, walked one by one from their headers: ID3v2 tags (at the
  start, at the end with a footer, or between frames), ID3v1, APE and Lyrics3 tags and any
  other byte between frames are left out.

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
# Bit rates in kbit/s by (MPEG-1?, layer) and sample rates by version, from ISO 11172-3 and
# 13818-3. Index 0 ("free format") and 15 are not accepted.
_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_TAG_STARTS = (b"ID3", b"3DI", b"TAG", b"APETAGEX", b"LYRICSBEGIN")


def mp3_frame_length(data: bytes, offset: int) -> int | None:
    """The length of the MPEG audio frame whose header starts at `offset`, or None."""
    if offset + 4 > len(data) or data[offset] != 0xFF or data[offset + 1] & 0xE0 != 0xE0:
        return None
    version = (data[offset + 1] >> 3) & 3
    layer = 4 - ((data[offset + 1] >> 1) & 3)
    bitrate_index, rate_index = data[offset + 2] >> 4, (data[offset + 2] >> 2) & 3
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    bitrate = _BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    rate = _SAMPLE_RATES[version][rate_index]
    padding = (data[offset + 2] >> 1) & 1
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4
    per_frame = 144 if (mpeg1 or layer == 2) else 72
    return per_frame * bitrate // rate + padding


def _tag_length(data: bytes, offset: int) -> int | None:
    """The length of a known tag (ID3v2 with its footer, ID3v1, APE, Lyrics3) at `offset`."""
    head = data[offset:offset + 11]
    if head.startswith((b"ID3", b"3DI")) and len(data) >= offset + 10:
        size = 0
        for byte in data[offset + 6:offset + 10]:
            size = (size << 7) | (byte & 0x7F)
        footer = 10 if head.startswith(b"ID3") and data[offset + 5] & 0x10 else 0
        return 10 + size + footer
    if head.startswith(b"TAG"):
        return 227 if head.startswith(b"TAG+") else 128  # ID3v1, or its extended form
    if head.startswith(b"APETAGEX") and len(data) >= offset + 32:
        size = struct.unpack_from("<I", data, offset + 12)[0]
        has_header = data[offset + 23] & 0x80  # this is the header: items and footer follow
        return 32 + size if has_header else 32
    if head.startswith(b"LYRICSBEGIN"):
        ends = [data.find(end, offset) for end in (b"LYRICS200", b"LYRICSEND")]
        found = [end + 9 for end in ends if end >= 0]
        return min(found) - offset if found else len(data) - offset
    return None


def _frame_at(data: bytes, offset: int, synced: bool) -> int | None:
    """A frame right after the previous frame or tag (`synced`), or else one followed by
    another frame, a known tag or the end of the file: a frame header is only 11 bits of
    sync, which stray bytes can look like."""
    length = mp3_frame_length(data, offset)
    if length is None or length < 4 or offset + length > len(data):
        return None
    after = offset + length
    if synced or after == len(data) or mp3_frame_length(data, after) is not None \
            or data.startswith(_TAG_STARTS, after):
        return length
    return None


def _audio_end(data: bytes) -> int:
    """Where the tags appended at the end begin, read from the end: an APE tag without a
    header, or Lyrics3, cannot be recognised from its first byte."""
    end = len(data)
    while end > 0:
        if end >= 128 and data[end - 128:end - 125] == b"TAG":
            end -= 128
        elif end >= 32 and data[end - 32:end - 24] == b"APETAGEX":
            size = struct.unpack_from("<I", data, end - 20)[0]
            header = 32 if data[end - 9] & 0x80 else 0
            end = max(0, end - size - header)
        elif data[end - 9:end] == b"LYRICS200" and data[end - 15:end - 9].isdigit():
            end = max(0, end - 15 - int(data[end - 15:end - 9]))
        elif data[end - 9:end] == b"LYRICSEND":
            begin = data.rfind(b"LYRICSBEGIN", 0, end)
            end = begin if begin >= 0 else end - 9
        elif end >= 10 and data[end - 10:end - 7] == b"3DI":
            size = 0
            for byte in data[end - 4:end]:
                size = (size << 7) | (byte & 0x7F)
            end = max(0, end - 20 - size)
        else:
            break
    return end


def clean_mp3(data: bytes) -> bytes:
    """Only the audio frames, in order: every tag (ID3v2 at either end or between frames,
    with or without footer, ID3v1, APE, Lyrics3) and any byte that is not part of a frame
    is left out."""
    frames: list[bytes] = []
    offset = 0
    data = data[:_audio_end(data)]
    synced = True
    while offset < len(data):
        tag = _tag_length(data, offset)
        if tag is not None:
            offset += max(tag, 1)
            synced = True
            continue
        length = _frame_at(data, offset, synced)
        if length is not None:
            frames.append(data[offset:offset + length])
            offset += length
            synced = True
            continue
        synced = False
        # Not audio: skipped, up to the next byte that may start a frame or a tag.
        found = [at for marker in (b"\xff", *_TAG_STARTS)
                 if (at := data.find(marker, offset + 1)) >= 0]
        offset = min(found, default=len(data))
    if not frames:
        raise Unsupported("no MPEG audio frame found")
    return b"".join(frames)
