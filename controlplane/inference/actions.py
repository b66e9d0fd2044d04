"""Writes to inference services. Each runs in one transaction: effects on the running fleet go in here
as ``transaction.on_commit(...)``, so they follow only changes that were saved."""

from __future__ import annotations

from django.db import transaction

from controlplane.inference.models import InferenceService

from controlplane.registry.models import InferenceModel
from controlplane.core.reconcile import request_reconcile
from controlplane.core.records import save_validated


@transaction.atomic
def inference_service_create(*, name: str, queue: str, model: InferenceModel, **fields) -> InferenceService:
    row = save_validated(InferenceService(name=name, queue=queue, model=model, **fields))
    request_reconcile()
    return row


@transaction.atomic
def inference_service_update(*, service: InferenceService, **changes) -> InferenceService:
    row = save_validated(service, changes)
    request_reconcile()
    return row


@transaction.atomic
def inference_service_delete(*, service: InferenceService) -> None:
    service.delete()
    request_reconcile()
