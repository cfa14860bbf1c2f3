"""Funnel counts of people, not of sessions, kept in memory only.

The engine counts each funnel step once per session. Someone who declines, starts again and
declines again would count twice, and one account could so pad a link's cell up to the mask
threshold and then read off what the next person did. So a step is counted once per person
and link: remembered here as keyed tags (never the person's id), in memory only - writing
"this person went through this link" to disk is exactly what a seized server must not show.
After a restart the memory is empty, so a person can count twice across a restart.
"""

from __future__ import annotations

from collections import OrderedDict

from storage.server_keys import ServerKeys

REMEMBERED = 200_000  # (person, link, step) tags; the oldest are forgotten first


class PeopleCounted:
    def __init__(self, keys: ServerKeys, remembered: int = REMEMBERED) -> None:
        self._keys = keys
        self._remembered = remembered
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def first_time(self, respondent: bytes, link: str | None, metric: str) -> bool:
        """True the first time this person reaches this step through this link."""
        tag = self._keys.tag("counted", respondent.hex(), link or "", metric)
        if tag in self._seen:
            self._seen.move_to_end(tag)
            return False
        self._seen[tag] = None
        if len(self._seen) > self._remembered:
            self._seen.popitem(last=False)
        return True
