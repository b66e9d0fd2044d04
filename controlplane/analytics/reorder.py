"""Results of one stream's queue back in ``seq`` order.

Several workers serve a queue and publish to the stream as they finish, so results arrive a little out
of order; each worker alone publishes in order (it pops the queue in order and its engine delivers in
submission order). So a result can go on as soon as every worker heard from recently has published one
at least as new (a watermark per worker, as stream processors do per source): with one worker, at once.
A worker that went quiet holds nothing up for longer than ``window`` seconds, and so does one not yet
heard from: for the queue's first ``window`` seconds, while the workers make themselves known, results wait. A result older than one
already passed on comes too late for the tracker: it is counted and dropped.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Reorderer(Generic[T]):
    window: float  # longest a result waits for earlier ones, seconds
    late: int = 0  # results dropped: they came after a newer one had been passed on
    released_seq: int = -1
    _held: list = field(default_factory=list)  # heap of (seq, tiebreak, arrived, item)
    _watermarks: dict[str, tuple[int, float]] = field(default_factory=dict)  # worker -> (newest seq, when)
    _tiebreak: itertools.count = field(default_factory=itertools.count)
    _started: float | None = None

    def add(self, seq: int, worker: str, item: T, now: float) -> bool:
        """Hold ``item`` until its turn; False (and counted) when it comes too late to have one."""
        if self._started is None:
            self._started = now
        newest, _ = self._watermarks.get(worker, (-1, now))
        self._watermarks[worker] = (max(seq, newest), now)
        if seq <= self.released_seq:
            self.late += 1
            return False
        heapq.heappush(self._held, (seq, next(self._tiebreak), now, item))
        return True

    def ready(self, now: float) -> list[T]:
        """The held results whose turn has come, oldest first."""
        for worker, (_, seen) in list(self._watermarks.items()):
            if now - seen > self.window:
                del self._watermarks[worker]
        learning = self._started is None or now - self._started < self.window
        watermark = -1 if learning else min((seq for seq, _ in self._watermarks.values()), default=-1)
        out = []
        while self._held and (self._held[0][0] <= watermark or now - self._held[0][2] >= self.window):
            seq, _, _, item = heapq.heappop(self._held)
            self.released_seq = seq
            out.append(item)
        return out

    def drain(self) -> list[T]:
        """Everything still held, oldest first (the stream is being handed on or shut down)."""
        out = [heapq.heappop(self._held)[3] for _ in range(len(self._held))]
        return out

    def held(self) -> list[T]:
        return [entry[3] for entry in self._held]
