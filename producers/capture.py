"""The capture side: a thread that keeps reading the source whatever Redis does, and keeps only the newest frame.

A live camera must never queue stale frames behind a slow or unreachable Redis, and a file plays on
in real time during an outage, so the publisher always takes the newest frame and the rest are skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from inference_worker.runtime import Backoff, StopFlag
from producers.sources import Source, SourceError


@dataclass(frozen=True, slots=True)
class Captured:
    index: int  # frames read before this one in this run, so skipped frames can be counted
    image: np.ndarray
    ts: float  # time.time() right after the read


class Pacer:
    """Ticks at ``fps`` from absolute monotonic deadlines, so no drift accumulates; after a stall it
    starts a new schedule instead of catching up in a burst."""

    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps
        self._next = time.monotonic()

    def wait(self, stop: StopFlag) -> None:
        now = time.monotonic()
        if self._next < now - self.period:
            self._next = now
        if self._next > now:
            stop.wait(self._next - now)
        self._next += self.period


class Reader(threading.Thread):
    """Reads ``source`` (files paced at ``fps``, live sources as fast as they deliver) into a one-frame slot."""

    def __init__(self, source: Source, *, fps: float, loop: bool, stop: StopFlag, log: logging.Logger) -> None:
        super().__init__(name="reader", daemon=True)
        self.source, self.fps, self.loop, self.stop, self.log = source, fps, loop, stop, log
        self.count = 0
        self.finished = False
        self._latest: Captured | None = None
        self._cond = threading.Condition()

    def run(self) -> None:
        pacer = None if self.source.live else Pacer(self.fps)
        backoff = Backoff(self.source.label, self.log)
        try:
            while not self.stop.is_set():
                if pacer:
                    pacer.wait(self.stop)
                image = self.source.read()
                if image is not None:
                    backoff.succeeded()
                    self._put(image)
                elif self.source.live:
                    backoff.failed(SourceError("no frame delivered"), self.stop)
                    self.source.reopen()
                elif not self._restart_file():
                    break
        finally:
            self.source.close()
            with self._cond:
                self.finished = True
                self._cond.notify_all()

    def _restart_file(self) -> bool:
        if not self.loop:
            return False
        self.log.info("end of %s: looping (%d frames read so far)", self.source.label, self.count)
        if self.source.reopen():
            return True
        self.log.error("cannot reopen %s to loop it", self.source.label)
        return False

    def _put(self, image: np.ndarray) -> None:
        captured = Captured(self.count, image, time.time())
        with self._cond:
            self.count += 1
            self._latest = captured
            self._cond.notify_all()

    def take(self, timeout: float) -> Captured | None:
        """The newest frame not taken yet, waiting up to ``timeout``; None if none came (or will come)."""
        with self._cond:
            self._cond.wait_for(lambda: self._latest is not None or self.finished, timeout)
            captured, self._latest = self._latest, None
            return captured
