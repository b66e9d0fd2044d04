"""The inference service records API and admin.

What every record API shares is checked by ``RecordAPIChecks``; the tests below it are the service's own."""

from __future__ import annotations

import pytest

from controlplane.inference.models import InferenceService

from controlplane.registry.models import InferenceModel
from controlplane.inference.actions import inference_service_create
from controlplane.inference.selectors import inference_service_get
from controlplane.scaling.actions import policy_create
from tests.controlplane.records import field_errors, names

from tests.controlplane.record_api import RecordAPIChecks

pytestmark = pytest.mark.django_db

SERVICES = "/api/services/"
CHANGELIST = "/admin/inference/inferenceservice/"


@pytest.fixture
def detector() -> InferenceModel:
    return InferenceModel.objects.create(name="detector", framework="onnx", status="ready")


@pytest.fixture
def broken() -> InferenceModel:
    return InferenceModel.objects.create(
        name="broken", framework="onnx", status="failed", status_message="no output the decoders know"
    )


@pytest.fixture
def faces(detector) -> dict:
    return {"name": "faces", "queue": "face", "model": detector.pk}


def make(name: str, queue: str, model: InferenceModel, **fields) -> InferenceService:
    return inference_service_create(name=name, queue=queue, model=model, **fields)


class TestServicesAPI(RecordAPIChecks):
    collection = SERVICES
    record = InferenceService
    required = {"name", "queue", "model"}
    update = {"infer_requests": 4}
    read_only_defaults = {
        "status": "pending", "status_message": "", "replicas_desired": None, "replicas_current": None, "replicas_ready": None,
    }
    bad_fields = [
        ({"name": "../x"}, "name"),
        ({"name": "s" * 65}, "name"),
        ({"queue": "a/b"}, "queue"),
        ({"model": 999999}, "model"),
        ({"model": "detector"}, "model"),
        ({"model": None}, "model"),
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": 0}, "threshold"),
        ({"threshold": "high"}, "threshold"),
        ({"infer_requests": 65}, "infer_requests"),
        ({"infer_requests": -1}, "infer_requests"),
        ({"device": "TPU"}, "device"),
        ({"scaling_policy": "nope"}, "scaling_policy"),
        ({"enabled": [True]}, "enabled"),
    ]

    @pytest.fixture
    def payload(self, faces) -> dict:
        return faces

    @pytest.fixture
    def make(self, detector):
        """A service of ``detector`` on a queue of its own name (one service per queue)."""
        return lambda name, **fields: make(name, fields.pop("queue", name), fields.pop("model", detector), **fields)


def test_created_body_and_updates(api, faces, detector):
    policy_create(name="fast")
    created = api.post(SERVICES, {**faces, "scaling_policy": "fast", "threshold": 0.6}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert {k: body[k] for k in ("name", "queue", "model", "model_label", "scaling_policy", "threshold")} == {
        "name": "faces", "queue": "face", "model": detector.pk, "model_label": "detector:1",
        "scaling_policy": "fast", "threshold": 0.6,
    }
    assert (body["device"], body["infer_requests"], body["enabled"], body["status"]) == ("CPU", 0, True, "pending")

    assert api.get(f"{SERVICES}faces/").json()["queue"] == "face"
    assert api.put(f"{SERVICES}faces/", {**faces, "device": "AUTO"}, format="json").status_code == 200
    assert api.patch(f"{SERVICES}faces/", {"infer_requests": 4, "scaling_policy": None}, format="json").status_code == 200
    service = inference_service_get(name="faces")
    assert (service.device, service.infer_requests, service.scaling_policy, service.threshold) == ("AUTO", 4, None, 0.6)


def test_one_service_per_queue(api, faces, detector):
    make("faces-a", "face", detector)
    assert "queue" in field_errors(api.post(SERVICES, faces, format="json"))


def test_a_model_that_failed_validation_is_refused_but_may_stay_where_it_is(api, faces, broken):
    errors = field_errors(api.post(SERVICES, {**faces, "model": broken.pk}, format="json"))
    assert "no output the decoders know" in errors["model"][0]

    make("faces", "face", broken)  # it failed after the service was made: the service can still be edited
    assert api.put(f"{SERVICES}faces/", {**faces, "model": broken.pk, "enabled": False}, format="json").status_code == 200
    assert inference_service_get(name="faces").enabled is False


def test_a_model_or_policy_in_use_cannot_be_deleted(api, detector):
    make("faces", "face", detector, scaling_policy=policy_create(name="fast"))
    for url in (f"/api/models/{detector.pk}/", "/api/policies/fast/"):
        response = api.delete(url)
        assert response.status_code == 409, url
        assert "faces" in response.json()["error"]["message"]
    assert InferenceModel.objects.filter(pk=detector.pk).exists()


def test_filters(api, detector, broken):
    make("cars", "car", detector, enabled=False)
    make("faces", "face", detector)
    make("people", "people", broken)
    InferenceService.objects.filter(name="people").update(status=InferenceService.Status.READY)

    assert names(api.get(SERVICES, {"queue": "face"})) == ["faces"]
    assert names(api.get(SERVICES, {"enabled": "false"})) == ["cars"]
    assert names(api.get(SERVICES, {"status": "ready"})) == ["people"]
    assert names(api.get(SERVICES, {"model": detector.pk})) == ["cars", "faces"]
    assert "model" in field_errors(api.get(SERVICES, {"model": "detector"}))


def test_admin_pages_and_actions(admin_client, detector, broken):
    services = [make("faces", "face", detector), make("cars", "car", detector)]
    listing = admin_client.get(CHANGELIST, {"enabled__exact": "1", "q": "fa"})
    assert listing.status_code == 200 and b"faces" in listing.content
    add = admin_client.get(f"{CHANGELIST}add/")
    offered = add.context["adminform"].form.fields["model"].queryset
    assert detector in offered and broken not in offered
    assert admin_client.get(f"{CHANGELIST}{services[0].pk}/change/").status_code == 200

    response = admin_client.post(CHANGELIST, {"action": "disable", "_selected_action": [s.pk for s in services]}, follow=True)
    assert "Disabled 2 inference services." in response.content.decode()
    assert not InferenceService.objects.filter(enabled=True).exists()
    admin_client.post(CHANGELIST, {"action": "enable", "_selected_action": [services[1].pk]})
    assert list(InferenceService.objects.filter(enabled=True).values_list("name", flat=True)) == ["cars"]

    added = admin_client.post(f"{CHANGELIST}add/", {
        "name": "people", "queue": "people", "model": detector.pk, "device": "CPU", "infer_requests": 0, "enabled": "on",
    })
    assert added.status_code == 302
    assert inference_service_get(name="people").model == detector
