"""Bar charts as PNG files (Pillow), for report writers to paste into a document.

Pillow is already needed to clean photos, draws text with its built-in font, and writes a
small PNG: far lighter than a plotting library for two bar charts. Suppressed cells get no
bar, only the words "fewer than k".
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from bot.export.summary import Table

WIDTH = 900
ROW = 30
MARGIN = 16
LABEL_SHARE = 0.42
BAR = (46, 110, 142)
TEXT = (30, 30, 30)
MUTED = (110, 110, 110)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
         width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def bar_chart(chart: Table, path: Path, k: int) -> None:
    """Horizontal bars, one per cell, largest first (the table's own order)."""
    title_font, font = _font(18), _font(14)
    height = MARGIN * 3 + 24 + ROW * max(len(chart.cells), 1)
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN, MARGIN), f"{chart.title} (n = {chart.base})", fill=TEXT, font=title_font)
    label_width = int(WIDTH * LABEL_SHARE)
    bar_left = MARGIN + label_width + 8
    bar_room = WIDTH - bar_left - 110
    largest = max((c.count or 0 for c in chart.cells), default=0) or 1
    top = MARGIN * 2 + 24
    for index, item in enumerate(chart.cells):
        y = top + index * ROW
        draw.text((MARGIN, y + 6), _fit(draw, item.label, font, label_width), fill=TEXT,
                  font=font)
        if item.count is None:
            draw.text((bar_left, y + 6), f"fewer than {k}", fill=MUTED, font=font)
            continue
        length = int(bar_room * item.count / largest)
        if length:
            draw.rectangle((bar_left, y + 4, bar_left + length, y + ROW - 6), fill=BAR)
        shown = f"{item.count}" + (f" ({item.share:.0%})" if item.share is not None else "")
        draw.text((bar_left + length + 6, y + 6), shown, fill=TEXT, font=font)
    image.save(path, format="PNG", optimize=True)
