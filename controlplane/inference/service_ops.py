"""Writes to inference services. Each runs in one transaction: effects on the running fleet go in here
as ``transaction.on_commit(...)``, so they follow only changes that were saved."""

from __future__ import annotations

from django.db import transaction

from controlplane.inference.models import InferenceModel, InferenceService
from controlplane.records import save_validated


@transaction.atomic
def inference_service_create(*, name: str, queue: str, model: InferenceModel, **fields) -> InferenceService:
    return save_validated(InferenceService(name=name, queue=queue, model=model, **fields))


@transaction.atomic
def inference_service_update(*, service: InferenceService, **changes) -> InferenceService:
    return save_validated(service, changes)


@transaction.atomic
def inference_service_delete(*, service: InferenceService) -> None:
    service.delete()
