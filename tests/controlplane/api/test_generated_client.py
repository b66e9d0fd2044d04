"""A client generated from our own schema by openapi-python-client, as a user would make one, creates a
stream and a service and reads them back as they were meant: a generated client sends only what it is
given, so the schema must not leave a field's meaning to the encoding."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from controlplane.registry.models import InferenceModel

GENERATOR_CONFIG = "post_hooks: []\n"  # no formatter run: the client is imported, not read


@pytest.fixture
def generated_client(tmp_path, monkeypatch):
    """The package ``elastic_inference_client``, generated now from ``manage.py spectacular``'s schema."""
    schema = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(schema), "--validate", "--fail-on-warn")
    config = tmp_path / "generator.yaml"
    config.write_text(GENERATOR_CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    package = tmp_path / "elastic_inference_client"
    subprocess.run(
        [str(generator), "generate", "--path", str(schema), "--output-path", str(package), "--meta", "none",
         "--config", str(config)],
        cwd=tmp_path, check=True, capture_output=True, text=True,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return importlib.import_module("elastic_inference_client")


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_creates_a_stream_and_a_service_and_reads_them_back(generated_client, live_server, operator):
    from elastic_inference_client.api.services import services_create, services_retrieve
    from elastic_inference_client.api.streams import streams_create, streams_retrieve
    from elastic_inference_client.models import InferenceServiceRequest, SourceKindEnum, StreamRequest

    token, _ = Token.objects.get_or_create(user=operator)
    client = generated_client.AuthenticatedClient(base_url=live_server.url, token=token.key, prefix="Token")
    model = InferenceModel.objects.create(name="detector", framework="onnx", status="ready")

    stream = streams_create.sync(client=client, body=StreamRequest(
        name="gate", source_kind=SourceKindEnum.URL, source="rtsp://cam.local/live", queue="people",
    ))
    assert (stream.name, stream.enabled, stream.target_fps, stream.extra_queues) == ("gate", True, 15, [])
    service = services_create.sync(client=client, body=InferenceServiceRequest(
        name="people", queue="people", model=model.pk, threshold=None,
    ))
    assert (service.name, service.enabled, service.threshold, service.device.value) == ("people", True, None, "CPU")

    again = streams_retrieve.sync(client=client, name="gate")
    assert (again.source, again.enabled) == ("rtsp://cam.local/live", True)
    assert services_retrieve.sync(client=client, name="people").model == model.pk
