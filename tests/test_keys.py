"""Researcher key files: scrypt-wrapped, refused clearly when wrong or hostile."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from storage.keys import (
    KeyFileError,
    KeyPair,
    decode_public,
    encode_public,
    parse_recipients,
    unwrap_private_key,
    wrap_private_key,
)


def test_wrap_and_unwrap() -> None:
    pair = KeyPair.generate()
    text = wrap_private_key(pair, "correct horse battery", log2_n=14)
    opened = unwrap_private_key(text, "correct horse battery")
    assert opened.public == pair.public
    assert "correct horse" not in text
    assert json.loads(text)["kdf"] == "scrypt"


def test_wrong_passphrase() -> None:
    text = wrap_private_key(KeyPair.generate(), "correct horse battery", log2_n=14)
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        unwrap_private_key(text, "incorrect horse")


@pytest.mark.parametrize(("field", "value"), [("log2_n", 30), ("log2_n", 4), ("r", 1000),
                                              ("p", 64)])
def test_absurd_scrypt_parameters_are_refused_before_any_work(field: str, value: int) -> None:
    doc = json.loads(wrap_private_key(KeyPair.generate(), "pass phrase here", log2_n=14))
    doc[field] = value
    with pytest.raises(KeyFileError, match="outside the safe range"):
        unwrap_private_key(json.dumps(doc), "pass phrase here")


def test_damaged_file() -> None:
    with pytest.raises(KeyFileError, match="not a testimony-bot private key"):
        unwrap_private_key('{"format": "pem"}', "x")
    with pytest.raises(KeyFileError, match="damaged"):
        unwrap_private_key("not json", "x")


def test_public_keys_inline_or_from_files(tmp_path: Path) -> None:
    one, two = KeyPair.generate(), KeyPair.generate()
    (tmp_path / "two.pub").write_text(encode_public(two.public) + "\n")
    keys = parse_recipients(f"{encode_public(one.public)}, {tmp_path / 'two.pub'}")
    assert keys == (one.public, two.public)
    assert decode_public(encode_public(one.public)) == one.public
    with pytest.raises(KeyFileError, match="cannot read public key file"):
        parse_recipients(str(tmp_path / "missing.pub"))
    with pytest.raises(KeyFileError, match="listed twice"):
        parse_recipients(f"{encode_public(one.public)} {encode_public(one.public)}")


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin,
                          capture_output=True, text=True, check=False)


def test_keys_init_and_check_commands(tmp_path: Path) -> None:
    prefix = tmp_path / "team"
    created = run_cli("keys", "init", "--out", str(prefix), stdin="a long passphrase\n")
    assert created.returncode == 0, created.stderr
    public = (tmp_path / "team.pub").read_text().strip()
    assert f"RECIPIENT_PUBLIC_KEYS={public}" in created.stdout
    assert (tmp_path / "team.key").stat().st_mode & 0o077 == 0
    checked = run_cli("keys", "check", str(tmp_path / "team.key"), stdin="a long passphrase\n")
    assert checked.returncode == 0 and public in checked.stdout
    wrong = run_cli("keys", "check", str(tmp_path / "team.key"), stdin="wrong passphrase\n")
    assert wrong.returncode == 2
    assert "wrong passphrase" in wrong.stderr and "Traceback" not in wrong.stderr
    again = run_cli("keys", "init", "--out", str(prefix), stdin="a long passphrase\n")
    assert again.returncode == 2 and "exists already" in again.stderr
