"""Writes to scaling policies. Each runs in one transaction: effects on the running fleet go in here as
``transaction.on_commit(...)``, so they follow only changes that were saved."""

from __future__ import annotations

from django.db import transaction

from controlplane.records import save_validated
from controlplane.scaling.models import ScalingPolicy


@transaction.atomic
def policy_create(*, name: str, **fields) -> ScalingPolicy:
    return save_validated(ScalingPolicy(name=name, **fields))


@transaction.atomic
def policy_update(*, policy: ScalingPolicy, **changes) -> ScalingPolicy:
    return save_validated(policy, changes)


@transaction.atomic
def policy_delete(*, policy: ScalingPolicy) -> None:
    """Refused with ``ProtectedError`` while an inference service uses the policy."""
    policy.delete()
