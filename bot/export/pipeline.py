"""The export, start to end, in two streaming passes over the snapshots.

Pass 1 opens every record (the language of each answer is released, so it is a
quasi-identifier too) but keeps only a few values per person: consent and filters decide who
is exported, and k-anonymity is planned from those values (the only thing held for everyone
at once). Pass 2 opens each testimony again in full, builds its record and hands it to every
writer. Both passes read people in batches, on every core (`jobs`), so memory does not grow
with the number of answers; the parent process writes, in a new random order every export.

Nothing is written before pass 1 has shown that the key opens the data: a wrong key or a
wrong snapshot leaves no folder behind. A record that fails to open is named, left out, and
everything else is still exported. A person with records sealed to another key (a demo's
answers left in a real database) gets no row at all and is counted apart.
"""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bot.export import csv_writer, folder, jsonl_writer, qdpx_writer, review, xlsx_writer
from bot.export.consent import ConsentPolicy
from bot.export.csv_writer import CsvWriter
from bot.export.jsonl_writer import JsonlWriter
from bot.export.kanon import DisclosureReport, Row, anonymize
from bot.export.media import FOLDER as MEDIA_FOLDER
from bot.export.media import MediaWriter
from bot.export.model import ExportRecord, Layout, Writer
from bot.export.names import NameFinder
from bot.export.parallel import ordered_map
from bot.export.progress import Progress
from bot.export.pseudonyms import ExportPseudonyms
from bot.export.qdpx_writer import QdpxWriter
from bot.export.records import (
    MONTH_COLUMNS,
    QUASI_NAMES,
    RecordBuilder,
    quasi_identifiers,
    quasi_row,
)
from bot.export.redaction import Redactor
from bot.export.selection import THEMES_QUESTION, Selection
from bot.export.sources import SourceError, Sources, batches, open_sources, read_batch
from bot.export.xlsx_writer import XlsxWriter
from bot.flow import ConsentText, Questionnaire
from storage.keys import KeyPair
from storage.reader import RecordFailure, Testimony

FORMATS = ("csv", "jsonl", "xlsx", "qdpx")
MONTH_INDEXES = tuple(QUASI_NAMES.index(name) for name in MONTH_COLUMNS)
SHOWN_FAILURES = 10
# Everything an export may write, for --force to delete before a new run.
OUTPUTS = (csv_writer.WIDE_FILE, csv_writer.LONG_FILE, jsonl_writer.FILE, xlsx_writer.FILE,
           qdpx_writer.FILE, MEDIA_FOLDER, review.REDACTIONS_FILE, review.DISCLOSURE_TEXT,
           review.DISCLOSURE_JSON, review.README)


class ExportError(Exception):
    """The export cannot go ahead; nothing was written."""


@dataclass(frozen=True)
class ExportOptions:
    snapshots: tuple[Path, ...]
    out: Path
    formats: tuple[str, ...] = FORMATS
    selection: Selection = field(default_factory=Selection)
    k: int = 5
    stable_ids: bool = False
    media: bool = True
    names: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()
    phone_regions: tuple[str, ...] = ()
    force: bool = False
    jobs: int = 1  # processes decrypting and redacting (the parent writes)


@dataclass
class ExportSummary:
    exported: int = 0
    not_consented: int = 0
    filtered_out: int = 0
    empty: int = 0
    erased: int = 0  # left out because an erasure record (/delete) names them
    foreign: list[str] = field(default_factory=list)  # people sealed to another key
    unchecked: tuple[Path, ...] = ()  # snapshots too old to carry a deployment id
    failures: list[RecordFailure] = field(default_factory=list)
    disclosure: DisclosureReport | None = None
    placeholders: int = 0
    flagged: int = 0
    media_written: int = 0
    media_skipped: int = 0
    files: list[str] = field(default_factory=list)
    row_seed: int | None = None  # only with --stable-ids


def shuffled(respondents: list[bytes], stable_ids: bool) -> tuple[list[bytes], int | None]:
    """Rows in a new random order every export: with ids new every time, the same order
    would let two exports be joined row by row. With --stable-ids the ids link exports
    anyway, so the seed is kept (in README.txt) and the order can be made again."""
    if not stable_ids:
        secrets.SystemRandom().shuffle(respondents)
        return respondents, None
    seed = secrets.randbits(64)
    random.Random(seed).shuffle(respondents)  # noqa: S311 - an order, not a secret
    return respondents, seed


# -- what each worker process holds (sent once, at its start) ------------------------------
@dataclass(frozen=True)
class _Job:
    sources: Sources
    private_key: bytes = field(repr=False)  # key material is never printed
    questionnaire: Questionnaire
    policy: ConsentPolicy
    selection: Selection
    pseudonym_key: bytes = field(repr=False)
    names: tuple[str, ...]
    places: tuple[str, ...]
    allowed: tuple[str, ...]
    phone_regions: tuple[str, ...]
    media_out: Path | None


@dataclass
class _Worker:
    job: _Job
    key: KeyPair
    builder: RecordBuilder
    media: MediaWriter | None


_WORKER: _Worker | None = None


def _start(job: _Job) -> None:
    global _WORKER
    os.umask(0o077)  # media files are plaintext: the owner's only, in every process
    media = MediaWriter(job.media_out) if job.media_out else None
    builder = RecordBuilder(job.questionnaire, job.policy, ExportPseudonyms(job.pseudonym_key),
                            Redactor(NameFinder(job.names, job.places, job.allowed),
                                     job.phone_regions), media)
    key = KeyPair.from_raw(job.private_key)
    _WORKER = _Worker(job, key, builder, media)


def _worker() -> _Worker:
    if _WORKER is None:
        raise RuntimeError("export worker used before its start")
    return _WORKER


def _themes(testimony: Testimony) -> tuple[str, ...]:
    answer = next((a for a in testimony.answers if a.question_id == THEMES_QUESTION), None)
    value = answer.header.get("value") if answer else None
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


@dataclass
class _PlanPart:
    rows: list[tuple[bytes, Row]] = field(default_factory=list)
    not_consented: int = 0
    filtered_out: int = 0
    empty: int = 0
    foreign: list[str] = field(default_factory=list)
    opened: int = 0
    failures: list[RecordFailure] = field(default_factory=list)


def _plan_batch(batch: list[bytes]) -> _PlanPart:
    """Pass 1 for a batch of people: who is exported, with their quasi-identifiers."""
    worker = _worker()
    job = worker.job
    part = _PlanPart()
    for testimony in read_batch(job.sources, worker.key, batch, part.failures):
        part.opened += len(testimony.answers)
        if testimony.foreign_records:  # never a row, never in a k-anonymity group
            part.foreign.append(testimony.label)
        elif not job.policy.admits(testimony.consent):
            part.not_consented += 1
        elif not job.selection.admits(testimony, _themes(testimony)):
            part.filtered_out += 1
        elif not testimony.stored_answers:
            part.empty += 1
        else:
            part.rows.append((testimony.respondent,
                              quasi_row(testimony, job.policy.may_quote(testimony.consent))))
    return part


@dataclass
class _BuildPart:
    records: list[ExportRecord] = field(default_factory=list)
    failures: list[RecordFailure] = field(default_factory=list)
    media_written: int = 0
    media_skipped: int = 0


def _build_batch(batch: list[tuple[bytes, Row]]) -> _BuildPart:
    """Pass 2 for a batch of people, in the order given: their records, ready to write."""
    worker = _worker()
    media = worker.media
    before = (media.written, media.skipped) if media else (0, 0)
    part = _BuildPart()
    quasi = dict(batch)
    for testimony in read_batch(worker.job.sources, worker.key, [rid for rid, _ in batch],
                                part.failures):
        part.records.append(worker.builder.build(testimony, quasi[testimony.respondent]))
    if media:
        part.media_written = media.written - before[0]
        part.media_skipped = media.skipped - before[1]
    return part


@dataclass
class _Plan:
    respondents: list[bytes]
    rows: list[Row]
    summary: ExportSummary


def plan(options: ExportOptions, job: _Job, progress: TextIO | None = None) -> _Plan:
    summary = ExportSummary(erased=job.sources.erased, unchecked=job.sources.unchecked)
    bar = Progress(progress, "Reading", len(job.sources.respondents)) if progress else None
    summary.failures += job.sources.erasure_failures
    failures: list[RecordFailure] = []
    respondents: list[bytes] = []
    rows: list[Row] = []
    opened = 0
    for part in ordered_map(_plan_batch, batches(job.sources.respondents), options.jobs,
                            _start, (job,)):
        opened += part.opened
        failures += part.failures
        summary.not_consented += part.not_consented
        summary.filtered_out += part.filtered_out
        summary.empty += part.empty
        summary.foreign += part.foreign
        for rid, row in part.rows:
            respondents.append(rid)
            rows.append(row)
        if bar:
            bar.advance(len(part.rows) + part.not_consented + part.filtered_out + part.empty
                        + len(part.foreign))
    if bar:
        bar.close()
    if failures and not opened:
        raise ExportError(
            f"this key opens none of the {len(failures)} records tried: it is not a key "
            "these testimonies were sealed to, or the snapshot is damaged. Nothing was "
            "written.\n" + describe_failures(failures))
    return _Plan(respondents, rows, summary)


def describe_failures(failures: list[RecordFailure]) -> str:
    shown = [f"  {failure}" for failure in failures[:SHOWN_FAILURES]]
    if len(failures) > SHOWN_FAILURES:
        shown.append(f"  ... and {len(failures) - SHOWN_FAILURES} more")
    return "\n".join(shown)


def check_folder(out: Path, force: bool) -> None:
    try:
        folder.check(out, force)
    except folder.FolderError as exc:
        raise ExportError(str(exc)) from exc


def _writers(options: ExportOptions, layout: Layout, questionnaire: Questionnaire
             ) -> list[Writer]:
    makers: dict[str, Callable[[], Writer]] = {
        "csv": lambda: CsvWriter(options.out, layout),
        "jsonl": lambda: JsonlWriter(options.out),
        "xlsx": lambda: XlsxWriter(options.out, layout),
        "qdpx": lambda: QdpxWriter(options.out, layout, questionnaire),
    }
    writers: list[Writer] = []
    try:
        for name in dict.fromkeys(options.formats):
            writers.append(makers[name]())
    except BaseException:
        for writer in writers:
            writer.close()
        raise
    return writers


def run_export(options: ExportOptions, key: KeyPair, questionnaire: Questionnaire,
               consent: ConsentText, progress: TextIO | None = None) -> ExportSummary:
    """Export as `options` say; every file created is readable by its owner only."""
    previous = os.umask(0o077)
    try:
        return _export(options, key, questionnaire, consent, progress)
    finally:
        os.umask(previous)


def _job(options: ExportOptions, key: KeyPair, questionnaire: Questionnaire,
         consent: ConsentText) -> _Job:
    try:
        sources = open_sources(options.snapshots, key)
    except SourceError as exc:
        raise ExportError(str(exc)) from exc
    private = key.private.private_bytes_raw()
    pseudonym_key = (ExportPseudonyms.stable_key(private) if options.stable_ids
                     else secrets.token_bytes(32))
    return _Job(sources, private, questionnaire, ConsentPolicy.from_text(consent),
                options.selection, pseudonym_key, options.names, options.places,
                options.allowed, options.phone_regions,
                options.out if options.media else None)


def _export(options: ExportOptions, key: KeyPair, questionnaire: Questionnaire,
            consent: ConsentText, progress: TextIO | None) -> ExportSummary:
    unknown = set(options.formats) - set(FORMATS)
    if unknown:
        raise ExportError(f"unknown format(s): {', '.join(sorted(unknown))}")
    check_folder(options.out, options.force)  # before the long first pass
    job = _job(options, key, questionnaire, consent)
    first = plan(options, job, progress)
    summary = first.summary
    months = {row[col] for row in first.rows for col in MONTH_INDEXES}
    quasi, report = anonymize(first.rows, quasi_identifiers(months), options.k)
    first.rows.clear()
    summary.disclosure = report
    try:  # plaintext: the folder is the owner's only; an earlier run's files go first
        folder.prepare(options.out, options.force, OUTPUTS)
    except folder.FolderError as exc:
        raise ExportError(str(exc)) from exc
    layout = Layout.of(questionnaire)
    before = set(_listing(options.out))
    log = review.RedactionLog(options.out)
    writers = [*_writers(options, layout, questionnaire), log]
    bar = Progress(progress, "Exporting", len(quasi)) if progress else None
    row_of = dict(zip(first.respondents, quasi, strict=True))
    order, summary.row_seed = shuffled(first.respondents, options.stable_ids)
    tasks = ([(rid, row_of[rid]) for rid in batch] for batch in batches(order))
    try:
        for part in ordered_map(_build_batch, tasks, options.jobs, _start, (job,)):
            summary.failures += part.failures
            summary.media_written += part.media_written
            summary.media_skipped += part.media_skipped
            for record in part.records:
                for writer in writers:
                    writer.write(record)
                summary.exported += 1
                if bar:
                    bar.advance()
    finally:
        for writer in writers:
            writer.close()
        if bar:
            bar.close()
    review.write_disclosure(options.out, report)
    summary.placeholders, summary.flagged = log.placeholders, log.flagged
    files = sorted((set(_listing(options.out)) - before) | {review.README})
    review.write_readme(options.out, files, options.k, summary.row_seed)
    summary.files = files
    folder.record(options.out, files)
    return summary


def _listing(folder: Path) -> list[str]:
    return [p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()]
