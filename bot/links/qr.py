"""QR codes for campaign links, as PNG (for flyers and Telegram) and SVG (for print shops).

The short code is printed under the QR so a person can type it when a scan does not start
the bot (on iOS, scanning the same code twice may not resend `/start`).
"""

from __future__ import annotations

import io
from urllib.parse import quote
from xml.sax.saxutils import escape

import segno
from PIL import Image, ImageDraw, ImageFont

SCALE = 10  # pixels per module in the PNG
BORDER = 4  # quiet zone, in modules (the QR standard asks for 4)


def link_url(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


def whatsapp_url(number: str, code: str) -> str:
    """wa.me opens the chat with the code typed in, visible and editable: the person sends
    it (or not) themselves, and the bot reads it as a typed code."""
    return f"https://wa.me/{number}?text={quote(code)}"


def caption(code: str) -> str:
    return f"Code: {code}"


def qr_png(url: str, code: str) -> bytes:
    matrix = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    matrix.save(buffer, kind="png", scale=SCALE, border=BORDER)
    qr = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    font = ImageFont.load_default(size=max(18, qr.width // 14))
    text = caption(code)
    left, top, right, bottom = font.getbbox(text)
    band = int(bottom - top) + 3 * SCALE
    canvas = Image.new("L", (qr.width, qr.height + band), 255)
    canvas.paste(qr, (0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.text(((qr.width - int(right - left)) // 2, qr.height - SCALE), text, fill=0,
              font=font)
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()


def qr_svg(url: str, code: str) -> str:
    """An SVG drawn from the QR matrix, with the code as real text underneath."""
    matrix = segno.make(url, error="m", micro=False)
    size = len(matrix.matrix) + 2 * BORDER
    height = size + 4
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
        f'<text x="{size / 2}" y="{size + 2}" font-family="sans-serif" font-size="2.4" '
        f'text-anchor="middle">{escape(caption(code))}</text></svg>\n'
    )
