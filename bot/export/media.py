"""Media answers (voice notes, photos) as files in the export folder, metadata removed.

Files are named by export pseudonym and question (`media/T-MKQXRBTNHAP_wages_story.ogg`),
never by anything the person or their phone chose. A file whose format cannot be cleaned
with confidence is left out and reported.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.export.metadata import Unsupported, clean

FOLDER = "media"
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


class MediaWriter:
    def __init__(self, out_dir: Path) -> None:
        self.folder = out_dir / FOLDER
        self.written = 0
        self.skipped = 0

    def save(self, export_id: str, question_id: str, mime_type: str, data: bytes
             ) -> tuple[str | None, str]:
        try:
            cleaned = clean(mime_type, data)
        except Unsupported as exc:
            self.skipped += 1
            return None, str(exc)
        self.folder.mkdir(mode=0o700, exist_ok=True)
        name = f"{_SAFE.sub('_', export_id)}_{_SAFE.sub('_', question_id)}.{cleaned.extension}"
        (self.folder / name).write_bytes(cleaned.data)
        self.written += 1
        return f"{FOLDER}/{name}", ""
