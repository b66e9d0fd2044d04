"""Worker metrics over a sliding window, so gauges never go stale when frames stop coming.

``scale_ratio`` tells an autoscaler how many workers like this one the load needs per worker:

* with drops (frames that expired in the queue or were evicted from it):
  ``(infer_fps + drop_fps) / infer_fps``, the original demo's definition: above 1 means more
  workers are needed;
* without drops: the fraction of the window during which at least one inference was in flight
  (0 when idle, 1 when busy all the time), so an under-used pool shrinks.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from prometheus_client import CollectorRegistry, Counter as PromCounter, Gauge, Histogram

from inference_worker.runtime import SlidingWindow

MAX_SCALE_RATIO = 10.0
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0)


class BusyClock:
    """Time with at least one inference in flight, sampled into a sliding window."""

    def __init__(self, seconds: float, now: float):
        self.window = SlidingWindow(seconds)
        self.in_flight = 0
        self._since = now
        self._busy = 0.0

    def start(self, now: float) -> None:
        if self.in_flight == 0:
            self._since = now
        self.in_flight += 1

    def finish(self, now: float) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self._busy += now - self._since

    def fraction(self, now: float) -> float:
        busy = self._busy + (now - self._since if self.in_flight else 0.0)
        if self.in_flight:
            self._since = now
        self._busy = 0.0
        self.window.add(busy, now)
        return min(1.0, self.window.rate(now))


class WorkerMetrics:
    """Thread-safe counters shared by the pop loop, the engine's results thread and the heartbeat."""

    def __init__(self, *, queue: str, window: float = 5.0):
        now = time.monotonic()
        self.queue = queue
        self.window = window
        self._lock = threading.Lock()
        self._inferred = SlidingWindow(window)
        self._dropped = SlidingWindow(window)
        self._latency = SlidingWindow(window)
        self._busy = BusyClock(window, now)
        self.totals: Counter[str] = Counter()
        self.unflushed: dict[str, Counter[str]] = {}
        self.registry = CollectorRegistry()
        labels = ["queue"]
        self.infer_fps = Gauge("ei_infer_fps", "Frames inferred per second (sliding window)", labels, registry=self.registry)
        self.drop_fps = Gauge("ei_drop_fps", "Frames dropped per second (sliding window)", labels, registry=self.registry)
        self.scale_ratio = Gauge("ei_scale_ratio", "Workers needed per worker (see docs)", labels, registry=self.registry)
        self.frames = PromCounter(
            "ei_frames", "Frames by outcome", ["queue", "stream", "outcome"], registry=self.registry
        )
        self.infer_seconds = Histogram(
            "ei_inference_seconds", "Inference request time", labels, buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.latency_seconds = Histogram(
            "ei_latency_seconds", "Capture to published result", labels, buckets=LATENCY_BUCKETS, registry=self.registry
        )

    def _count(self, stream: str | None, outcome: str, n: int = 1) -> None:
        self.totals[outcome] += n
        if stream is not None:
            self.unflushed.setdefault(stream, Counter())[outcome] += n
        self.frames.labels(self.queue, stream or "", outcome).inc(n)

    def started(self) -> None:
        with self._lock:
            self._busy.start(time.monotonic())

    def inferred(self, stream: str, infer_seconds: float, latency: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._busy.finish(now)
            self._inferred.add(1, now)
            self._latency.add(latency, now)
            self._count(stream, "inferred")
        self.infer_seconds.labels(self.queue).observe(infer_seconds)
        self.latency_seconds.labels(self.queue).observe(max(0.0, latency))

    def failed(self, stream: str) -> None:
        """An inference whose output could not be decoded: counted as rejected."""
        with self._lock:
            self._busy.finish(time.monotonic())
            self._count(stream, "rejected")

    def dropped(self, stream: str | None, n: int = 1) -> None:
        """``stream`` is None for frames evicted from a full queue, which belong to no one stream."""
        with self._lock:
            self._dropped.add(n, time.monotonic())
            self._count(stream, "expired" if stream else "overflow", n)

    def rejected(self, stream: str | None) -> None:
        with self._lock:
            self._count(stream, "rejected")

    def snapshot(self) -> dict:
        """Recompute the window figures and the gauges; called once per heartbeat."""
        now = time.monotonic()
        with self._lock:
            infer, drop = self._inferred.rate(now), self._dropped.rate(now)
            busy = self._busy.fraction(now)
            p50, p99 = self._latency.percentile(0.5, now), self._latency.percentile(0.99, now)
            totals = dict(self.totals)
        if drop > 0:
            ratio = min(MAX_SCALE_RATIO, (infer + drop) / infer) if infer > 0 else MAX_SCALE_RATIO
        else:
            ratio = busy
        self.infer_fps.labels(self.queue).set(infer)
        self.drop_fps.labels(self.queue).set(drop)
        self.scale_ratio.labels(self.queue).set(ratio)
        return {
            "window_seconds": self.window, "infer_fps": round(infer, 2), "drop_fps": round(drop, 2), "scale_ratio": round(ratio, 3),
            "latency_p50_ms": round(p50 * 1000, 1), "latency_p99_ms": round(p99 * 1000, 1),
            "inferred": totals.get("inferred", 0),
            "dropped": totals.get("expired", 0) + totals.get("overflow", 0),
            "rejected": totals.get("rejected", 0),
        }

    def take_stream_counts(self) -> dict[str, Counter[str]]:
        """Per-stream counts since the last successful flush to Redis."""
        with self._lock:
            taken, self.unflushed = self.unflushed, {}
        return taken

    def restore_stream_counts(self, counts: dict[str, Counter[str]]) -> None:
        """Put back counts whose flush failed, so an outage loses none."""
        with self._lock:
            for stream, counter in counts.items():
                self.unflushed.setdefault(stream, Counter()).update(counter)
