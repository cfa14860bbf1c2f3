"""The server secret at rest: wrapped with a passphrase, opened into RAM by `unlock`.

The pseudonym key and the working-state key derive from one secret. If that secret sits on
the server's disk, whoever seizes the disk can reverse every pseudonym (a platform id fits in
about 2^33 values; a keyed hash is only as strong as the key's absence). So the recommended
deployment keeps on disk only this vault - the secret wrapped with scrypt + AES-256-GCM under
an operator's passphrase - and `testimony-bot unlock` writes the opened secret to a file on a
RAM-backed filesystem (`/run`). A reboot or a powered-off seizure loses it; the passphrase
brings it back. The protection is the passphrase's strength and the secret's absence from
the disk, which is why `unlock` asks for a long passphrase.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.keys import DEFAULT_LOG2_N, KeyFileError, open_wrapped, wrapping_key

FILE_FORMAT = "testimony-bot-server-secret"
MIN_PASSPHRASE = 16  # characters; a passphrase of several words, not a password
RAM_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})


def wrap_secret(secret: bytes, passphrase: str, log2_n: int = DEFAULT_LOG2_N) -> str:
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeyFileError(
            f"the passphrase must be at least {MIN_PASSPHRASE} characters (several words): "
            "the vault on disk is only as strong as it")
    salt, nonce = os.urandom(16), os.urandom(12)
    params = {"format": FILE_FORMAT, "version": 1, "kdf": "scrypt", "log2_n": log2_n,
              "r": 8, "p": 1, "salt": base64.b64encode(salt).decode()}
    aad = json.dumps(params, sort_keys=True).encode()
    sealed = AESGCM(wrapping_key(passphrase, salt, log2_n)).encrypt(nonce, secret, aad)
    return json.dumps({**params, "nonce": base64.b64encode(nonce).decode(),
                       "ciphertext": base64.b64encode(sealed).decode()}, indent=2)


def unwrap_secret(text: str, passphrase: str, source: str = "vault") -> bytes:
    return open_wrapped(text, passphrase, FILE_FORMAT, "secret vault", source)[1]


def filesystem_type(path: Path) -> str | None:
    """The type of the filesystem holding `path` (Linux: /proc/mounts), or None."""
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    target = str(path.resolve())
    best, kind = "", None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, kind = mount_point, fields[2]
    return kind


def in_ram(path: Path) -> bool:
    """Whether `path` lives on a RAM-backed filesystem, lost at power-off."""
    return filesystem_type(path) in RAM_FILESYSTEMS


def write_secret_file(path: Path, secret: bytes) -> None:
    """The opened secret, readable by its owner only, replaced atomically."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret.hex() + "\n")
    os.replace(partial, path)
