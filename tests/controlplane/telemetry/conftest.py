"""Inference services on record."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from controlplane.inference.models import InferenceService


@pytest.fixture
def make_service(db):
    from controlplane.inference.models import InferenceService  # after Django is set up
    from controlplane.registry.models import InferenceModel

    def make(name: str, queue: str) -> InferenceService:
        model, _ = InferenceModel.objects.get_or_create(
            name="face", defaults={"framework": InferenceModel.Framework.TFLITE, "builtin": "builtin:face"}
        )
        return InferenceService.objects.create(name=name, queue=queue, model=model)

    return make
