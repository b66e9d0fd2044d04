"""Worker heartbeats written the way a worker writes them, for tests of what reads them."""

from __future__ import annotations

import time

import redis

from inference_worker import heartbeat, protocol


def write_heartbeat(client: redis.Redis, worker: str, queue: str, **figures) -> None:
    """A heartbeat written by the worker's own writer (``inference_worker.heartbeat.write``)."""
    now = time.time()
    beat = protocol.Heartbeat(**{
        "worker": worker, "queue": queue, "model": "builtin:face", "device": "CPU", "pid": 4242, "host": "edge-1",
        "namespace": "", "started_at": round(now - 60, 3), "updated_at": round(now, 3), "window_seconds": 5.0, "infer_fps": 0.0, "drop_fps": 0.0,
        "scale_ratio": 0.0, "latency_p50_ms": 0.0, "latency_p99_ms": 0.0, "inferred": 0, "dropped": 0, "rejected": 0,
        **figures,
    })
    pipe = client.pipeline(transaction=True)
    heartbeat.write(pipe, beat)
    pipe.execute()
