"""Making cell values safe for spreadsheets.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by
Excel, LibreOffice and Google Sheets (CWE-1236, "CSV injection"): a testimony could then
fetch a URL or run a command on the researcher's computer. Such text gets a leading `'`,
which spreadsheets show as plain text. Full-width look-alikes are treated the same way.
Numbers are written as numbers and need no guard.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Characters XML 1.0 cannot hold at all (used by the XLSX and QDPX writers).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def neutralize(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell(value: str | int) -> str | int:
    return value if isinstance(value, int) else neutralize(value)


def xml_text(value: str) -> str:
    return _XML_ILLEGAL.sub("", value)
