"""The worker's side of the fleet view: its heartbeat, its queue's overflow and the per-stream counters.

Once a second it claims the overflow producers counted on its queue, writes a :class:`protocol.Heartbeat`
and flushes the per-stream counts, all in one transaction; counts whose flush failed stay in memory
until a beat gets through, so an outage loses none.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

import redis

from inference_worker import protocol
from inference_worker.metrics import WorkerMetrics
from inference_worker.runtime import REDIS_ERRORS, Backoff, StopFlag, with_redis_retry

log = logging.getLogger("ei.worker")

HEARTBEAT_SECONDS = 1.0


def write(pipe: redis.client.Pipeline, beat: protocol.Heartbeat, *, ttl: int = protocol.HEARTBEAT_TTL) -> None:
    """Queue one heartbeat's writes on ``pipe``: the hash with its TTL, and the worker in the index."""
    key = protocol.worker_key(beat.worker)
    pipe.hset(key, mapping=beat.to_hash())
    pipe.expire(key, ttl)
    pipe.zadd(protocol.WORKERS_INDEX, {beat.worker: beat.updated_at})


class HeartbeatWriter:
    """Publishes one worker's heartbeat on a thread, from its metrics, until closed."""

    def __init__(
        self, client: redis.Redis, metrics: WorkerMetrics, *, worker_id: str, model: str, device: str,
        ttl: int = protocol.HEARTBEAT_TTL,
    ):
        self.redis = client
        self.metrics = metrics
        self.ttl = ttl
        self.identity = {
            "worker": worker_id, "queue": metrics.queue, "model": model, "device": device, "pid": os.getpid(),
            "host": socket.gethostname(),
            "namespace": os.environ.get("EI_POD_NAMESPACE", ""), "started_at": round(time.time(), 3),
        }
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    @property
    def worker_id(self) -> str:
        return self.identity["worker"]

    def start(self, stop: StopFlag) -> None:
        """Discard overflow counted while no worker was consuming (history, not load on this worker), then beat."""
        stale = with_redis_retry(lambda: self.redis.getdel(protocol.overflow_key(self.metrics.queue)), Backoff("redis", log), stop)
        if stale:
            log.info("%s frames overflowed queue %r before this worker started", int(stale), self.metrics.queue)
        self._thread.start()

    def beat(self) -> protocol.Heartbeat:
        """Claim this queue's overflow, publish the heartbeat and flush per-stream counters."""
        overflow = self.redis.getdel(protocol.overflow_key(self.metrics.queue))
        if overflow:
            self.metrics.dropped(None, int(overflow))
        beat = protocol.Heartbeat(**self.identity, updated_at=round(time.time(), 3), **self.metrics.snapshot())
        counts = self.metrics.take_stream_counts()
        pipe = self.redis.pipeline(transaction=True)
        write(pipe, beat, ttl=self.ttl)
        for stream, counter in counts.items():
            for outcome, n in counter.items():
                pipe.hincrby(protocol.stream_stats_key(stream), outcome, n)
        try:
            pipe.execute()
        except REDIS_ERRORS:
            self.metrics.restore_stream_counts(counts)
            raise
        return beat

    def close(self) -> None:
        """Stop the thread, publish the last counts, and leave the fleet."""
        self._closing.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            self.beat()
            pipe = self.redis.pipeline()
            pipe.delete(protocol.worker_key(self.worker_id))
            pipe.zrem(protocol.WORKERS_INDEX, self.worker_id)
            pipe.execute()
        except REDIS_ERRORS as exc:
            log.warning("could not deregister from redis (%s); the heartbeat expires by itself", exc)

    def _run(self) -> None:
        backoff = Backoff("redis (heartbeat)", log)
        while not self._closing.wait(HEARTBEAT_SECONDS):
            try:
                self.beat()
                backoff.succeeded()
            except REDIS_ERRORS as exc:
                backoff.note(exc)  # counts stay in memory until a beat gets through
