"""One meaning per request: writes take JSON (a form parser reads a missing checkbox as false, so the same
request would make another record in another encoding); the model upload takes multipart, and a
quantization multipart for its uploaded pictures (JSON for a stream)."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

from controlplane.registry.models import InferenceModel
from controlplane.streams.models import Stream

pytestmark = pytest.mark.django_db

STREET = {"name": "street", "source_kind": "external", "queue": "people"}


def refused_as_unsupported(response) -> None:
    assert response.status_code == 415, response.content
    assert response.json()["error"]["status"] == 415


@pytest.mark.parametrize("encoding", ["multipart", "form"])
def test_a_record_written_as_a_form_is_refused_with_415(api, encoding):
    form = {"format": "multipart"} if encoding == "multipart" else {
        "content_type": "application/x-www-form-urlencoded"
    }
    body = STREET if encoding == "multipart" else "name=street&source_kind=external&queue=people"
    refused_as_unsupported(api.post("/api/streams/", body, **form))
    refused_as_unsupported(api.post("/api/policies/", {"name": "p"} if encoding == "multipart" else "name=p", **form))
    assert not Stream.objects.exists()


def test_json_without_enabled_creates_an_enabled_stream(api):
    assert api.post("/api/streams/", STREET, format="json").json()["enabled"] is True


def test_a_model_edit_takes_json_and_its_upload_takes_multipart(api):
    model = InferenceModel.objects.create(name="detector", framework="onnx", status="ready")
    refused_as_unsupported(api.patch(f"/api/models/{model.pk}/", {"task": "doors"}, format="multipart"))
    assert api.patch(f"/api/models/{model.pk}/", {"task": "doors"}, format="json").status_code == 200
    refused_as_unsupported(api.post("/api/models/", {"name": "x"}, format="json"))


def test_the_schema_offers_each_write_in_its_one_encoding(tmp_path):
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(path))
    paths = yaml.safe_load(path.read_text())["paths"]
    encodings = {
        (url, method): sorted(operation["requestBody"]["content"])
        for url, operations in paths.items() for method, operation in operations.items()
        if "requestBody" in operation and url != "/api/auth/token/"
    }
    assert encodings[("/api/models/", "post")] == ["multipart/form-data"]
    # A quantization takes a stream in JSON or uploaded pictures in multipart: a shape of its own in each
    # encoding (no field that a form could read otherwise), so still one meaning per request.
    quantize = ("/api/models/{id}/quantize/", "post")
    assert encodings[quantize] == ["application/json", "multipart/form-data"]
    assert {tuple(content) for key, content in encodings.items() if key not in {("/api/models/", "post"), quantize}} == {
        ("application/json",)
    }
    assert "415" in paths["/api/streams/"]["post"]["responses"]
