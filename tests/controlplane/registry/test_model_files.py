"""Downloading an uploaded model's files through the API, and the read-only token workers do it with."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from controlplane.registry.models import InferenceModel
from tests.controlplane.conftest import client_for
from tests.controlplane.registry.model_support import MODELS, ir_files, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def ir_model(api, tmp_path) -> tuple[dict, Path, Path]:
    """An IR model uploaded by the operator (validation is not run: files are served whatever the status)."""
    xml, weights = ir_files(tmp_path)
    created = upload(api, "faces", xml, weights)
    assert created.status_code == 201, created.content
    return created.json(), xml, weights


def files_url(model_id: int, filename: str) -> str:
    return f"{MODELS}{model_id}/files/{filename}/"


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def worker_token(*args: str) -> str:
    out = io.StringIO()
    call_command("worker_token", *args, stdout=out)
    return out.getvalue().strip()


def test_the_owner_downloads_both_files_of_an_ir_model_with_their_checksums(api, ir_model):
    model, xml, weights = ir_model
    for path in (xml, weights):
        response = api.get(files_url(model["id"], path.name))
        assert response.status_code == 200
        content = body_of(response)
        assert content == path.read_bytes()
        assert response["X-Checksum-SHA256"] == hashlib.sha256(content).hexdigest()
        assert int(response["Content-Length"]) == len(content)
        assert response["Content-Type"] == "application/octet-stream"
    assert api.get(files_url(model["id"], xml.name))["X-Checksum-SHA256"] == model["file_sha256"]
    assert api.get(files_url(model["id"], weights.name))["X-Checksum-SHA256"] == model["weights_sha256"]


def test_a_client_that_accepts_only_octet_stream_gets_the_file_and_errors_as_json(api, ir_model):
    model, xml, _ = ir_model
    found = api.get(files_url(model["id"], xml.name), HTTP_ACCEPT="application/octet-stream")
    assert found.status_code == 200 and body_of(found) == xml.read_bytes()
    missing = api.get(files_url(model["id"], "other.xml"), HTTP_ACCEPT="application/octet-stream")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_anonymous_gets_401_unless_anonymous_reading_is_on(anonymous_api, ir_model, settings):
    model, xml, _ = ir_model
    refused = anonymous_api.get(files_url(model["id"], xml.name))
    assert refused.status_code == 401
    assert refused.json()["error"]["status"] == 401 and refused["WWW-Authenticate"] == "Token"

    settings.EI_ANONYMOUS_READ = True
    assert anonymous_api.get(files_url(model["id"], xml.name)).status_code == 200


def test_an_unknown_filename_or_model_is_404_naming_what_exists(api, ir_model):
    model, _, _ = ir_model
    response = api.get(files_url(model["id"], "model.onnx"))
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert error["message"] == "Model faces:1 has no file named 'model.onnx'; its files: synthetic_ssd.bin, synthetic_ssd.xml."
    for missing in (model["id"] + 1000, -1, "x"):
        response = api.get(files_url(missing, "synthetic_ssd.xml"))
        assert response.status_code == 404
        assert response.json()["error"]["message"] == f"No model with id {missing}."


def test_a_builtin_model_has_no_files(api):
    people = InferenceModel.objects.get(builtin="builtin:people")
    response = api.get(files_url(people.pk, "frozen_inference_graph.pb"))
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Model people:1 is built in (builtin:people): the worker ships it, there are no files."


def test_the_schema_documents_a_binary_download_with_its_checksum_header(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    get = schema["paths"]["/api/models/{id}/files/{filename}/"]["get"]
    ok = get["responses"]["200"]
    assert ok["content"] == {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    assert "X-Checksum-SHA256" in ok["headers"]
    assert get["responses"]["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_worker_token_makes_a_user_that_downloads_model_files_and_nothing_else(ir_model, settings):
    model, xml, _ = ir_model
    key = worker_token()
    assert worker_token() == key, "the same token until it is rotated"

    user = User.objects.get(username="ei-worker")
    assert Token.objects.get(user=user).key == key
    assert not (user.is_staff or user.is_superuser or user.has_usable_password())
    assert not user.user_permissions.exists()
    assert list(user.groups.values_list("name", flat=True)) == ["model-downloaders"]

    worker = client_for(None)
    worker.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert worker.get(files_url(model["id"], xml.name)).status_code == 200
    assert worker.delete(f"{MODELS}{model['id']}/").status_code == 403, "no writes"
    for path in (f"{MODELS}{model['id']}/", "/api/streams/", "/api/services/", "/api/metrics/"):
        assert worker.get(path).status_code == 403, f"{path}: stream sources may hold camera passwords"
    settings.EI_ANONYMOUS_READ = True  # then everyone reads, the worker too
    assert worker.get("/api/streams/").status_code == 200


def test_worker_token_rotate_replaces_the_token_and_takes_back_rights_given_since(ir_model):
    model, xml, _ = ir_model
    old = worker_token()
    user = User.objects.get(username="ei-worker")
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(codename="delete_inferencemodel"))

    new = worker_token("--rotate")
    assert new != old
    user.refresh_from_db()
    assert not user.is_staff and not user.user_permissions.exists()
    for key, status in ((old, 401), (new, 200)):
        client = client_for(None)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert client.get(files_url(model["id"], xml.name)).status_code == status
