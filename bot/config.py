"""Settings, read once from the environment and `.env` into a frozen object.

The names are part of the product: deployment guides rely on them. Secrets are held in a
wrapper that never prints its value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_GRAPH_URL = "https://graph.facebook.com/v23.0"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
PATH_SETTINGS = ("DATA_DIR", "LOCALES_DIR", "FLOW_FILE", "CONSENT_FILE")


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and what to do."""


@dataclass(frozen=True)
class Secret:
    """A value that must never reach a log line, a traceback or a terminal."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('***')" if self.value else "Secret('')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self.value)


@dataclass(frozen=True)
class Settings:
    telegram_bot_token: Secret
    telegram_api_url: str
    data_dir: Path
    recipient_public_keys: str
    server_secret: Secret
    server_secret_file: Path | None
    demo: bool
    webhook_url: str
    webhook_listen: str
    webhook_port: int
    session_ttl_hours: int
    log_level: str
    locales_dir: Path | None
    flow_file: Path | None
    consent_file: Path | None
    bot_username: str
    field_worker_ids: tuple[str, ...]
    db_max_mb: int
    clean_chat: bool = True
    whatsapp_access_token: Secret = Secret("")
    whatsapp_phone_number_id: str = ""
    whatsapp_app_secret: Secret = Secret("")
    whatsapp_verify_token: Secret = Secret("")
    whatsapp_api_url: str = DEFAULT_GRAPH_URL
    whatsapp_number: str = ""  # the public number, digits only (for wa.me links)
    whatsapp_field_workers: tuple[str, ...] = ()  # numbers, digits only (WhatsApp's wa_id)
    whatsapp_reminder_template: str = ""  # an approved utility template for late reminders
    # Quiet time mid-questionnaire after which the one reminder offer goes out; None: never.
    reminder_offer_after: timedelta | None = field(default=timedelta(hours=2),
                                                   metadata={"none_shown_as": "off"})
    database_url: Secret = field(default_factory=lambda: Secret(""))

    # Not a setting: where SERVER_SECRET came from (.env is on disk: warned about).
    server_secret_in_dotenv: bool = field(default=False, metadata={"derived": True})

    @property
    def whatsapp_configured(self) -> bool:
        """Any WhatsApp setting given: then all the required ones must be (checked at start)."""
        return bool(self.whatsapp_access_token or self.whatsapp_phone_number_id
                    or self.whatsapp_app_secret or self.whatsapp_verify_token)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "testimonies.db"

    def describe(self) -> dict[str, str]:
        """Safe to print: secrets shown only as set / not set."""
        shown = {}
        for f in fields(self):
            if f.metadata.get("derived"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, Secret):
                shown[f.name.upper()] = "(set)" if value else "(not set)"
            elif isinstance(value, timedelta):
                shown[f.name.upper()] = f"{value.total_seconds() / 3600:g}"  # hours, as set
            else:
                shown[f.name.upper()] = (f.metadata.get("none_shown_as", "") if value is None
                                         else str(value))
        return shown


def read_dotenv(path: Path) -> dict[str, str]:
    """A minimal `.env` reader: KEY=value lines, `#` comments, optional quotes."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ConfigError(f"{path}:{number}: expected KEY=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _int(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name} must be between {low} and {high}")
    return number


def _hours_or_off(value: str, name: str) -> timedelta | None:
    """A number of hours (decimals allowed: 0.5 is half an hour), or `off`."""
    if value.strip().lower() in ("off", "no", "false", "never"):
        return None
    try:
        hours = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number of hours or off, not {value!r}") from None
    if not 0 < hours <= 24 * 30:
        raise ConfigError(f"{name} must be more than 0 and at most 720 hours, or off")
    return timedelta(hours=hours)


def load_settings(environ: Mapping[str, str] | None = None,
                  dotenv: Path | None = Path(".env")) -> Settings:
    """The environment wins over `.env`, so a deployment can override a file.

    A relative path written in `.env` is relative to the folder of that `.env`, not to the
    folder a command happens to run in: a cron job elsewhere must find the same database."""
    from_file = read_dotenv(dotenv) if dotenv else {}
    if dotenv is not None:
        home = dotenv.resolve().parent
        for name in PATH_SETTINGS:
            value = from_file.get(name, "").strip()
            if value and not Path(value).expanduser().is_absolute():
                from_file[name] = str(home / value)
    environment = environ if environ is not None else os.environ
    env = {**from_file, **environment}

    def get(name: str, default: str = "") -> str:
        return env.get(name, default).strip()

    def path_or_none(name: str) -> Path | None:
        value = get(name)
        return Path(value).expanduser() if value else None

    locales_dir = path_or_none("LOCALES_DIR")
    if locales_dir is not None and not locales_dir.is_dir():
        raise ConfigError(f"LOCALES_DIR {locales_dir} is not a folder. Leave it empty for the "
                          "shipped translations, or point it at a folder of catalogs.")

    return Settings(
        telegram_bot_token=Secret(get("TELEGRAM_BOT_TOKEN")),
        telegram_api_url=get("TELEGRAM_API_URL", DEFAULT_API_URL).rstrip("/") or DEFAULT_API_URL,
        data_dir=Path(get("DATA_DIR", "./data")).expanduser(),
        recipient_public_keys=get("RECIPIENT_PUBLIC_KEYS"),
        server_secret=Secret(_secret(get("SERVER_SECRET"))),
        server_secret_file=path_or_none("SERVER_SECRET_FILE"),
        server_secret_in_dotenv=bool(from_file.get("SERVER_SECRET", "").strip())
        and "SERVER_SECRET" not in environment,
        demo=_flag(get("DEMO"), "DEMO"),
        webhook_url=get("WEBHOOK_URL"),
        webhook_listen=get("WEBHOOK_LISTEN", "127.0.0.1"),
        webhook_port=_int(get("WEBHOOK_PORT", "8443"), "WEBHOOK_PORT", 1, 65535),
        session_ttl_hours=_int(get("SESSION_TTL_HOURS", "720"), "SESSION_TTL_HOURS", 1,
                               24 * 365),
        log_level=_choice(get("LOG_LEVEL", "INFO").upper() or "INFO", "LOG_LEVEL", LOG_LEVELS),
        locales_dir=locales_dir,
        flow_file=path_or_none("FLOW_FILE"),
        consent_file=path_or_none("CONSENT_FILE"),
        bot_username=get("BOT_USERNAME").lstrip("@"),
        field_worker_ids=tuple(_ids(get("FIELD_WORKER_IDS"))),
        db_max_mb=_int(get("DB_MAX_MB", "0"), "DB_MAX_MB", 0, 1_000_000),
        clean_chat=_flag(get("CLEAN_CHAT", "1"), "CLEAN_CHAT"),
        whatsapp_access_token=Secret(get("WHATSAPP_ACCESS_TOKEN")),
        whatsapp_phone_number_id=get("WHATSAPP_PHONE_NUMBER_ID"),
        whatsapp_app_secret=Secret(get("WHATSAPP_APP_SECRET")),
        whatsapp_verify_token=Secret(get("WHATSAPP_VERIFY_TOKEN")),
        whatsapp_api_url=get("WHATSAPP_API_URL", DEFAULT_GRAPH_URL).rstrip("/")
        or DEFAULT_GRAPH_URL,
        whatsapp_number=_number(get("WHATSAPP_NUMBER"), "WHATSAPP_NUMBER") or "",
        whatsapp_reminder_template=get("WHATSAPP_REMINDER_TEMPLATE").strip(),
        reminder_offer_after=_hours_or_off(get("REMINDER_OFFER_AFTER") or "2",
                                           "REMINDER_OFFER_AFTER"),
        whatsapp_field_workers=tuple(
            _number(item, "WHATSAPP_FIELD_WORKERS") or ""
            for item in get("WHATSAPP_FIELD_WORKERS").split(",") if item.strip()),
        database_url=Secret(_database_url(get("DATABASE_URL"))),
    )


def _database_url(value: str) -> str:
    """Empty (SQLite in DATA_DIR) or a PostgreSQL URL; shown only as set / not set, since it
    may carry a password."""
    if value and not value.startswith(("postgresql://", "postgres://")):
        raise ConfigError("DATABASE_URL must be a PostgreSQL URL (postgresql://user@host/db), "
                          "or empty for SQLite in DATA_DIR")
    return value


def _choice(value: str, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _secret(value: str) -> str:
    """The secret alone. A pasted `SERVER_SECRET=...` line, or a value with a space or line
    break in it, is refused: the secret must never change once in use, so it must not start
    life malformed. (Trailing `=` padding, as base64 ends, is allowed.) Never shown."""
    if "=" in value.rstrip("=") or any(char.isspace() for char in value):
        raise ConfigError(
            "SERVER_SECRET contains '=' or a space. Put only the secret itself into .env, "
            "e.g. the part after 'SERVER_SECRET=' of what `testimony-bot secret` prints.")
    return value


def _ids(value: str) -> list[str]:
    ids = [item for item in value.replace(",", " ").split() if item]
    bad = [item for item in ids if not item.isdigit()]
    if bad:
        raise ConfigError("FIELD_WORKER_IDS must be numeric Telegram user ids, comma-separated")
    return ids


def _number(value: str, name: str) -> str | None:
    """A phone number in international form ("+971 50 123 4567") as WhatsApp writes it:
    digits only, country code first."""
    if not value:
        return None
    digits = "".join(c for c in value if c.isdigit())
    if set(value) - set("0123456789+ -().") or not 8 <= len(digits) <= 15:
        raise ConfigError(f"{name} must be phone numbers in international form, e.g. "
                          "+971501234567 (comma-separated where several)")
    return digits
