"""What the tests share besides the harness: real images, frames and results as the wire carries them,
worker command lines, and the test database's URL for the processes a test starts."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import redis
import simplejpeg
import skimage.data

from controlplane.realtime.wire import parse_binary_message
from harness.processes import REPO, Proc, wait_until
from inference_worker import protocol

VTEST = REPO / ".assets" / "vtest.avi"


def sample_image(name: str) -> np.ndarray:
    """A scikit-image sample as a BGR uint8 array (grey images get three channels)."""
    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[:, :, 2::-1])


def vtest_jpegs(count: int, *, every: int = 1) -> list[bytes]:
    """JPEGs of every ``every``-th frame of the street video, from its start: real frames for real models."""
    import cv2

    capture = cv2.VideoCapture(str(VTEST))
    jpegs = []
    try:
        for index in range(count * every):
            ok, frame = capture.read()
            if not ok:
                break
            if index % every == 0:
                jpegs.append(jpeg_of(frame))
    finally:
        capture.release()
    return jpegs


def jpeg_of(image: np.ndarray, quality: int = 85) -> bytes:
    return simplejpeg.encode_jpeg(image, quality=quality, colorspace="BGR")


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    """How far apart two pictures of one size are: the mean absolute difference of their pixel values."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def frame_bytes(stream: str, seq: int, jpeg: bytes, *, ts: float | None = None) -> bytes:
    height, width, _, _ = simplejpeg.decode_jpeg_header(jpeg)
    return protocol.encode_frame(
        protocol.Frame(stream=stream, seq=seq, ts=time.time() if ts is None else ts, width=width, height=height, data=jpeg)
    )


def results(client: redis.Redis, stream: str) -> list[tuple[dict, bytes]]:
    return [protocol.decode_result(fields) for _, fields in client.xrange(protocol.results_key(stream))]


def worker_command(redis_url: str, queue: str, model: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "inference_worker", "--redis", redis_url, "--queue", queue, "--model", model,
        "--metrics-port", "0", *extra,
    ]


def database_url() -> str:
    """The test database as a DATABASE_URL, for processes a test starts (which needs ``transaction=True``)."""
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{user}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def celery_worker(redis_url: str, log: Path, media_root: Path, **env: str) -> Iterator[Proc]:
    """A real Celery worker process (one solo pool) on the test database and Redis, stopped afterwards.

    The worker must see the test's rows: the test database is a file and the test commits for real
    (``transaction=True``). ``env`` adds settings, e.g. ``TMPDIR``.
    """
    worker = Proc(
        [sys.executable, "-m", "celery", "-A", "controlplane", "worker", "--pool", "solo", "--concurrency", "1", "-l", "info"],
        log,
        env={
            "DJANGO_SETTINGS_MODULE": "controlplane.config.settings", "REDIS_URL": redis_url,
            "EI_DATA_DIR": os.environ["EI_DATA_DIR"], "DATABASE_URL": database_url(),
            "EI_MEDIA_ROOT": str(media_root), "CELERY_TASK_ALWAYS_EAGER": "false", **env,
        },
    )
    try:
        wait_until(lambda: " ready." in worker.output() or worker.popen.poll() is not None, 60, "the Celery worker")
        assert worker.popen.poll() is None, worker.output()
        yield worker
    finally:
        if worker.popen.poll() is None:
            try:
                worker.terminate()
            except subprocess.TimeoutExpired:
                worker.kill()


async def next_live_result(websocket, timeout: float) -> tuple[dict, bytes]:
    """The next result a ``websockets`` client of a stream receives (meta and JPEG), past the tracks entries
    (text messages) that may come before it."""
    async with asyncio.timeout(timeout):
        while isinstance(message := await websocket.recv(), str):
            pass
    return parse_binary_message(message)
