"""The worker loop: pop a frame, check it, decode it once, infer asynchronously, publish the result.

Three threads share the work: the pop loop (which blocks in ``Engine.submit`` while all infer
requests are busy, so frames wait in Redis rather than in memory), OpenVINO's callback threads
(post-processing), and a publisher that writes results to Redis in pipelined batches.
A heartbeat thread publishes the fleet view once a second.
"""

from __future__ import annotations

import logging
import os
import queue as queue_mod
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import redis
import simplejpeg

from inference_worker import protocol
from inference_worker.engine import Engine, Prepared
from inference_worker.metrics import WorkerMetrics
from inference_worker.preview import make_preview
from inference_worker.runtime import REDIS_ERRORS, Backoff, StopFlag, with_redis_retry

log = logging.getLogger("ei.worker")

HEARTBEAT_SECONDS = 1.0
SHUTDOWN_GRACE = 10.0


class InOrder:
    """Passes results on in the order their frames were submitted. With several infer requests in flight
    a later frame can finish first; consumers of a stream expect each frame after the one before it."""

    def __init__(self, release: Callable[[object], None]):
        self._release = release
        self._lock = threading.Lock()
        self._issued = 0
        self._next = 0
        self._held: dict[int, object | None] = {}

    def ticket(self) -> int:
        """Called by the one thread that submits, in submission order."""
        self._issued += 1
        return self._issued - 1

    def done(self, ticket: int, item: object | None) -> None:
        """``item`` is None for a frame with nothing to publish (its inference failed)."""
        with self._lock:
            self._held[ticket] = item
            while self._next in self._held:
                ready = self._held.pop(self._next)
                self._next += 1
                if ready is not None:
                    self._release(ready)


@dataclass(frozen=True)
class WorkerConfig:
    queue: str
    model_name: str
    device: str
    worker_id: str
    max_age: float = 1.0
    result_maxlen: int = 100
    heartbeat_ttl: int = 10
    preview_width: int = protocol.PREVIEW_WIDTH  # 0: results carry no preview


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class RejectLog:
    """Log each kind of bad input once (then every 1000th), so a flood of garbage cannot flood the log."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, kind: str, detail: str) -> None:
        n = self.seen.get(kind, 0) + 1
        self.seen[kind] = n
        if n == 1 or n % 1000 == 0:
            log.warning("rejected frame (%s, %d so far): %s", kind, n, detail)


def _second(pair):
    return pair[1] if pair else None


class Worker:
    def __init__(
        self, config: WorkerConfig, engine_factory, client: redis.Redis, stop: StopFlag, *,
        window: float = 5.0, decode_threads: int = 0,
    ):
        self.config = config
        self.redis = client
        self.stop = stop
        self.metrics = WorkerMetrics(queue=config.queue, window=window)
        self.engine: Engine = engine_factory(self._on_result)
        self.results: queue_mod.Queue = queue_mod.Queue()
        self._in_order = InOrder(self.results.put)
        self.reject_log = RejectLog()
        self.started_at = time.time()
        self._publisher = threading.Thread(target=self._publish_loop, name="publisher", daemon=True)
        self._heartbeat = threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True)
        self._publishing_done = threading.Event()
        self._decode_threads = decode_threads or os.cpu_count() or 1
        self._decoders = ThreadPoolExecutor(max_workers=self._decode_threads, thread_name_prefix="decode")
        self._decoding: deque[tuple[protocol.Frame, Future]] = deque()

    # -- pop loop -------------------------------------------------------------------------------

    def run(self) -> None:
        key = protocol.frames_key(self.config.queue)
        backoff = Backoff("redis", log)
        self._discard_stale_overflow()
        self._publisher.start()
        self._heartbeat.start()
        log.info(
            "worker %s serving queue %r with %s on %s (%s family, %d infer requests, threshold %.2f)",
            self.config.worker_id, self.config.queue, self.config.model_name, self.config.device,
            self.engine.family, self.engine.requests, self.engine.threshold,
        )
        while not self.stop.is_set():
            # While decodes are pending, do not block on Redis: submit them as soon as they are ready.
            pop = (lambda: self.redis.lpop(key)) if self._decoding else (lambda: _second(self.redis.blpop([key], timeout=1)))
            raw = with_redis_retry(pop, backoff, self.stop)
            if raw:
                self.handle(raw)
            elif self._decoding:
                self._submit_oldest()
        while self._decoding:
            self._submit_oldest()
        self.shutdown()

    def handle(self, raw: bytes) -> None:
        """Reject or drop a frame, or start decoding it; never raises on bad input.

        JPEG decoding runs on a thread pool (it releases the GIL), in order, at most one pending
        decode per thread, so decoding spreads over all cores while this loop keeps popping.
        """
        try:
            frame = protocol.decode_frame(raw)
        except protocol.FrameError as exc:
            self._reject(None, exc.kind, exc.detail)
            return
        if time.time() - frame.ts > self.config.max_age:
            self.metrics.dropped(frame.stream)
            return
        try:
            height, width, _, _ = simplejpeg.decode_jpeg_header(frame.data)
        except ValueError as exc:
            self._reject(frame.stream, "corrupt-jpeg", f"stream {frame.stream} seq {frame.seq}: {exc}")
            return
        if (width, height) != (frame.width, frame.height):
            detail = f"header says {frame.width}x{frame.height}, JPEG is {width}x{height}"
            self._reject(frame.stream, "size-mismatch", detail)
            return
        self._decoding.append((frame, self._decoders.submit(self._decode, frame.data, width, height)))
        while len(self._decoding) > self._decode_threads or (self._decoding and self._decoding[0][1].done()):
            self._submit_oldest()

    def _decode(self, jpeg: bytes, width: int, height: int) -> tuple[Prepared, bytes | None]:
        """On a decoding thread: the model's input, and the preview made from the same pixels."""
        prepared = self.engine.prepare(jpeg, width, height)
        return prepared, make_preview(jpeg, width, height, prepared.picture, self.config.preview_width)

    def _submit_oldest(self) -> None:
        """Hand the oldest decoded frame to OpenVINO; blocks while every infer request is busy."""
        frame, decoded = self._decoding.popleft()
        try:
            prepared, preview = decoded.result()
        except ValueError as exc:
            self._reject(frame.stream, "corrupt-jpeg", f"stream {frame.stream} seq {frame.seq}: {exc}")
            return
        self.metrics.started()
        ticket = self._in_order.ticket()
        try:
            self.engine.submit(prepared, (ticket, frame, preview))
        except BaseException:
            self._in_order.done(ticket, None)
            raise

    def _reject(self, stream: str | None, kind: str, detail: str) -> None:
        self.metrics.rejected(stream)
        self.reject_log(kind, detail)

    def _discard_stale_overflow(self) -> None:
        """Overflow counted while no worker was consuming is history, not load on this worker."""
        stale = with_redis_retry(
            lambda: self.redis.getdel(protocol.overflow_key(self.config.queue)), Backoff("redis", log), self.stop
        )
        if stale:
            log.info("%s frames overflowed queue %r before this worker started", int(stale), self.config.queue)

    # -- results ----------------------------------------------------------------------------------

    def _on_result(
        self, userdata: tuple[int, protocol.Frame, bytes | None], detections: list[dict] | None, infer_seconds: float
    ) -> None:
        ticket, frame, preview = userdata
        if detections is None:
            self.metrics.failed(frame.stream)
            self._in_order.done(ticket, None)
            return
        done = time.time()
        meta = protocol.result_meta(
            frame=frame, queue=self.config.queue, model=self.config.model_name,
            worker=self.config.worker_id, ts_done=round(done, 6), detections=detections,
        )
        self.metrics.inferred(frame.stream, infer_seconds, done - frame.ts)
        self._in_order.done(ticket, (frame.stream, protocol.encode_result(meta, frame.data, preview)))

    def _publish_loop(self) -> None:
        """Write results in batches; keep them across a Redis outage rather than lose them.

        On shutdown it keeps trying for ``SHUTDOWN_GRACE`` seconds, then says what it could not write.
        """
        backoff = Backoff("redis (results)", log)
        batch: list = []
        deadline = None
        while True:
            if self._publishing_done.is_set() and deadline is None:
                deadline = time.monotonic() + SHUTDOWN_GRACE
            if not batch:
                try:
                    batch.append(self.results.get(timeout=0.2))
                except queue_mod.Empty:
                    if deadline is not None:
                        return
                    continue
            while len(batch) < 64:
                try:
                    batch.append(self.results.get_nowait())
                except queue_mod.Empty:
                    break
            try:
                pipe = self.redis.pipeline(transaction=False)
                for stream, fields in batch:
                    pipe.xadd(protocol.results_key(stream), fields, maxlen=self.config.result_maxlen, approximate=True)
                pipe.execute()
            except REDIS_ERRORS as exc:
                if deadline is not None and time.monotonic() > deadline:
                    log.error("giving up on %d results: redis unreachable at shutdown", len(batch) + self.results.qsize())
                    return
                time.sleep(backoff.note(exc))
                continue
            backoff.succeeded()
            batch = []

    # -- heartbeat --------------------------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        backoff = Backoff("redis (heartbeat)", log)
        while not self._publishing_done.wait(HEARTBEAT_SECONDS):
            try:
                self.beat()
                backoff.succeeded()
            except REDIS_ERRORS as exc:
                backoff.note(exc)  # counts stay in memory until a beat gets through

    def beat(self) -> dict:
        """Claim this queue's overflow, publish the heartbeat and flush per-stream counters."""
        overflow = self.redis.getdel(protocol.overflow_key(self.config.queue))
        if overflow:
            self.metrics.dropped(None, int(overflow))
        snapshot = self.metrics.snapshot()
        now = time.time()
        fields = {
            "worker": self.config.worker_id, "queue": self.config.queue, "model": self.config.model_name,
            "device": self.config.device, "pid": os.getpid(), "host": socket.gethostname(),
            "started_at": round(self.started_at, 3), "updated_at": round(now, 3), **snapshot,
        }
        counts = self.metrics.take_stream_counts()
        pipe = self.redis.pipeline(transaction=True)
        key = protocol.worker_key(self.config.worker_id)
        pipe.hset(key, mapping=fields)
        pipe.expire(key, self.config.heartbeat_ttl)
        pipe.zadd(protocol.WORKERS_INDEX, {self.config.worker_id: now})
        for stream, counter in counts.items():
            for outcome, n in counter.items():
                pipe.hincrby(protocol.stream_stats_key(stream), outcome, n)
        try:
            pipe.execute()
        except REDIS_ERRORS:
            self.metrics.restore_stream_counts(counts)
            raise
        return fields

    # -- shutdown ---------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Finish in-flight requests, publish their results and the last counts, then deregister."""
        self.engine.wait_all()
        self._decoders.shutdown()
        self._publishing_done.set()
        self._publisher.join()
        self._heartbeat.join()
        try:
            self.beat()
            pipe = self.redis.pipeline()
            pipe.delete(protocol.worker_key(self.config.worker_id))
            pipe.zrem(protocol.WORKERS_INDEX, self.config.worker_id)
            pipe.execute()
        except REDIS_ERRORS as exc:
            log.warning("could not deregister from redis (%s); the heartbeat expires by itself", exc)
        snap = self.metrics.snapshot()
        log.info("stopped: %d inferred, %d dropped, %d rejected", snap["inferred"], snap["dropped"], snap["rejected"])
