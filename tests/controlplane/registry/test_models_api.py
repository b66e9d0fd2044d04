"""The model registry API: uploads checked at once, validated with real OpenVINO, no file left behind.

Celery runs eagerly here, so the validation queued when an upload commits runs inside the test
(``django_capture_on_commit_callbacks(execute=True)``); test_models_celery.py uses a real worker.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from controlplane.registry.actions import model_create
from controlplane.inference.models import InferenceService
from controlplane.registry.models import InferenceModel
from tests.controlplane.registry.model_support import BLAZEFACE, MODELS, ir_files, stored_files, upload
from tests.controlplane.records import field_errors
from tests.inference_worker.synthetic_models import classifier_model

pytestmark = pytest.mark.django_db

IR_XML = b'<?xml version="1.0"?>\n<net name="m" version="11"><layers/><edges/></net>\n'
ONNX_HEAD = b"\x08\x08\x12\x07pytorch"  # ir_version 8, producer_name "pytorch": how exported ONNX files open


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    """Uploads go to a fresh MEDIA_ROOT, and queued tasks run in this process."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    return settings.MEDIA_ROOT


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_uploaded_ir_model_becomes_ready_with_its_input_shape_and_throughput(
    api, media, tmp_path, django_capture_on_commit_callbacks
):
    xml, weights = ir_files(tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        created = upload(api, "faces", xml, ("weights.bin", weights.read_bytes()), labels="background, face", task="face")
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "pending", "the upload is answered before the validation runs"

    model = api.get(f"{MODELS}{created.json()['id']}/").json()
    assert model["status"] == "ready", model["status_message"]
    assert (model["framework"], model["input_shape"], model["labels"]) == ("ir", [1, 3, 64, 64], ["background", "face"])
    assert model["measured_fps"] > 0
    assert "output family ssd" in model["status_message"]
    assert (model["file_sha256"], model["weights_sha256"]) == (sha256(xml.read_bytes()), sha256(weights.read_bytes()))
    # The weights are stored beside the .xml under its stem, where OpenVINO looks for them.
    assert stored_files(media) == ["models/faces/1/synthetic_ssd.bin", "models/faces/1/synthetic_ssd.xml"]
    assert (media / model["file"]).read_bytes() == xml.read_bytes()

    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(f"{MODELS}{model['id']}/validate/")
    assert (again.status_code, again.json()["status"]) == (202, "pending")
    revalidated = api.get(f"{MODELS}{model['id']}/").json()
    assert revalidated["status"] == "ready" and revalidated["validated_at"] > model["validated_at"]


@pytest.mark.parametrize("framework", ["ir", "tflite"])
def test_a_model_in_storage_without_local_files_is_validated_from_a_copy(
    api, settings, tmp_path, django_capture_on_commit_callbacks, framework
):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    files = ir_files(tmp_path) if framework == "ir" else (BLAZEFACE,)
    with django_capture_on_commit_callbacks(execute=True):
        created = upload(api, "detector", *files, labels='["background", "face"]')
    assert created.status_code == 201, created.content

    model = api.get(f"{MODELS}{created.json()['id']}/").json()
    assert model["status"] == "ready", model["status_message"]
    assert model["framework"] == framework and model["measured_fps"] > 0
    assert model["labels"] == ["background", "face"]
    assert model["input_shape"] == ([1, 3, 64, 64] if framework == "ir" else [1, 128, 128, 3])
    with default_storage.open(model["file"]) as stored:
        assert stored.read() == files[0].read_bytes()


def _truncated_ir(directory: Path) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    xml, weights = ir_files(directory)
    return (xml.name, xml.read_bytes()), (weights.name, weights.read_bytes()[:16])


CORRUPT = {
    "onnx": lambda _dir: (("broken.onnx", ONNX_HEAD + random.Random(1).randbytes(4096)), None),
    "tflite": lambda _dir: (("broken.tflite", BLAZEFACE.read_bytes()[:8] + random.Random(2).randbytes(4096)), None),
    "truncated weights": _truncated_ir,
}


@pytest.mark.parametrize("kind", CORRUPT)
def test_a_corrupt_model_that_passes_the_cheap_checks_fails_validation_with_the_reason(
    api, media, tmp_path, django_capture_on_commit_callbacks, kind
):
    file, weights = CORRUPT[kind](tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        created = upload(api, "broken", file, weights)
    assert created.status_code == 201, created.content

    model = api.get(f"{MODELS}{created.json()['id']}/").json()
    assert model["status"] == "failed"
    assert f"OpenVINO cannot read model {file[0]}" in model["status_message"]
    assert str(media) not in model["status_message"], "no path on the server in what users read"
    assert model["measured_fps"] is None and model["input_shape"] is None


def test_a_model_of_no_known_output_family_fails_until_one_that_fits_is_set(
    api, tmp_path, django_capture_on_commit_callbacks
):
    classifier_model(tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        model_id = upload(api, "classifier", tmp_path / "classifier.xml", tmp_path / "classifier.bin").json()["id"]
    failed = api.get(f"{MODELS}{model_id}/").json()
    assert failed["status"] == "failed"
    assert "cannot tell the output family of model outputs [logits [1,3]]" in failed["status_message"]
    assert "set output_family" in failed["status_message"]

    with django_capture_on_commit_callbacks(execute=True):
        changed = api.patch(f"{MODELS}{model_id}/", {"output_family": "yolo"}, format="json")
    assert (changed.status_code, changed.json()["status"]) == (200, "pending"), "a new output family is validated again"
    assert "do not fit family 'yolo'" in api.get(f"{MODELS}{model_id}/").json()["status_message"]


BAD_UPLOADS = {
    "no file": ({}, "file"),
    "unknown extension": ({"file": ("model.h5", b"\x89HDF\r\n\x1a\n")}, "file"),
    "empty file": ({"file": ("model.onnx", b"")}, "file"),
    "file over the limit": ({"file": ("model.onnx", ONNX_HEAD + bytes(2000))}, "file"),
    "xml without weights": ({"file": ("model.xml", IR_XML)}, "weights"),
    "weights for an onnx": ({"file": ("model.onnx", ONNX_HEAD), "weights": ("model.bin", b"\0" * 8)}, "weights"),
    "weights not a .bin": ({"file": ("model.xml", IR_XML), "weights": ("model.dat", b"\0" * 8)}, "weights"),
    "weights over the limit": ({"file": ("model.xml", IR_XML), "weights": ("model.bin", bytes(2000))}, "weights"),
    "xml that is not xml": ({"file": ("model.xml", b"<net><layers></net>"), "weights": ("model.bin", b"\0")}, "file"),
    "xml that is no IR": ({"file": ("model.xml", b"<html><body/></html>"), "weights": ("model.bin", b"\0")}, "file"),
    "xml with entities": (
        {"file": ("model.xml", b'<!DOCTYPE net [<!ENTITY a "aaaa">]><net>&a;</net>'), "weights": ("model.bin", b"\0")},
        "file",
    ),
    "onnx that is a zip": ({"file": ("model.onnx", b"PK\x03\x04" + bytes(64))}, "file"),
    "tflite without its identifier": ({"file": ("model.tflite", bytes(64))}, "file"),
    "labels not names": ({"file": ("model.onnx", ONNX_HEAD), "labels": '["person", 3]'}, "labels"),
    "bad name": ({"name": "my model!", "file": ("model.onnx", ONNX_HEAD)}, "name"),
    "unknown precision": ({"file": ("model.onnx", ONNX_HEAD), "precision": "FP8"}, "precision"),
}


@pytest.mark.parametrize("case", BAD_UPLOADS)
def test_a_bad_upload_is_refused_at_once_with_the_field_named(api, media, settings, case):
    settings.EI_MAX_MODEL_UPLOAD_BYTES = 1000
    fields, field = BAD_UPLOADS[case]
    fields = {"name": "m", **fields}
    response = upload(api, **fields)
    assert field in field_errors(response), response.json()
    assert not InferenceModel.objects.filter(name=fields["name"]).exists()
    assert stored_files(media) == []


def test_a_version_is_uploaded_once(api, media):
    assert upload(api, "blazeface", BLAZEFACE).status_code == 201
    again = upload(api, "blazeface", BLAZEFACE)
    assert field_errors(again)["version"] == ["Model blazeface already has a version 1."]
    assert upload(api, "blazeface", BLAZEFACE, version="2").status_code == 201
    assert stored_files(media) == [
        "models/blazeface/1/face_detection_short_range.tflite", "models/blazeface/2/face_detection_short_range.tflite",
    ]


def test_files_saved_for_a_row_that_cannot_be_made_are_deleted(media):
    with pytest.raises(ValidationError):  # the built-in face:1 has that name and version
        model_create(name="face", version="1", file=SimpleUploadedFile("face.tflite", BLAZEFACE.read_bytes()))
    assert stored_files(media) == []
    assert InferenceModel.objects.filter(name="face").count() == 1


def test_the_description_is_editable_the_files_are_not(api):
    model_id = upload(api, "blazeface", BLAZEFACE).json()["id"]
    edited = api.patch(
        f"{MODELS}{model_id}/", {"labels": ["face"], "task": "face", "precision": "FP16", "framework": "onnx"}, format="json"
    )
    assert edited.status_code == 200, edited.content
    assert (edited.json()["labels"], edited.json()["task"], edited.json()["precision"]) == (["face"], "face", "FP16")
    assert edited.json()["framework"] == "tflite", "the framework follows the file"

    replaced = api.patch(f"{MODELS}{model_id}/", {"file": "other.onnx"}, format="json")
    assert "upload a new version" in field_errors(replaced)["file"][0]
    taken = api.patch(f"{MODELS}{model_id}/", {"name": "face"}, format="json")  # the built-in face:1
    assert field_errors(taken)["version"] == ["Model face already has a version 1."]


def test_deleting_a_model_deletes_its_files_but_not_while_a_service_uses_it(
    api, media, tmp_path, django_capture_on_commit_callbacks
):
    xml, weights = ir_files(tmp_path)
    unused = upload(api, "unused", xml, weights).json()["id"]
    used = upload(api, "used", BLAZEFACE).json()["id"]
    InferenceService.objects.create(name="doorcam", queue="face", model_id=used)

    refused = api.delete(f"{MODELS}{used}/")
    assert refused.status_code == 409
    assert "doorcam" in refused.json()["error"]["message"]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"{MODELS}{unused}/").status_code == 204
    assert stored_files(media) == ["models/used/1/face_detection_short_range.tflite"]
    assert api.get(f"{MODELS}{unused}/").status_code == 404


def test_a_viewer_may_read_but_not_upload_edit_validate_or_delete(viewer_api, anonymous_api, media):
    face = InferenceModel.objects.get(name="face")
    assert viewer_api.get(f"{MODELS}{face.pk}/").status_code == 200
    assert anonymous_api.get(MODELS).status_code in (401, 403)
    assert upload(viewer_api, "mine", BLAZEFACE).status_code == 403
    assert viewer_api.patch(f"{MODELS}{face.pk}/", {"task": "x"}, format="json").status_code == 403
    assert viewer_api.post(f"{MODELS}{face.pk}/validate/").status_code == 403
    assert viewer_api.delete(f"{MODELS}{face.pk}/").status_code == 403
    assert stored_files(media) == []
    assert InferenceModel.objects.get(pk=face.pk).task == "face"


def test_models_are_filtered_by_status_framework_and_task_and_searched_by_name(api):
    upload(api, "blazeface", BLAZEFACE, task="face")

    def names(query: str) -> list[str]:
        response = api.get(f"{MODELS}?{query}")
        assert response.status_code == 200, response.content
        return [f"{row['name']}:{row['version']}" for row in response.json()["results"]]

    assert names("framework=tflite") == ["blazeface:1", "face:1", "vehicles:1"]
    assert names("task=people") == ["people:1"]
    assert names("status=pending&search=face") == ["blazeface:1", "face:1"]
    assert names("search=peop") == ["people:1"]
    assert names("status=ready") == []
