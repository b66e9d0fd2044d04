"""The desired state as backend-neutral units: one worker pool per enabled inference service, one
producer per enabled stream that the platform runs itself (camera, file, URL).

Units are plain frozen dataclasses, so both backends and the supervisor read the same thing and a
unit's spec hash changes exactly when something a process would see changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

WORKER = "worker"
PRODUCER = "producer"


@dataclass(frozen=True)
class Autoscale:
    """A scaling policy as the autoscaler (local) or the HPA (Kubernetes) applies it."""

    min_replicas: int
    max_replicas: int
    metric: str  # scale_ratio | drop_fps | infer_fps | cpu
    target_value: float
    scale_up_window_seconds: int
    scale_down_window_seconds: int


@dataclass(frozen=True)
class ModelRef:
    """Where a worker finds its model: a built-in shipped with the worker, or an uploaded file that a
    local worker opens from the media folder and a pod downloads from the control plane (checksummed)."""

    builtin: str = ""
    model_id: int | None = None
    file: str = ""  # storage name of the .xml/.onnx/.tflite/.pb
    file_sha256: str = ""
    weights: str = ""  # storage name of an IR's .bin
    weights_sha256: str = ""
    output_family: str = "auto"
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkerPool:
    service: str
    queue: str
    model: ModelRef
    device: str = "CPU"
    infer_requests: int = 0
    threshold: float | None = None
    keep_labels: tuple[str, ...] = ()  # the labels the workers report; empty: the model's default selection
    autoscale: Autoscale | None = None  # None: one replica, no autoscaling
    kind: str = field(default=WORKER, init=False)

    @property
    def name(self) -> str:
        return self.service


@dataclass(frozen=True)
class Producer:
    stream: str
    source_kind: str  # camera | file | url
    source: str
    queues: tuple[str, ...]
    fps: int
    kind: str = field(default=PRODUCER, init=False)

    @property
    def name(self) -> str:
        return self.stream


Unit = WorkerPool | Producer


def unit_key(unit: Unit) -> str:
    """``worker/<service>`` or ``producer/<stream>``: unique across a backend's units."""
    return f"{unit.kind}/{unit.name}"


def spec_of(unit: Unit) -> dict:
    return asdict(unit)


def spec_hash(unit: Unit) -> str:
    """Short digest of what the unit's processes (or pods) see. Neither the replica count nor the scaling
    policy is in it, so scaling and policy edits never restart a worker."""
    spec = spec_of(unit)
    spec.pop("autoscale", None)  # the policy steers the autoscaler (or the HPA), not the processes
    if not spec.get("keep_labels", True):  # no flag, as before there were labels: running pools keep their hash
        del spec["keep_labels"]
    encoded = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def unit_from_spec(spec: dict) -> Unit:
    """Rebuild a unit from :func:`spec_of` output (JSON round trip: tuples came back as lists)."""
    spec = {k: v for k, v in spec.items() if k != "kind"}
    if "service" in spec:
        model = ModelRef(**{**spec["model"], "labels": tuple(spec["model"].get("labels", ()))})
        autoscale = Autoscale(**spec["autoscale"]) if spec.get("autoscale") else None
        keep_labels = tuple(spec.get("keep_labels", ()))
        return WorkerPool(**{**spec, "model": model, "keep_labels": keep_labels, "autoscale": autoscale})
    return Producer(**{**spec, "queues": tuple(spec["queues"])})
