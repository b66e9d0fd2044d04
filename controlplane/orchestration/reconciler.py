"""One reconcile pass: make the backend match the database, then write what it reports onto the rows.

Level-based like a Kubernetes controller: every pass starts from the whole desired state and the whole
actual state, so a missed trigger or a crash mid-pass is repaired by the next one, and a pass with
nothing to change writes nothing (the backends compare before they write; rows are updated only where a
value differs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis
from django.db import transaction
from django.utils import timezone

from controlplane.inference.models import InferenceService
from controlplane.orchestration.backends import Backend, BackendError, Observed, get_backend
from controlplane.orchestration.desired import desired_state
from controlplane.core.status import FleetStatus
from controlplane.orchestration.units import PRODUCER, WORKER, unit_key
from controlplane.scaling.actions import scaling_event_record
from controlplane.streams.models import Stream
from controlplane.core.redis import get_redis
from inference_worker import protocol


@dataclass
class Report:
    actions: list[str] = field(default_factory=list)  # writes to the backend
    errors: dict[str, str] = field(default_factory=dict)  # unit key -> why it could not be applied
    changes: list[str] = field(default_factory=list)  # status changes written to rows

    def lines(self) -> list[str]:
        return [*self.actions, *(f"error {key}: {error}" for key, error in self.errors.items()), *self.changes]


def reconcile(*, backend: Backend | None = None) -> Report:
    backend = backend or get_backend()
    report = Report()
    state = desired_state()
    try:
        observed = backend.observe()
    except BackendError as exc:
        report.errors.update({unit_key(unit): str(exc) for unit in state.units})
        _write_status(backend, state.held, {}, report)
        return report

    wanted = {unit_key(unit) for unit in state.units}
    for unit in state.units:
        key = unit_key(unit)
        try:
            report.actions += backend.apply(unit, observed.get(key))
        except BackendError as exc:
            report.errors[key] = str(exc)
    for key in sorted(observed.keys() - wanted):
        try:
            report.actions += backend.delete(key, observed[key])
        except BackendError as exc:
            report.errors[key] = str(exc)
    if not report.errors:
        try:
            backend.finish()
        except BackendError as exc:
            report.errors.update({key: str(exc) for key in wanted})
    if report.actions:
        try:
            observed = backend.observe()  # read back what the writes made
        except BackendError as exc:
            report.errors.update({key: str(exc) for key in wanted})
    _write_status(backend, state.held, observed, report)
    return report


def unit_status(observed: Observed) -> tuple[str, str]:
    """A unit's status and message from what the backend reports."""
    ready, desired = observed.ready, observed.desired
    counts = f"{ready or 0}/{desired if desired is not None else '?'} ready"
    if observed.error:
        return (FleetStatus.DEGRADED if ready else FleetStatus.FAILED), observed.error
    if ready is None or desired is None:
        return FleetStatus.APPLYING, observed.message or "applied; waiting for the backend to report"
    if ready >= desired:
        return FleetStatus.READY, counts
    return FleetStatus.APPLYING, f"{counts}; {observed.message}" if observed.message else counts


def _write_status(backend: Backend, held: dict[str, tuple[str, str]], observed: dict[str, Observed],
                  report: Report) -> None:
    for service in InferenceService.objects.select_related("scaling_policy"):
        key = f"{WORKER}/{service.name}"
        seen = observed.get(key)
        if not service.enabled:
            status, values = (FleetStatus.DISABLED, ""), _replicas(None)
        elif service.name in held:
            status, values = held[service.name], _replicas(None)
        elif key in report.errors:
            status, values = (FleetStatus.FAILED, report.errors[key]), _replicas(seen)
        elif seen is None:
            status, values = (FleetStatus.APPLYING, "not created yet"), _replicas(None)
        else:
            status, values = unit_status(seen), _replicas(seen)
        if backend.observes_scaling and seen is not None:
            _record_observed_scaling(backend, service, seen)
        _update_row(service, status, values, report)

    streams = list(Stream.objects.all())
    external = _external_producers([s.name for s in streams if s.source_kind == Stream.SourceKind.EXTERNAL])
    for stream in streams:
        key = f"{PRODUCER}/{stream.name}"
        if not stream.enabled:
            status = (FleetStatus.DISABLED, "")
        elif stream.source_kind == Stream.SourceKind.EXTERNAL:
            status = external.get(stream.name, (FleetStatus.PENDING, "cannot read producer heartbeats from Redis"))
        elif key in report.errors:
            status = (FleetStatus.FAILED, report.errors[key])
        elif key in observed:
            status = unit_status(observed[key])
        else:
            status = (FleetStatus.APPLYING, "not created yet")
        _update_row(stream, status, {}, report)


def _replicas(seen: Observed | None) -> dict:
    return {
        "replicas_desired": seen and seen.desired, "replicas_current": seen and seen.current,
        "replicas_ready": seen and seen.ready, "conditions": seen.conditions if seen else [],
    }


def _update_row(row: InferenceService | Stream, status: tuple[str, str], values: dict, report: Report) -> None:
    """Write only the fields that differ; ``status_changed`` moves when the status or its message does."""
    values = {"status": status[0], "status_message": status[1], **values}
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    if not changed:
        return
    if {"status", "status_message"} & changed.keys():
        changed["status_changed"] = timezone.now()
        report.changes.append(f"{type(row).__name__.lower()} {row.name}: {status[0]} ({status[1] or 'no message'})")
    type(row).objects.filter(pk=row.pk).update(**changed)  # not save(): a user's edit meanwhile stays


def _record_observed_scaling(backend: Backend, service: InferenceService, seen: Observed) -> None:
    """An HPA decided a new replica count since the last pass: keep it as a scaling event."""
    before, after = service.replicas_desired, seen.desired
    if before is None or after is None or before == after:
        return
    policy = service.scaling_policy
    scaling = seen.scaling or {}
    with transaction.atomic():
        scaling_event_record(
            service_name=service.name, backend=backend.name, from_replicas=before, to_replicas=after,
            metric=policy.metric if policy else "", target_value=policy.target_value if policy else None,
            metric_value=scaling.get("metric_value"), reason=scaling.get("reason") or "the autoscaler changed its mind",
            time=scaling.get("time"),
        )


def _external_producers(names: list[str]) -> dict[str, tuple[str, str]]:
    """Streams whose frames come from a producer run elsewhere: ready while its heartbeat is alive."""
    if not names:
        return {}
    try:
        alive = get_redis().pipeline(transaction=False)
        for name in names:
            alive.exists(protocol.producer_key(name))
        replies = alive.execute()
    except redis.RedisError:
        return {}
    return {
        name: (FleetStatus.READY, "an external producer is pushing frames") if up
        else (FleetStatus.PENDING, "waiting for an external producer to push frames")
        for name, up in zip(names, replies)
    }
