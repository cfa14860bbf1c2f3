"""QR codes for campaign links: a PNG for screens (Telegram), a PNG for print and an SVG.

The short code is printed under the QR, with a caption in the link's language, so a person
can type it when a scan does not start the bot (on iOS, scanning the same code twice may not
resend `/start`). The print PNG is drawn for a 4 cm wide QR at 600 dpi and says so in its
metadata, so a print shop's software places it at that size, sharp.
"""

from __future__ import annotations

import io
import math
from urllib.parse import quote
from xml.sax.saxutils import escape

import segno
from PIL import Image, ImageDraw, ImageFont

from bot.engine.text import N_
from bot.links.fonts import Font, covers, font_for

SCALE = 10  # pixels per module in the screen PNG
BORDER = 4  # quiet zone, in modules (the QR standard asks for 4)
PRINT_WIDTH_CM = 4.0
PRINT_DPI = 600
CM_PER_INCH = 2.54
# Translators: printed on a line of its own above the short code, under the QR code of a
# campaign link on flyers and posters. Keep it short.
CAPTION = N_("Or type this code to the bot:")


def link_url(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


def whatsapp_url(number: str, code: str) -> str:
    """wa.me opens the chat with the code typed in, visible and editable: the person sends
    it (or not) themselves, and the bot reads it as a typed code."""
    return f"https://wa.me/{number}?text={quote(code)}"


def can_draw(text: str) -> bool:
    """Whether an installed font can draw `text` in a PNG (SVG text is the viewer's to draw)."""
    return _font(text, 24) is not None


def qr_png(url: str, code: str, text: str | None = None) -> bytes:
    """For screens: 10 pixels per module, as Telegram shows it. `text` is the caption line
    above the code, in the link's language (English if None)."""
    image = _draw(url, code, text, SCALE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def qr_print_png(url: str, code: str, text: str | None = None) -> bytes:
    """For print: at least PRINT_DPI at PRINT_WIDTH_CM wide, the resolution in the file."""
    modules = len(segno.make(url, error="m", micro=False).matrix) + 2 * BORDER
    inches = PRINT_WIDTH_CM / CM_PER_INCH
    scale = math.ceil(PRINT_DPI * inches / modules)
    image = _draw(url, code, text, scale)
    dpi = image.width / inches
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True, dpi=(dpi, dpi))
    return out.getvalue()


def _draw(url: str, code: str, text: str | None, scale: int) -> Image.Image:
    matrix = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    matrix.save(buffer, kind="png", scale=scale, border=BORDER)
    qr = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    room = qr.width - 4 * scale
    label, label_font = _fitting(text or CAPTION.msgid, room, qr.width // 22)
    code_font = _fitting(code, room, qr.width // 11)[1]
    gap = scale
    lines = [(label, label_font), (code, code_font)]
    heights = [_box(t, f)[3] - _box(t, f)[1] for t, f in lines]
    canvas = Image.new("L", (qr.width, qr.height + sum(heights) + gap + 3 * scale), 255)
    canvas.paste(qr, (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = qr.height - scale
    for (line, font), height in zip(lines, heights, strict=True):
        left, top, right, _ = _box(line, font)
        draw.text(((qr.width - (right - left)) // 2 - left, y - top), line, fill=0, font=font)
        y += height + gap
    return canvas


def _box(text: str, font: Font) -> tuple[int, int, int, int]:
    left, top, right, bottom = font.getbbox(text)
    return int(left), int(top), int(right), int(bottom)


def _fitting(text: str, width: int, size: int) -> tuple[str, Font]:
    """`text` and a font that draws it within `width`; the English caption if no installed
    font has the translation's script (the code under it stays readable either way)."""
    size = max(size, 12)
    while True:
        found = _font(text, size)
        if found is None:
            text = CAPTION.msgid
            found = _font(text, size)
        font = found or _pillows(size)
        left, _, right, _ = _box(text, font)
        if right - left <= width or size <= 12:
            return text, font
        size = size * 9 // 10


def _font(text: str, size: int) -> Font | None:
    """Pillow's own font where it has the letters (no font files needed), else an installed
    font that has them, else None."""
    default = _pillows(size)
    return default if covers(default, text) else font_for(text, size)


def _pillows(size: int) -> Font:
    """Pillow's own font (Latin letters), which needs no font files."""
    font = ImageFont.load_default(size=size)
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise RuntimeError("Pillow was built without FreeType")  # required by pillow>=10.1
    return font


def qr_svg(url: str, code: str, text: str | None = None) -> str:
    """An SVG drawn from the QR matrix, with the caption and the code as real text."""
    matrix = segno.make(url, error="m", micro=False)
    size = len(matrix.matrix) + 2 * BORDER
    height = size + 5
    cells = "".join(
        f"M{x + BORDER},{y + BORDER}h1v1h-1z"
        for y, row in enumerate(matrix.matrix) for x, dark in enumerate(row) if dark
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {height}" '
        f'width="{size * 8}" height="{height * 8}">'
        f'<rect width="{size}" height="{height}" fill="#fff"/>'
        f'<path d="{cells}" fill="#000"/>'
        f'<text x="{size / 2}" y="{size + 0.6}" font-family="sans-serif" font-size="1.6" '
        f'text-anchor="middle" style="unicode-bidi:plaintext">'  # right-to-left captions too
        f'{escape(text or CAPTION.msgid)}</text>'
        f'<text x="{size / 2}" y="{size + 3.2}" font-family="sans-serif" font-size="2.4" '
        f'text-anchor="middle">{escape(code)}</text></svg>\n'
    )
