"""Reading the fleet from worker heartbeats, for the terminal monitor and the control plane."""

from __future__ import annotations

import time

import redis

from inference_worker import protocol

NUMERIC = {
    "pid": int, "started_at": float, "updated_at": float, "infer_fps": float, "drop_fps": float,
    "scale_ratio": float, "latency_p50_ms": float, "latency_p99_ms": float,
    "inferred": int, "dropped": int, "rejected": int,
}


def _typed(raw: dict[bytes, bytes]) -> dict:
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    for name, cast in NUMERIC.items():
        if name in fields:
            fields[name] = cast(fields[name])
    return fields


def live_workers(client: redis.Redis, max_age: float = 10.0) -> list[dict]:
    """Workers whose heartbeat is younger than ``max_age`` seconds, sorted by queue then id.

    Index entries of workers that died without deregistering are pruned on the way.
    """
    now = time.time()
    client.zremrangebyscore(protocol.WORKERS_INDEX, "-inf", now - max_age)
    ids = [i.decode() for i in client.zrange(protocol.WORKERS_INDEX, 0, -1)]
    pipe = client.pipeline(transaction=False)
    for worker_id in ids:
        pipe.hgetall(protocol.worker_key(worker_id))
    workers = [_typed(raw) for raw in pipe.execute() if raw]
    return sorted(workers, key=lambda w: (w.get("queue", ""), w.get("worker", "")))
