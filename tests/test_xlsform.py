"""Bring your own XLSForm: import (with every refusal), the form running in the terminal chat,
its answers exported under its own names, and the shipped questionnaire's round trip."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from bot.engine.text import flow_text
from bot.flow import QuestionKind, load_questionnaire
from bot.flow.loader import load_consent
from bot.i18n import Translator
from bot.xlsform.output import write_import
from bot.xlsform.reader import FormRefused, read_form
from bot.xlsform.writer import write_xlsform
from tests.conftest import DEFAULT_FLOWS, PASSPHRASE, ROOT, cli
from tests.xlsform_support import three_language_form, write_form


def imported(tmp_path: Path, form: Path, *extra: str) -> Path:
    out = tmp_path / "imported"
    result = cli("flow", "import", str(form), "--out", str(out), *extra, env=_env(),
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return out


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("FLOW_FILE", "LOCALES_DIR")}


def test_import_takes_every_supported_type_and_says_so(tmp_path: Path) -> None:
    form = three_language_form(tmp_path / "domestic.xlsx")
    out = tmp_path / "imported"
    result = cli("flow", "import", str(form), "--out", str(out), env=_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "took 1 × acknowledge, 1 × audio, 1 × calculate, 1 × date, 1 × decimal" in \
        result.stdout
    assert "languages: en, ar, fr (texts in en)" in result.stdout
    assert "not translated" not in result.stdout  # or_other's texts come from the bot
    assert f"FLOW_FILE={out / 'flow.toml'}" in result.stdout
    flow = load_questionnaire(out / "flow.toml")
    assert flow.format == 2 and flow.id == "domestic_work_2026" and flow.version == "2026-12"
    age = flow.question("Age.Years")  # the form's own name, capitals and dot kept
    assert age.kind is QuestionKind.NUMBER and not age.optional
    assert age.constraint is not None and age.constraint.source == ". >= 18 and . < 100"
    assert age.constraint_message == "You must be 18 or older."
    assert flow.question("city").choice("doha").data == (("country", "QA"),)  # type: ignore[union-attr]
    assert flow.question("problems").choice("other") is not None  # or_other
    assert flow.question("problems_other").when[0].any_of == {"other"}
    assert flow.question("employer_sector[2]").text_id == "employer_sector"  # a repeat
    assert flow.question("story").accepts == ("voice", "audio")
    assert flow.question("more").default == "nothing"
    assert flow.question("months_unpaid").when[0].any_of == {"unpaid"}  # the group's relevant
    assert flow.question("weeks_note").relevant[0].source == "${weeks_unpaid} > 0"
    assert flow.welcome == "Welcome. This form asks about your work."
    po = (out / "locales" / "ar" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    assert 'msgctxt "domestic_work_2026:Age.Years"' in po and "كم عمرك؟" in po
    assert (out / "locales" / "fr" / "LC_MESSAGES" / "messages.mo").is_file()
    check = cli("flow", "check", str(out / "flow.toml"), env=_env(), cwd=tmp_path)
    assert check.returncode == 0 and "ok:" in check.stdout


REFUSED = [
    ({"type": "deviceid", "name": "device"}, "would record the device's id"),
    ({"type": "phonenumber", "name": "phone"}, "would record the phone number"),
    ({"type": "subscriberid", "name": "sub"}, "SIM subscriber id"),
    ({"type": "simserial", "name": "sim"}, "SIM serial number"),
    ({"type": "email", "name": "mail"}, "e-mail address"),
    ({"type": "username", "name": "user"}, "user name"),
    ({"type": "start-geopoint", "name": "where"}, "where the person is"),
    ({"type": "geopoint", "name": "gps", "label": "Where?"}, "--allow-location"),
    ({"type": "geotrace", "name": "trace", "label": "Route?"}, "--allow-location"),
    ({"type": "barcode", "name": "code", "label": "Scan"}, "cannot scan barcodes"),
    ({"type": "video", "name": "film", "label": "Film"}, "videos are not taken"),
    ({"type": "text", "name": "t", "label": "T", "relevant": "position(..) > 1"},
     "column 'relevant': function not supported: 'position()'"),
    ({"type": "integer", "name": "n", "label": "N", "constraint": ". > 1 | 2"},
     "column 'constraint': not understood"),
    ({"type": "text", "name": "t", "label": "T", "required": "${first} = 'a'"},
     "column 'required'"),
]


@pytest.mark.parametrize(("row", "message"), REFUSED)
def test_every_refusal_names_sheet_row_and_what_to_change(tmp_path: Path, row: dict[str, str],
                                                           message: str) -> None:
    survey = [{"type": "text", "name": "first", "label": "First"}, row]
    form = write_form(tmp_path / "form.xlsx", survey)
    result = cli("flow", "import", str(form), "--out", str(tmp_path / "out"), env=_env(),
                 cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "survey sheet, row 3:" in result.stderr
    assert message in result.stderr
    assert not (tmp_path / "out" / "flow.toml").exists()  # nothing written


def test_refusals_are_all_listed_at_once(tmp_path: Path) -> None:
    survey = [{"type": "deviceid", "name": "d"}, {"type": "text", "name": "t", "label": "T"},
              {"type": "phonenumber", "name": "p"}]
    with pytest.raises(FormRefused) as refused:
        read_form(write_form(tmp_path / "f.xlsx", survey))
    assert [(r.sheet, r.row) for r in refused.value.refusals] == [("survey", 2), ("survey", 4)]


def test_nested_repeat_and_broken_form_are_refused(tmp_path: Path) -> None:
    survey = [{"type": "begin repeat", "name": "outer", "label": "O"},
              {"type": "begin repeat", "name": "inner", "label": "I"},
              {"type": "text", "name": "t", "label": "T"},
              {"type": "end repeat"}, {"type": "end repeat"}]
    with pytest.raises(FormRefused) as refused:
        read_form(write_form(tmp_path / "f.xlsx", survey))
    assert "repeat 'inner' is inside another repeat" in str(refused.value)
    assert refused.value.refusals[0].row == 3
    broken = [{"type": "select_one nowhere", "name": "q", "label": "Q"}]
    result = cli("flow", "import", str(write_form(tmp_path / "b.xlsx", broken)), "--out",
                 str(tmp_path / "o"), env=_env(), cwd=tmp_path)
    assert result.returncode == 2 and "not imported" in result.stderr
    assert "Traceback" not in result.stderr
    (tmp_path / "text.xlsx").write_text("not a spreadsheet")
    unreadable = cli("flow", "import", str(tmp_path / "text.xlsx"), "--out", str(tmp_path / "o"),
                     env=_env(), cwd=tmp_path)
    assert unreadable.returncode == 2 and "cannot be read as an XLSForm" in unreadable.stderr
    assert "Traceback" not in unreadable.stderr
    missing = cli("flow", "import", str(tmp_path / "none.xlsx"), "--out", str(tmp_path / "o"),
                  env=_env(), cwd=tmp_path)
    assert missing.returncode == 2 and "no such file" in missing.stderr


@pytest.mark.parametrize(("survey", "choices", "item"), [
    ([{"type": "text", "name": "closing", "label": "Closing?"}], [], "closing"),
    ([{"type": "select_one l", "name": "q", "label": "Q", "hint": "H"}],
     [{"list_name": "l", "name": "hint", "label": "A hint"}], "q.hint"),
])
def test_names_that_would_share_a_translation_are_refused(
        tmp_path: Path, survey: list[dict[str, str]], choices: list[dict[str, str]],
        item: str) -> None:
    form = write_form(tmp_path / "f.xlsx", survey, choices)
    result = cli("flow", "import", str(form), "--out", str(tmp_path / "out"), env=_env(),
                 cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"not imported: question {item}: two texts would share this translation" in \
        result.stderr
    assert not (tmp_path / "out").exists()


def test_location_only_when_allowed_and_then_asked_in_words(tmp_path: Path) -> None:
    survey = [{"type": "geopoint", "name": "place", "label": "Where do you live?"}]
    form = write_form(tmp_path / "f.xlsx", survey)
    out = tmp_path / "out"
    result = cli("flow", "import", str(form), "--out", str(out), "--allow-location",
                 env=_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "left out: row 2 'place' (geopoint): asked as a place in words" in result.stdout
    assert "warning: row 2 'place': asking where someone lives or works can identify them" \
        in result.stdout
    assert load_questionnaire(out / "flow.toml").question("place").kind is QuestionKind.TEXT


def test_metadata_is_left_out_and_consent_file_copied(tmp_path: Path) -> None:
    survey = [{"type": "start", "name": "started"}, {"type": "today", "name": "day"},
              {"type": "text", "name": "t",
               "label": '<span style="color:red">Where</span> do you work?<br>Region only.',
               "media::image": "map.png"}]
    form = write_form(tmp_path / "f.xlsx", survey)
    out = imported(tmp_path, form, "--consent", str(DEFAULT_FLOWS / "consent.toml"))
    assert (out / "consent.toml").is_file()
    assert load_consent(out / "consent.toml").id == "consent"
    flow = load_questionnaire(out / "flow.toml")
    assert [q.id for q in flow.questions] == ["t"]
    assert flow.question("t").text == "Where do you work?\nRegion only."  # styling taken out


def test_range_select_from_csv_and_plain_language_names(tmp_path: Path) -> None:
    (tmp_path / "sectors.csv").write_text("name,label::English,label::French\n"
                                          "care,Care work,Soins\nfarm,Farming,Agriculture\n",
                                          encoding="utf-8")
    survey = [{"type": "range", "name": "hours", "label::English": "Hours a day?",
               "label::French": "Heures par jour ?", "parameters": "start=1 end=24 step=1"},
              {"type": "select_one_from_file sectors.csv", "name": "sector",
               "label::English": "Sector?", "label::French": "Secteur ?"},
              {"type": "image", "name": "contract", "label::English": "Your contract?",
               "label::French": "Votre contrat ?"}]
    out = imported(tmp_path, write_form(tmp_path / "f.xlsx", survey))
    flow = load_questionnaire(out / "flow.toml")
    hours = flow.question("hours")
    assert (hours.kind, hours.minimum, hours.maximum) == (QuestionKind.NUMBER, 1, 24)
    assert [c.id for c in flow.question("sector").choices] == ["care", "farm"]
    assert flow.question("contract").accepts == ("photo",)
    assert "Soins" in (out / "locales/fr/LC_MESSAGES/messages.po").read_text(encoding="utf-8")


def test_shipped_questionnaire_round_trips(tmp_path: Path) -> None:
    shipped = load_questionnaire(DEFAULT_FLOWS / "default.toml")
    sheet = tmp_path / "default.xlsx"
    result = cli("flow", "export", str(DEFAULT_FLOWS / "default.toml"), "--xlsform", str(sheet),
                 "--locales", str(ROOT / "locales"), env=_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "languages en, am, ar" in result.stdout
    out = imported(tmp_path, sheet)
    back = load_questionnaire(out / "flow.toml")

    def shape(flow: object) -> object:
        from dataclasses import asdict

        data = asdict(flow)  # type: ignore[call-overload]
        data.pop("source")
        data.pop("format")
        return data

    assert shape(back) == shape(shipped)
    original = (ROOT / "locales/ar/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
    again = (out / "locales/ar/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
    gender = re.search(r'msgctxt "imrf-testimony:gender"\nmsgid ".*"\nmsgstr "(.*)"', original)
    assert gender is not None and f'msgstr "{gender[1]}"' in again
    second = tmp_path / "again.xlsx"
    write_xlsform(back, out / "locales", second)
    assert second.stat().st_size > 0


def test_three_language_form_in_the_terminal_chat_exports_under_its_names(
        deployment: tuple[dict[str, str], Path]) -> None:
    env, home = deployment
    form = three_language_form(home / "domestic.xlsx")
    out = imported(home, form)
    env = env | {"FLOW_FILE": str(out / "flow.toml"), "LOCALES_DIR": str(out / "locales")}
    voice = home / "note.ogg"
    voice.write_bytes(b"OggS" + bytes(range(256)) * 4)
    inputs = [
        "fr", "1", "1", "1",  # French, agree, 18 or older, may be quoted
        "/skip",  # required: refused with the form's message
        "15",  # refused by the constraint, with its message
        "34", "1",  # Lebanon
        "3",  # Doha is filtered out: only Beirut and Tripoli are offered
        "2",  # Tripoli
        "1 3 4",  # unpaid wages and other, then Done
        "Rien de plus",  # problems_other (or_other)
        "2,5",  # months unpaid (decimal, comma)
        "2024-02-30", "03/02/2024",  # not a date, then a date
        "Cuisine", "1", "Ménage", "2",  # two employers (repeat), then no more
        "1",  # acknowledge
        f"/voice {voice}",
        "Non",  # more
    ]
    chat = cli("chat", "--user", "amina", env=env, cwd=home, stdin="\n".join(inputs) + "\n")
    assert chat.returncode == 0, chat.stderr
    said = chat.stdout
    assert "Bienvenue. Ce formulaire porte sur votre travail." in said
    assert "À propos de vous" in said  # the group's heading
    assert "Merci d'indiquer votre âge." in said  # required message
    assert "Vous devez avoir 18 ans ou plus." in said  # constraint message
    city_menu = said.split("Dans quelle ville ?")[1].split(">")[0]
    assert "Beyrouth" in city_menu and "Doha" not in city_menu  # cascading select
    assert "Merci de préciser." in said  # or_other's question, in French
    assert "Salaires" in said  # skip logic across groups: wages shown after 'unpaid'
    assert "Cela fait environ 11 semaines." in said  # calculation shown in a note
    assert said.count("Quel travail faisiez-vous pour eux ?") == 2  # the repeat
    assert "Merci pour vos réponses." in said  # the form's closing note
    assert "Traceback" not in chat.stderr

    db = home / "data" / "testimonies.db"
    exported = home / "export"
    result = cli("export", "--db", str(db), "--key", str(home / "team.key"), "--out",
                 str(exported), "--flow", str(out / "flow.toml"), "--format", "csv,jsonl",
                 env=env, cwd=home, stdin=PASSPHRASE + "\n")
    assert result.returncode == 0, result.stderr
    record = json.loads((exported / "testimonies.jsonl").read_text(encoding="utf-8"))
    answers = record["answers"]
    assert answers["Age.Years"]["value"] == 34
    assert answers["country"]["codes"] == ["LB"]
    assert answers["city"]["codes"] == ["tripoli"]
    assert answers["problems"]["codes"] == ["unpaid", "other"]
    assert answers["months_unpaid"]["value"] == "2.5"
    assert answers["weeks_unpaid"]["value"] == "11"
    assert answers["employers_another"]["codes"] == ["yes"]
    assert answers["ready"]["codes"] == ["OK"]
    assert "employer_sector[2]" in answers
    csv_file = exported / "testimonies.csv"
    with csv_file.open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert {"Age.Years", "country", "city", "problems", "months_unpaid",
            "employer_sector", "employer_sector[2]"} <= set(header)
    assert "weeks_note" not in header  # a note is said, never answered
    report = cli("report", "--db", str(db), "--key", str(home / "team.key"), "--out",
                 str(home / "report"), "--flow", str(out / "flow.toml"), env=env, cwd=home,
                 stdin=PASSPHRASE + "\n")
    assert report.returncode == 0, report.stderr


def test_an_imported_form_round_trips_too(tmp_path: Path) -> None:
    first = read_form(three_language_form(tmp_path / "domestic.xlsx"))
    written = write_import(first, tmp_path / "first", "domestic.xlsx")
    flow = load_questionnaire(written.flow)
    sheet = tmp_path / "again.xlsx"
    write_xlsform(flow, written.locales, sheet)
    again = write_import(read_form(sheet), tmp_path / "again", "again.xlsx")
    back = load_questionnaire(again.flow)
    for field in ("id", "version", "welcome", "closing", "safety_note", "sections"):
        assert getattr(back, field) == getattr(flow, field), field
    assert back.questions == flow.questions
    for language in ("ar", "fr"):
        before = (written.locales / language / "LC_MESSAGES/messages.po").read_text("utf-8")
        after = (again.locales / language / "LC_MESSAGES/messages.po").read_text("utf-8")
        assert set(re.findall(r'msgstr "(.+)"', before)) == \
            set(re.findall(r'msgstr "(.+)"', after))


def test_a_form_without_english_is_offered_in_its_own_languages(tmp_path: Path) -> None:
    survey = [{"type": "text", "name": "q", "label::Français (fr)": "Votre métier ?",
               "label::العربية (ar)": "ما مهنتك؟"}]
    form = write_form(tmp_path / "f.xlsx", survey,
                      settings={"form_id": "metiers", "default_language": "Français (fr)"})
    imported_form = read_form(form)
    assert imported_form.source_language == "fr"
    written = write_import(imported_form, tmp_path / "out", "f.xlsx")
    assert load_questionnaire(written.flow).question("q").text == "Votre métier ?"
    translator = Translator(written.locales)
    assert translator.languages == ("en", "ar", "fr")
    text = flow_text("metiers", "q", "Votre métier ?")
    assert translator.render(text, "fr") == "Votre métier ?"
    assert translator.render(text, "ar") == "ما مهنتك؟"
