"""Calibration frames from a stream's results (``ei:results:<stream>``): what is there first, then new entries
as the workers publish them, each frame once.

A stream that feeds several queues has each frame in its results once per queue (one result per model); the
frame is the same, so it is taken once, known by its ``seq`` and capture time (a producer that restarts
counts from 0 again).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from inference_worker import protocol

BATCH = 256


class NoResults(Exception):
    """The stream produced no result for the idle timeout; the message says so and what to check."""


def collect_frames(
    client: redis.Redis, stream: str, count: int, *, idle_seconds: float,
    on_progress: Callable[[int], None] = lambda collected: None, block_ms: int = 500,
    clock: Callable[[], float] = time.monotonic,
) -> list[bytes]:
    """The JPEG bytes of ``count`` distinct frames of ``stream``'s results, oldest first.

    ``on_progress(collected)`` is called after every read (new entries or a ``block_ms`` wait), so it may
    report progress and raise to stop the collection (a cancel). Raises :class:`NoResults` when no entry
    arrived for ``idle_seconds``.
    """
    key = protocol.results_key(stream)
    seen: set[tuple] = set()
    frames: list[bytes] = []
    last_id: bytes | str = "0-0"  # what is there first, then whatever comes after
    last_entry = clock()
    while len(frames) < count:
        reply = client.xread({key: last_id}, count=BATCH, block=block_ms)
        entries = reply[0][1] if reply else []
        for entry_id, fields in entries:
            last_id = entry_id
            try:
                meta, jpeg = protocol.decode_result(fields)
            except (KeyError, ValueError, TypeError):  # not a result of this protocol: skip it
                continue
            frame = (meta.get("seq"), meta.get("ts_capture"))
            if frame in seen or not jpeg:
                continue
            seen.add(frame)
            frames.append(jpeg)
            if len(frames) == count:
                break
        now = clock()
        if entries:
            last_entry = now
        elif now - last_entry >= idle_seconds:
            raise NoResults(
                f"stream {stream} produced no results for {idle_seconds:g} s: is a service running on it? "
                f"({len(frames)} of {count} frames collected)"
            )
        on_progress(len(frames))
    return frames
