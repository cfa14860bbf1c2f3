"""Who may be exported at all, and whose words may be quoted.

Only people whose recorded consent says yes to every required item (taking part, being an
adult) are exported; a consent that names none of the required items (an unknown consent
text) is not trusted. Free text enters the quotable column only for people who said yes to
being quoted. People who withdrew with /delete are not in the database at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.flow import ConsentText
from storage.reader import Consent

QUOTE_ITEM = "quote"  # the optional consent item of bot/flows/consent.toml


@dataclass(frozen=True)
class ConsentPolicy:
    required: frozenset[str]
    quote_item: str = QUOTE_ITEM

    @classmethod
    def from_text(cls, text: ConsentText) -> ConsentPolicy:
        return cls(frozenset(i.id for i in text.items if i.kind in ("required", "age_gate")))

    def admits(self, consent: Consent | None) -> bool:
        if consent is None:
            return False
        known = self.required & consent.items.keys()
        return bool(known) and all(consent.items[item] for item in known)

    def may_quote(self, consent: Consent | None) -> bool:
        return consent is not None and consent.items.get(self.quote_item) is True
