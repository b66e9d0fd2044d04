"""A database made before the model registry became its own app keeps its rows and permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from controlplane.inference.models import InferenceService
from controlplane.registry.models import InferenceModel

# The inference app's newest migration at the last commit before the split; every other app as it is now.
BEFORE_THE_SPLIT = ("inference", "0003_fleet_status")


def _before_the_split(executor: MigrationExecutor) -> list[tuple[str, str]]:
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] not in ("inference", "registry")]
    return [*others, BEFORE_THE_SPLIT]


@pytest.mark.django_db(transaction=True)
def test_the_registry_split_keeps_models_services_and_permissions():
    executor = MigrationExecutor(connection)
    targets = _before_the_split(executor)
    executor.migrate(targets)
    old = executor.loader.project_state(targets).apps
    OldModel = old.get_model("inference", "InferenceModel")
    uploaded = OldModel.objects.create(
        name="doors", version="3", task="doors", labels=["door"], framework="onnx", status="ready",
        file="models/doors/3/doors.onnx", file_sha256="ab" * 32, measured_fps=41.5,
    )
    policy = old.get_model("scaling", "ScalingPolicy").objects.create(name="busy", max_replicas=3)
    old.get_model("inference", "InferenceService").objects.create(
        name="doors", queue="doors", model_id=uploaded.pk, scaling_policy_id=policy.pk, threshold=0.4,
    )
    ContentType = old.get_model("contenttypes", "ContentType")
    change = old.get_model("auth", "Permission").objects.get(
        content_type=ContentType.objects.get(app_label="inference", model="inferencemodel"),
        codename="change_inferencemodel",
    )
    editor = old.get_model("auth", "User").objects.create(username="editor")
    editor.user_permissions.add(change)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    model = InferenceModel.objects.get(name="doors", version="3")
    assert (model.pk, model.file.name, model.measured_fps, model.labels) == (
        uploaded.pk, "models/doors/3/doors.onnx", 41.5, ["door"]
    )
    service = InferenceService.objects.get(name="doors")
    assert (service.model, service.scaling_policy.name, service.threshold) == (model, "busy", 0.4)
    assert User.objects.get(username="editor").has_perm("registry.change_inferencemodel")
