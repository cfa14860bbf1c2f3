"""The whole default questionnaire through `testimony-bot chat` (a subprocess, real stdin and
stdout), then `testimony-bot open` with the private key shows exactly the answers given."""

from __future__ import annotations

import os
import re
from pathlib import Path

from bot.flow import QuestionKind, load_consent, load_questionnaire
from tests.conftest import DEFAULT_FLOWS, PASSPHRASE, cli


def script_the_whole_questionnaire(voice: Path) -> tuple[list[str], dict[str, str]]:
    """Inputs that choose every theme (so every question shows), and the answers expected."""
    flow = load_questionnaire(DEFAULT_FLOWS / "default.toml")
    inputs = ["en", "1", "1", "1"]  # English (typed), agree, 18 or older, may be quoted
    expected: dict[str, str] = {}
    for number, question in enumerate(flow.questions):
        if question.id == "themes":
            every = range(1, len(question.choices) + 2)  # every answer, then Done
            inputs.append(" ".join(str(i) for i in every))
            expected["themes"] = ", ".join(c.id for c in question.choices)
        elif question.kind is QuestionKind.MULTI:
            inputs.append(f"2 {len(question.choices) + 1}")  # the second answer, then Done
            expected[question.id] = question.choices[1].id
        elif question.kind is QuestionKind.SINGLE:
            inputs.append("2")
            expected[question.id] = question.choices[1].id
        elif question.id == "wages_story":
            inputs.append(f"/voice {voice}")
            expected[question.id] = f"[voice: audio/ogg, {voice.stat().st_size} bytes]"
        else:
            text = f"Qx{number} my own words, «{question.id}» ü"
            inputs.append(text)
            expected[question.id] = f'"{text}"'
    return inputs, expected


def test_full_questionnaire_round_trip(deployment: tuple[dict[str, str], Path]) -> None:
    env, home = deployment
    voice = home / "note.ogg"
    voice.write_bytes(b"OggS" + bytes(range(256)) * 8)
    inputs, expected = script_the_whole_questionnaire(voice)
    chat = cli("chat", "--user", "amina", env=env, cwd=home, stdin="\n".join(inputs) + "\n")
    assert chat.returncode == 0, chat.stderr
    assert "Do you agree to take part?" in chat.stdout
    assert "Thank you" in chat.stdout.split("> ")[-2]  # the closing words came last
    assert "Traceback" not in chat.stderr

    db = home / "data" / "testimonies.db"
    opened = cli("open", "--db", str(db), "--key", str(home / "team.key"), env=env, cwd=home,
                 stdin=PASSPHRASE + "\n")
    assert opened.returncode == 0, opened.stderr
    answers = dict(re.findall(r"^   (\w+) \[en\]: (.*)$", opened.stdout, re.MULTILINE))
    assert answers == expected
    consent = load_consent(DEFAULT_FLOWS / "consent.toml")
    assert f"consent {consent.version} (en)" in opened.stdout
    assert "adult=yes, quote=yes, take_part=yes" in opened.stdout
    assert "\n1 testimony\n" in opened.stdout  # not "1 testimonies"

    wrong = cli("open", "--db", str(db), "--key", str(home / "team.key"), env=env, cwd=home,
                stdin="not the passphrase\n")
    assert wrong.returncode == 2
    assert "wrong passphrase" in wrong.stderr and "Traceback" not in wrong.stderr

    other = cli("keys", "init", "--out", str(home / "other"), "--passphrase-file",
                str(home / "pass.txt"), env=env, cwd=home)
    assert other.returncode == 0
    foreign = cli("open", "--db", str(db), "--key", str(home / "other.key"), env=env,
                  cwd=home, stdin=PASSPHRASE + "\n")
    assert foreign.returncode == 1 and "Traceback" not in foreign.stderr
    # every answer, the consent and the completion
    assert f"{len(expected) + 2} records could not be opened" in foreign.stderr
    assert "not sealed to this key" in foreign.stderr


def test_first_run_without_keys_says_what_to_do(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RECIPIENT_PUBLIC_KEYS", "SERVER_SECRET", "DEMO")}
    result = cli("chat", env=env | {"DATA_DIR": str(tmp_path / "d")}, cwd=tmp_path)
    assert result.returncode == 2
    assert "testimony-bot keys init" in result.stderr
    assert "RECIPIENT_PUBLIC_KEYS" in result.stderr and "Traceback" not in result.stderr


def test_demo_mode_makes_throwaway_keys_and_says_so(tmp_path: Path, shipped_locales: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RECIPIENT_PUBLIC_KEYS"}
    result = cli("chat", "--demo", env=env | {"DATA_DIR": str(tmp_path / "d"),
                                             "LOCALES_DIR": str(shipped_locales),
                                             "LOG_LEVEL": "WARNING"},
                 cwd=tmp_path, stdin="en\n1\n1\n1\n")
    assert result.returncode == 0, result.stderr
    assert "DEMO MODE" in result.stderr
    assert (tmp_path / "d" / "demo" / "researcher.key").exists()
    assert "How do you describe yourself?" in result.stdout
