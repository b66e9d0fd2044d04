"""Writes to scaling policies (a policy in use changes the fleet: its update asks for a reconcile) and the
record of scaling steps."""

from __future__ import annotations

from django.utils import timezone

from controlplane.core.records import RecordWrites, create_row, delete_row, update_row
from controlplane.scaling.models import ScalingEvent, ScalingPolicy


def policy_create(*, name: str, **fields) -> ScalingPolicy:
    return create_row(ScalingPolicy, reconcile=False, name=name, **fields)  # no service uses it yet


def policy_update(*, policy: ScalingPolicy, **changes) -> ScalingPolicy:
    return update_row(policy, **changes)


def policy_delete(*, policy: ScalingPolicy) -> None:
    """Refused with ``ProtectedError`` while an inference service uses the policy."""
    delete_row(policy, reconcile=False)


POLICY_WRITES = RecordWrites("policy", policy_create, policy_update, policy_delete)


def scaling_event_record(
    *, service_name: str, backend: str, from_replicas: int, to_replicas: int, metric: str = "",
    metric_value: float | None = None, target_value: float | None = None, reason: str = "", time=None,
) -> ScalingEvent:
    """Store one scaling step; the service row is linked while it exists under that name."""
    services = ScalingEvent._meta.get_field("service").related_model.objects  # no import: services depend on us
    return ScalingEvent.objects.create(
        service=services.filter(name=service_name).first(), service_name=service_name,
        time=time or timezone.now(), backend=backend, metric=metric, metric_value=metric_value,
        target_value=target_value, from_replicas=from_replicas, to_replicas=to_replicas, reason=reason,
    )
