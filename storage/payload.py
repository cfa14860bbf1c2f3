"""The plaintext inside a sealed answer: a small JSON header, then raw bytes for media.

Kept in storage so the server (which writes it) and the researcher's reader (which reads it)
share one definition.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_SEPARATOR = b"\n"


def encode(header: dict[str, Any], body: bytes = b"") -> bytes:
    head = orjson.dumps(header)  # compact UTF-8, as json.dumps(ensure_ascii=False) writes it
    return head + _SEPARATOR + body


def decode(plaintext: bytes) -> tuple[dict[str, Any], bytes]:
    head, _, body = plaintext.partition(_SEPARATOR)
    header = json.loads(head)
    if not isinstance(header, dict):
        raise ValueError("answer header is not an object")
    return header, body


def answer_aad(respondent: bytes, question_id: str, flow_id: str, flow_version: str) -> bytes:
    """Associated data naming the record, so a blob copied to another row fails to open."""
    return "\x1f".join(
        ("testimony-bot/v1/answers", respondent.hex(), question_id, flow_id, flow_version)
    ).encode()


# Record types inside a sealed `records` row (schema 4). Everything that says what a row is
# about - question, language, campaign, exact time - is in the header, never in a column.
ANSWER = "answer"
CONSENT = "consent"
COMPLETED = "completed"
LEGACY_ANSWER = "legacy-answer"  # a schema-1 answer: its old sealed blob is the body
ERASURE = "erasure"


def record_aad(record_id: bytes, respondent: bytes) -> bytes:
    """Associated data of a sealed record: its random row id and its respondent, so a blob
    copied to another row or another person fails to open."""
    return b"testimony-bot/v2/record\x1f" + record_id + b"\x1f" + respondent


def erasure_aad(record_id: bytes) -> bytes:
    return b"testimony-bot/v2/erasure\x1f" + record_id
