"""The arguments of a unit's processes, shared by both backends: the supervisor runs them as command
lines here, the Kubernetes manifests put them in containers. Only where the model comes from differs."""

from __future__ import annotations

from pathlib import Path

from controlplane.orchestration.units import ModelRef, Producer, WorkerPool
from producers.camera import camera_index


def worker_args(pool: WorkerPool, model_args: list[str]) -> list[str]:
    """``python -m inference_worker`` arguments; ``model_args`` says where the model is."""
    args = ["--queue", pool.queue, *model_args, "--format", pool.model.output_family]
    if pool.model.labels:
        args += ["--labels", ",".join(pool.model.labels)]
    args += ["--device", pool.device, "--requests", str(pool.infer_requests)]
    if pool.threshold is not None:
        args += ["--threshold", str(pool.threshold)]
    if pool.keep_labels:  # none: the worker reports the model's default selection
        args += ["--keep-labels", ",".join(pool.keep_labels)]
    return args


def local_model_args(model: ModelRef, media_root: Path) -> list[str]:
    """A built-in, or the uploaded file where this machine's control plane stored it."""
    return ["--model", model.builtin or str(Path(media_root) / model.file)]


def download_model_args(model: ModelRef, control_plane_url: str) -> list[str]:
    """A built-in from the image, or where a pod downloads the upload and the checksums it verifies."""
    if model.builtin:
        return ["--model", model.builtin]
    args = ["--model", _file_url(control_plane_url, model.model_id, model.file), "--model-sha256", model.file_sha256]
    if model.weights:
        args += ["--weights-url", _file_url(control_plane_url, model.model_id, model.weights),
                 "--weights-sha256", model.weights_sha256]
    return args


def _file_url(control_plane_url: str, model_id: int, storage_name: str) -> str:
    """The route ``/api/models/<pk>/files/<filename>/``, slash included: no redirect on the way."""
    return f"{control_plane_url.rstrip('/')}/api/models/{model_id}/files/{storage_name.rsplit('/', 1)[-1]}/"


def producer_args(producer: Producer) -> list[str]:
    """``python -m producers`` arguments. A file loops: it stands in for a camera until it is disabled."""
    if producer.source_kind == "camera":  # stored as "0" or "/dev/video0"
        source = ["camera", "--device", str(camera_index(producer.source))]
    elif producer.source_kind == "file":
        source = ["file", producer.source, "--loop"]
    else:
        source = ["url", producer.source]
    queues = [arg for queue in producer.queues for arg in ("--queue", queue)]
    return [*source, "--stream", producer.stream, *queues, "--fps", str(producer.fps)]


def worker_id(pool: WorkerPool, slot: int) -> str:
    """Stable per slot, so a restarted worker reports under the same id. Within the 64 characters of a name."""
    suffix = f"-{slot}"
    return pool.service[: 64 - len(suffix)] + suffix


def worker_argv(pool: WorkerPool, slot: int, *, python: str, media_root: Path, redis_url: str) -> list[str]:
    """A local worker: telemetry goes through heartbeats, so no metrics port to collide on."""
    return [
        python, "-m", "inference_worker", *worker_args(pool, local_model_args(pool.model, media_root)),
        "--worker-id", worker_id(pool, slot), "--metrics-port", "-1", "--redis", redis_url,
    ]


def producer_argv(producer: Producer, *, python: str, redis_url: str) -> list[str]:
    return [python, "-m", "producers", *producer_args(producer), "--redis", redis_url]
