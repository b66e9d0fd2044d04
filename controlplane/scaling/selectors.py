"""Reads of scaling policies."""

from __future__ import annotations

from django.db.models import QuerySet

from controlplane.scaling.models import ScalingEvent, ScalingPolicy


def policy_list(*, filters: dict | None = None) -> QuerySet[ScalingPolicy]:
    """Policies by name; ``filters`` are field lookups, e.g. ``{"metric": "cpu"}``."""
    return ScalingPolicy.objects.filter(**(filters or {}))


def policy_get(*, name: str) -> ScalingPolicy:
    """The policy called ``name``; raises ``ScalingPolicy.DoesNotExist``."""
    return ScalingPolicy.objects.get(name=name)


def scaling_event_list() -> QuerySet[ScalingEvent]:
    """Scaling events, newest first."""
    return ScalingEvent.objects.select_related("service")
