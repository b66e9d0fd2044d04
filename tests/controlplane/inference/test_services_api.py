"""The inference service records API and admin.

What every record API shares is checked by ``RecordAPIChecks``; the tests below it are the service's own."""

from __future__ import annotations

import pytest

from controlplane.inference.models import InferenceService

from controlplane.registry.models import InferenceModel
from controlplane.inference.actions import inference_service_create
from controlplane.inference.selectors import inference_service_get
from controlplane.scaling.actions import policy_create
from tests.controlplane.records import error, field_errors, names

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
def vehicles() -> InferenceModel:
    """The built-in COCO detector, with the label table its migration registers."""
    return InferenceModel.objects.get(builtin="builtin:vehicles")


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
        ({"labels": "car"}, "labels"),
        ({"labels": None}, "labels"),
        ({"labels": ["car,bus"]}, "labels"),
        ({"labels": [""]}, "labels"),
        ({"labels": [7]}, "labels"),
        ({"labels": ["car", "car"]}, "labels"),
        ({"labels": [f"label-{i}" for i in range(101)]}, "labels"),
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


def test_labels_are_created_shown_patched_and_cleared(api, vehicles):
    created = api.post(SERVICES, {"name": "cars", "queue": "car", "model": vehicles.pk, "labels": ["car", "bus"]},
                       format="json")
    assert created.status_code == 201, created.content
    assert created.json()["labels"] == ["car", "bus"]
    assert api.get(f"{SERVICES}cars/").json()["labels"] == ["car", "bus"]
    assert inference_service_get(name="cars").labels == ["car", "bus"]

    patched = api.patch(f"{SERVICES}cars/", {"labels": ["truck", "car", "motorcycle"]}, format="json")
    assert patched.status_code == 200, patched.content
    assert api.get(f"{SERVICES}cars/").json()["labels"] == ["truck", "car", "motorcycle"]  # in the order given

    assert api.patch(f"{SERVICES}cars/", {"labels": []}, format="json").status_code == 200
    assert inference_service_get(name="cars").labels == []  # the model's default selection


def test_a_service_made_without_labels_shows_an_empty_selection(api, faces):
    assert api.post(SERVICES, faces, format="json").json()["labels"] == []
    assert api.get(f"{SERVICES}faces/").json()["labels"] == []


def test_a_label_the_model_does_not_name_is_a_400_that_names_it_and_some_it_has(api, vehicles):
    body = error(api.post(SERVICES, {"name": "cars", "queue": "car", "model": vehicles.pk,
                                     "labels": ["car", "cars", "lorry"]}, format="json"), 400)
    assert body["code"] == "invalid"
    (message,) = body["fields"]["labels"]
    assert "vehicles:1 has no label cars, lorry." in message
    assert "car" in message.split("include", 1)[1] and "(91 in all)" in message
    assert not InferenceService.objects.exists()

    make("cars", "car", vehicles, labels=["car"])
    refused = field_errors(api.patch(f"{SERVICES}cars/", {"labels": ["car", "spaceship"]}, format="json"))
    assert "no label spaceship" in refused["labels"][0]
    assert inference_service_get(name="cars").labels == ["car"]


def test_labels_are_checked_against_a_new_model_too(api, vehicles, detector):
    make("things", "things", detector, labels=["anything"])  # no label table: any names
    refused = field_errors(api.patch(f"{SERVICES}things/", {"model": vehicles.pk}, format="json"))
    assert "no label anything" in refused["labels"][0]
    assert inference_service_get(name="things").model == detector


def test_a_label_with_a_comma_is_refused_whatever_the_model(api, vehicles, faces):
    for model in (vehicles.pk, faces["model"]):
        message = field_errors(api.post(SERVICES, {**faces, "model": model, "labels": ["car,bus"]}, format="json"))
        assert "comma" in message["labels"][0]


def test_the_actions_and_the_admin_refuse_what_the_api_refuses(admin_client, vehicles):
    from django.core.exceptions import ValidationError

    for labels, words in ((["car,bus"], "comma"), (["lorry"], "no label lorry"), (["car", "car"], "once")):
        with pytest.raises(ValidationError, match=words):
            make("cars", "car", vehicles, labels=labels)
    assert not InferenceService.objects.exists()

    fields = {"name": "cars", "queue": "car", "model": vehicles.pk, "device": "CPU", "infer_requests": 0,
              "enabled": "on"}
    refused = admin_client.post(f"{CHANGELIST}add/", {**fields, "labels": '["lorry"]'})
    assert refused.status_code == 200 and "no label lorry" in refused.content.decode()
    assert admin_client.post(f"{CHANGELIST}add/", {**fields, "labels": '["car", "bus"]'}).status_code == 302
    assert inference_service_get(name="cars").labels == ["car", "bus"]
    listing = admin_client.get(CHANGELIST).content.decode()
    assert "car, bus" in listing


def test_the_schema_says_labels_are_a_list_of_names(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    labels = schema["components"]["schemas"]["InferenceService"]["properties"]["labels"]
    assert labels["type"] == "array" and labels["items"]["type"] == "string" and labels["maxItems"] == 100
    assert "default selection" in labels["description"]
