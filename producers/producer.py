"""The publishing loop: take the newest captured frame, encode it once, push it to every queue, and ride
out Redis outages without stalling the source."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import cv2
import numpy as np
import simplejpeg

from inference_worker.protocol import Frame, encode_frame
from inference_worker.runtime import REDIS_ERRORS, Backoff, SlidingWindow, StopFlag, redis_client
from producers.capture import Captured, Pacer, Reader
from producers.publisher import Publisher
from producers.sources import Source

HEARTBEAT_EVERY = 1.0
FPS_WINDOW = 5.0


@dataclass(frozen=True, slots=True)
class Settings:
    stream: str
    queues: list[str]
    fps: float
    loop: bool
    max_width: int  # 0 keeps the source size
    jpeg_quality: int
    max_queue: int
    redis_url: str


def scaled_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """The size after shrinking to ``max_width`` with the aspect kept; never enlarges."""
    if not max_width or width <= max_width:
        return width, height
    return max_width, max(1, round(height * max_width / width))


def encode(image: np.ndarray, max_width: int, quality: int) -> tuple[bytes, int, int]:
    """JPEG bytes and their width and height."""
    height, width = image.shape[:2]
    new_width, new_height = scaled_size(width, height, max_width)
    if new_width != width:
        image = cv2.resize(image, (new_width, new_height), interpolation=cv2.INTER_AREA)
    data = simplejpeg.encode_jpeg(image, quality=quality, colorspace="BGR", colorsubsampling="420")
    return data, new_width, new_height


class RedisOutage(Backoff):
    """runtime.Backoff whose recovery line also says how many captured frames were skipped meanwhile."""

    def __init__(self, log: logging.Logger) -> None:
        super().__init__("redis", log)
        self.began_at = 0  # capture position when the outage began
        self.skipped = 0

    def failed_at(self, position: int, exc: Exception, stop: StopFlag) -> None:
        if not self.failures:
            self.began_at = position
        self.failed(exc, stop)

    def succeeded_at(self, position: int) -> None:
        if self.failures:
            skipped = position - self.began_at
            self.skipped += skipped
            self.log.info("redis reachable again after %d retries; skipped %d captured frames meanwhile",
                          self.failures, skipped)
        self.failures = 0

    def skipped_by(self, position: int) -> int:
        """All frames skipped so far, counting an outage still going on."""
        return self.skipped + (position - self.began_at if self.failures else 0)


def run(settings: Settings, source: Source, stop: StopFlag, log: logging.Logger) -> int:
    """Publish until the file ends (without --loop) or a stop signal; returns the exit status."""
    publisher = Publisher(redis_client(settings.redis_url), settings.stream, settings.queues, settings.max_queue)
    reader = Reader(source, fps=settings.fps, loop=settings.loop, stop=stop, log=log)
    pacer = Pacer(settings.fps) if source.live else None  # a file is paced by its reader
    outage, meter = RedisOutage(log), SlidingWindow(FPS_WINDOW, started=time.monotonic())
    seq = evicted = 0
    next_beat = 0.0
    started = time.monotonic()
    reader.start()
    while not stop.is_set():
        if pacer:
            pacer.wait(stop)
        captured = reader.take(timeout=HEARTBEAT_EVERY / 2)
        if captured is None and reader.finished:
            break
        now = time.monotonic()
        frame = _frame(captured, seq, settings) if captured else None
        beat = _heartbeat(settings, source, meter.rate(now), seq + (frame is not None)) if now >= next_beat else None
        if frame is None and beat is None:
            continue
        position = captured.index if captured else reader.count
        try:
            evicted += publisher.send(frame, beat)
        except REDIS_ERRORS as exc:
            outage.failed_at(position, exc, stop)
            continue
        outage.succeeded_at(position)
        if beat:
            next_beat = now + HEARTBEAT_EVERY
        if frame:
            seq += 1
            meter.add(1, now)
    reader.join(timeout=2)
    try:
        publisher.clear_heartbeat()
    except REDIS_ERRORS:
        pass  # it expires on its own within HEARTBEAT_TTL
    log.info("%s: sent %d frames of stream %s in %.1f s; %d skipped while redis was down; "
             "%d evicted from full queues",
             "stopped" if stop.is_set() else f"end of {source.label}", seq, settings.stream,
             time.monotonic() - started, outage.skipped_by(reader.count), evicted)
    return 0


def _heartbeat(settings: Settings, source: Source, fps: float, sent: int) -> dict[str, str | int | float]:
    return {
        "stream": settings.stream, "queues": ",".join(settings.queues), "source": source.label,
        "fps": round(fps, 2), "sent": sent, "seq": sent - 1, "pid": os.getpid(), "updated_at": time.time(),
    }


def _frame(captured: Captured, seq: int, settings: Settings) -> bytes:
    data, width, height = encode(captured.image, settings.max_width, settings.jpeg_quality)
    return encode_frame(Frame(settings.stream, seq, captured.ts, width, height, data))
