"""Each step of the anonymization chain on its own: bidi cleaning, pseudonyms, redaction,
k-anonymity, consent, filters, cell guards, metadata cleaning, progress."""

from __future__ import annotations

import io
import re
import struct

import pytest
from PIL import Image, PngImagePlugin

from bot.export import bidi
from bot.export.cells import cell, neutralize, xml_text
from bot.export.consent import ConsentPolicy
from bot.export.kanon import SUPPRESSED, QuasiIdentifier, anonymize
from bot.export.metadata import Unsupported, clean, clean_mp3, clean_ogg
from bot.export.names import NameFinder
from bot.export.patterns import iban_valid, luhn_valid
from bot.export.progress import Progress
from bot.export.pseudonyms import ExportPseudonyms
from bot.export.records import QUASI_NAMES, quasi_identifiers, quasi_row
from bot.export.redaction import Numbering, Redactor
from bot.export.selection import Selection
from bot.export.xlsx_writer import column_name
from bot.flow import load_consent
from storage import reader
from tests.export_support import FLOWS, _ogg_crc, jpeg_with_exif, ogg_opus

# -- bidi -------------------------------------------------------------------------------------


def test_bidi_controls_and_hidden_characters_are_removed() -> None:
    text = "a\u202eb\u2066c\u2069d\u200fe\u061cf\u200bg\ufeffh\u00adi\u2060j"
    assert bidi.clean(text) == "abcdefghij"


def test_zero_width_joiners_are_kept_for_persian_and_kurdish() -> None:
    persian = "نمی\u200cخواهم"
    assert bidi.clean(persian) == persian
    assert bidi.clean("क्\u200dष") == "क्\u200dष"


def test_unicode_line_separators_become_newlines() -> None:
    assert bidi.clean("one\u2028two\u2029three") == "one\ntwo\nthree"


# -- pseudonyms -------------------------------------------------------------------------------


def test_pseudonyms_are_stable_within_an_export_and_differ_between_exports() -> None:
    first, second = ExportPseudonyms.fresh(), ExportPseudonyms.fresh()
    person = b"\x01" * 32
    assert first.of(person) == first.of(person)
    assert first.of(person) != second.of(person)
    assert re.fullmatch(r"T-[A-HJKMNP-TV-Z]{11}", first.of(person))  # never digits
    assert first.of(person) != first.of(b"\x02" * 32)


def test_stable_pseudonyms_follow_the_private_key() -> None:
    person = b"\x07" * 32
    assert (ExportPseudonyms.stable(b"k" * 32).of(person)
            == ExportPseudonyms.stable(b"k" * 32).of(person))
    assert (ExportPseudonyms.stable(b"k" * 32).of(person)
            != ExportPseudonyms.stable(b"j" * 32).of(person))
    assert "k" * 8 not in repr(ExportPseudonyms.stable(b"k" * 32))
    with pytest.raises(ValueError, match="32 bytes"):
        ExportPseudonyms(b"short")


# -- redaction --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(NameFinder())


def redact(redactor: Redactor, text: str, regions: tuple[str, ...] = ()) -> str:
    return redactor.redact("q", text, regions, Numbering()).text


@pytest.mark.parametrize(("text", "regions", "expected"), [
    ("Call +63 917 123 4567 now", (), "Call [PHONE-1] now"),
    ("Call 0917 123 4567 now", ("asia_southeast",), "Call [PHONE-1] now"),
    ("Call 050 123 4567 now", ("asia_central_west",), "Call [PHONE-1] now"),
    ("رقمي ٠٥٠١٢٣٤٥٦٧ شكرا", ("asia_central_west",), "رقمي [PHONE-1] شكرا"),
    ("ring (+44) 7700 900123.", (), "ring [PHONE-1]."),
    ("whatsapp 00971501234567", (), "whatsapp [PHONE-1]"),
    ("Call 55 1234 5678 now", ("latin_america_caribbean",), "Call [PHONE-1] now"),
    ("Call 0712 345678 now", ("africa_east",), "Call [PHONE-1] now"),
])
def test_phone_numbers_in_national_and_international_formats(
        redactor: Redactor, text: str, regions: tuple[str, ...], expected: str) -> None:
    assert redact(redactor, text, regions) == expected


def test_a_national_number_of_another_region_is_still_hidden(redactor: Redactor) -> None:
    assert re.fullmatch(r"Call \[(PHONE|ID)-1\] now",
                        redact(redactor, "Call 0917 123 4567 now", ("oceania",)))
    assert redact(redactor, "ref 98765432100 ok", ()) == "ref [ID-1] ok"


@pytest.mark.parametrize(("text", "expected"), [
    ("write to maria.santos+work@mail.example.com today", "write to [EMAIL-1] today"),
    ("maria dot santos at gmail dot com", "[EMAIL-1]"),
    ("see https://example.org/path?a=1, then", "see [URL-1], then"),
    ("my page www.example.net.", "my page [URL-1]."),
    ("message t.me/mariasantos or wa.me/639171234567", "message [URL-1] or [URL-2]"),
    ("my telegram is @maria_s123", "my telegram is [URL-1]"),
])
def test_emails_urls_and_handles(redactor: Redactor, text: str, expected: str) -> None:
    assert redact(redactor, text) == expected


def test_id_numbers_with_and_without_checksums(redactor: Redactor) -> None:
    result = redactor.redact(
        "q", "passport P1234567A, iban GB82 WEST 1234 5698 7654 32, imei 490154203237518, "
        "permit no. 88123456", (), Numbering())
    assert result.text == "passport [ID-1], iban [ID-2], imei [ID-3], permit no. [ID-4]"
    rules = [n.rule for n in result.notes]
    assert rules[0] == "code" and "iban" in rules[1].split("+")
    assert rules[2:] == ["imei-or-card", "id-number"]
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB83WEST12345698765432")
    assert luhn_valid("490154203237518") and not luhn_valid("490154203237519")


@pytest.mark.parametrize("text", [
    "I came in 2019 and worked from 2015-2019.",
    "They paid 500 dollars, then 1,500,000 pesos, then 1.200.000 rupiah.",
    "I am 34 and have 3 children.",
    "Many of us got COVID-19 in March.",
    "We worked 6am-10pm, and on Sundays 7:30am-11pm.",
])
def test_years_amounts_and_small_numbers_stay(redactor: Redactor, text: str) -> None:
    assert redact(redactor, text) == text


def test_names_and_places_from_lists_in_any_case_accent_and_script(redactor: Redactor) -> None:
    assert redact(redactor, "my friend jose and maría") == "my friend [NAME-1] and [NAME-2]"
    assert redact(redactor, "I worked in addis ababa") == "I worked in [PLACE-1]"
    assert redact(redactor, "عملت بدبي مع فاطمة") == "عملت [PLACE-1] مع [NAME-1]"
    assert redact(redactor, "نمی\u200cخواهم با فاطمه") == "نمی\u200cخواهم با [NAME-1]"
    assert redact(redactor, "मेरी मालकिन सीता थी।") == "मेरी मालकिन [NAME-1] थी।"


def test_everyday_words_that_are_names_only_when_capitalised(redactor: Redactor) -> None:
    assert redact(redactor, "by the grace of god") == "by the grace of god"
    assert redact(redactor, "and then Grace left") == "and then [NAME-1] left"
    assert redact(redactor, "Sana po ay may tulong. Lima taon.") == (
        "Sana po ay may tulong. Lima taon.")


def test_capitalised_words_are_taken_for_names_or_places(redactor: Redactor) -> None:
    assert redact(redactor, "My boss Mr Okafor sent me to Zamboanga.") == (
        "My boss Mr [NAME-1] sent me to [PLACE-1].")
    assert redact(redactor, "When I arrived, Bertolt Brecht met me.") == (
        "When I arrived, [NAME-1] met me.")
    assert redact(redactor, "Kuya said it is fine. In January we left.") == (
        "Kuya said it is fine. In January we left.")


def test_text_in_capitals_is_flagged_for_review(redactor: Redactor) -> None:
    result = redactor.redact("q", "MY EMPLOYER NEVER PAID ME AND SHE KEPT MY PAPERS", (),
                             Numbering())
    assert result.text == "MY EMPLOYER NEVER PAID ME AND SHE KEPT MY PAPERS"
    assert [(n.placeholder, n.kind) for n in result.notes] == [("", "REVIEW")]


def test_placeholders_are_numbered_per_testimony(redactor: Redactor) -> None:
    numbering = Numbering()
    first = redactor.redact("a", "Call +63 917 123 4567 or +63 917 765 4321", (), numbering)
    second = redactor.redact("b", "again: 0917 123 4567, Maria", ("asia_southeast",), numbering)
    assert first.text == "Call [PHONE-1] or [PHONE-2]"
    assert second.text == "again: [PHONE-1], [NAME-1]"
    assert [n.position for n in first.notes] == [5, 18]


def test_text_that_looks_like_a_placeholder_is_defused(redactor: Redactor) -> None:
    result = redactor.redact("q", "see [NAME-1] here", (), Numbering())
    # Not passed off as one of ours: every placeholder in the text is one we counted.
    assert result.text.count("[") == len(result.notes) == 1


def test_configured_lists_add_names_places_and_allowed_words() -> None:
    custom = Redactor(NameFinder(names=["zorro"], places=["Little Manila"],
                                 allowed=["Bayanihan"]))
    text = "zorro lived near little manila; Bayanihan helped"
    assert redact(custom, text) == "[NAME-1] lived near [PLACE-1]; Bayanihan helped"


def test_adjacent_names_become_one_placeholder(redactor: Redactor) -> None:
    result = redactor.redact("q", "ask Maria Dela Cruz-Reyes", (), Numbering())
    assert result.text == "ask [NAME-1]"


@pytest.mark.parametrize("separator", ["\u00a0", "\u202f", "\u2013", "\u2011", "\u060c",
                                       "\u2009", "\u2012", "\uff0d"])
def test_phone_groups_split_by_unusual_spaces_dashes_and_commas(
        redactor: Redactor, separator: str) -> None:
    """No-break and narrow no-break spaces, en dashes, non-breaking hyphens, Arabic commas."""
    text = f"Call +63{separator}917{separator}123{separator}4567 now"
    assert redact(redactor, text) == "Call [PHONE-1] now"
    assert redact(redactor, f"رقمي ٠٥٠{separator}١٢٣{separator}٤٥٦٧ شكرا",
                  ("asia_central_west",)) == "رقمي [PHONE-1] شكرا"


@pytest.mark.parametrize(("text", "expected"), [
    ("find me @golden.pitafa on instagram", "find me [URL-1] on instagram"),
    ("my account @golden.pitafa.", "my account [URL-1]."),
    ("write T.ME/MariaSantos now", "write [URL-1] now"),
    ("or WA.ME/639171234567", "or [URL-1]"),
    ("mail maria.santos\uff20gmail.com please", "mail [EMAIL-1] please"),
    ("maria\uff0esantos\uff20gmail\uff0ecom", "[EMAIL-1]"),
])
def test_dotted_handles_upper_case_links_and_full_width_at_signs(
        redactor: Redactor, text: str, expected: str) -> None:
    assert redact(redactor, text) == expected


def test_surnames_in_capitals_are_names(redactor: Redactor) -> None:
    assert redact(redactor, "My employer was Maria SANTOS and her son") == (
        "My employer was [NAME-1] and her son")
    assert redact(redactor, "the agent, OKAFOR, took my passport") == (
        "the agent, [NAME-1], took my passport")
    # In text written all in capitals, a surname after a title is still found.
    shouted = redactor.redact("q", "I WORK FOR MR ZABALETA AND HE NEVER PAYS ME", (),
                              Numbering())
    assert shouted.text == "I WORK FOR MR [NAME-1] AND HE NEVER PAYS ME"
    assert [n.kind for n in shouted.notes] == ["NAME", "REVIEW"]


@pytest.mark.parametrize(("text", "expected"), [
    ("please call 81234 after six", "please call [PHONE-1] after six"),
    ("I lived in room 40312 of the dormitory", "I lived in room [ID-1] of the dormitory"),
    ("ext. 55123 or apartment 12045", "ext. [PHONE-1] or apartment [ID-1]"),
    ("I paid 15000 to the agency", "I paid 15000 to the agency"),
])
def test_five_digit_numbers_after_call_room_and_the_like(
        redactor: Redactor, text: str, expected: str) -> None:
    assert redact(redactor, text) == expected


def test_text_is_read_normalised_but_written_as_it_was(redactor: Redactor) -> None:
    """Matching sees NFKC text; what is not replaced keeps its own characters."""
    text = "ﬁne, call +63\u00a0917\u00a0123\u00a04567 — thanks"
    assert redact(redactor, text) == "ﬁne, call [PHONE-1] — thanks"


@pytest.mark.parametrize("text", [
    "قالت لي مدام ريم أن أبقى",  # Arabic
    "मेरी मालकिन कमला थी",  # Devanagari
    "አሰሪዬ ሰላማዊት ነበረች",  # Ethiopic
    "আমার মালিক রহিমা",  # Bengali
    "මගේ හාම්පුතා නිමල්",  # Sinhala
    "ကျွန်မ အလုပ်ရှင် ဒေါ်မြ",  # Burmese
])
def test_non_latin_script_is_flagged_for_a_full_reading(redactor: Redactor, text: str) -> None:
    result = redactor.redact("story", text, (), Numbering())
    flags = [n for n in result.notes if n.kind == "REVIEW"]
    assert [n.question_id for n in flags] == ["story"]
    assert "script" in flags[0].rule


@pytest.mark.parametrize("text", [
    "my employer zunaira never paid me",
    "Madam kelechukwu shouted at us",
    "the boss, tavita, kept the keys",
    "yes sir wendimagegn",
])
def test_lower_case_names_after_employer_madam_sir_boss_are_flagged(
        redactor: Redactor, text: str) -> None:
    result = redactor.redact("story", text, (), Numbering())
    flags = [n for n in result.notes if n.kind == "REVIEW"]
    assert len(flags) == 1 and "lower-case" in flags[0].rule


def test_ordinary_lower_case_text_is_not_flagged(redactor: Redactor) -> None:
    result = redactor.redact("story", "my employer never paid me and the boss was angry", (),
                             Numbering())
    assert not [n for n in result.notes if n.kind == "REVIEW"]


# -- k-anonymity ------------------------------------------------------------------------------

FIELDS = (QuasiIdentifier("gender"), QuasiIdentifier("age", {"18_24": "18_34", "25_34": "18_34"},
                                                      step=2),
          QuasiIdentifier("region", {"asia_south": "asia", "asia_east": "asia"}, step=1))


def test_k_anonymity_generalizes_rare_combinations_only() -> None:
    rows = [("w", "25_34", "asia_south")] * 3 + [("w", "18_24", "asia_east")] * 2
    rows += [("m", "25_34", "europe")] * 6
    final, report = anonymize(rows, FIELDS, k=5)
    assert final[:5] == [("w", "18_34", "asia")] * 5
    assert final[5:] == rows[5:]  # common combinations keep their detail
    assert report.rare_before == 5 and report.records_generalized == 5
    assert report.generalized == {"gender": 0, "age": 5, "region": 5}
    assert report.records_suppressed == 0 and report.smallest_group == 5


def test_still_rare_combinations_lose_fields_until_they_join_a_group() -> None:
    rows = [("w", "35_44", "europe")] * 5 + [("m", "35_44", "north")] * 3
    rows += [("m", "35_44", "south")] * 2
    final, report = anonymize(rows, FIELDS, k=5)
    assert final[5:] == [("m", "35_44", SUPPRESSED)] * 5  # the region alone goes
    assert report.suppressed == {"gender": 0, "age": 0, "region": 5}
    assert report.rare_after == 0 and report.smallest_group == 5


def test_a_suppressed_value_is_not_a_wildcard() -> None:
    # One man among five women: hiding only his gender would still single him out.
    rows = [("w", "35_44", "europe")] * 5 + [("m", "35_44", "europe")]
    final, report = anonymize(rows, FIELDS, k=5)
    assert final[-1] == (SUPPRESSED,) * 3
    assert report.rare_after == 1


def test_a_lone_record_ends_with_nothing_to_tell() -> None:
    rows = [("w", "25_34", "europe")] * 5 + [("m", "60_plus", "oceania")]
    final, report = anonymize(rows, FIELDS, k=5)
    assert final[-1] == (SUPPRESSED,) * 3
    assert report.records_suppressed == 1 and report.rare_after == 1
    assert "Still rarer than k" in "\n".join(report.lines())


def test_k_of_one_changes_nothing_and_missing_values_are_values() -> None:
    rows = [("", "", ""), ("w", "", "europe")]
    final, report = anonymize(rows, FIELDS, k=1)
    assert final == rows and report.records_generalized == report.records_suppressed == 0
    with pytest.raises(ValueError, match="k must be"):
        anonymize(rows, FIELDS, k=0)


def _person(language: str, answer_languages: tuple[str, ...] = (), *,
            started: str = "2026-10-05", themes: tuple[str, ...] = ("wages",)
            ) -> reader.Testimony:
    consent = reader.Consent("2026-11", language, "2026-10-05T00:00:00+00:00",
                             {"take_part": True, "adult": True})
    person = reader.Testimony(b"r" * 32, "c1", started, None, consent)
    profile = {"gender": "woman", "age_band": "25_34", "origin_region": "africa_east",
               "living_region": "europe", "sector": "care_domestic"}
    for index, (question, code) in enumerate(profile.items()):
        person.answers.append(reader.OpenedAnswer(
            question, "f", "1", started,
            {"kind": "choice", "value": [code],
             "language": (answer_languages[index] if index < len(answer_languages)
                          else language)}))
    person.answers.append(reader.OpenedAnswer(
        "themes", "f", "1", started,
        {"kind": "choice", "value": list(themes), "language": language}))
    return person


def test_every_released_column_is_a_quasi_identifier() -> None:
    """An Amharic speaker whose profile five others share is still alone: the language
    (and the language of each answer, the months, the themes...) is checked too."""
    assert QUASI_NAMES == ("gender", "age_band", "origin_region", "living_region", "sector",
                           "themes", "language", "complete", "started_month",
                           "completed_month", "campaign", "may_quote", "answer_languages",
                           "consent_version")
    people = [_person("en") for _ in range(5)] + [_person("am")]
    rows = [quasi_row(p, may_quote=False) for p in people]
    final, _ = anonymize(rows, quasi_identifiers(["2026-10"]), k=5)
    language = QUASI_NAMES.index("language")
    assert final[-1][language] == SUPPRESSED
    assert [row[language] for row in final[:5]] == ["en"] * 5
    switched = quasi_row(_person("en", ("en", "ar")), may_quote=True)
    assert switched[QUASI_NAMES.index("answer_languages")] == "ar"
    assert switched[QUASI_NAMES.index("themes")] == "wages"


def test_months_go_to_quarters_then_years() -> None:
    fields = quasi_identifiers(["2026-09", "2026-10", "2026-12"])
    started = fields[QUASI_NAMES.index("started_month")]
    assert started.levels == {1: {"2026-09": "2026-Q3", "2026-10": "2026-Q4",
                                  "2026-12": "2026-Q4"},
                              2: {"2026-Q3": "2026", "2026-Q4": "2026"}}


def test_detail_not_needed_for_k_is_given_back() -> None:
    """Records rare because of their sector lose region detail on the way; once the sector
    is suppressed, the group gets its regions back where every part still holds k."""
    rows = [("w", "25_34", "asia_south", f"sector{i}") for i in range(5)]
    rows += [("w", "25_34", "asia_east", f"other{i}") for i in range(5)]
    fields = (*FIELDS, QuasiIdentifier("sector"))
    final, report = anonymize(rows, fields, k=5)
    assert final == [("w", "25_34", "asia_south", SUPPRESSED)] * 5 + [
        ("w", "25_34", "asia_east", SUPPRESSED)] * 5
    assert report.generalized == {"gender": 0, "age": 0, "region": 0, "sector": 0}
    assert report.suppressed["sector"] == 10


# -- consent and filters ----------------------------------------------------------------------


def _testimony(items: dict[str, bool] | None, **kw: object) -> reader.Testimony:
    agreed_at = "2026-10-01T00:00:00+00:00"
    consent = reader.Consent("2026-11", "en", agreed_at, items) if items else None
    fields: dict[str, object] = {"campaign": "c1", "started_on": "2026-10-05",
                                 "completed_on": None}
    fields |= kw
    return reader.Testimony(b"r" * 32, consent=consent, **fields)  # type: ignore[arg-type]


def test_consent_policy_from_the_consent_text() -> None:
    policy = ConsentPolicy.from_text(load_consent(FLOWS / "consent.toml"))
    assert policy.required == {"take_part", "adult"}
    assert policy.admits(reader.Consent("v", "en", "t", {"take_part": True, "adult": True}))
    refused = {"take_part": True, "adult": False}
    assert not policy.admits(reader.Consent("v", "en", "t", refused))
    unknown = {"other": True}  # a consent text we do not know
    assert not policy.admits(reader.Consent("v", "en", "t", unknown))
    assert not policy.admits(None)
    assert policy.may_quote(reader.Consent("v", "en", "t", {"quote": True}))
    assert not policy.may_quote(reader.Consent("v", "en", "t", {"quote": False}))
    assert not policy.may_quote(reader.Consent("v", "en", "t", {}))


def test_selection_filters() -> None:
    t = _testimony({"take_part": True})
    assert Selection().admits(t, ())
    assert Selection(campaigns=frozenset({"c1"})).admits(t, ())
    assert not Selection(campaigns=frozenset({"c2"})).admits(t, ())
    assert Selection(themes=frozenset({"wages"})).admits(t, ("wages", "health"))
    assert not Selection(themes=frozenset({"wages"})).admits(t, ("health",))
    assert Selection(languages=frozenset({"en"})).admits(t, ())
    assert not Selection(languages=frozenset({"fr"})).admits(t, ())
    from datetime import date
    assert Selection(since=date(2026, 10, 5)).admits(t, ())
    assert not Selection(since=date(2026, 10, 6)).admits(t, ())
    assert not Selection(until=date(2026, 10, 4)).admits(t, ())
    assert not Selection(complete_only=True).admits(t, ())
    assert Selection(complete_only=True).admits(_testimony({}, completed_on="2026-10-06"), ())


# -- spreadsheet cells ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["=1+2", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "＝1"])
def test_formula_starts_are_neutralized(value: str) -> None:
    assert neutralize(value) == "'" + value


def test_plain_text_and_numbers_are_left_alone() -> None:
    assert neutralize("Paid 500") == "Paid 500"
    assert cell(-5) == -5
    assert xml_text("a\x00b\x1fc\n\td") == "abc\n\td"
    assert [column_name(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


# -- media metadata ---------------------------------------------------------------------------


def _ogg_pages(data: bytes) -> list[tuple[int, int, bytes, bytes]]:
    """(sequence, crc stored, crc computed, body) of every page."""
    pages = []
    offset = 0
    while offset < len(data):
        assert data[offset:offset + 4] == b"OggS"
        sequence, crc, count = struct.unpack_from("<IIB", data, offset + 18)
        laces = data[offset + 27:offset + 27 + count]
        size = 27 + count + sum(laces)
        page = bytearray(data[offset:offset + size])
        page[22:26] = b"\0\0\0\0"
        pages.append((sequence, crc, _ogg_crc(bytes(page)),
                      bytes(data[offset + 27 + count:offset + size])))
        offset += size
    return [(s, c, k, b) for s, c, k, b in pages]  # type: ignore[misc]


def test_ogg_opus_tags_are_emptied_and_audio_kept() -> None:
    original = ogg_opus(["ARTIST=Maria Santos", "LOCATION=Dubai"])
    cleaned = clean_ogg(original)
    assert b"Maria" not in cleaned and b"Dubai" not in cleaned and b"phone" not in cleaned
    pages = _ogg_pages(cleaned)
    assert all(stored == computed for _, stored, computed, _ in pages)
    assert [p[0] for p in pages] == list(range(len(pages)))
    assert [p[3] for p in pages][2:] == [p[3] for p in _ogg_pages(original)][2:]


def test_large_ogg_tags_spanning_pages_are_dropped_and_pages_renumbered() -> None:
    original = ogg_opus(["METADATA_BLOCK_PICTURE=" + "A" * 70_000, "ARTIST=Maria"])
    cleaned = clean_ogg(original)
    assert len(cleaned) < 1000
    pages = _ogg_pages(cleaned)
    assert all(stored == computed for _, stored, computed, _ in pages)
    assert [p[0] for p in pages] == list(range(len(pages)))


def test_damaged_or_foreign_ogg_is_refused() -> None:
    with pytest.raises(Unsupported):
        clean_ogg(b"OggS" + b"\0" * 10)
    with pytest.raises(Unsupported):
        clean("audio/ogg", ogg_opus([])[:60])


def _mp3_frame(fill: int, padding: int = 0) -> bytes:
    """MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417 bytes (418 with padding)."""
    header = bytes([0xFF, 0xFB, 0x90 | (padding << 1), 0x00])
    return header + bytes([fill]) * (413 + padding)


def _id3v2(text: bytes, footer: bool = False) -> bytes:
    body = b"TIT2" + struct.pack(">I", len(text) + 1) + b"\0\0" + b"\0" + text
    size = bytes([0, 0, len(body) >> 7, len(body) & 0x7F])
    head = b"ID3\x04\x00" + bytes([0x10 if footer else 0]) + size
    return head + body + (b"3DI\x04\x00\x10" + size if footer else b"")


def test_mp3_keeps_only_audio_frames() -> None:
    frames = [_mp3_frame(1), _mp3_frame(2, padding=1), _mp3_frame(3)]
    audio = b"".join(frames)
    id3v1 = b"TAG" + b"Maria Santos".ljust(125, b"\0")
    lyrics3 = b"LYRICSBEGIN" + b"IND00003110" + b"LYR00012Maria Santos" + b"000042LYRICS200"
    ape_items = struct.pack("<II", 12, 0) + b"Artist\0" + b"Maria Santos"
    ape_footer = b"APETAGEX" + struct.pack("<IIII", 2000, len(ape_items) + 32, 1, 0) + b"\0" * 8
    cases = {
        "ID3v2 at the start, ID3v1 at the end": _id3v2(b"Maria Santos") + audio + id3v1,
        "ID3v2.4 appended with a footer": audio + _id3v2(b"Maria Santos", footer=True),
        "Lyrics3 before ID3v1": audio + lyrics3 + id3v1,
        "APE at the end (footer only)": audio + ape_items + ape_footer,
        "a tag between frames": frames[0] + _id3v2(b"Maria Santos") + frames[1] + frames[2],
        "stray bytes between frames": frames[0] + b"Maria Santos" + frames[1] + frames[2],
    }
    for name, data in cases.items():
        cleaned = clean_mp3(data)
        assert cleaned == audio, name
        assert b"Maria" not in cleaned, name
    assert clean("audio/mpeg", cases["a tag between frames"]).data == audio
    with pytest.raises(Unsupported, match="MPEG"):
        clean_mp3(_id3v2(b"Maria") + b"not audio")


def test_photo_exif_gps_and_comments_are_removed() -> None:
    cleaned = clean("image/jpeg", jpeg_with_exif("Maria Santos"))
    assert cleaned.extension == "jpg"
    assert b"Maria" not in cleaned.data and b"PhoneMaker" not in cleaned.data
    with Image.open(io.BytesIO(cleaned.data)) as image:
        assert not image.getexif() and image.size == (48, 64)


def test_png_text_is_removed_and_transparency_kept() -> None:
    image = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Maria Santos")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    cleaned = clean("image/png", buffer.getvalue())
    assert cleaned.extension == "png" and b"Maria" not in cleaned.data
    with Image.open(io.BytesIO(cleaned.data)) as reopened:
        assert reopened.mode == "RGBA"


def test_unknown_formats_are_refused() -> None:
    with pytest.raises(Unsupported, match="audio/mp4"):
        clean("audio/mp4", b"\0\0\0\x20ftypM4A ")
    with pytest.raises(Unsupported, match="image could not be read"):
        clean("image/jpeg", b"not an image")


# -- progress ---------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_only() -> None:
    tty = _Terminal()
    bar = Progress(tty, "Exporting", 3)
    for _ in range(3):
        bar.advance()
    bar.close()
    assert "\rExporting [" in tty.getvalue() and "3/3" in tty.getvalue()
    piped = io.StringIO()
    quiet = Progress(piped, "Exporting", 3)
    quiet.advance()
    quiet.close()
    assert piped.getvalue() == ""
