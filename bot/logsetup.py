"""Logging that can never carry testimony: event names, question ids, counts and timings.

Every record passes a redaction filter that masks bot tokens (httpx logs full request URLs,
which contain `bot<TOKEN>`), and httpx's own chatter is raised to WARNING.
"""

from __future__ import annotations

import logging
import re

TOKEN_PATTERN = re.compile(r"\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{30,}")  # also URL-encoded


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if TOKEN_PATTERN.search(message):
            record.msg = TOKEN_PATTERN.sub("<token>", message)
            record.args = None
        return True


class RedactingFormatter(logging.Formatter):
    """Masks tokens in the whole formatted record: an exception's message and traceback
    (an HTTP error quoting its URL, say) are formatted here, after every filter has run."""

    def format(self, record: logging.LogRecord) -> str:
        return TOKEN_PATTERN.sub("<token>", super().format(record))


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
