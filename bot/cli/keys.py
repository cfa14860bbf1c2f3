"""`keys init`, `keys check` and `secret`: the researchers' key pair and the server secret."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bot.cli.common import Subparsers, UserError, add_passphrase_options, read_passphrase
from storage.keys import KeyFileError, KeyPair, encode_public, read_private_key, wrap_private_key
from storage.server_keys import new_secret

MIN_PASSPHRASE = 12
DEFAULT_NAME = "researcher"


def register(commands: Subparsers) -> None:
    keys = commands.add_parser("keys", help="create or check a researcher key pair")
    sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    init = sub.add_parser("init", help="create a key pair (run it on a researcher's machine)")
    init.add_argument("--out", default="researcher", metavar="PREFIX",
                      help="writes PREFIX.key (private, wrapped) and PREFIX.pub (default: "
                      "researcher); a folder (keys/) gets researcher.key and .pub inside")
    init.add_argument("--force", action="store_true", help="overwrite existing files")
    add_passphrase_options(init)
    init.set_defaults(handler=init_keys)
    check = sub.add_parser("check", help="verify that a private key file opens")
    check.add_argument("key", type=Path, help="the private key file")
    add_passphrase_options(check)
    check.set_defaults(handler=check_key)
    secret = commands.add_parser("secret", help="print a new SERVER_SECRET for .env")
    secret.set_defaults(handler=print_secret)


def key_prefix(out: str) -> Path:
    """`--out` as a prefix: a folder (an existing one, or any name ending in a slash) gets the
    default name inside it, never `keys.key` beside it."""
    if out.endswith(("/", os.sep)) or Path(out).is_dir():
        return Path(out) / DEFAULT_NAME
    return Path(out)


def init_keys(args: argparse.Namespace) -> int:
    prefix = key_prefix(args.out)
    private_path = prefix.with_name(prefix.name + ".key")
    public_path = prefix.with_name(prefix.name + ".pub")
    if not args.force and (private_path.exists() or public_path.exists()):
        raise UserError(f"{private_path} or {public_path} exists already (use --force)")
    passphrase = read_passphrase(args, "New passphrase for the private key: ", confirm=True)
    if len(passphrase) < MIN_PASSPHRASE:
        raise UserError(f"use a passphrase of at least {MIN_PASSPHRASE} characters")
    pair = KeyPair.generate()
    wrapped = wrap_private_key(pair, passphrase)
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(wrapped)
    public = encode_public(pair.public)
    public_path.write_text(public + "\n", encoding="utf-8")
    print(f"Private key (keep it offline, never on the server): {private_path}")
    print(f"Public key written to {public_path}. For the bot's .env:")
    print(f"RECIPIENT_PUBLIC_KEYS={public}")
    return 0


def check_key(args: argparse.Namespace) -> int:
    try:
        pair = read_private_key(args.key, read_passphrase(args))
    except KeyFileError as exc:
        raise UserError(str(exc)) from exc
    print(f"OK: {args.key} opens; its public key is {encode_public(pair.public)}")
    return 0


def print_secret(args: argparse.Namespace) -> int:
    print(f"SERVER_SECRET={new_secret()}")
    return 0
