"""The analytics stage: each owned stream's results, in order, through a tracker per queue, into events.

One loop reads the owned streams with one blocking XREAD, puts each queue's results back in seq order
(:mod:`~controlplane.analytics.reorder`), tracks them (:mod:`~controlplane.analytics.tracking`), publishes
each result's track numbers to ``ei:tracks:<stream>`` for the live view, and about once a second hands what
ended to the writer thread, with the stream's checkpoint. The loop never waits for the database, except
to read a stream's checkpoint when it takes the stream's lease.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import socket
import time
from dataclasses import dataclass

from django.db import DatabaseError, connection

from controlplane.analytics.leases import Leases
from controlplane.analytics.models import Checkpoint
from controlplane.analytics.reorder import Reorderer
from controlplane.analytics.results import parse
from controlplane.analytics.tracking import Observed, QueueTracker, Sighting
from controlplane.analytics.writer import Flush, Writer
from inference_worker import protocol
from inference_worker.runtime import REDIS_ERRORS, Backoff, StopFlag

log = logging.getLogger("ei.analytics")
RESULTS_PREFIX = protocol.results_key("")
ANALYZERS_KEY = f"{protocol.KEY_PREFIX}:analytics:analyzers"  # sorted set: analyzer id -> last seen
BATCH = 200  # entries per stream per XREAD
TRACKS_MAXLEN = 100


@dataclass(frozen=True)
class Settings:
    window: float = 0.5  # reorder window, seconds
    min_frames: int = 3  # a track seen in fewer results is noise, not an event
    # ByteTrack's first association pass, and what may start a track; then its IoU gate. Chosen on vtest.avi
    # (bench/tracks_vtest.py): small pedestrians' boxes jitter, and a gate of 0.25 broke tracks twice as often.
    high_score: float = 0.6
    iou: float = 0.1
    lifespan: float = 2.0  # a track unmatched this long (capture time) has ended
    lease_ttl: float = 5.0
    flush_every: float = 1.0


def previous_id(entry_id: str) -> str:
    """The stream ID just before ``entry_id``: reading after it reads ``entry_id`` again."""
    ms, _, seq = entry_id.partition("-")
    if int(seq):
        return f"{ms}-{int(seq) - 1}"
    return f"{int(ms) - 1}-18446744073709551615"


class StreamAnalysis:
    """One owned stream: where reading stands, a reorderer and a tracker per queue, and what ended."""

    def __init__(self, stream: str, checkpoint: Checkpoint | None, settings: Settings):
        self.stream, self.settings = stream, settings
        self.committed = checkpoint.cursor if checkpoint else None  # what the next flush follows
        self.cursor = self.committed or "0-0"
        self.next_track: dict[str, int] = dict(checkpoint.next_track) if checkpoint else {}
        self.late = checkpoint.late if checkpoint else 0
        self.malformed = checkpoint.malformed if checkpoint else 0
        self.queues: dict[str, tuple[Reorderer[Observed], QueueTracker]] = {}
        self.last_arrival: dict[str, float] = {}
        self.ended: list[tuple[str, Sighting]] = []
        self.noise = 0  # ended tracks seen in fewer than min_frames results
        self._flushed = (self.late, self.malformed)  # the counts the last flush wrote

    def add(self, queue: str, worker: str, result: Observed, now: float) -> None:
        if queue not in self.queues:
            tracker = QueueTracker(next_track=self.next_track.get(queue, 1), high_score=self.settings.high_score,
                                   iou=self.settings.iou, lifespan=self.settings.lifespan)
            self.queues[queue] = (Reorderer(self.settings.window), tracker)
        self.last_arrival[queue] = now
        self.queues[queue][0].add(result.seq, worker, result, now)

    def step(self, now: float) -> list[tuple[str, Observed, list[int | None]]]:
        """Track the results whose turn has come: (queue, result, track numbers) for the live view."""
        out = []
        for queue, (reorderer, tracker) in self.queues.items():
            for result in reorderer.ready(now):
                numbers, ended = tracker.update(result)
                self._ended(queue, ended)
                out.append((queue, result, numbers))
            quiet = now - self.last_arrival[queue]
            if tracker.last_ts is not None and quiet > self.settings.lifespan and not reorderer.held():
                self._ended(queue, tracker.age(tracker.last_ts + quiet))
        return out

    def finish(self) -> None:
        """End every open track (the analyzer stops): what is held is tracked first."""
        for queue, (reorderer, tracker) in self.queues.items():
            for result in reorderer.drain():
                self._ended(queue, tracker.update(result)[1])
            self._ended(queue, tracker.finish())

    def flush(self) -> Flush | None:
        """What ended since the last flush, with a checkpoint that resumes before anything still held;
        None when nothing changed (an idle stream costs the database nothing)."""
        held = [r.entry_id for reorderer, _ in self.queues.values() for r in reorderer.held()]
        cursor = previous_id(min(held, key=protocol.entry_order)) if held else self.cursor
        if self.committed is not None and protocol.entry_order(cursor) < protocol.entry_order(self.committed):
            cursor = self.committed
        for queue, (_, tracker) in self.queues.items():
            self.next_track[queue] = tracker.next_track
        late = self.late + sum(reorderer.late for reorderer, _ in self.queues.values())
        flush = Flush(self.stream, self.committed, cursor, dict(self.next_track), late, self.malformed, self.ended)
        if not self.ended and (cursor, late, self.malformed) == (self.committed, *self._flushed):
            return None
        self.committed, self.ended, self._flushed = cursor, [], (late, self.malformed)
        return flush

    def _ended(self, queue: str, sightings: list[Sighting]) -> None:
        for sighting in sightings:
            if sighting.frames >= self.settings.min_frames:
                self.ended.append((queue, sighting))
            else:
                self.noise += 1


def tracks_message(stream: str, queue: str, result: Observed, numbers: list[int | None]) -> str:
    return json.dumps({"v": protocol.VERSION, "kind": "tracks", "stream": stream, "queue": queue,
                       "seq": result.seq, "tracks": numbers}, separators=(",", ":"))


class Analyzer:
    """The streams this analyzer holds the leases of, read, tracked and written; see the module's docstring."""

    def __init__(self, client, *, settings: Settings = Settings(), analyzer_id: str | None = None):
        self.client, self.settings = client, settings
        # unique even between analyzers of one process, or they would renew each other's leases
        self.id = analyzer_id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.leases = Leases(client, self.id, settings.lease_ttl)
        self.owned: dict[str, StreamAnalysis] = {}
        self.writer = Writer()
        self.analysed = 0  # results tracked
        self._redis = Backoff("redis", log, cap=2.0)
        self._database = Backoff("database (checkpoints)", log)
        self._announced = False
        self._malformed_logged: set[str] = set()

    @property
    def redis_away(self) -> bool:
        """Whether the last round met Redis away (it is tried again with backoff)."""
        return self._redis.failures > 0

    @property
    def database_away(self) -> bool:
        """Whether the last stream taken could not read its checkpoint (it is taken again shortly)."""
        return self._database.failures > 0

    def run(self, stop: StopFlag) -> None:
        next_leases = next_flush = 0.0
        log.info("analyzer %s started", self.id)
        while not stop.is_set():
            try:
                now = time.monotonic()
                if now >= next_leases:
                    self.manage_leases()
                    next_leases = now + self.settings.lease_ttl / 5
                if self.owned:
                    self.handle(self.client.xread({protocol.results_key(s): a.cursor for s, a in self.owned.items()},
                                                  count=BATCH, block=100))
                else:
                    stop.wait(0.5)
                self.publish(time.monotonic())
                if now >= next_flush:
                    self.flush()
                    next_flush = now + self.settings.flush_every
                self._redis.succeeded()
            except REDIS_ERRORS as exc:
                stop.wait(self._redis.note(exc))
        self.stop()

    def manage_leases(self) -> None:
        """Keep the leases still ours, drop the streams whose lease went to another, take free ones: at
        most a fair share of them, counting the analyzers alive. The first round only says this one is
        alive, so that analyzers started together split the streams. (One started later takes only free
        streams: new ones, and a dead analyzer's; taking a stream from a live one would cut its open tracks.)"""
        now = time.time()
        self.client.zadd(ANALYZERS_KEY, {self.id: now})
        # alive: heard from within two lease TTLs (a round late under load must not look dead)
        self.client.zremrangebyscore(ANALYZERS_KEY, "-inf", now - 2 * self.settings.lease_ttl)
        if not self._announced:
            self._announced = True
            return
        for stream in self.owned.keys() - self.leases.renew(self.owned):
            del self.owned[stream]  # the next owner resumes from the checkpoint
            log.warning("stream %s: lease lost, left to the analyzer that holds it now", stream)
        for stream in self.writer.fenced & self.owned.keys():
            del self.owned[stream]  # the last owner's late flush moved the checkpoint on: start again from it
            self.take(stream)
        names = sorted(key.decode()[len(RESULTS_PREFIX):]
                       for key in self.client.scan_iter(match=f"{RESULTS_PREFIX}*", count=1000))
        names = [n for n in names if protocol.valid_name(n)]
        share = math.ceil(len(names) / max(1, self.client.zcard(ANALYZERS_KEY)))
        for stream in names:
            if len(self.owned) >= share:
                break
            if stream not in self.owned and self.leases.acquire(stream):
                self.take(stream)

    def take(self, stream: str) -> None:
        try:
            checkpoint = Checkpoint.objects.filter(stream=stream).first()
        except DatabaseError as exc:  # without its checkpoint the stream would be analysed twice: later
            connection.close()
            self._database.note(exc)
            self.leases.release(stream)
            return
        self._database.succeeded()
        self.owned[stream] = analysis = StreamAnalysis(stream, checkpoint, self.settings)
        self.writer.fenced.discard(stream)
        log.info("analysing stream %s from %s", stream, analysis.cursor)

    def handle(self, batch) -> None:
        now = time.monotonic()
        for key, entries in batch or ():
            analysis = self.owned.get(key.decode()[len(RESULTS_PREFIX):])
            if analysis is None:
                continue
            for entry_id, fields in entries:
                analysis.cursor = entry_id.decode()
                try:
                    queue, worker, result = parse(entry_id, fields)
                except ValueError as exc:
                    analysis.malformed += 1
                    if analysis.stream not in self._malformed_logged:
                        self._malformed_logged.add(analysis.stream)
                        log.warning("stream %s: skipping malformed results (%s)", analysis.stream, exc)
                    continue
                analysis.add(queue, worker, result, now)

    def publish(self, now: float) -> None:
        """Track what is ready and tell the live view each result's track numbers, in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for stream, analysis in self.owned.items():
            for queue, result, numbers in analysis.step(now):
                self.analysed += 1
                pipe.xadd(protocol.tracks_key(stream), {"meta": tracks_message(stream, queue, result, numbers)},
                          maxlen=TRACKS_MAXLEN, approximate=True)
        if len(pipe):
            pipe.execute()

    def flush(self) -> None:
        for analysis in self.owned.values():
            if flush := analysis.flush():
                self.writer.submit(flush)

    def stop(self, timeout: float = 10.0) -> None:
        """End every open track, write what ended and let the streams go to another analyzer."""
        for analysis in self.owned.values():
            analysis.finish()
        self.flush()
        if not self.writer.close(timeout):
            log.warning("stopped before the database took every flush (one in hand, %d waiting): the next owner "
                        "reads their results again, from the checkpoint", self.writer.pending())
        try:
            for stream in self.owned:
                self.leases.release(stream)
            self.client.zrem(ANALYZERS_KEY, self.id)
        except REDIS_ERRORS as exc:
            log.warning("leases not released (%s): they expire in %.0f s", exc, self.settings.lease_ttl)
        log.info("analyzer %s stopped: %d results analysed, %d events written, %d short tracks left out as noise",
                 self.id, self.analysed, self.writer.written, sum(a.noise for a in self.owned.values()))
        connection.close()
