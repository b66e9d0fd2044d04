"""The worker loop: pop a frame, screen it, decode it once, infer asynchronously, publish the result.

The parts run on their own threads: the pop loop (which blocks in ``Engine.submit`` while all infer
requests are busy, so frames wait in Redis rather than in memory, but for the few popped together), the
decoding pool (:mod:`inference_worker.decode`), the engine's results thread (post-processing), the result publisher
(:mod:`inference_worker.publish`) and the heartbeat (:mod:`inference_worker.heartbeat`). This module
only wires them together.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass

import redis

from inference_worker import protocol
from inference_worker.decode import Decoded, DecodePool, Expired, Rejected, RejectLog, screen
from inference_worker.engine import Engine
from inference_worker.heartbeat import HeartbeatWriter
from inference_worker.metrics import WorkerMetrics
from inference_worker.preview import PreviewGate
from inference_worker.publish import ResultPublisher
from inference_worker.runtime import REDIS_ERRORS, Backoff, StopFlag, with_redis_retry

log = logging.getLogger("ei.worker")
# Frames per LPOP while decodes are pending. One round trip per frame held the pop loop on Redis' replies
# while the decoding threads waited for work (face on 2 cores: 544 fps; 2: 582, 4: 606, 8: 617).
POP_BATCH = 8


@dataclass(frozen=True)
class WorkerConfig:
    queue: str
    model_name: str
    device: str
    worker_id: str
    max_age: float = 1.0
    result_maxlen: int = 100
    heartbeat_ttl: int = protocol.HEARTBEAT_TTL
    preview_width: int = protocol.PREVIEW_WIDTH  # 0: results carry no preview


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    """One worker process's parts, wired: frames from the queue, through the engine, to the publisher."""

    def __init__(
        self, config: WorkerConfig, engine_factory, client: redis.Redis, stop: StopFlag, *,
        window: float = 5.0, decode_threads: int = 0,
    ):
        self.config = config
        self.redis = client
        self.stop = stop
        self.metrics = WorkerMetrics(queue=config.queue, window=window)
        self.engine: Engine = engine_factory(self._on_result)
        self.publisher = ResultPublisher(client, maxlen=config.result_maxlen)
        self.decoding = DecodePool(
            self.engine.prepare, threads=decode_threads or os.cpu_count() or 1, preview_width=config.preview_width
        )
        self.heartbeat = HeartbeatWriter(
            client, self.metrics, worker_id=config.worker_id, model=config.model_name, device=config.device,
            ttl=config.heartbeat_ttl,
        )
        self.previews = PreviewGate(self._watched)
        self.reject_log = RejectLog()
        self._pop_backoff = Backoff("redis", log)

    def run(self) -> None:
        """Serve the queue until SIGTERM, then finish what is in flight and leave the fleet."""
        self.heartbeat.start(self.stop)
        self.publisher.start()
        log.info(
            "worker %s serving queue %r with %s on %s (%s family, %d infer requests, threshold %.2f)",
            self.config.worker_id, self.config.queue, self.config.model_name, self.config.device,
            self.engine.family, self.engine.requests, self.engine.threshold,
        )
        while not self.stop.is_set():
            popped = self._pop()
            for raw in popped:
                self.handle(raw)
            if not popped and self.decoding:
                self._submit(self.decoding.oldest())
        while self.decoding:
            self._submit(self.decoding.oldest())
        self.shutdown()

    def _pop(self) -> list[bytes]:
        """The next frames, oldest first: while decodes are pending, up to :data:`POP_BATCH` without blocking,
        so that ready decodes are submitted at once; an idle worker blocks for one."""
        key = protocol.frames_key(self.config.queue)
        if self.decoding:
            popped = with_redis_retry(lambda: self.redis.lpop(key, POP_BATCH), self._pop_backoff, self.stop)
            return popped or []
        popped = with_redis_retry(lambda: self.redis.blpop([key], timeout=1), self._pop_backoff, self.stop)
        return [popped[1]] if popped else []

    def handle(self, raw: bytes) -> None:
        """Count a frame out, or start decoding it and submit whatever decodes are ready; never raises on bad input."""
        match screen(raw, now=time.time(), max_age=self.config.max_age):
            case Expired(stream):
                self.metrics.dropped(stream)
            case Rejected() as rejected:
                self._reject(rejected)
            case frame:
                wanted = self.decoding.wants_preview(frame) and self.previews.wanted(frame.stream)
                self.decoding.add(frame, preview=wanted)
                for decoded in self.decoding.ready():
                    self._submit(decoded)

    def _submit(self, decoded: Decoded | Rejected) -> None:
        """Hand a decoded frame to OpenVINO; blocks while every infer request is busy."""
        if isinstance(decoded, Rejected):
            self._reject(decoded)
            return
        self.metrics.started()
        self.engine.submit(decoded.prepared, (decoded.frame, decoded.preview))

    def _watched(self, stream: str) -> bool | None:
        """Whether someone watches ``stream``'s previews; None while Redis is away (the pop loop says so)."""
        try:
            return bool(self.redis.exists(protocol.watched_key(stream)))
        except REDIS_ERRORS:
            return None

    def _reject(self, rejected: Rejected) -> None:
        self.metrics.rejected(rejected.stream)
        self.reject_log(rejected)

    def _on_result(
        self, userdata: tuple[protocol.Frame, bytes | None], detections: list[dict] | None, infer_seconds: float
    ) -> None:
        """On the engine's results thread, which finishes requests in submission order: the frames' order is
        kept without reordering here."""
        frame, preview = userdata
        if detections is None:
            self.metrics.failed(frame.stream)
            return
        done = time.time()
        meta = protocol.result_meta(
            frame=frame, queue=self.config.queue, model=self.config.model_name,
            worker=self.config.worker_id, ts_done=round(done, 6), detections=detections,
        )
        self.metrics.inferred(frame.stream, infer_seconds, done - frame.ts)
        self.publisher.put((frame.stream, protocol.encode_result(meta, frame.data, preview)))

    def shutdown(self) -> None:
        """Finish in-flight requests, publish their results and the last counts, then deregister."""
        self.engine.close()
        self.decoding.shutdown()
        self.publisher.close()
        self.heartbeat.close()
        snap = self.metrics.snapshot()
        log.info("stopped: %d inferred, %d dropped, %d rejected", snap["inferred"], snap["dropped"], snap["rejected"])
