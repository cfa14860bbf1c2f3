"""Flow files are validated on load; each error names the file, the item and the fault."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.flow import FlowError, QuestionKind, load_consent, load_questionnaire
from tests.conftest import DEFAULT_FLOWS, TEST_FLOWS

HEAD = 'id = "t"\nversion = "1"\nwelcome = "w"\nclosing = "c"\nsafety_note = "s"\n'
THEMES = """
[[sections]]
id = "s1"
[[sections.questions]]
id = "themes"
kind = "multi"
text = "Themes?"
choices = [{ id = "wages", label = "Wages" }, { id = "health", label = "Health" }]
"""


def write(tmp_path: Path, body: str, head: str = HEAD) -> Path:
    path = tmp_path / "flow.toml"
    path.write_text(head + body, encoding="utf-8")
    return path


def error_for(tmp_path: Path, body: str, head: str = HEAD) -> FlowError:
    path = write(tmp_path, body, head)
    with pytest.raises(FlowError) as caught:
        load_questionnaire(path)
    assert str(caught.value).startswith(f"{path}: ")
    return caught.value


def test_shipped_flows_are_valid() -> None:
    flow = load_questionnaire(DEFAULT_FLOWS / "default.toml")
    consent = load_consent(DEFAULT_FLOWS / "consent.toml")
    assert flow.version and consent.version
    assert all(q.optional for q in flow.questions), "every default question can be skipped"
    profile = {"gender", "age_band", "origin_region", "living_region", "sector"}
    assert profile <= {q.id for q in flow.questions}
    themes = flow.question("themes")
    assert themes.kind is QuestionKind.MULTI
    assert {c.id for c in themes.choices} >= {"wages", "health", "status", "journey",
                                               "detention", "climate", "discrimination"}
    assert [i.kind for i in consent.items] == ["required", "age_gate", "optional"]


def test_duplicate_id(tmp_path: Path) -> None:
    body = THEMES + '[[sections.questions]]\nid = "themes"\nkind = "text"\ntext = "Again"\n'
    err = error_for(tmp_path, body)
    assert (err.item, err.problem) == ("themes", "duplicate id")


def test_unknown_reference_in_condition(tmp_path: Path) -> None:
    body = THEMES + ('[[sections.questions]]\nid = "x"\nkind = "text"\ntext = "X"\n'
                     'when = { question = "nope", includes = "wages" }\n')
    err = error_for(tmp_path, body)
    assert err.item == "x" and "unknown question 'nope'" in err.problem


def test_choice_without_label(tmp_path: Path) -> None:
    body = ('[[sections]]\nid = "s"\n[[sections.questions]]\nid = "q"\nkind = "single"\n'
            'text = "Q"\nchoices = [{ id = "a" }]\n')
    err = error_for(tmp_path, body)
    assert (err.item, err.problem) == ("q.choices.a", "choice has no label")


@pytest.mark.parametrize(
    ("condition", "why"),
    [('{ question = "themes", includes = "housing" }', "does not have"),
     ('{ question = "later", equals = "a" }', "comes later"),
     ('{ question = "x", equals = "a" }', "comes later or is the item itself")],
)
def test_unreachable_item(tmp_path: Path, condition: str, why: str) -> None:
    body = THEMES + (f'[[sections.questions]]\nid = "x"\nkind = "text"\ntext = "X"\n'
                     f"when = {condition}\n"
                     '[[sections.questions]]\nid = "later"\nkind = "single"\ntext = "L"\n'
                     'choices = [{ id = "a", label = "A" }]\n')
    err = error_for(tmp_path, body)
    assert err.item == "x" and why in err.problem and "unreachable" in err.problem


def test_condition_on_a_question_without_choices(tmp_path: Path) -> None:
    body = ('[[sections]]\nid = "s"\n[[sections.questions]]\nid = "t1"\nkind = "text"\n'
            'text = "T"\n[[sections.questions]]\nid = "t2"\nkind = "text"\ntext = "T2"\n'
            'when = { question = "t1", equals = "a" }\n')
    assert "without choices" in error_for(tmp_path, body).problem


@pytest.mark.parametrize(
    ("body", "item", "fragment"),
    [('[[sections]]\nid = "s"\n[[sections.questions]]\nid = "q"\nkind = "essay"\ntext = "Q"\n',
      "q", "unknown kind"),
     ('[[sections]]\nid = "s"\n[[sections.questions]]\nid = "Bad Id"\nkind = "text"\n'
      'text = "Q"\n', "sections.s.questions[1]", "'id'"),
     ('[[sections]]\nid = "s"\n[[sections.questions]]\nid = "n"\nkind = "number"\n'
      'text = "N"\nmin = 5\nmax = 1\n', "n", "greater than"),
     ('[[sections]]\nid = "s"\n[[sections.questions]]\nid = "q"\nkind = "text"\ntext = ""\n',
      "q", "'text'"),
     ('[[sections]]\nid = "s"\n[[sections.questions]]\nid = "q"\nkind = "text"\ntext = "Q"\n'
      'colour = "red"\n', "sections.s.questions[1]", "unknown key"),
     ('[[sections]]\nid = "s"\n[[sections.questions]]\nid = "q"\nkind = "single"\n'
      'text = "Q"\nchoices = [{ id = "a", label = "A" }, { id = "a", label = "B" }]\n',
      "q.choices.a", "duplicate choice id")],
)
def test_malformed_items(tmp_path: Path, body: str, item: str, fragment: str) -> None:
    err = error_for(tmp_path, body)
    assert err.item == item and fragment in err.problem


def test_missing_version(tmp_path: Path) -> None:
    err = error_for(tmp_path, THEMES, head='id = "t"\nwelcome = "w"\nclosing = "c"\n'
                    'safety_note = "s"\n')
    assert err.item == "version"


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    err = error_for(tmp_path, "this is = = not toml")
    assert err.item == "file" and "not valid TOML" in err.problem


def test_consent_needs_a_required_item(tmp_path: Path) -> None:
    path = tmp_path / "consent.toml"
    path.write_text('id = "c"\nversion = "1"\nintro = "i"\n[[items]]\nid = "q"\n'
                    'kind = "optional"\ntext = "T"\nyes = "Y"\nno = "N"\n', encoding="utf-8")
    with pytest.raises(FlowError, match="needs at least one 'required' item"):
        load_consent(path)


def test_consent_texts_besides_the_intro(tmp_path: Path) -> None:
    shipped = load_consent(DEFAULT_FLOWS / "consent.toml")
    assert "Telegram's servers" in shipped.chat_app and "48 hours" in shipped.chat_app
    assert shipped.contact, "the shipped consent says how to reach the organisation"
    path = tmp_path / "consent.toml"
    head = 'id = "c"\nversion = "1"\nintro = "i"\n'
    item = '[[items]]\nid = "{}"\nkind = "required"\ntext = "T"\nyes = "Y"\nno = "N"\n'
    path.write_text(head + item.format("take_part"), encoding="utf-8")
    assert (load_consent(path).chat_app, load_consent(path).contact) == ("", "")
    path.write_text(head + item.format("contact"), encoding="utf-8")
    with pytest.raises(FlowError, match="name of a consent text"):
        load_consent(path)


def test_flow_check_command(tmp_path: Path) -> None:
    bad = write(tmp_path, THEMES + '[[sections.questions]]\nid = "themes"\nkind = "text"\n'
                'text = "dup"\n')
    ok = subprocess.run([sys.executable, "-m", "bot", "flow", "check",
                         str(TEST_FLOWS / "mini.toml"), str(TEST_FLOWS / "consent.toml")],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "questionnaire 'mini' version 3" in ok.stdout
    failed = subprocess.run([sys.executable, "-m", "bot", "flow", "check", str(bad)],
                            capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert f"error: {bad}: themes: duplicate id" in failed.stdout
