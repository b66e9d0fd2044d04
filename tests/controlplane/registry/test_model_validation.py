"""Validation outside the API: the built-in models, ``manage.py validate_models``, and runs that go wrong."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from controlplane.registry.actions import model_create
from controlplane.registry.models import InferenceModel
from controlplane.registry.validation import model_validate
from inference_worker.model_store import BUILTINS
from tests.controlplane.registry.model_support import stored_files

pytestmark = pytest.mark.django_db


def validate_models(*args: str, capsys) -> list[str]:
    call_command("validate_models", *args)
    return capsys.readouterr().out.splitlines()


def test_the_built_in_models_are_registered_and_validate_models_makes_them_ready(capsys):
    builtins = InferenceModel.objects.exclude(builtin="").order_by("name")
    assert [(m.name, m.version, m.builtin, m.framework, m.output_family, m.task, m.labels, m.status) for m in builtins] == [
        ("face", "1", "builtin:face", "tflite", "blazeface", "face", ["face"], "pending"),
        ("people", "1", "builtin:people", "tf", "tf_od", "people", ["background", "person"], "pending"),
        ("vehicles", "1", "builtin:vehicles", "tflite", "ssd_anchors", "vehicles", list(BUILTINS["builtin:vehicles"].labels),
         "pending"),
    ]

    lines = validate_models("--all", capsys=capsys)
    assert [re.sub(r"[0-9.]+ fps$", "N fps", line) for line in lines] == [
        "face:1 ready N fps", "people:1 ready N fps", "vehicles:1 ready N fps",
    ]
    face, people, vehicles = InferenceModel.objects.exclude(builtin="").order_by("name")
    assert [(m.status, m.input_shape) for m in (face, people, vehicles)] == [
        ("ready", [1, 128, 128, 3]), ("ready", [1, 300, 300, 3]), ("ready", [1, 300, 300, 3]),
    ]
    assert face.measured_fps > 0 and people.measured_fps > 0 and vehicles.measured_fps > 0
    assert f"{face.measured_fps:.1f} fps" in lines[0]
    assert validate_models("--pending", capsys=capsys) == [], "nothing is left pending"


def test_validate_models_names_what_failed_and_exits_non_zero(settings, tmp_path, capsys):
    settings.MEDIA_ROOT = tmp_path
    broken = model_create(name="broken", file=SimpleUploadedFile("broken.onnx", b"\x08\x08" + bytes(512)))
    with pytest.raises(CommandError, match="2 of 2 models are not ready"):
        call_command("validate_models", str(broken.pk), "999999")
    failed, missing = capsys.readouterr().out.splitlines()
    assert failed.startswith("broken:1 failed: OpenVINO cannot read model broken.onnx: the file is corrupt")
    assert missing == "999999: no such model"


def test_a_stored_file_that_went_missing_is_a_failure_saying_so(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    model = model_create(name="gone", file=SimpleUploadedFile("gone.onnx", b"\x08\x08" + bytes(512)))
    (tmp_path / model.file.name).unlink()
    assert stored_files(tmp_path) == []
    validated = model_validate(model_id=model.pk)
    assert (validated.status, validated.status_message) == (
        "failed", "the stored file models/gone/1/gone.onnx is missing; upload the model again",
    )


def test_a_validation_that_crashes_leaves_the_model_failed_not_validating():
    face = InferenceModel.objects.get(name="face")
    InferenceModel.objects.filter(pk=face.pk).update(output_family="bogus")  # as a hand-edited row might be
    validated = model_validate(model_id=face.pk)
    assert validated.status == "failed"
    assert validated.status_message.startswith("validation crashed (ValueError: unknown output family 'bogus'")


def test_validating_a_deleted_model_does_nothing():
    assert model_validate(model_id=999999) is None
    assert not InferenceModel.objects.filter(pk=999999).exists()
