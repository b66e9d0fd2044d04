"""The fixture both backends' tests use: this folder's conftest and tests/kubernetes' import it."""

from __future__ import annotations

import importlib

import pytest


@pytest.fixture
def people_model(db):
    """The built-in people model. A transactional test empties the tables its migrations filled, so the
    row the migration registers is made again, from the migration's own list."""
    from controlplane.registry.models import InferenceModel

    builtins = importlib.import_module("controlplane.inference.migrations.0002_builtin_models").BUILTINS
    fields = next(fields for fields in builtins if fields["builtin"] == "builtin:people")
    return InferenceModel.objects.get_or_create(builtin="builtin:people", defaults={**fields, "status": "pending"})[0]
