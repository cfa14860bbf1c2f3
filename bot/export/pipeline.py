"""The export, start to end, in two streaming passes over the snapshot.

Pass 1 opens only the quasi-identifiers and themes of each respondent: consent and filters
decide who is exported, and k-anonymity is planned from those few values (the only thing held
for everyone at once). Pass 2 opens each testimony in full, one at a time, builds its record
and hands it to every writer before reading the next, so memory does not grow with the number
of answers.

Nothing is written before pass 1 has shown that the key opens the data: a wrong key or a
wrong snapshot leaves no folder behind. A record that fails to open is named, left out, and
everything else is still exported.
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
from bot.export.model import Layout, Writer
from bot.export.names import NameFinder
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
from bot.export.xlsx_writer import XlsxWriter
from bot.flow import ConsentText, Questionnaire
from storage.keys import KeyPair
from storage.reader import RecordFailure, Testimony, read_testimonies

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
    snapshot: Path
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


@dataclass
class ExportSummary:
    exported: int = 0
    not_consented: int = 0
    filtered_out: int = 0
    empty: int = 0
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


@dataclass
class _Plan:
    index: dict[bytes, int]  # stored respondent id -> row in `rows`
    rows: list[Row]
    summary: ExportSummary


def _themes(testimony: Testimony) -> tuple[str, ...]:
    answer = next((a for a in testimony.answers if a.question_id == THEMES_QUESTION), None)
    value = answer.header.get("value") if answer else None
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def plan(options: ExportOptions, key: KeyPair, policy: ConsentPolicy) -> _Plan:
    """Pass 1: who is exported, with their quasi-identifiers."""
    summary = ExportSummary()
    failures: list[RecordFailure] = []
    index: dict[bytes, int] = {}
    rows: list[Row] = []
    opened = 0
    # Every answer is opened: the language each was given in is released, so it is a
    # quasi-identifier too (headers only are kept; nothing is written in this pass).
    for testimony in read_testimonies(options.snapshot, key, failures):
        opened += len(testimony.answers)
        if not policy.admits(testimony.consent):
            summary.not_consented += 1
        elif not options.selection.admits(testimony, _themes(testimony)):
            summary.filtered_out += 1
        elif not testimony.stored_answers:
            summary.empty += 1
        else:
            index[testimony.respondent] = len(rows)
            rows.append(quasi_row(testimony, policy.may_quote(testimony.consent)))
    if failures and not opened:
        raise ExportError(
            f"this key opens none of the {len(failures)} answers tried: it is not a key these "
            "testimonies were sealed to, or the snapshot is damaged. Nothing was written.\n"
            + describe_failures(failures))
    return _Plan(index, rows, summary)


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


def _export(options: ExportOptions, key: KeyPair, questionnaire: Questionnaire,
            consent: ConsentText, progress: TextIO | None) -> ExportSummary:
    unknown = set(options.formats) - set(FORMATS)
    if unknown:
        raise ExportError(f"unknown format(s): {', '.join(sorted(unknown))}")
    check_folder(options.out, options.force)  # before the long first pass
    policy = ConsentPolicy.from_text(consent)
    first = plan(options, key, policy)
    summary = first.summary
    months = {row[col] for row in first.rows for col in MONTH_INDEXES}
    quasi, report = anonymize(first.rows, quasi_identifiers(months), options.k)
    first.rows.clear()
    summary.disclosure = report
    try:  # plaintext: the folder is the owner's only; an earlier run's files go first
        folder.prepare(options.out, options.force, OUTPUTS)
    except folder.FolderError as exc:
        raise ExportError(str(exc)) from exc
    pseudonyms = (ExportPseudonyms.stable(key.private.private_bytes_raw()) if options.stable_ids
                  else ExportPseudonyms.fresh())
    names = NameFinder(options.names, options.places, options.allowed)
    media = MediaWriter(options.out) if options.media else None
    builder = RecordBuilder(questionnaire, policy, pseudonyms,
                            Redactor(names, options.phone_regions), media)
    layout = Layout.of(questionnaire)
    before = set(_listing(options.out))
    log = review.RedactionLog(options.out)
    writers = [*_writers(options, layout, questionnaire), log]
    bar = Progress(progress, "Exporting", len(quasi)) if progress else None
    order, summary.row_seed = shuffled(list(first.index), options.stable_ids)
    try:
        for testimony in read_testimonies(options.snapshot, key, summary.failures,
                                          respondents=order):
            row = first.index[testimony.respondent]
            record = builder.build(testimony, quasi[row])
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
    if media:
        summary.media_written, summary.media_skipped = media.written, media.skipped
    files = sorted((set(_listing(options.out)) - before) | {review.README})
    review.write_readme(options.out, files, options.k, summary.row_seed)
    summary.files = files
    folder.record(options.out, files)
    return summary


def _listing(folder: Path) -> list[str]:
    return [p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()]
