"""Results as the workers publish them, for the analyzer to read, and an analyzer run on a thread."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from controlplane.analytics.analyzer import Analyzer, Settings
from inference_worker import protocol
from inference_worker.runtime import StopFlag


def publish(client: redis.Redis, stream: str, seq: int, ts: float, detections: list[dict], jpeg: bytes, *,
            queue: str = "face", worker: str = "w1") -> None:
    meta = {"v": 1, "stream": stream, "seq": seq, "queue": queue, "model": "builtin:face", "worker": worker,
            "ts_capture": ts, "ts_done": ts + 0.02, "width": 640, "height": 480, "detections": detections}
    client.xadd(protocol.results_key(stream), {"meta": json.dumps(meta), "jpeg": jpeg})


def tracks_published(client: redis.Redis, stream: str) -> list[dict]:
    return [json.loads(fields[b"meta"]) for _, fields in client.xrange(protocol.tracks_key(stream))]


@contextmanager
def analyzer_running(client: redis.Redis, **settings) -> Iterator[Analyzer]:
    """An analyzer on a thread until the block ends, then stopped as SIGTERM stops it."""
    analyzer = Analyzer(client, settings=Settings(**settings))
    stop = StopFlag()
    thread = threading.Thread(target=analyzer.run, args=(stop,), name="analyzer")
    thread.start()
    try:
        yield analyzer
    finally:
        stop.set()
        thread.join(30)
        assert not thread.is_alive(), "the analyzer did not stop"
