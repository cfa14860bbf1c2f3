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
from storage.links import Link
from storage.sealing import NotSealedToThisKey, SealError, open_sealed


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
    campaign: str | None  # the campaign of the link they came through (or its stored key)
    started_on: str
    completed_on: str | None
    consent: Consent | None
    answers: list[OpenedAnswer] = field(default_factory=list)
    stored_answers: int = 0  # rows in the database, opened or not (see `questions`)
    foreign_records: int = 0  # records sealed only to other keys (e.g. a demo's answers)

    @property
    def label(self) -> str:
        """A short name for messages; not the stored pseudonym itself."""
        return self.respondent.hex()[:8]


@dataclass(frozen=True)
class RecordFailure:
    respondent: str
    question_id: str  # '' when unknown: a sealed record that does not open hides its question
    reason: str
    record: str = ""  # the start of the record's row id, to find it in the database
    foreign: bool = False  # sealed only to other keys (not damaged: meant for someone else)

    def __str__(self) -> str:
        what = f"record {self.record}" if self.record else f"answer '{self.question_id}'"
        return f"respondent {self.respondent}, {what}: {self.reason}"


def connect_readonly(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise SnapshotError(f"{path} does not exist")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        tables = _tables(conn)
    except sqlite3.Error as exc:
        raise SnapshotError(f"{path} is not a testimony-bot database ({exc})") from exc
    if "records" not in tables and "answers" not in tables:
        conn.close()
        raise SnapshotError(f"{path} is not a testimony-bot database (no answers in it)")
    return conn


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {str(row[0]) for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}


def read_testimonies(path: Path, key: KeyPair,
                     failures: list[RecordFailure] | None = None,
                     questions: Collection[str] | None = None,
                     respondents: Iterable[bytes] | None = None) -> Iterator[Testimony]:
    """Every respondent with their opened answers, one at a time (streaming).

    With `respondents`, only those, in that order (ids the snapshot does not hold are passed
    over): exports read people in a shuffled order, and in batches across processes.

    With `questions`, only those answers are kept: a summary of closed answers never passes
    free text on (each record must still be opened to learn which question it answers).
    Databases of every schema are read: sealed records (schema 4), and the clear-text
    metadata tables of schemas 1-3 (as such, or renamed `legacy_*` before the bot re-sealed
    them).
    """
    conn = connect_readonly(path)
    try:
        tables = _tables(conn)
        if "records" in tables:
            campaigns = _link_campaigns(conn) if "links" in tables else {}
            for testimony in _sealed_records(conn, key, failures, questions, respondents):
                if testimony.campaign is not None:
                    code = Link.code_of(testimony.campaign)
                    testimony.campaign = campaigns.get(code, testimony.campaign)
                yield testimony
        for prefix in ("", "legacy_"):
            if prefix + "answers" in tables and prefix + "consents" in tables:
                yield from _clear_metadata(conn, prefix, key, failures, questions,
                                           respondents)
    finally:
        conn.close()


def _link_campaigns(conn: sqlite3.Connection) -> dict[str, str]:
    """Link code -> campaign name: records keep the code, people want the campaign."""
    return {str(code): str(campaign)
            for code, campaign in conn.execute("SELECT code, campaign FROM links")}


def _ids(conn: sqlite3.Connection, respondents: Iterable[bytes] | None) -> Iterator[bytes]:
    if respondents is None:
        for (rid,) in conn.execute("SELECT id FROM respondents ORDER BY id").fetchall():
            yield bytes(rid)
        return
    for rid in respondents:
        if conn.execute("SELECT 1 FROM respondents WHERE id = ?", (rid,)).fetchone():
            yield rid


def _sealed_records(conn: sqlite3.Connection, key: KeyPair,
                    failures: list[RecordFailure] | None,
                    questions: Collection[str] | None,
                    respondents: Iterable[bytes] | None) -> Iterator[Testimony]:
    private = key.private
    for respondent in _ids(conn, respondents):
        testimony = Testimony(respondent, None, "", None, None)
        label = testimony.label
        for record_id, sealed in conn.execute(
            "SELECT id, sealed FROM records WHERE respondent_id = ? ORDER BY rowid",
            (respondent,)
        ):
            try:
                header, body = payload.decode(open_sealed(
                    sealed, private, payload.record_aad(bytes(record_id), respondent)))
                kind = header.get("type")
                if kind == payload.CONSENT:
                    testimony.campaign = header.get("campaign")
                    testimony.consent = Consent(
                        str(header["version"]), str(header["language"]),
                        str(header["agreed_at"]),
                        {str(k): bool(v) for k, v in sorted(dict(header["items"]).items())})
                    testimony.started_on = str(header["agreed_at"])[:10]
                elif kind == payload.COMPLETED:
                    testimony.completed_on = str(header["at"])[:10]
                elif kind in (payload.ANSWER, payload.LEGACY_ANSWER):
                    testimony.stored_answers += 1
                    answer = _answer(header, body, key, respondent)
                    if questions is None or answer.question_id in questions:
                        testimony.answers.append(answer)
                else:
                    raise ValueError(f"unknown record type {kind!r}")
            except (SealError, ValueError, KeyError, TypeError) as exc:
                foreign = isinstance(exc, NotSealedToThisKey)
                testimony.foreign_records += foreign
                if failures is not None:
                    failures.append(RecordFailure(label, "", str(exc),
                                                  bytes(record_id).hex()[:8], foreign))
        yield testimony


def _answer(header: dict[str, Any], body: bytes, key: KeyPair,
            respondent: bytes) -> OpenedAnswer:
    qid, flow_id, flow_version = (str(header["question_id"]), str(header["flow_id"]),
                                  str(header["flow_version"]))
    answered_on = str(header["at"])[:10]
    if header["type"] == payload.LEGACY_ANSWER:
        # The body is the answer as schema 1 sealed it, bound to its clear-text metadata.
        aad = payload.answer_aad(respondent, qid, flow_id, flow_version)
        inner, body = payload.decode(open_sealed(body, key.private, aad))
        return OpenedAnswer(qid, flow_id, flow_version, answered_on, inner, body)
    return OpenedAnswer(qid, flow_id, flow_version, answered_on, header, body)


# Schemas 1-3 kept these in clear text. Two spellings of the same queries: the tables as
# they were, and renamed by migration 0004 until the bot re-seals them.
_CLEAR_QUERIES = {
    "": (
        "SELECT r.id, r.campaign, r.started_on, r.completed_on, c.consent_version, "
        "c.language, c.agreed_at FROM respondents r "
        "LEFT JOIN consents c ON c.respondent_id = r.id ORDER BY r.started_on, r.id",
        "SELECT item_id, agreed FROM consent_items WHERE respondent_id = ?",
        "SELECT question_id, flow_id, flow_version, answered_on, sealed "
        "FROM answers WHERE respondent_id = ? ORDER BY rowid",
    ),
    "legacy_": (
        "SELECT r.id, r.campaign, r.started_on, r.completed_on, c.consent_version, "
        "c.language, c.agreed_at FROM legacy_respondents r "
        "LEFT JOIN legacy_consents c ON c.respondent_id = r.id ORDER BY r.started_on, r.id",
        "SELECT item_id, agreed FROM legacy_consent_items WHERE respondent_id = ?",
        "SELECT question_id, flow_id, flow_version, answered_on, sealed "
        "FROM legacy_answers WHERE respondent_id = ? ORDER BY rowid",
    ),
}


_CLEAR_ONE = {
    "": "SELECT r.id, r.campaign, r.started_on, r.completed_on, c.consent_version, "
        "c.language, c.agreed_at FROM respondents r "
        "LEFT JOIN consents c ON c.respondent_id = r.id WHERE r.id = ?",
    "legacy_": "SELECT r.id, r.campaign, r.started_on, r.completed_on, c.consent_version, "
               "c.language, c.agreed_at FROM legacy_respondents r "
               "LEFT JOIN legacy_consents c ON c.respondent_id = r.id WHERE r.id = ?",
}


def _clear_metadata(conn: sqlite3.Connection, prefix: str, key: KeyPair,
                    failures: list[RecordFailure] | None,
                    questions: Collection[str] | None,
                    respondents: Iterable[bytes] | None) -> Iterator[Testimony]:
    private = key.private
    people_sql, items_sql, answers_sql = _CLEAR_QUERIES[prefix]
    if respondents is None:
        people = conn.execute(people_sql).fetchall()
    else:  # one at a time, in the order asked for
        one = _CLEAR_ONE[prefix]
        people = [row for rid in respondents
                  for row in conn.execute(one, (rid,)).fetchall()]
    for rid, campaign, started, completed, version, language, agreed_at in people:
        consent = None
        if version is not None:
            items = {item: bool(agreed) for item, agreed in conn.execute(items_sql, (rid,))}
            consent = Consent(version, language, agreed_at, items)
        testimony = Testimony(rid, campaign, started, completed, consent)
        for qid, flow_id, flow_version, answered_on, sealed in conn.execute(
                answers_sql, (rid,)):
            testimony.stored_answers += 1
            if questions is not None and qid not in questions:
                continue
            aad = payload.answer_aad(rid, qid, flow_id, flow_version)
            try:
                header, body = payload.decode(open_sealed(sealed, private, aad))
            except (SealError, ValueError) as exc:
                foreign = isinstance(exc, NotSealedToThisKey)
                testimony.foreign_records += foreign
                if failures is not None:
                    failures.append(RecordFailure(testimony.label, qid, str(exc),
                                                  foreign=foreign))
                continue
            testimony.answers.append(
                OpenedAnswer(qid, flow_id, flow_version, answered_on, header, body))
        yield testimony


def respondent_ids(path: Path) -> list[bytes]:
    """Every respondent a snapshot holds (no key needed: ids are keyed pseudonyms)."""
    conn = connect_readonly(path)
    try:
        tables = _tables(conn)
        found = {bytes(rid) for (rid,) in conn.execute("SELECT id FROM respondents")}
        if "legacy_respondents" in tables:
            found.update(bytes(rid) for (rid,) in conn.execute(
                "SELECT id FROM legacy_respondents"))
        return sorted(found)
    finally:
        conn.close()


def deployment_of(path: Path) -> str | None:
    """The id migration 0004 gave the bot's database (snapshots carry it); None for older
    snapshots, which cannot tell."""
    conn = connect_readonly(path)
    try:
        if "maintenance" not in _tables(conn):
            return None
        row = conn.execute(
            "SELECT value FROM maintenance WHERE fact = 'deployment'").fetchone()
        return str(row[0]) if row else None
    finally:
        conn.close()


def read_erasures(path: Path, key: KeyPair,
                  failures: list[RecordFailure] | None = None) -> set[bytes]:
    """The respondents named by erasure records: people who used /delete after some of
    their answers may have left the server in a snapshot. Drop them from every snapshot."""
    conn = connect_readonly(path)
    try:
        if "erasures" not in _tables(conn):
            return set()
        erased = set()
        for record_id, sealed in conn.execute("SELECT id, sealed FROM erasures"):
            try:
                header, _ = payload.decode(open_sealed(
                    sealed, key.private, payload.erasure_aad(bytes(record_id))))
                erased.add(bytes.fromhex(str(header["respondent"])))
            except (SealError, ValueError, KeyError) as exc:
                if failures is not None:
                    failures.append(RecordFailure("-", "", str(exc),
                                                  "erasure " + bytes(record_id).hex()[:8]))
        return erased
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
