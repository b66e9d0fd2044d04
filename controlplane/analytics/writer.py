"""Events to the database, off the analyzer's hot path: a thread writes each stream's flushes in order.

A flush is what one stream ended since the last one, and where its analysis stands. It is written in one
transaction with the stream's checkpoint, so after a crash the next owner resumes exactly after what is
written: no event is lost between the two or written twice. The checkpoint doubles as a fence: a flush
is written only over the checkpoint it was computed from, so an analyzer that lost its lease (and whose
stream another already moved on) cannot write over the new owner's work. While the database is away the
flushes wait in order and are retried with backoff; snapshots go to storage first (idempotent names).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, DataError, IntegrityError, close_old_connections, connection, transaction

from controlplane.analytics.models import Checkpoint, Event, snapshot_path
from controlplane.analytics.rollup import add_counts
from controlplane.analytics.tracking import Sighting
from inference_worker.runtime import Backoff

log = logging.getLogger("ei.analytics")


@dataclass
class Flush:
    stream: str
    based_on: str | None  # the checkpoint's cursor this flush follows (None: the stream's first)
    cursor: str
    next_track: dict[str, int]
    late: int
    malformed: int
    ended: list[tuple[str, Sighting]] = field(default_factory=list)  # (queue, sighting), events only


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def event_of(stream: str, queue_name: str, sighting: Sighting) -> Event:
    event = Event(stream=stream, queue=queue_name, label=sighting.label, track=sighting.track,
                  first_seen=_when(sighting.first_seen), last_seen=_when(sighting.last_seen),
                  first_seq=sighting.first_seq, last_seq=sighting.last_seq, frames=sighting.frames,
                  best_score=sighting.best_score, best_box=list(sighting.best_box), path=sighting.path)
    if sighting.best_jpeg:
        name = snapshot_path(event, f"{queue_name}-{sighting.track}-{sighting.first_seq}.jpg")
        if not default_storage.exists(name):
            name = default_storage.save(name, ContentFile(sighting.best_jpeg))
        event.snapshot.name = name
    return event


def write_flush(flush: Flush) -> int | None:
    """Write ``flush``; the number of events inserted, or None when the stream's checkpoint has moved on."""
    events = [event_of(flush.stream, q, s) for q, s in flush.ended]
    with transaction.atomic():
        checkpoint = Checkpoint.objects.select_for_update().filter(stream=flush.stream).first()
        if (checkpoint.cursor if checkpoint else None) != flush.based_on:
            return None
        inserted = _insert(events)
        add_counts(inserted)
        Checkpoint.objects.update_or_create(stream=flush.stream, defaults={
            "cursor": flush.cursor, "next_track": flush.next_track, "late": flush.late, "malformed": flush.malformed})
    return len(inserted)


def _insert(events: list[Event]) -> list[Event]:
    """Insert ``events`` and return those that were new: all of them, unless one is there already (which
    the fence makes rare), then one by one, skipping those."""
    try:
        with transaction.atomic():
            Event.objects.bulk_create(events)
        return events
    except IntegrityError:
        inserted = []
        for event in events:
            try:
                with transaction.atomic():
                    event.save(force_insert=True)
                inserted.append(event)
            except IntegrityError:
                log.info("event %s already written", event)
        return inserted


class Writer:
    """The thread that writes flushes, in the order they are given."""

    def __init__(self):
        self.written = 0  # events inserted
        self.fenced: set[str] = set()  # streams whose flushes were refused: another analyzer owns them now
        self._queue: queue.Queue[Flush | None] = queue.Queue()
        self._backoff = Backoff("database", log)
        self._thread = threading.Thread(target=self._run, name="event writer", daemon=True)
        self._thread.start()

    def submit(self, flush: Flush) -> None:
        self._queue.put(flush)

    def pending(self) -> int:
        return self._queue.qsize()

    @property
    def retrying(self) -> bool:
        """Whether the database refused the last write (it is tried again with backoff)."""
        return self._backoff.failures > 0

    def close(self, timeout: float) -> bool:
        """Write what was submitted (for at most ``timeout`` seconds: the database may be away); whether
        all of it was written. What is not stays in the stream's results, after its checkpoint."""
        self._queue.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            while True:
                flushes = [self._queue.get()]
                while not self._queue.empty():
                    flushes.append(self._queue.get_nowait())
                close_old_connections()  # once per round of flushes (about a second), as per request in a server
                for flush in flushes:
                    if flush is None:
                        return
                    self._write(flush)
        finally:
            connection.close()

    def _write(self, flush: Flush) -> None:
        while True:
            try:
                inserted = write_flush(flush)
            except DataError as exc:  # no retry would take these events: say so, and keep the checkpoint going
                if not flush.ended:
                    log.error("stream %s: the database refused its checkpoint (%s)", flush.stream, exc)
                    self.fenced.add(flush.stream)  # the analyzer starts the stream again from the last one written
                    return
                log.error("stream %s: the database refused %d events (%s): dropped", flush.stream, len(flush.ended), exc)
                flush.ended = []
                continue
            except DatabaseError as exc:
                connection.close()  # a broken connection is made again on the next try
                time.sleep(self._backoff.note(exc))
                continue
            self._backoff.succeeded()
            if inserted is None:
                if flush.stream not in self.fenced:
                    log.warning("stream %s: its checkpoint moved on (another analyzer owns it): flush dropped", flush.stream)
                self.fenced.add(flush.stream)
            else:
                self.written += inserted
            return
