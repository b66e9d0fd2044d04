"""The command lines of a unit's processes on this machine (the Kubernetes manifests build their own)."""

from __future__ import annotations

import re
from pathlib import Path

from controlplane.orchestration.units import Producer, WorkerPool

CAMERA = re.compile(r"(?:/dev/video)?([0-9]+)")


def worker_id(pool: WorkerPool, slot: int) -> str:
    """Stable per slot, so a restarted worker reports under the same id. Within the 64 characters of a name."""
    suffix = f"-{slot}"
    return pool.service[: 64 - len(suffix)] + suffix


def worker_argv(pool: WorkerPool, slot: int, *, python: str, media_root: Path, redis_url: str) -> list[str]:
    model = pool.model
    argv = [
        python, "-m", "inference_worker", "--queue", pool.queue,
        "--model", model.builtin or str(media_root / model.file),
        "--format", model.output_family, "--device", pool.device, "--requests", str(pool.infer_requests),
        "--worker-id", worker_id(pool, slot), "--metrics-port", "-1",  # telemetry goes through heartbeats
        "--redis", redis_url,
    ]
    if model.labels:
        argv += ["--labels", ",".join(model.labels)]
    if pool.threshold is not None:
        argv += ["--threshold", str(pool.threshold)]
    return argv


def producer_argv(producer: Producer, *, python: str, redis_url: str) -> list[str]:
    argv = [python, "-m", "producers", producer.source_kind]
    if producer.source_kind == "camera":
        argv += ["--device", CAMERA.fullmatch(producer.source)[1]]
    else:
        argv.append(producer.source)
    if producer.source_kind == "file":
        argv.append("--loop")  # a file stands in for a camera: it plays until the stream is disabled
    argv += ["--stream", producer.stream, "--fps", str(producer.fps), "--redis", redis_url]
    for queue in producer.queues:
        argv += ["--queue", queue]
    return argv
