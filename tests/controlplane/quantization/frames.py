"""Real frames for the quantization tests, and results as the workers publish them."""

from __future__ import annotations

import time
from collections.abc import Sequence

import cv2
import numpy as np
import redis
import simplejpeg

from inference_worker import protocol
from tests.support import sample_image


def face_pictures(count: int) -> list[np.ndarray]:
    """Pictures with a face, BGR: the astronaut cropped around her face at various sizes and places, scaled,
    mirrored and lit differently (a seeded draw, so every run sees the same pictures)."""
    astronaut = sample_image("astronaut")  # 512 x 512; her face is within x 150..290, y 30..210
    rng = np.random.default_rng(7)
    pictures = []
    for index in range(count):
        size = int(rng.integers(300, 513))
        x0 = int(rng.integers(max(0, 290 - size), min(150, 512 - size) + 1))
        y0 = int(rng.integers(0, min(30, 512 - size) + 1))
        side = int(rng.integers(256, 641))
        picture = cv2.resize(astronaut[y0:y0 + size, x0:x0 + size], (side, side), interpolation=cv2.INTER_AREA)
        if index % 2:
            picture = picture[:, ::-1]
        gain = float(rng.uniform(0.7, 1.3))
        pictures.append(np.ascontiguousarray(np.clip(picture.astype(np.float32) * gain, 0, 255).astype(np.uint8)))
    return pictures


def png_of(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


def push_results(
    client: redis.Redis, stream: str, jpegs: Sequence[bytes], *, queues: Sequence[str] = ("people",),
    first_seq: int = 0, ts: float | None = None,
) -> None:
    """XADD one result per frame and queue, as the workers of each queue would (the same frame once per queue)."""
    for offset, jpeg in enumerate(jpegs):
        height, width, _, _ = simplejpeg.decode_jpeg_header(jpeg)
        frame = protocol.Frame(
            stream=stream, seq=first_seq + offset, ts=ts or time.time(), width=width, height=height, data=jpeg
        )
        for queue in queues:
            meta = protocol.result_meta(
                frame=frame, queue=queue, model=f"builtin:{queue}", worker=f"w-{queue}", ts_done=time.time(),
                detections=[],
            )
            client.xadd(protocol.results_key(stream), protocol.encode_result(meta, jpeg))
