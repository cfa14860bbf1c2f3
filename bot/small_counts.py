"""The one rule for publishing a count of people, shared by every figure anyone outside the
research team may see: the report, the export's disclosure report and field workers' `/stats`.

A count is shown only when it is at least k. Zero is a count like any other and is hidden
too: whoever knows who was there (a field worker who brought one person to a link, an
employer who knows a worker took part) learns as much from "nobody" as from "one person".
"""

from __future__ import annotations


def publishable(count: int, k: int) -> bool:
    """With k = 1 nothing is hidden (a zero "below 1" could only be zero)."""
    return count >= k or k <= 1


def shown(count: int, k: int) -> str:
    """The count, or "fewer than k" (zero included)."""
    return str(count) if publishable(count, k) else f"fewer than {k}"


def shown_short(count: int, k: int) -> str:
    """The same rule for narrow tables: the count, or "<k"."""
    return str(count) if publishable(count, k) else f"<{k}"
