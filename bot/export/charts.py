"""Bar charts as PNG files (Pillow), for report writers to paste into a document.

Pillow is already needed to clean photos, draws text with its built-in font, and writes a
small PNG: far lighter than a plotting library for a few bar charts. Each label sits on its
own line above its bar, so a chart stays readable when a phone shrinks it to a third. Hidden
cells get no bar: a cell hidden to protect others says "hidden", and the small ones share
one line ("9 more, each fewer than 5"), as the table beside the chart lists them.

Every chart comes with an alternative text that says what the chart shows, value by value,
for people who cannot see it and for documents that drop images.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from bot.export.summary import Cell, Hidden, Table

WIDTH = 600
MARGIN = 20
LABEL = 24
BAR = 24
GAP = 18
BAR_COLOUR = (46, 110, 142)
TEXT = (30, 30, 30)
MUTED = (95, 95, 95)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
         width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _wrap(draw: ImageDraw.ImageDraw, text: str,
          font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    """At most two lines; the second is cut with an ellipsis if it is still too long."""
    words = text.split()
    first = ""
    while words and draw.textlength((first + " " + words[0]).strip(), font=font) <= width:
        first = (first + " " + words.pop(0)).strip()
    if not words:
        return [first]
    return [first, _fit(draw, " ".join(words), font, width)] if first else [
        _fit(draw, text, font, width)]


def cell_text(cell: Cell, k: int) -> str:
    """A cell as the report writes it: "12 (40%)", "fewer than 5" or "hidden"."""
    if cell.hidden is Hidden.SMALL:
        return f"fewer than {k}"
    if cell.hidden is Hidden.PROTECTS or cell.count is None:
        return "hidden"
    return f"{cell.count}" + (f" ({cell.share:.0%})" if cell.share is not None else "")


def alt_text(chart: Table, k: int) -> str:
    values = "; ".join(f"{c.label}: {cell_text(c, k)}" for c in chart.cells)
    return f"Bar chart, {chart.title} (answered by {chart.base}). {values}."


def bar_chart(chart: Table, path: Path, k: int) -> None:
    """Horizontal bars, one per cell, in the table's own order."""
    title_font, font = _font(26), _font(LABEL - 2)
    row = LABEL + 4 + BAR + GAP
    shown = [c for c in chart.cells if c.hidden is not Hidden.SMALL]
    small = len(chart.cells) - len(shown)
    room = WIDTH - 2 * MARGIN
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    title = _wrap(measure, f"{chart.title} (n = {chart.base})", title_font, room)
    top = MARGIN + 34 * len(title) + 10
    height = top + MARGIN + row * max(len(shown), 1) + (LABEL * 2 if small else 0)
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(title):
        draw.text((MARGIN, MARGIN + 34 * index), line, fill=TEXT, font=title_font)
    largest = max((c.count or 0 for c in chart.cells), default=0) or 1
    bar_room = room - 130
    for index, item in enumerate(shown):
        y = top + index * row
        draw.text((MARGIN, y), _fit(draw, item.label, font, room), fill=TEXT, font=font)
        y += LABEL + 4
        if item.count is None:
            draw.text((MARGIN, y), cell_text(item, k), fill=MUTED, font=font)
            continue
        length = int(bar_room * item.count / largest)
        if length:
            draw.rectangle((MARGIN, y, MARGIN + length, y + BAR - 4), fill=BAR_COLOUR)
        draw.text((MARGIN + length + 8, y), cell_text(item, k), fill=TEXT, font=font)
    if small:  # one line instead of a row each: the table beside the chart names them
        draw.text((MARGIN, top + len(shown) * row),
                  _fit(draw, f"{small} more, each fewer than {k}: see the table", font, room),
                  fill=MUTED, font=font)
    image.save(path, format="PNG", optimize=True)
