"""What an administrator trips over in the first hour: each a clear refusal, never a guess."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.runtime import load_secrets, load_translator, protect_files
from tests.conftest import PASSPHRASE, ROOT
from tests.test_export_acceptance import run_cli


def test_relative_paths_in_dotenv_are_relative_to_its_folder(tmp_path: Path) -> None:
    home = tmp_path / "srv" / "bot"
    (home / "locales").mkdir(parents=True)
    (home / ".env").write_text("DATA_DIR=./data\nLOCALES_DIR=locales\n")
    settings = load_settings({}, home / ".env")
    assert settings.database_path == home / "data" / "testimonies.db"
    assert settings.locales_dir == home / "locales"
    # The environment's own relative paths stay relative to where the command runs.
    assert load_settings({"DATA_DIR": "elsewhere"}, home / ".env").data_dir == Path("elsewhere")


@pytest.mark.parametrize("value", ["SERVER_SECRET=" + "ab" * 32, "ab" * 16 + " " + "ab" * 16,
                                   "ab" * 16 + "\t" + "cd" * 16])
def test_a_pasted_or_broken_server_secret_is_refused_without_showing_it(value: str) -> None:
    with pytest.raises(ConfigError, match="SERVER_SECRET") as refused:
        load_settings({"SERVER_SECRET": value}, None)
    assert "ab" * 16 not in str(refused.value)


def test_base64_padding_is_not_mistaken_for_a_pasted_line() -> None:
    secret = "q" * 42 + "=="
    assert load_settings({"SERVER_SECRET": secret}, None).server_secret.value == secret


def test_unknown_log_level_and_missing_locales_dir_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load_settings({"LOG_LEVEL": "verbose"}, None)
    with pytest.raises(ConfigError, match="LOCALES_DIR"):
        load_settings({"LOCALES_DIR": str(tmp_path / "nope")}, None)
    assert load_settings({"LOG_LEVEL": "warning"}, None).log_level == "WARNING"


def test_catalogs_written_but_not_compiled_are_warned_about(
        tmp_path: Path, shipped_locales: Path, caplog: pytest.LogCaptureFixture) -> None:
    locales = tmp_path / "locales"
    shutil.copytree(shipped_locales / "ar", locales / "ar")
    po_only = locales / "sw" / "LC_MESSAGES"
    po_only.mkdir(parents=True)
    shutil.copy(ROOT / "locales" / "sw" / "LC_MESSAGES" / "messages.po", po_only)
    with caplog.at_level(logging.WARNING):
        translator = load_translator(load_settings({"LOCALES_DIR": str(locales)}, None))
    assert translator.languages == ("en", "ar")
    assert "catalogs_not_compiled languages=sw" in caplog.text and "make compile" in caplog.text


def test_an_unfilled_dotenv_is_not_told_to_run_make_run() -> None:
    with pytest.raises(ConfigError) as refused:
        load_secrets(load_settings({}, None))
    assert "make run" not in str(refused.value) and "DEMO=1" in str(refused.value)


@pytest.mark.parametrize("platform", [
    {"TELEGRAM_BOT_TOKEN": "123456789:" + "A" * 35},
    {"WHATSAPP_ACCESS_TOKEN": "EAAG-token", "WHATSAPP_PHONE_NUMBER_ID": "1"}])
def test_demo_keys_are_refused_with_a_real_platform(tmp_path: Path,
                                                    platform: dict[str, str]) -> None:
    """Throwaway keys lie beside the data: they never seal what real people send."""
    settings = load_settings({"DEMO": "1", "DATA_DIR": str(tmp_path), **platform}, None)
    with pytest.raises(ConfigError, match="DEMO=1 uses throwaway keys"):
        protect_files(settings)


def test_maintenance_never_starts_an_empty_database(tmp_path: Path) -> None:
    missing = tmp_path / "wrong-folder" / "testimonies.db"
    for args in (["backup", tmp_path / "snap.db", "--db", missing],
                 ["purge", "--older-than", "30", "--db", missing]):
        run = run_cli(*args)
        assert run.code == 2 and "no database" in run.err, args
    assert not missing.parent.exists() and not (tmp_path / "snap.db").exists()


def test_keys_init_into_a_folder(tmp_path: Path) -> None:
    (tmp_path / "pass.txt").write_text(PASSPHRASE)
    made = subprocess.run(
        [sys.executable, "-m", "bot", "keys", "init", "--out", "keys/", "--passphrase-file",
         str(tmp_path / "pass.txt")], cwd=tmp_path, env=os.environ, capture_output=True,
        text=True, check=False)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "keys" / "researcher.key").is_file()
    assert (tmp_path / "keys" / "researcher.pub").is_file()
    assert not (tmp_path / "keys.key").exists()


def test_gitignore_keeps_decrypted_and_secret_files_out_of_commits() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    paths = ["snapshot.db", "backups/2026-12-01.db", "data/testimonies.db-wal",
             "researcher.key", "keys/researcher.key", "team.key", "export/testimonies.csv",
             "report/report.html", "export/voice/T-ABCDEFGH-wages_story.ogg"]
    code = ["bot/export/model.py", "bot/export/report.py"]  # the code of those commands
    checked = subprocess.run(["git", "check-ignore", "--no-index", *paths, *code], cwd=ROOT,
                             capture_output=True, text=True, check=False)
    assert sorted(checked.stdout.split()) == sorted(paths)


def test_pyproject_license_is_an_spdx_string_and_setuptools_is_bounded() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "AGPL-3.0-or-later"
    (setuptools,) = [r for r in project["build-system"]["requires"]
                     if r.startswith("setuptools")]
    assert ">=77" in setuptools and "<" in setuptools  # SPDX strings need 77; bounded above


def test_readme_says_how_the_command_gets_on_the_path() -> None:
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert ". .venv/bin/activate" in quickstart
