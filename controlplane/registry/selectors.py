"""Reads of the model registry."""

from __future__ import annotations

from django.db.models import QuerySet

from controlplane.registry.models import InferenceModel


def model_list() -> QuerySet[InferenceModel]:
    return InferenceModel.objects.all()


def model_get(*, model_id: int) -> InferenceModel:
    """Raises ``InferenceModel.DoesNotExist``."""
    return model_list().get(pk=model_id)


def model_version_taken(*, name: str, version: str, exclude_id: int | None = None) -> bool:
    return InferenceModel.objects.filter(name=name, version=version).exclude(pk=exclude_id).exists()


def models_to_validate(*, pending_only: bool) -> QuerySet[InferenceModel]:
    models = model_list()
    return models.filter(status=InferenceModel.Status.PENDING) if pending_only else models
