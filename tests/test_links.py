"""Campaign links: attribution, typed codes, expiry, masked funnel figures, QR files."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from bot.engine import Script, Start, TextIn
from bot.i18n import Translator
from bot.links.funnel import by_campaign, mask, masked
from bot.links.qr import CAPTION, can_draw, link_url, qr_png, qr_print_png, qr_svg
from storage.keys import KeyPair
from storage.reader import read_testimonies
from storage.store import Store
from tests.conftest import DEFAULT_FLOWS, TEST_FLOWS, Clock, OrchestratorFactory, make_script
from tests.test_store import Person


def decode_qr(png: bytes, tmp_path: Path) -> str:
    path = tmp_path / "qr.png"
    path.write_bytes(png)
    (result,) = zxingcpp.read_barcodes(Image.open(path))
    return str(result.text)


def test_qr_png_decodes_to_the_link_and_svg_is_xml(tmp_path: Path) -> None:
    url = link_url("testimony_test_bot", "vfdvu9ag")
    assert decode_qr(qr_png(url, "vfdvu9ag"), tmp_path) == url
    svg = ET.fromstring(qr_svg(url, "vfdvu9ag").split("\n", 1)[1])
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["Or type this code to the bot:", "vfdvu9ag"]


def test_print_png_is_600_dpi_at_4_cm_and_decodes(tmp_path: Path) -> None:
    url = link_url("testimony_test_bot", "vfdvu9ag")
    png = qr_print_png(url, "vfdvu9ag")
    image = Image.open(io.BytesIO(png))
    dpi_x, dpi_y = image.info["dpi"]
    assert dpi_x == pytest.approx(dpi_y) and dpi_x >= 600
    assert image.width / dpi_x * 2.54 == pytest.approx(4.0, abs=0.01)  # printed 4 cm wide
    assert decode_qr(png, tmp_path) == url


def test_captions_are_drawn_in_the_links_language(translator: Translator) -> None:
    url = link_url("testimony_test_bot", "vfdvu9ag")
    arabic = translator.render(CAPTION, "ar")
    assert arabic != CAPTION.msgid
    svg = ET.fromstring(qr_svg(url, "vfdvu9ag", arabic).split("\n", 1)[1])
    assert [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")] == [arabic, "vfdvu9ag"]
    if can_draw(arabic):  # a font with Arabic letters is installed (DejaVu Sans has them)
        assert qr_png(url, "vfdvu9ag", arabic) != qr_png(url, "vfdvu9ag")


def test_masking_hides_every_count_below_five() -> None:
    assert [mask(n) for n in (0, 1, 4, 5, 17)] == ["<5", "<5", "<5", "5", "17"]
    assert masked({"opened": 7, "completed": 1})["completed"] == "<5"
    assert masked({"opened": 7})["deleted"] == "<5"


async def people_through(orchestrator_for: OrchestratorFactory, script: Script, first: str,
                         start: object, count: int, finish: str) -> None:
    orchestrator = orchestrator_for(script)
    for n in range(count):
        person = Person(orchestrator, user=f"{first}{n}")
        await person.send(start)
        if finish == "decline":
            await person.press("no")
            continue
        for _ in range(3):
            await person.press("yes")
        await person.press("care")
        if finish == "delete":
            from bot.engine import CommandIn

            await person.send(CommandIn("delete"))
            await person.press("yes")


async def test_funnel_per_link_and_campaign(
    mini_script: Script, orchestrator_for: OrchestratorFactory, store: Store, clock: Clock,
) -> None:
    link = await store.links.create(campaign="imrf-2022", partner="WIMN", region="Beirut",
                                    now=clock())
    other = await store.links.create(campaign="imrf-2022", partner="Union", region="Doha",
                                     now=clock())
    await people_through(orchestrator_for, mini_script, "a", Start(campaign=link.code), 6,
                         "consent")
    await people_through(orchestrator_for, mini_script, "b", Start(campaign=link.code), 2,
                         "decline")
    await people_through(orchestrator_for, mini_script, "c", TextIn(other.code.upper()), 5,
                         "delete")
    figures = {f.link.code: f for f in await store.links.figures(await store.links.all())}
    assert figures[link.code].live == {"opened": 8, "language_chosen": 8, "consented": 6,
                                       "declined": 2}
    assert masked(figures[link.code].live)["declined"] == "<5"
    assert figures[other.code].live["opened"] == 5  # the typed code counted as /start
    assert figures[other.code].live["deleted"] == 5
    (campaign,) = by_campaign(figures.values())
    assert (campaign.links, campaign.counts["opened"], campaign.counts["consented"]) == (
        2, 13, 11)


async def test_expired_and_disabled_links_still_start_but_attribute_elsewhere(
    mini_script: Script, orchestrator_for: OrchestratorFactory, store: Store, clock: Clock,
    db_path: Path, researcher: KeyPair,
) -> None:
    old = await store.links.create(campaign="c", partner="p", region="r", now=clock(),
                                   expires_on=date(2026, 11, 1))
    stopped = await store.links.create(campaign="c", partner="p", region="r", now=clock())
    assert await store.links.disable(stopped.code)
    orchestrator = orchestrator_for(mini_script)
    for n, code in enumerate((old.code, stopped.code)):
        person = Person(orchestrator, user=f"x{n}")
        replies = await person.send(Start(campaign=code))
        assert person.prompt is not None and person.prompt.text == "Do you agree to take part?"
        assert replies
        for _ in range(3):
            await person.press("yes")
        await person.press("care")
    figures = {f.link.code: f for f in await store.links.figures(await store.links.all())}
    assert figures[old.code].live == {}
    assert figures[old.code].expired["consented"] == 1
    assert figures[stopped.code].expired["opened"] == 1
    # Researchers see the campaign of the link (the funnel above keeps "after the end" apart).
    assert sorted(t.campaign or "" for t in read_testimonies(db_path, researcher)) == [
        old.campaign, stopped.campaign]


async def test_link_language_preselects_the_picker(
    orchestrator_for: OrchestratorFactory, store: Store, clock: Clock, translator: object,
) -> None:
    script = make_script(translator, TEST_FLOWS / "mini.toml",  # type: ignore[arg-type]
                         DEFAULT_FLOWS / "consent.toml", ("en", "ar", "es"))
    link = await store.links.create(campaign="c", partner="p", region="r", language="ar",
                                    now=clock())
    person = Person(orchestrator_for(script))
    await person.send(Start(campaign=link.code))
    assert person.prompt is not None
    assert [b.key for b in person.prompt.buttons if b.selected] == ["ar"]


async def test_a_typed_code_behaves_exactly_like_the_link(
    orchestrator_for: OrchestratorFactory, store: Store, clock: Clock, translator: object,
) -> None:
    """Someone who wrote "hello" first (no link), then types the code printed under the QR."""
    script = make_script(translator, TEST_FLOWS / "mini.toml",  # type: ignore[arg-type]
                         DEFAULT_FLOWS / "consent.toml", ("en", "ar", "es"))
    link = await store.links.create(campaign="c", partner="p", region="r", language="ar",
                                    now=clock())
    person = Person(orchestrator_for(script))
    await person.send(TextIn("hello"))
    replies = await person.send(TextIn(link.code.upper()))
    said = [getattr(r, "text", "") for r in replies]
    assert not any("Welcome back" in text for text in said)
    assert person.prompt is not None
    assert [b.key for b in person.prompt.buttons if b.selected] == ["ar"]  # its language
    await person.press("ar")
    counts = await store.counters()
    assert counts[(link.code, "opened")] == 1
    assert counts[(link.code, "language_chosen")] == 1


async def test_typed_text_that_is_no_code_is_just_text(
    mini_script: Script, orchestrator_for: OrchestratorFactory,
) -> None:
    person = Person(orchestrator_for(mini_script))
    await person.send(Start())
    replies = await person.send(TextIn("abcdefgh"))  # code-shaped, but no such link
    assert "Please choose one of the buttons below." in [getattr(r, "text", "") for r in replies]


def test_links_commands(tmp_path: Path, shipped_locales: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path / "d"), "BOT_USERNAME": "@testimony_test_bot",
           "LOG_LEVEL": "WARNING", "LOCALES_DIR": str(shipped_locales)}
    later = (date.today() + timedelta(days=30)).isoformat()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", "links", *args], env=env,
                              cwd=tmp_path, capture_output=True, text=True, check=False)

    link = ("create", "--campaign", "imrf-2022", "--partner", "WIMN", "--region", "Beirut",
            "--lang", "ar", "--expires", later, "--label", "flyer, shelter B")
    nowhere = cli(*link)  # no database yet: never made quietly (a wrong DATA_DIR, say)
    assert nowhere.returncode == 2 and "no database" in nowhere.stderr
    assert "--create" in nowhere.stderr and not (tmp_path / "d").exists()
    made = cli(*link, "--create")
    assert made.returncode == 0, made.stderr
    assert "No --timezone given" in made.stderr and "UTC" in made.stderr  # quiet hours' zone
    url = made.stdout.splitlines()[0]
    code = url.rsplit("=", 1)[1]
    assert url == f"https://t.me/testimony_test_bot?start={code}"
    png = tmp_path / "d" / "links" / f"{code}.png"
    assert decode_qr(png.read_bytes(), tmp_path) == url
    assert decode_qr((tmp_path / "d" / "links" / f"{code}-print.png").read_bytes(),
                     tmp_path) == url
    listed = cli("list")
    assert code in listed.stdout and "imrf-2022" in listed.stdout and "<5" in listed.stdout
    assert "flyer, shelter B" in listed.stdout  # two links of one campaign told apart
    assert cli("disable", code).returncode == 0
    assert "disabled" in cli("list").stdout
    again = cli("disable", code)
    assert again.returncode == 2 and "disabled already" in again.stderr
    missing = cli("disable", "nosuchcode")
    assert missing.returncode == 2 and "no link with code" in missing.stderr
    bad = cli("create", "--campaign", "c", "--partner", "p", "--region", "r", "--expires",
              "31/12/2026")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
    past = cli("create", "--campaign", "c", "--partner", "p", "--region", "r", "--expires",
               "2020-01-31")
    assert past.returncode == 2 and "already past" in past.stderr
    zoned = cli("create", "--campaign", "c", "--partner", "p", "--region", "r",
                "--timezone", "Asia/Manila")
    assert zoned.returncode == 0 and "timezone" not in zoned.stderr, zoned.stderr
    no_zone = cli("create", "--campaign", "c", "--partner", "p", "--region", "r",
                  "--timezone", "Manila")
    assert no_zone.returncode == 2 and "Area/City" in no_zone.stderr
    unknown = cli("create", "--campaign", "c", "--partner", "p", "--region", "r", "--lang", "xx")
    assert unknown.returncode == 2 and "does not speak" in unknown.stderr
    assert " ar, " in unknown.stderr  # and says which it does
    no_number = cli("create", "--campaign", "c", "--partner", "p", "--region", "r",
                    "--channel", "whatsapp")
    assert no_number.returncode == 2 and "WHATSAPP_NUMBER" in no_number.stderr
    env["WHATSAPP_NUMBER"] = "+971 50 123 4567"
    wa = cli("create", "--campaign", "gulf", "--partner", "p", "--region", "Dubai",
             "--channel", "whatsapp")
    assert wa.returncode == 0, wa.stderr
    wa_url = wa.stdout.splitlines()[0]
    wa_code = wa_url.rsplit("=", 1)[1]
    assert wa_url == f"https://wa.me/971501234567?text={wa_code}"  # the code, typed in
    assert decode_qr((tmp_path / "d" / "links" / f"{wa_code}.png").read_bytes(),
                     tmp_path) == wa_url
