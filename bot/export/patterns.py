"""Identifiers with a shape: e-mails, URLs and handles, ID-like codes, long numbers.

Every run of six or more digits is redacted: as a phone number when `phones` says it is one
for the person's regions, otherwise as an ID (passports, IBANs, IMEIs, cards, residence
permits, dates). Shorter numbers (years, ages, amounts) stay. The only long numbers kept are
amounts written with thousands separators next to a currency ("1,500,000 pesos").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from bot.export.spans import Kind, Span, key_for

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# "maria dot santos at gmail dot com" and similar ways of dodging spam filters. A written
# "." counts only inside a word ("home.com"), so "I was at work. Then..." is not an address.
_DOT = (r"(?:\.(?=\w)|\s*(?:\(dot\)|\[dot\]|\{dot\})\s*|"
        r"\s(?:dot|punto|point|titik|tuldok)\s)")
_AT = r"\s*(?:\(at\)|\[at\]|\{at\}|\s(?:at|arroba|arobase)\s)\s*"
EMAIL_SPOKEN = re.compile(
    rf"(?<![\w+-])[\w+-]+(?:{_DOT}[\w+-]+)*{_AT}[\w-]+(?:{_DOT}(?-i:[a-z]{{2,}}))+",
    re.IGNORECASE)
URL = re.compile(r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"'\]\[]+", re.IGNORECASE)
_TLD = (r"com|org|net|info|biz|io|me|co|ly|gl|app|page|site|online|link|xyz|edu|gov|int|"
        r"[a-z]{2}")
# Bare domains (t.me/name, wa.me/123, example.com). The top-level domain must be lower case,
# so a missing space after a full stop ("tired.My boss") is not taken for one.
DOMAIN = re.compile(rf"\b[\w-]+(?:\.[\w-]+)*\.(?:{_TLD})\b(?:/[^\s<>\"']*)?")
# A domain written in capitals ("T.ME/NAME") is a link when a path follows it.
DOMAIN_WITH_PATH = re.compile(rf"(?i)\b[\w-]+(?:\.[\w-]+)*\.(?:{_TLD})/[^\s<>\"']+")
# Handles may hold dots inside (Instagram: "@golden.pitafa"), never at the end.
HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_]|\.(?=[A-Za-z0-9_])){2,31}"
                    r"(?![A-Za-z0-9_])")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
# Codes mixing letters and digits: passports (P1234567), residence permits, plates, tickets.
ALNUM_CODE = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[^\W\d_])[^\W_][\w-]{4,}[^\W_](?![\w-])")
DIGIT_RUN = re.compile(r"(?<![\w+(])(?:\(\+|\+\(|\+|\()?\d(?:[ \t.\-/()]{0,3}\d){5,}\)?(?!\w)")
GROUPED_AMOUNT = re.compile(r"\d{1,3}(?:([.,' \u00a0])\d{3})(?:\1\d{3})*(?:[.,]\d{1,2})?")
YEAR_RANGE = re.compile(r"(?:19|20)\d\d\s*[-–/]\s*(?:19|20)\d\d")
CURRENCY = re.compile(
    r"[$€£¥₱₹৳₦₨﷼]|\b(?:usd|eur|gbp|aed|sar|qar|kwd|omr|bhd|hkd|sgd|myr|php|idr|npr|inr|bdt|"
    r"lkr|kes|ngn|ghs|mxn|cop|dollars?|dólares?|euros?|pesos?|dirhams?|riyals?|rials?|"
    r"dinars?|rupees?|rupiah|ringgit|taka|naira|shillings?|cedis?|soles|reais|bolívares?|"
    r"francs?|lira|pounds?|yuan|won|baht|dong|birr|salary|sahod|gaji|sueldo|salario|salaire)\b",
    re.IGNORECASE,
)
ID_CONTEXT = re.compile(
    r"\b(?:passport|pasaporte|passeport|passaporte|paspor|pasport|id|iqama|visa|permit|"
    r"card|tarjeta|carte|cartão|kartu|ktp|nie|nif|dni|curp|cnic|nid|license|licence|"
    r"ticket|account|cuenta|compte|rekening|iban|imei|serial|reference|contract)\b",
    re.IGNORECASE,
)
_TIME = r"\d{1,2}(?:[:.]\d\d)?(?:am|pm|h)"
CLOCK_TIMES = re.compile(rf"(?i){_TIME}(?:-{_TIME})?")
ALLOWED_CODES = frozenset({"covid-19", "covid19", "sars-cov-2", "h1n1", "mp3", "mp4", "4g",
                           "5g", "g20", "g7"})

PhoneTest = Callable[[str], bool]


def find_emails(text: str) -> Iterator[Span]:
    for pattern, rule in ((EMAIL, "email"), (EMAIL_SPOKEN, "email-spelled")):
        for m in pattern.finditer(text):
            yield Span(m.start(), m.end(), Kind.EMAIL, rule, key_for(Kind.EMAIL, m.group()))


def find_urls(text: str) -> Iterator[Span]:
    for pattern, rule in ((URL, "url"), (DOMAIN, "domain"), (DOMAIN_WITH_PATH, "domain"),
                          (HANDLE, "handle")):
        for m in pattern.finditer(text):
            end = m.end()
            while end > m.start() + 1 and text[end - 1] in ".,;:!?)":  # sentence punctuation
                end -= 1
            yield Span(m.start(), end, Kind.URL, rule, key_for(Kind.URL, text[m.start():end]))


def iban_valid(value: str) -> bool:
    """ISO 13616 mod-97 check."""
    compact = value.replace(" ", "").upper()
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return len(compact) >= 15 and int(digits) % 97 == 1


def luhn_valid(digits: str) -> bool:
    """The Luhn check used by IMEIs and payment cards."""
    total = 0
    for index, ch in enumerate(reversed(digits)):
        value = int(ch)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def find_codes(text: str) -> Iterator[Span]:
    for m in IBAN.finditer(text):
        rule = "iban" if iban_valid(m.group()) else "iban-shaped"
        yield Span(m.start(), m.end(), Kind.ID, rule, key_for(Kind.ID, m.group()))
    for m in ALNUM_CODE.finditer(text):
        if m.group().casefold() in ALLOWED_CODES or CLOCK_TIMES.fullmatch(m.group()):
            continue  # "COVID-19", "6am-10pm"
        yield Span(m.start(), m.end(), Kind.ID, "code", key_for(Kind.ID, m.group()))


def _near(pattern: re.Pattern[str], text: str, start: int, end: int, reach: int) -> bool:
    return bool(pattern.search(text[max(0, start - reach):start])
                or pattern.search(text[end:end + reach]))


# Five digits are too few to be redacted everywhere (amounts, years with a digit more), but
# after these words they are an extension, a short phone number, a room or a flat.
SHORT_NUMBER = re.compile(
    r"(?i)\b(?:(call|phone|tel|telephone|ext|extension|whatsapp|viber|imo|mobile|cell)|"
    r"(number|num|no|room|apartment|apt|flat|unit|house|block|building|bldg|villa|dorm|"
    r"bed|door|gate|plot|lot))\b[.:#\s-]{0,3}(\d{5})(?![\d,.]\d|\w)")


def find_short_numbers(text: str) -> Iterator[Span]:
    for m in SHORT_NUMBER.finditer(text):
        kind = Kind.PHONE if m.group(1) else Kind.ID
        rule = "short-phone" if m.group(1) else "short-number"
        yield Span(m.start(3), m.end(3), kind, rule, key_for(kind, m.group(3)))


def find_numbers(text: str, is_phone: PhoneTest) -> Iterator[Span]:
    for m in DIGIT_RUN.finditer(text):
        value = m.group()
        start, end = m.start(), m.end()
        while end > start and not value[end - start - 1].isdigit():  # trailing ")" or "-"
            end -= 1
        value = text[start:end]
        if YEAR_RANGE.fullmatch(value):
            continue
        if GROUPED_AMOUNT.fullmatch(value) and _near(CURRENCY, text, start, end, 16):
            continue
        digits = "".join(ch for ch in value if ch.isdigit())
        if len(digits) in (15, 16, 19) and digits.isascii() and luhn_valid(digits):
            rule = "imei-or-card"
        elif ID_CONTEXT.search(text[max(0, start - 24):start]) and not value.startswith("+"):
            rule = "id-number"
        elif is_phone(value):
            yield Span(start, end, Kind.PHONE, "phone", key_for(Kind.PHONE, value))
            continue
        else:
            rule = "long-number"
        yield Span(start, end, Kind.ID, rule, key_for(Kind.ID, value))
