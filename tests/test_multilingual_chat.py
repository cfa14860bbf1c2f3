"""Scripted conversations end to end in Arabic and in Tagalog through the terminal channel."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.engine import messages as msg
from bot.engine.text import flow_text
from bot.flow import load_consent, load_questionnaire
from bot.i18n import Translator
from tests.conftest import DEFAULT_FLOWS, PASSPHRASE, ROOT, cli, compiled_locales


@pytest.mark.parametrize("language", ["ar", "tl"])
def test_whole_conversation_in_the_persons_language(
    language: str, deployment: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    if not (ROOT / "locales" / language / "LC_MESSAGES" / "messages.po").exists():
        pytest.fail(f"no catalog for {language}")
    env, home = deployment
    translator = Translator(Path(env["LOCALES_DIR"]))
    flow = load_questionnaire(DEFAULT_FLOWS / "default.toml")
    consent = load_consent(DEFAULT_FLOWS / "consent.toml")

    def local(item: str, source: str, flow_id: str = flow.id) -> str:
        return translator.render(flow_text(flow_id, item, source), language)

    story = {"ar": "كانت الوكالة تأخذ راتبي",
             "tl": "Hindi ako binayaran nang tatlong buwan"}[language]
    inputs = [language, "1", "1", "1",  # language by its code, then consent
              "1", "/skip", "/skip", "/skip", "/skip",  # gender, then skip the profile
              "1 10",  # theme: work and pay, then Done
              "1", "1", story,  # two closed questions, then the story
              "/skip"]  # the recommendation
    chat = cli("chat", "--user", f"speaker-{language}", env=env, cwd=home,
               stdin="\n".join(inputs) + "\n")
    assert chat.returncode == 0, chat.stderr
    out = chat.stdout
    expected = [
        translator.render(msg.CHOOSE_LANGUAGE, "en"),  # the picker speaks the default first
        local("intro", consent.intro, consent.id).splitlines()[0],
        local("chat_app", consent.chat_app, consent.id).splitlines()[0],
        local("contact", consent.contact, consent.id),
        local("take_part", consent.items[0].text, consent.id),
        local("gender", flow.question("gender").text),
        local("gender.woman", "Woman"),
        local("wages_story", flow.question("wages_story").text).splitlines()[0],
        local("closing", flow.closing).splitlines()[0],
        local("safety_note", flow.safety_note).splitlines()[0],
    ]
    for line in expected:
        assert line in out, f"missing in {language}: {line!r}"
    for english in ("Do you agree to take part?", "How do you describe yourself?",
                    "Tap all that apply"):
        assert english not in out, f"English left in the {language} conversation: {english}"

    opened = cli("open", "--db", str(home / "data" / "testimonies.db"), "--key",
                 str(home / "team.key"), env=env, cwd=home, stdin=PASSPHRASE + "\n")
    assert opened.returncode == 0, opened.stderr
    assert f"consent {consent.version} ({language})" in opened.stdout
    answers = re.findall(rf"^   (\w+) \[{language}\]: (.*)$", opened.stdout, re.MULTILINE)
    assert ("gender", "woman") in answers
    assert ("wages_story", f'"{story}"') in answers


def test_every_shipped_language_renders_the_consent(tmp_path: Path) -> None:
    locales = compiled_locales(tmp_path / "locales")
    translator = Translator(locales)
    consent = load_consent(DEFAULT_FLOWS / "consent.toml")
    question = flow_text(consent.id, "take_part", consent.items[0].text)
    rendered = {lang: translator.render(question, lang) for lang in translator.languages}
    untranslated = [lang for lang, text in rendered.items()
                    if lang != "en" and text == consent.items[0].text]
    assert not untranslated
    assert len(set(rendered.values())) == len(rendered)
    for text_id, source in (("intro", consent.intro), ("chat_app", consent.chat_app),
                            ("contact", consent.contact)):
        text = flow_text(consent.id, text_id, source)
        english = [lang for lang in translator.languages
                   if lang != "en" and translator.render(text, lang) == source]
        assert not english, f"consent {text_id} shows in English in {english}"
