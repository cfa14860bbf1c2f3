"""`unlock`: the server secret's vault on disk, the secret itself only in RAM."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from storage.keys import KeyFileError
from storage.vault import in_ram, unwrap_secret, wrap_secret

PASSPHRASE = "a long passphrase of several words"


def run(*args: str, cwd: Path, passphrase: str = PASSPHRASE,
        **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERVER_SECRET", "DATA"))}
    env |= {"KEY_PASSPHRASE": passphrase, "DATA_DIR": str(cwd / "data"), **extra}
    return subprocess.run([sys.executable, "-m", "bot", "unlock", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_wrap_and_unwrap() -> None:
    secret = os.urandom(32)
    text = wrap_secret(secret, PASSPHRASE, log2_n=14)
    assert secret.hex() not in text
    assert unwrap_secret(text, PASSPHRASE) == secret
    decomposed = PASSPHRASE.replace("a long", "a\u0301 long")
    assert unwrap_secret(wrap_secret(secret, decomposed, log2_n=14),
                         decomposed.replace("a\u0301", "\u00e1")) == secret  # NFC
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        unwrap_secret(text, "not the passphrase at all")
    with pytest.raises(KeyFileError, match="at least 16"):
        wrap_secret(secret, "short")


def test_unlock_writes_only_to_ram_and_keeps_an_existing_secret(tmp_path: Path) -> None:
    existing = "ab" * 32
    made = run("--init", cwd=tmp_path, SERVER_SECRET=existing)
    assert made.returncode == 0, made.stderr
    assert "already in use" in made.stdout
    vault = tmp_path / "data" / "server_secret.vault"
    assert existing not in vault.read_text(encoding="utf-8")
    assert vault.stat().st_mode & 0o077 == 0
    again = run("--init", cwd=tmp_path)
    assert again.returncode == 2 and "must never change" in again.stderr

    on_disk = run("--out", str(tmp_path / "secret"), cwd=tmp_path)
    assert on_disk.returncode == 2 and "not on a RAM filesystem" in on_disk.stderr
    assert not (tmp_path / "secret").exists()
    wrong = run("--out", str(tmp_path / "secret"), "--allow-disk", cwd=tmp_path,
                passphrase="a wrong passphrase, long enough")
    assert wrong.returncode == 2 and "wrong passphrase" in wrong.stderr

    if not in_ram(Path("/dev/shm")):
        pytest.skip("no RAM filesystem at /dev/shm on this machine")
    out = Path("/dev/shm") / f"tb-{uuid.uuid4().hex}" / "server_secret"
    try:
        opened = run("--out", str(out), cwd=tmp_path)
        assert opened.returncode == 0, opened.stderr
        assert out.read_text(encoding="utf-8").strip() == existing
        assert out.stat().st_mode & 0o077 == 0 and out.parent.stat().st_mode & 0o077 == 0
    finally:
        out.unlink(missing_ok=True)
        out.parent.rmdir()
