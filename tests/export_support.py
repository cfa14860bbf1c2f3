"""Seeding a real store through the real engine, for the export, backup and report tests.

Synthetic respondents talk to `bot.orchestrator.Orchestrator` (built as `bot/runtime.py` does:
real Store in a temp folder, real X25519 keys, a clock we move by hand) in several
languages. Their free text hides phone numbers in several countries' formats, e-mails,
passport numbers and names; every planted identifier is recorded so a test can prove none of
them reaches an export file.

The population is laid out so the k-anonymity outcome is known in advance (k = 5):
- six common profiles of 31 people each (already 5-anonymous);
- GROUP4: four people sharing a profile, and NEAR: one person one age band and one region
  away from them. Both combinations are rare; regions to continents, then wider age bands,
  merge the five into one group, with nothing suppressed;
- UNIQUE: one person whose profile no one else is near: every field ends up suppressed;
- SILENT: five people who skip every profile question (a group of their own);
- and three who never reach the store: two who decline, one who deletes everything.
"""

from __future__ import annotations

import asyncio
import io
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from bot import outbound as out
from bot.engine import ChoiceIn, CommandIn, Event, MediaIn, MediaRef, Script, Start, TextIn
from bot.engine.actions import DONE_KEY, SKIP_KEY
from bot.engine.text import flow_text
from bot.flow import QuestionKind, load_consent, load_questionnaire
from bot.i18n import DEFAULT_LOCALES_DIR, Translator, language_name
from bot.orchestrator import Orchestrator
from storage.keys import KeyPair, wrap_private_key
from storage.server_keys import ServerKeys
from storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "bot" / "flows"
LANGUAGES = ("en", "fr", "es", "ar", "tl", "id")
PASSPHRASE = "correct horse battery staple"
START = datetime(2026, 9, 28, 8, 0, tzinfo=UTC)
K = 5

# (gender, age_band, origin_region, living_region, sector, campaign)
COMMON = (
    ("woman", "25_34", "asia_southeast", "asia_central_west", "care_domestic", "imrf-gulf"),
    ("woman", "35_44", "asia_south", "asia_central_west", "care_domestic", "imrf-gulf"),
    ("woman", "25_34", "latin_america_caribbean", "north_america", "agriculture", "imrf-na"),
    ("man", "25_34", "africa_west", "europe", "agriculture", "imrf-eu"),
    ("woman", "45_54", "africa_east", "asia_central_west", "care_domestic", "imrf-gulf"),
    ("woman", "18_24", "asia_southeast", "asia_east", "manufacturing", ""),
)
COMMON_SIZE = 31
GROUP4 = ("woman", "25_34", "africa_north", "europe", "hospitality", "imrf-eu")
NEAR = ("woman", "18_24", "africa_west", "europe", "hospitality", "imrf-eu")
UNIQUE = ("man", "60_plus", "oceania", "north_america", "health", "solo-2026")
SILENT = ("", "", "", "", "", "imrf-silent")
QUASI = ("gender", "age_band", "origin_region", "living_region", "sector")

THEMES = ("wages", "health", "status", "journey", "detention", "climate", "discrimination",
          "stranded", "covid")


@dataclass
class Persona:
    user_id: str
    language: str
    profile: tuple[str, ...]
    quote: bool = True
    themes: tuple[str, ...] = ()
    texts: dict[str, str] = field(default_factory=dict)
    media: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    declines: bool = False
    deletes: bool = False

    @property
    def campaign(self) -> str | None:
        return self.profile[5] or None


@dataclass
class Planted:
    """Everything secret written into the free text, to search the outputs for."""

    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    passports: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        return [*self.phones, *self.emails, *self.passports, *self.names]


# -- free text in several languages --------------------------------------------------------
def _phone(rng: random.Random, style: int) -> str:
    d = lambda n: "".join(str(rng.randrange(10)) for _ in range(n))  # noqa: E731
    return [
        f"0917 {d(3)} {d(4)}",  # Philippines, national
        f"+63 917 {d(3)} {d(4)}",  # Philippines, international
        f"+971 50 {d(3)} {d(4)}",  # United Arab Emirates
        f"05{d(1)}-{d(3)}-{d(4)}",  # Saudi Arabia, national
        f"+52 55 {d(4)} {d(4)}",  # Mexico
        f"0712 {d(6)}",  # Kenya, national
        f"98{d(8)}",  # Nepal, mobile without separators
        f"(+44) 7700 {d(6)}",  # United Kingdom
        f"0812-{d(4)}-{d(4)}",  # Indonesia, national
    ][style % 9]


def _passport(rng: random.Random) -> str:
    return f"P{rng.randrange(10**6, 10**7)}{rng.choice('ABC')}"


FIRST = ("Maricel", "Rosario", "Fatima", "Siti", "Amina", "Josefina", "Adaeze", "Wanjiru",
         "Dewi", "Marites")
LAST = ("Bautista", "Dumalagan", "Okonkwo", "Rahayu", "Wambui", "Villanueva", "Haddad",
        "Kiprono", "Pangilinan", "Nakamura")

TEMPLATES = {
    "en": "My employer {name} kept my passport {passport} for two years. "
          "Call me on {phone} or write to {email}.",
    "fr": "Mon patron {name} a gardé mon passeport {passport}. "
          "Appelez-moi au {phone} ou écrivez à {email}.",
    "es": "Mi patrona {name} se quedó con mi pasaporte {passport}. "
          "Llámame al {phone} o escríbeme a {email}.",
    "ar": "أخذ صاحب العمل {name} جواز سفري {passport}. اتصلوا بي على {phone} أو {email}",
    "tl": "Ang amo kong si {name} ang may hawak ng pasaporte ko {passport}. "
          "Tawagan mo ako sa {phone} o sumulat sa {email}.",
    "id": "Majikan saya {name} menahan paspor saya {passport}. "
          "Hubungi saya di {phone} atau {email}.",
}


def planted_text(rng: random.Random, language: str, index: int, planted: Planted) -> str:
    name = f"{FIRST[index % len(FIRST)]} {LAST[(index // len(FIRST)) % len(LAST)]}"
    if language == "ar":
        name = "فاطمة"
    phone = _phone(rng, index)
    email = f"{FIRST[index % len(FIRST)].lower()}.{index}@example-mail.com"
    passport = _passport(rng)
    planted.phones.append(phone)
    planted.emails.append(email)
    planted.passports.append(passport)
    planted.names.append(name)
    return TEMPLATES[language].format(name=name, phone=phone, email=email, passport=passport)


# -- media with metadata -------------------------------------------------------------------
def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:  # bit by bit: a second implementation, independent of the exporter's
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_pages(flags: int, granule: int, sequence: int, packet: bytes) -> list[bytes]:
    """One packet laid over as many pages as it needs (255 lacing values per page)."""
    laces = [255] * (len(packet) // 255) + [len(packet) % 255]
    pages, offset = [], 0
    for start in range(0, len(laces), 255):
        group = laces[start:start + 255]
        body = packet[offset:offset + sum(group)]
        offset += sum(group)
        page_flags = (flags if start == 0 else 0x01) | (flags & 0x04)
        head = b"OggS" + struct.pack("<BBqIIIB", 0, page_flags, granule, 0x1234,
                                     sequence + len(pages), 0, len(group))
        page = bytearray(head + bytes(group) + body)
        struct.pack_into("<I", page, 22, _ogg_crc(bytes(page)))
        pages.append(bytes(page))
    return pages


def ogg_opus(tags: list[str], audio_pages: int = 3) -> bytes:
    """A structurally valid Ogg Opus file whose comment header carries `tags`."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    comments = b"".join(struct.pack("<I", len(t.encode())) + t.encode() for t in tags)
    vendor = b"recorder on a phone"
    opus_tags = (b"OpusTags" + struct.pack("<I", len(vendor)) + vendor
                 + struct.pack("<I", len(tags)) + comments)
    pages = _ogg_pages(0x02, 0, 0, head)
    pages += _ogg_pages(0, 0, len(pages), opus_tags)
    for number in range(audio_pages):
        flags = 0x04 if number == audio_pages - 1 else 0
        pages += _ogg_pages(flags, 960 * (number + 1), len(pages),
                            bytes([0xFC]) + bytes(range(40 + number)))
    return b"".join(pages)


def jpeg_with_exif(secret: str) -> bytes:
    image = Image.new("RGB", (64, 48), (200, 120, 40))
    exif = Image.Exif()
    exif[0x013B] = secret  # Artist
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90
    exif[0x8825] = {1: "N", 2: (25.0, 12.0, 30.0), 3: "E", 4: (55.0, 17.0, 0.0)}  # GPS
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, comment=secret.encode())
    return buffer.getvalue()


# -- the population --------------------------------------------------------------------------
def population(seed: int = 5) -> tuple[list[Persona], Planted]:
    rng = random.Random(seed)
    planted = Planted()
    people: list[Persona] = []
    profiles = [p for p in COMMON for _ in range(COMMON_SIZE)]
    profiles += [GROUP4] * 4 + [NEAR, UNIQUE] + [SILENT] * 5
    for index, profile in enumerate(profiles):
        language = LANGUAGES[index % len(LANGUAGES)]
        themes = tuple(sorted(rng.sample(THEMES, rng.randint(1, 3))))
        if index % 4 == 0 and "wages" not in themes:
            themes = tuple(sorted((*themes, "wages")))
        persona = Persona(f"u{index}", language, profile, quote=index % 3 != 0, themes=themes)
        persona.choices["wages_paid_less"] = (rng.choice(("yes", "yes", "sometimes", "no")),)
        story = next(f"{t}_story" if t != "discrimination" else "discrimination_story"
                     for t in themes)
        persona.texts[story] = planted_text(rng, language, index, planted)
        persona.texts["recommendation"] = _recommendation(index)
        people.append(persona)
    _special(people, planted)
    people += [Persona("declines-1", "en", COMMON[0], declines=True),
               Persona("declines-2", "fr", COMMON[1], declines=True),
               Persona("deletes-1", "es", UNIQUE, themes=("wages",), deletes=True,
                       texts={"wages_story": "Please delete me, Rosario Quispe 0917 555 0199"})]
    planted.names.append("Rosario Quispe")
    planted.phones.append("0917 555 0199")
    return people, planted


def _recommendation(index: int) -> str:
    return ["Pay us what we are owed and let us change employers.",
            "Give papers to domestic workers.",
            "Nous voulons des contrats dans notre langue.",
            "Queremos servicios de salud sin miedo.",
            "Sana po ay may tulong para sa aming mga kasambahay.",
            "Tolong lindungi pekerja rumah tangga."][index % 6]


FORMULA = '=HYPERLINK("http://evil.example/x","click")'
BIDI_TEXT = "Salary \u202epaid\u202c late. نمی\u200cخواهم"  # RLO override; ZWNJ in Persian


def _special(people: list[Persona], planted: Planted) -> None:
    """Answers that test one thing each: formula injection, bidi controls, media."""
    people[1].themes = tuple(sorted({*people[1].themes, "wages"}))
    people[1].texts["wages_story"] = FORMULA
    people[2].themes = tuple(sorted({*people[2].themes, "covid"}))
    people[2].texts["covid_story"] = BIDI_TEXT
    secret = "Marites Pangilinan-Cruz"
    planted.names.append(secret)
    people[3].themes = tuple(sorted({*people[3].themes, "health"}))
    people[3].texts.pop("health_story", None)
    people[3].media["health_story"] = ("voice", "audio/ogg", ogg_opus(
        [f"ARTIST={secret}", "LOCATION=Dubai Marina"]))
    people[4].themes = tuple(sorted({*people[4].themes, "journey"}))
    people[4].texts.pop("journey_story", None)
    people[4].media["journey_story"] = ("photo", "image/jpeg", jpeg_with_exif(secret))
    people[5].themes = tuple(sorted({*people[5].themes, "status"}))
    people[5].texts.pop("status_story", None)
    m4a = b"\x00\x00\x00\x20ftypM4A " + secret.encode()  # a format with no cleaner
    people[5].media["status_story"] = ("audio", "audio/mp4", m4a)


# -- driving the orchestrator ------------------------------------------------------------------
def build_script(translator: Translator) -> Script:
    return Script(load_consent(FLOWS / "consent.toml"), load_questionnaire(FLOWS / "default.toml"),
                  LANGUAGES, {code: language_name(code) for code in LANGUAGES})


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Driver:
    """Answers whatever the bot asks, as one persona would."""

    def __init__(self, orchestrator: Orchestrator, script: Script, translator: Translator
                 ) -> None:
        self.orchestrator = orchestrator
        flow = script.questionnaire
        self.by_text = {
            (language, translator.render(flow_text(flow.id, q.id, q.text), language)): q
            for language in LANGUAGES for q in flow.questions
        }
        self.consent_items = script.consent.items
        self.link_codes: dict[str, str] = {}  # campaign -> the code of its link

    async def run(self, persona: Persona) -> None:
        media: dict[str, bytes] = {}

        async def fetch(ref: MediaRef) -> bytes:
            return media[ref.reference]

        async def send(event: Event) -> list[out.Outbound]:
            return await self.orchestrator.handle("telegram", persona.user_id, event,
                                                  fetch_media=fetch)

        replies = await send(Start(campaign=self.link_codes.get(persona.campaign or "")))
        consent_step = -1
        for _ in range(200):
            if any(isinstance(r, out.SessionEnded) for r in replies):
                return
            prompt = next((r for r in reversed(replies) if isinstance(r, out.Prompt)), None)
            assert prompt is not None, f"no question for {persona.user_id}: {replies}"
            keys = [b.key for b in prompt.buttons]
            if set(keys) == set(LANGUAGES):
                replies = await send(ChoiceIn(prompt.token, persona.language))
                continue
            question = self.by_text.get((persona.language, prompt.text))
            if question is None:  # a consent item (or the deletion question)
                consent_step += 1
                agree = self._agrees(persona, consent_step)
                replies = await send(ChoiceIn(prompt.token, "yes" if agree else "no"))
                continue
            events = self._answer(persona, question.id, question.kind, prompt.token, media)
            for event in events:
                replies = await send(event)
            if persona.deletes and question.id == "recommendation":
                replies = await send(CommandIn("delete"))
        raise AssertionError(f"conversation of {persona.user_id} did not end")

    def _agrees(self, persona: Persona, step: int) -> bool:
        if step >= len(self.consent_items):
            return True  # "delete everything?" - yes
        item = self.consent_items[step]
        if item.kind == "required":
            return not persona.declines
        if item.kind == "optional":
            return persona.quote
        return True

    def _answer(self, persona: Persona, qid: str, kind: QuestionKind, token: str,
                media: dict[str, bytes]) -> list[Event]:
        if qid in QUASI:
            value = persona.profile[QUASI.index(qid)]
            return [ChoiceIn(token, value or SKIP_KEY)]
        if qid == "themes":
            return [ChoiceIn(token, t) for t in persona.themes] + [ChoiceIn(token, DONE_KEY)]
        if qid in persona.media:
            media_kind, mime, data = persona.media[qid]
            media[qid] = data
            return [MediaIn(MediaRef(media_kind, qid, mime, len(data), 12))]
        if qid in persona.texts:
            return [TextIn(persona.texts[qid])]
        if kind is QuestionKind.SINGLE and qid in persona.choices:
            return [ChoiceIn(token, persona.choices[qid][0])]
        return [ChoiceIn(token, SKIP_KEY)]


@dataclass
class Seeded:
    db: Path
    key_file: Path
    passphrase_file: Path
    key: KeyPair
    people: list[Persona]
    planted: Planted

    @property
    def exported(self) -> list[Persona]:
        return [p for p in self.people if not (p.declines or p.deletes)]


SEED_KEYS = ServerKeys.from_secret(b"export-tests-" + b"s" * 32)


def record_slot(respondent: bytes, question: str) -> bytes:
    """The keyed `slot` of a person's answer row in a seeded database."""
    return SEED_KEYS.slot(respondent, question)


async def seed(folder: Path, people: list[Persona], key: KeyPair) -> Path:
    """Run every persona through the orchestrator; returns the live database path."""
    translator = Translator(DEFAULT_LOCALES_DIR)
    script = build_script(translator)
    keys = SEED_KEYS
    database = folder / "data" / "testimonies.db"
    store = await Store.open(database, [key.public], keys)
    clock = Clock()
    orchestrator = Orchestrator(script, store, keys, translator, clock)
    driver = Driver(orchestrator, script, translator)
    for campaign in sorted({p.campaign for p in people if p.campaign}):
        link = await store.links.create(campaign=campaign, partner="partner", region="region",
                                        now=clock())
        driver.link_codes[campaign] = link.code
    try:
        for batch in _batches(people, 25):
            await asyncio.gather(*(driver.run(p) for p in batch))
            clock.now += timedelta(days=3)  # spread the testimonies over several months
    finally:
        await store.close()
    return database


def _batches(items: list[Persona], size: int) -> Iterator[list[Persona]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


_CACHE: dict[Path, Seeded] = {}


def seeded(folder: Path) -> Seeded:
    """Seed once per folder (tests share one seeded store through a session fixture)."""
    if folder in _CACHE:
        return _CACHE[folder]
    folder.mkdir(parents=True, exist_ok=True)
    key = KeyPair.generate()
    key_file = folder / "researcher.key"
    key_file.write_text(wrap_private_key(key, PASSPHRASE, log2_n=14), encoding="utf-8")
    passphrase_file = folder / "passphrase.txt"
    passphrase_file.write_text(PASSPHRASE + "\n", encoding="utf-8")
    people, planted = population()
    database = asyncio.run(seed(folder, people, key))
    result = Seeded(database, key_file, passphrase_file, key, people, planted)
    _CACHE[folder] = result
    return result
