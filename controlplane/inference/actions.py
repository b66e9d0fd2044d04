"""Writes to inference services: each in one transaction, asking for a reconcile once it commits."""

from __future__ import annotations

from controlplane.core.records import RecordWrites, create_row, delete_row, update_row
from controlplane.inference.models import InferenceService
from controlplane.registry.models import InferenceModel


def inference_service_create(*, name: str, queue: str, model: InferenceModel, **fields) -> InferenceService:
    return create_row(InferenceService, name=name, queue=queue, model=model, **fields)


def inference_service_update(*, service: InferenceService, **changes) -> InferenceService:
    return update_row(service, **changes)


def inference_service_delete(*, service: InferenceService) -> None:
    delete_row(service)


SERVICE_WRITES = RecordWrites("service", inference_service_create, inference_service_update, inference_service_delete)
