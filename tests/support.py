"""Helpers shared by the tests: real processes, real images, and waiting for conditions with a deadline."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import redis
import simplejpeg
import skimage.data

from inference_worker import protocol

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent
VTEST = REPO / ".assets" / "vtest.avi"


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, what: str = "condition", interval: float = 0.05) -> T:
    """Poll until ``predicate`` returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def sample_image(name: str) -> np.ndarray:
    """A scikit-image sample as a BGR uint8 array (grey images get three channels)."""
    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[:, :, 2::-1])


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


class Proc:
    """A child process of ours, with its stderr kept in a file for assertions and post-mortems."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None):
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(
            args, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 30.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)
        self._log.close()


def worker_command(redis_url: str, queue: str, model: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "inference_worker", "--redis", redis_url, "--queue", queue, "--model", model,
        "--metrics-port", "0", *extra,
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.ConnectionError:
        return False


def redis_server_command(port: int, workdir: Path) -> list[str]:
    return [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", str(workdir),
    ]


def start_redis_server(port: int, workdir: Path) -> subprocess.Popen:
    """A redis-server of the caller's own (no persistence: started again, it is empty), once it answers."""
    proc = subprocess.Popen(redis_server_command(port, workdir), stdout=subprocess.DEVNULL)
    wait_until(lambda: pings(f"redis://127.0.0.1:{port}/0"), 10, "redis-server")
    return proc


def database_url() -> str:
    """The test database as a DATABASE_URL, for processes a test starts (which needs ``transaction=True``)."""
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{user}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
