"""Writes to scaling policies. Each runs in one transaction: effects on the running fleet go in here as
``transaction.on_commit(...)``, so they follow only changes that were saved."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from controlplane.core.reconcile import request_reconcile
from controlplane.core.records import save_validated
from controlplane.scaling.models import ScalingEvent, ScalingPolicy


@transaction.atomic
def policy_create(*, name: str, **fields) -> ScalingPolicy:
    return save_validated(ScalingPolicy(name=name, **fields))


@transaction.atomic
def policy_update(*, policy: ScalingPolicy, **changes) -> ScalingPolicy:
    row = save_validated(policy, changes)
    request_reconcile()
    return row


@transaction.atomic
def policy_delete(*, policy: ScalingPolicy) -> None:
    """Refused with ``ProtectedError`` while an inference service uses the policy."""
    policy.delete()


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
