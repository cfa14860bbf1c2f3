"""A font that can draw a QR caption in the link's language, from the fonts installed.

Pillow's built-in font has Latin letters only; a caption in Amharic or Burmese needs a font
with those scripts (the Noto families cover them: `apt-get install fonts-noto-core`). Fonts
are looked for where Linux and macOS keep them, preferring Noto Sans, then DejaVu Sans.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"),
             Path.home() / ".local/share/fonts", Path.home() / ".fonts",
             Path("/Library/Fonts"), Path("/System/Library/Fonts"))
NEVER_A_GLYPH = "\U0010fffd"  # a private-use code point: what a font draws for a missing one
Font = ImageFont.FreeTypeFont


def _preference(path: Path) -> tuple[int, str]:
    name = path.name
    if name.startswith("NotoSans") and "Regular" in name and "Mono" not in name:
        rank = 0 if name == "NotoSans-Regular.ttf" else 1
    elif name == "DejaVuSans.ttf":
        rank = 2
    elif "Sans" in name and "Bold" not in name and "Italic" not in name:
        rank = 3
    else:
        rank = 4
    return rank, name


@lru_cache(maxsize=1)
def installed_fonts() -> tuple[Path, ...]:
    found = {path for folder in FONT_DIRS if folder.is_dir()
             for pattern in ("*.ttf", "*.otf") for path in folder.rglob(pattern)}
    return tuple(sorted(found, key=_preference))


@lru_cache(maxsize=256)
def _load(path: Path, size: int) -> Font | None:
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:
        return None


def covers(font: Font, text: str) -> bool:
    """Whether `font` has a glyph for every letter of `text` (not its "missing" box)."""
    missing = font.getmask(NEVER_A_GLYPH)
    missing_box = (missing.size, bytes(missing))
    for char in set(text) - set(" \u00a0"):
        mask = font.getmask(char)
        if (mask.size, bytes(mask)) == missing_box:
            return False
    return True


def font_for(text: str, size: int) -> Font | None:
    """The preferred installed font that draws all of `text`, or None if there is none."""
    for path in installed_fonts():
        font = _load(path, size)
        if font is not None and covers(font, text):
            return font
    return None
