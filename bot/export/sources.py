"""What an export or a report reads: one snapshot or several, combined by respondent.

The documented workflow (backup, purge, backup again...) leaves a researcher with several
snapshots, each holding part of some people's testimonies. They are read together:

- only snapshots of one deployment (the id migration 0004 writes into every database);
  snapshots made before it carry none and cannot be checked, and say so;
- a person who used /delete is left out of every snapshot as soon as any snapshot carries
  an erasure record naming them;
- a person's records from every snapshot make one testimony: the latest answer to each
  question wins (an answer changed after a backup is in a later snapshot).

People are read in batches of ids, so the caller decides the order and memory stays flat.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from storage.keys import KeyPair
from storage.reader import (
    OpenedAnswer,
    RecordFailure,
    SnapshotError,
    Testimony,
    deployment_of,
    read_erasures,
    read_testimonies,
    respondent_ids,
)

SQLITE_MAGIC = b"SQLite format 3\x00"
BATCH = 64


class SourceError(Exception):
    """The snapshots cannot be read together; nothing was written."""


@dataclass(frozen=True)
class Sources:
    snapshots: tuple[Path, ...]
    respondents: tuple[bytes, ...]  # everyone in any snapshot, erased people left out
    erased: int = 0  # people found and left out because of an erasure record
    unchecked: tuple[Path, ...] = ()  # snapshots too old to carry a deployment id
    erasure_failures: tuple[RecordFailure, ...] = field(default=())


def expand(paths: Sequence[Path]) -> tuple[Path, ...]:
    """Each --db as given; a folder stands for the SQLite files in it (by name)."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            inside = [p for p in sorted(path.iterdir()) if p.is_file() and _is_sqlite(p)]
            if not inside:
                raise SourceError(f"{path} holds no snapshot")
            found.update(dict.fromkeys(p.resolve() for p in inside))
        elif not path.is_file():
            raise SourceError(f"{path} does not exist")
        else:
            found[path.resolve()] = None
    return tuple(found)


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def open_sources(paths: Sequence[Path], key: KeyPair) -> Sources:
    snapshots = expand(paths)
    try:
        deployments = {path: deployment_of(path) for path in snapshots}
        known = {d for d in deployments.values() if d}
        if len(known) > 1:
            named = "\n".join(f"  {p}: deployment {d or 'unknown'}"
                              for p, d in deployments.items())
            raise SourceError("these snapshots come from different deployments (different "
                              f"bots) and cannot be combined:\n{named}")
        failures: list[RecordFailure] = []
        erased: set[bytes] = set()
        for path in snapshots:
            erased |= read_erasures(path, key, failures)
        everyone: set[bytes] = set()
        for path in snapshots:
            everyone.update(respondent_ids(path))
    except SnapshotError as exc:
        raise SourceError(str(exc)) from exc
    return Sources(snapshots, tuple(sorted(everyone - erased)), len(everyone & erased),
                   tuple(p for p, d in deployments.items() if not d), tuple(failures))


def read_batch(sources: Sources, key: KeyPair, batch: Sequence[bytes],
               failures: list[RecordFailure] | None = None,
               questions: Collection[str] | None = None) -> list[Testimony]:
    """The testimonies of `batch`, in that order, each combined from every snapshot."""
    parts: dict[bytes, list[Testimony]] = {}
    for path in sources.snapshots:
        for testimony in read_testimonies(path, key, failures, questions, respondents=batch):
            parts.setdefault(testimony.respondent, []).append(testimony)
    return [combine(parts[rid]) for rid in batch if rid in parts]


def read_all(sources: Sources, key: KeyPair, failures: list[RecordFailure] | None = None,
             questions: Collection[str] | None = None) -> Iterator[Testimony]:
    for batch in batches(sources.respondents):
        yield from read_batch(sources, key, batch, failures, questions)


def batches(items: Sequence[bytes], size: int = BATCH) -> Iterable[list[bytes]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _when(answer: OpenedAnswer) -> str:
    return str(answer.header.get("at") or answer.answered_on)


def combine(parts: list[Testimony]) -> Testimony:
    """One person's records from several snapshots (in snapshot order) as one testimony."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    consents = [p.consent for p in parts if p.consent is not None]
    latest: dict[str, tuple[str, int, OpenedAnswer]] = {}
    for order, part in enumerate(parts):
        for answer in part.answers:
            seen = latest.get(answer.question_id)
            candidate = (_when(answer), order, answer)
            if seen is None or candidate[:2] >= seen[:2]:
                latest[answer.question_id] = candidate
    started = sorted(p.started_on for p in parts if p.started_on)
    completed = sorted(p.completed_on for p in parts if p.completed_on)
    return Testimony(
        respondent=first.respondent,
        campaign=next((p.campaign for p in parts if p.campaign), None),
        started_on=started[0] if started else "",
        completed_on=completed[-1] if completed else None,
        consent=max(consents, key=lambda c: c.agreed_at) if consents else None,
        answers=[entry[2] for entry in latest.values()],
        stored_answers=max(p.stored_answers for p in parts),
        foreign_records=sum(p.foreign_records for p in parts),
    )
