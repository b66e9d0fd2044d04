"""Results written to Redis in pipelined batches, in the order they are put (the engine finishes frames in
submission order)."""

from __future__ import annotations

import logging
import queue as queue_mod
import threading
import time

import redis

from inference_worker import protocol
from inference_worker.runtime import REDIS_ERRORS, Backoff

log = logging.getLogger("ei.worker")

BATCH = 64
SHUTDOWN_GRACE = 10.0  # seconds a closing publisher keeps trying to reach Redis


class ResultPublisher:
    """A thread that writes results (``XADD ... MAXLEN ~ maxlen``) in batches, keeping them across a
    Redis outage rather than losing them. :meth:`close` gives it ``grace`` seconds to write what is left,
    then says what it could not write."""

    def __init__(self, client: redis.Redis, *, maxlen: int, grace: float = SHUTDOWN_GRACE):
        self.redis = client
        self.maxlen = maxlen
        self.grace = grace
        self._results: queue_mod.Queue[tuple[str, dict[str, bytes]]] = queue_mod.Queue()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)

    def put(self, result: tuple[str, dict[str, bytes]]) -> None:
        """Queue ``(stream, fields)``; called from the engine's results thread."""
        self._results.put(result)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Write what is queued (within the grace period) and stop."""
        self._closing.set()
        self._thread.join()

    def _run(self) -> None:
        backoff = Backoff("redis (results)", log)
        batch: list[tuple[str, dict[str, bytes]]] = []
        deadline = None
        while True:
            if self._closing.is_set() and deadline is None:
                deadline = time.monotonic() + self.grace
            if not batch:
                try:
                    batch.append(self._results.get(timeout=0.2))
                except queue_mod.Empty:
                    if deadline is not None:
                        return
                    continue
            while len(batch) < BATCH:
                try:
                    batch.append(self._results.get_nowait())
                except queue_mod.Empty:
                    break
            try:
                self._write(batch)
            except REDIS_ERRORS as exc:
                if deadline is not None and time.monotonic() > deadline:
                    log.error("giving up on %d results: redis unreachable at shutdown", len(batch) + self._results.qsize())
                    return
                time.sleep(backoff.note(exc))
                continue
            backoff.succeeded()
            batch = []

    def _write(self, batch: list[tuple[str, dict[str, bytes]]]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for stream, fields in batch:
            pipe.xadd(protocol.results_key(stream), fields, maxlen=self.maxlen, approximate=True)
        pipe.execute()
