"""XLSX: the same two tables as the CSV files, as sheets "Testimonies" and "Answers".

Written by hand (SpreadsheetML is a zip of small XML files) rather than with openpyxl, whose
write-only mode spools every sheet into temporary files in the system temp folder: plaintext
outside `--out`, which the export must never leave. Here the first sheet streams straight into
the zip entry and the second into a spill file inside the export folder, removed at the end.
Strings are inline (no shared-string table growing in memory); text cells carry the same
formula-injection guard as the CSV.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

from bot.export.cells import cell, xml_text
from bot.export.model import LONG_COLUMNS, ExportRecord, Layout

FILE = "testimonies.xlsx"
EXCEL_CELL_LIMIT = 32_767
_TRUNCATED = " [... cut: longer than a spreadsheet cell holds; see the CSV or JSONL file]"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_HEAD = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}">'
         '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
         'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>')
_TAIL = "</sheetData></worksheet>"
_STATIC = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet2.xml" ContentType="{_CT}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/></Types>'),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
        f'xmlns="{_PKG_REL}"><Relationship Id="rId1" Type="{_REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" '
        f'xmlns:r="{_REL}"><sheets><sheet name="Testimonies" sheetId="1" r:id="rId1"/>'
        '<sheet name="Answers" sheetId="2" r:id="rId2"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
        f'xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/worksheet" Target="worksheets/sheet2.xml"/>'
        f'<Relationship Id="rId3" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'),
    "xl/styles.xml": (  # style 0: normal; style 1: bold header; style 2: wrapped text
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_MAIN}">'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        '</cellStyleXfs><cellXfs count="2">'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
        '</cellStyles></styleSheet>'),
}


def column_name(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def row_xml(number: int, values: Sequence[str | int], style: int = 0) -> str:
    cells = []
    for index, raw in enumerate(values):
        ref = f"{column_name(index)}{number}"
        value = cell(raw)
        styled = f' s="{style}"' if style else ""
        if isinstance(value, int):
            cells.append(f'<c r="{ref}"{styled}><v>{value}</v></c>')
            continue
        if value == "":
            continue
        text = xml_text(value)
        if len(text) > EXCEL_CELL_LIMIT:
            text = text[:EXCEL_CELL_LIMIT - len(_TRUNCATED)] + _TRUNCATED
        cells.append(f'<c r="{ref}"{styled} t="inlineStr"><is><t xml:space="preserve">'
                     f'{escape(text)}</t></is></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'


class XlsxWriter:
    def __init__(self, out_dir: Path, layout: Layout) -> None:
        self.layout = layout
        self.path = out_dir / FILE
        self._spill_path = out_dir / ".answers-sheet.partial"
        self._zip = zipfile.ZipFile(self.path, "w", compression=zipfile.ZIP_DEFLATED)
        for name, content in _STATIC.items():
            self._zip.writestr(name, content)
        self._sheet: IO[bytes] = self._zip.open("xl/worksheets/sheet1.xml", "w",
                                                force_zip64=True)
        self._spill: IO[bytes] = self._spill_path.open("wb")
        self._rows, self._long_rows = 1, 1
        self._sheet.write((_HEAD + row_xml(1, layout.wide_columns, 1)).encode())
        self._spill.write((_HEAD + row_xml(1, LONG_COLUMNS, 1)).encode())

    def write(self, record: ExportRecord) -> None:
        self._rows += 1
        self._sheet.write(row_xml(self._rows, self.layout.wide_row(record)).encode())
        for values in self.layout.long_rows(record):
            self._long_rows += 1
            self._spill.write(row_xml(self._long_rows, values).encode())

    def close(self) -> None:
        self._sheet.write(_TAIL.encode())
        self._sheet.close()
        self._spill.write(_TAIL.encode())
        self._spill.close()
        try:
            with self._spill_path.open("rb") as spill, \
                    self._zip.open("xl/worksheets/sheet2.xml", "w", force_zip64=True) as sheet:
                shutil.copyfileobj(spill, sheet)
            self._zip.close()
        finally:
            self._spill_path.unlink(missing_ok=True)
