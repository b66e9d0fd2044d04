"""The desired state, read from the database as units (see units.py).

A service whose model is not usable yet is not deployed; it is reported as ``held`` with the status and
reason to show instead, so the user sees why nothing runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controlplane.inference.models import InferenceService

from controlplane.registry.models import InferenceModel
from controlplane.core.status import FleetStatus
from controlplane.orchestration.units import Autoscale, ModelRef, Producer, Unit, WorkerPool
from controlplane.streams.models import Stream


@dataclass
class DesiredState:
    units: list[Unit] = field(default_factory=list)
    held: dict[str, tuple[str, str]] = field(default_factory=dict)  # service name -> (status, message)


def desired_state() -> DesiredState:
    state = DesiredState()
    services = InferenceService.objects.filter(enabled=True).select_related("model", "scaling_policy")
    for service in services:
        hold = _model_hold(service.model)
        if hold:
            state.held[service.name] = hold
        else:
            state.units.append(worker_pool(service))
    managed = Stream.objects.filter(enabled=True).exclude(source_kind=Stream.SourceKind.EXTERNAL)
    state.units.extend(producer(stream) for stream in managed)
    return state


def _model_hold(model: InferenceModel) -> tuple[str, str] | None:
    """Built-ins ship with the worker and are always usable; an upload must have passed validation."""
    if model.builtin or model.status == InferenceModel.Status.READY:
        return None
    if model.status == InferenceModel.Status.FAILED:
        return FleetStatus.FAILED, f"model {model} failed validation: {model.status_message or 'no reason given'}"
    return FleetStatus.PENDING, f"waiting for model {model} to pass validation ({model.status})"


def worker_pool(service: InferenceService) -> WorkerPool:
    model = service.model
    policy = service.scaling_policy
    return WorkerPool(
        service=service.name,
        queue=service.queue,
        model=ModelRef(
            builtin=model.builtin, model_id=None if model.builtin else model.pk,
            file=model.file.name or "", file_sha256=model.file_sha256,
            weights=model.weights.name or "", weights_sha256=model.weights_sha256,
            output_family=model.output_family, labels=tuple(model.labels),
        ),
        device=service.device,
        infer_requests=service.infer_requests,
        threshold=service.threshold,
        keep_labels=tuple(service.labels or ()),
        autoscale=None if policy is None else Autoscale(
            min_replicas=policy.min_replicas, max_replicas=policy.max_replicas, metric=policy.metric,
            target_value=policy.target_value, scale_up_window_seconds=policy.scale_up_window_seconds,
            scale_down_window_seconds=policy.scale_down_window_seconds,
        ),
    )


def producer(stream: Stream) -> Producer:
    return Producer(
        stream=stream.name, source_kind=stream.source_kind, source=stream.source,
        queues=tuple(stream.queues), fps=stream.target_fps,
    )
