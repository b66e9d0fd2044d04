"""Reads of inference services, with their model and policy joined in (the API shows both)."""

from __future__ import annotations

from django.db.models import QuerySet

from controlplane.inference.models import InferenceService


def inference_service_list(*, filters: dict | None = None) -> QuerySet[InferenceService]:
    """Services by name; ``filters`` are field lookups, e.g. ``{"enabled": True, "queue": "face"}``."""
    return InferenceService.objects.select_related("model", "scaling_policy").filter(**(filters or {}))


def inference_service_get(*, name: str) -> InferenceService:
    """The service called ``name``; raises ``InferenceService.DoesNotExist``."""
    return inference_service_list().get(name=name)
