"""Is this run of digits a phone number in one of the person's countries? (phonenumbers)

`phonenumbers` knows every country's numbering plan. A number written with `+` is checked on
its own; a national number ("0917 123 4567") only makes sense for a country, so it is tried
against the countries of the person's regions (origin and where they live) and any the
deployment adds. Anything not recognised is still redacted, as an ID.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers


class PhoneTest:
    def __init__(self, regions: tuple[str, ...]) -> None:
        self.regions = regions

    def __call__(self, value: str) -> bool:
        compact = value.strip().lstrip("(")  # "(+44) 7700 900123"
        if compact.startswith(("+", "00")):
            return _possible(compact if compact.startswith("+") else "+" + compact[2:], None)
        return any(_possible(compact, region) for region in self.regions)


@lru_cache(maxsize=4096)
def _possible(value: str, region: str | None) -> bool:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_possible_number(number))
