"""Reading a database (or a snapshot of it) on a researcher's machine, with the private key.

This is the only place where sealed answers become plaintext again. Each record that fails to
open is reported by name and skipped; everything else is still read.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage import payload
from storage.keys import KeyPair
from storage.sealing import SealError, open_sealed


class SnapshotError(Exception):
    """The file is not a readable testimony-bot database."""


@dataclass(frozen=True)
class OpenedAnswer:
    question_id: str
    flow_id: str
    flow_version: str
    answered_on: str
    header: dict[str, Any]
    body: bytes = b""

    @property
    def language(self) -> str | None:
        value = self.header.get("language")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Consent:
    version: str
    language: str
    agreed_at: str
    items: dict[str, bool]


@dataclass
class Testimony:
    respondent: bytes
    campaign: str | None
    started_on: str
    completed_on: str | None
    consent: Consent | None
    answers: list[OpenedAnswer] = field(default_factory=list)
    stored_answers: int = 0  # rows in the database, opened or not (see `questions`)

    @property
    def label(self) -> str:
        """A short name for messages; not the stored pseudonym itself."""
        return self.respondent.hex()[:8]


@dataclass(frozen=True)
class RecordFailure:
    respondent: str
    question_id: str
    reason: str

    def __str__(self) -> str:
        return f"respondent {self.respondent}, answer '{self.question_id}': {self.reason}"


def connect_readonly(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise SnapshotError(f"{path} does not exist")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        conn.execute("SELECT count(*) FROM answers").fetchone()
    except sqlite3.Error as exc:
        raise SnapshotError(f"{path} is not a testimony-bot database ({exc})") from exc
    return conn


_RESPONDENTS = ("SELECT r.id, r.campaign, r.started_on, r.completed_on, c.consent_version, "
                "c.language, c.agreed_at FROM respondents r "
                "LEFT JOIN consents c ON c.respondent_id = r.id")


def _respondent_rows(conn: sqlite3.Connection, respondents: Iterable[bytes] | None
                     ) -> Iterator[tuple[Any, ...]]:
    if respondents is None:
        yield from conn.execute(_RESPONDENTS + " ORDER BY r.started_on, r.id")
        return
    for rid in respondents:
        row = conn.execute(_RESPONDENTS + " WHERE r.id = ?", (rid,)).fetchone()
        if row is not None:
            yield row


def read_testimonies(path: Path, key: KeyPair,
                     failures: list[RecordFailure] | None = None,
                     questions: Collection[str] | None = None,
                     respondents: Iterable[bytes] | None = None) -> Iterator[Testimony]:
    """Every respondent with their opened answers, one at a time (streaming).

    With `questions`, only those answers are opened (the others are not decrypted at all): a
    summary of closed answers never needs to see free text. With `respondents`, only those,
    in that order (ids not in the snapshot are passed over).
    """
    conn = connect_readonly(path)
    private = key.private
    try:
        for rid, campaign, started, completed, version, language, agreed_at in \
                _respondent_rows(conn, respondents):
            consent = None
            if version is not None:
                items = {item: bool(agreed) for item, agreed in conn.execute(
                    "SELECT item_id, agreed FROM consent_items WHERE respondent_id = ?", (rid,))}
                consent = Consent(version, language, agreed_at, items)
            testimony = Testimony(rid, campaign, started, completed, consent)
            for qid, flow_id, flow_version, answered_on, sealed in conn.execute(
                "SELECT question_id, flow_id, flow_version, answered_on, sealed FROM answers "
                "WHERE respondent_id = ? ORDER BY rowid", (rid,)
            ):
                testimony.stored_answers += 1
                if questions is not None and qid not in questions:
                    continue
                aad = payload.answer_aad(rid, qid, flow_id, flow_version)
                try:
                    header, body = payload.decode(open_sealed(sealed, private, aad))
                except (SealError, ValueError) as exc:
                    if failures is not None:
                        failures.append(RecordFailure(testimony.label, qid, str(exc)))
                    continue
                testimony.answers.append(
                    OpenedAnswer(qid, flow_id, flow_version, answered_on, header, body))
            yield testimony
    finally:
        conn.close()


def describe_answer(answer: OpenedAnswer) -> str:
    """One line for `testimony-bot open`."""
    header = answer.header
    kind = header.get("kind")
    if kind == "choice":
        return ", ".join(str(v) for v in header.get("value", []))
    if kind == "media":
        return (f"[{header.get('media')}: {header.get('mime_type')}, {len(answer.body)} bytes]")
    return json.dumps(header.get("value"), ensure_ascii=False) if kind == "text" else str(
        header.get("value"))
