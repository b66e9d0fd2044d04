"""One stream queue's tracked objects: ByteTrack from ``edgefirst-tracker`` (a maintained Rust
implementation with a NumPy-only wheel: Roboflow's ``trackers``/``supervision`` pull in the GUI build of
OpenCV, which overwrites the headless one the workers use, and ``norfair`` wants NumPy 1). Its tracks age
out by time, not by frame count, which suits streams whose workers drop frames under load.

The tracker names tracks with UUIDs; people read numbers, so each new track gets the queue's next number
(kept in the stream's checkpoint, so numbers are never reused). What each open track has seen is kept
here, and a track the tracker let go becomes a :class:`Sighting`: an event once it was seen often enough.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from edgefirst.tracker import ByteTrack

PATH_STEP = 0.02  # a path keeps a centre once it moved this far (of the frame) from the last kept one
PATH_POINTS = 120  # at most; a longer path keeps every other point


@dataclass(frozen=True, slots=True)
class Detection:
    label: str
    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1, 0..1 of the frame


@dataclass(frozen=True, slots=True)
class Observed:
    """The part of a result the analytics stage uses."""

    entry_id: str
    seq: int
    ts: float  # capture time
    detections: tuple[Detection, ...]
    jpeg: bytes


@dataclass
class Sighting:
    """What one track saw, from its first result to its last."""

    track: int
    label: str
    first_seen: float
    first_seq: int
    last_seen: float = 0.0
    last_seq: int = 0
    frames: int = 0
    best_score: float = -1.0
    best_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    best_jpeg: bytes = b""
    path: list[list[float]] = field(default_factory=list)
    last_centre: list[float] | None = None

    def see(self, result: Observed, detection: Detection) -> None:
        self.last_seen, self.last_seq, self.frames = result.ts, result.seq, self.frames + 1
        if detection.score > self.best_score:
            self.best_score, self.best_box, self.best_jpeg = detection.score, detection.box, result.jpeg
        x0, y0, x1, y1 = detection.box
        centre = [round(result.ts - self.first_seen, 3), round((x0 + x1) / 2, 4), round((y0 + y1) / 2, 4)]
        if not self.path or math.dist(self.path[-1][1:], centre[1:]) >= PATH_STEP:
            self.path.append(centre)
            if len(self.path) > PATH_POINTS:
                self.path = self.path[::2]
        self.last_centre = centre

    def finished(self) -> Sighting:
        """The path ends where the object was last seen, however little it moved since the last kept point."""
        if self.last_centre is not None and self.path[-1] is not self.last_centre:
            self.path.append(self.last_centre)
        return self


class QueueTracker:
    """ByteTrack over one stream queue's results, in seq order."""

    def __init__(self, *, next_track: int, high_score: float, iou: float, lifespan: float):
        self.next_track = next_track
        self.lifespan = lifespan
        self._tracker = ByteTrack(high_conf=high_score, iou=iou, lifespan_ns=int(lifespan * 1e9))
        self._numbers: dict[str, int] = {}  # tracker UUID -> track number
        self._open: dict[int, Sighting] = {}
        self._labels: dict[str, int] = {}
        self.last_ts: float | None = None

    def update(self, result: Observed) -> tuple[list[int | None], list[Sighting]]:
        """The track number of each of ``result``'s detections (None: not tracked) and the tracks that ended."""
        ts = result.ts if self.last_ts is None else max(result.ts, self.last_ts)  # the tracker's clock never goes back
        self.last_ts = ts
        detections = result.detections
        boxes = np.array([d.box for d in detections], dtype=np.float32).reshape(-1, 4)
        scores = np.array([d.score for d in detections], dtype=np.float32)
        labels = np.array([self._labels.setdefault(d.label, len(self._labels)) for d in detections], dtype=np.uint64)
        infos = self._tracker.update(boxes, scores, labels, int(ts * 1e9))
        numbers: list[int | None] = []
        for detection, info in zip(detections, infos):
            if info is None:
                numbers.append(None)
                continue
            number = self._numbers.get(info.uuid)
            if number is None:
                number = self._numbers[info.uuid] = self.next_track
                self.next_track += 1
                self._open[number] = Sighting(number, detection.label, first_seen=result.ts, first_seq=result.seq)
            self._open[number].see(result, detection)
            numbers.append(number)
        return numbers, self._ended()

    def age(self, ts: float) -> list[Sighting]:
        """Let time pass with nothing seen (the stream went quiet): the tracks that ended by ``ts``."""
        if self.last_ts is None or ts <= self.last_ts:
            return []
        self.last_ts = ts
        self._tracker.update(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.uint64), int(ts * 1e9))
        return self._ended()

    def finish(self) -> list[Sighting]:
        """Every open track, ended now (the stream is handed on or the analyzer stops)."""
        ended = [sighting.finished() for sighting in self._open.values()]
        self._open.clear()
        self._numbers.clear()
        return ended

    def _ended(self) -> list[Sighting]:
        alive = {self._numbers[t.info.uuid] for t in self._tracker.get_active_tracks() if t.info.uuid in self._numbers}
        gone = [number for number in self._open if number not in alive]
        for uuid in [uuid for uuid, number in self._numbers.items() if number not in alive]:
            del self._numbers[uuid]
        return [self._open.pop(number).finished() for number in gone]
