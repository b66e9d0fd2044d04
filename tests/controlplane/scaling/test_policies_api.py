"""The scaling policy records API and admin.

What every record API shares is checked by ``RecordAPIChecks``; the tests below it are the policy's own."""

from __future__ import annotations

import pytest

from controlplane.inference.models import InferenceService

from controlplane.registry.models import InferenceModel
from controlplane.scaling.models import ScalingPolicy
from controlplane.scaling.selectors import policy_get
from controlplane.scaling.actions import policy_create
from tests.controlplane.records import field_errors, names

from tests.controlplane.record_api import RecordAPIChecks

pytestmark = pytest.mark.django_db

POLICIES = "/api/policies/"
FAST = {"name": "fast", "min_replicas": 1, "max_replicas": 8, "metric": "drop_fps", "target_value": 2.5,
        "scale_up_window_seconds": 0, "scale_down_window_seconds": 60}


def used_by_service(policy: ScalingPolicy) -> InferenceService:
    model = InferenceModel.objects.create(name="detector", framework="onnx", status="ready")
    return InferenceService.objects.create(name="faces", queue="face", model=model, scaling_policy=policy)


class TestPoliciesAPI(RecordAPIChecks):
    collection = POLICIES
    record = ScalingPolicy
    required = {"name"}
    update = {"max_replicas": 3}
    bad_fields = [
        ({"name": "../x"}, "name"),
        ({"name": "-x"}, "name"),
        ({"name": "a" * 65}, "name"),
        ({"min_replicas": 0}, "min_replicas"),
        ({"max_replicas": 101}, "max_replicas"),
        ({"min_replicas": "two"}, "min_replicas"),
        ({"metric": "memory"}, "metric"),
        ({"target_value": 0}, "target_value"),
        ({"target_value": 10001}, "target_value"),
        ({"target_value": "high"}, "target_value"),
        ({"scale_up_window_seconds": -1}, "scale_up_window_seconds"),
        ({"scale_down_window_seconds": 3601}, "scale_down_window_seconds"),
        ({"name": "lobby.cam-1"}, "name"),  # a policy's name is a slug
    ]
    test_names_with_dots_are_addressable = None  # none has dots: refused above

    @pytest.fixture
    def payload(self) -> dict:
        return dict(FAST)

    @pytest.fixture
    def make(self):
        return lambda name, **fields: policy_create(name=name, **fields)


def test_created_body_and_updates(api):
    created = api.post(POLICIES, FAST, format="json")
    assert created.status_code == 201, created.content
    assert {k: created.json()[k] for k in FAST} == FAST
    assert api.get(f"{POLICIES}fast/").json()["metric"] == "drop_fps"
    assert api.put(f"{POLICIES}fast/", {**FAST, "metric": "cpu", "target_value": 80}, format="json").status_code == 200
    assert api.patch(f"{POLICIES}fast/", {"max_replicas": 3}, format="json").status_code == 200
    policy = policy_get(name="fast")
    assert (policy.metric, policy.target_value, policy.max_replicas) == ("cpu", 80, 3)


def test_defaults_fill_what_is_left_out(api):
    body = api.post(POLICIES, {"name": "default"}, format="json").json()
    assert (body["min_replicas"], body["max_replicas"], body["metric"], body["target_value"]) == (1, 4, "scale_ratio", 1.0)


def test_min_above_max_is_reported_on_min_replicas(api):
    assert "min_replicas" in field_errors(api.post(POLICIES, {**FAST, "min_replicas": 9}, format="json"))
    policy_create(name="fast", min_replicas=2, max_replicas=4)
    assert "min_replicas" in field_errors(api.patch(f"{POLICIES}fast/", {"min_replicas": 5}, format="json"))
    assert "min_replicas" in field_errors(api.patch(f"{POLICIES}fast/", {"max_replicas": 1}, format="json"))
    assert (policy_get(name="fast").min_replicas, policy_get(name="fast").max_replicas) == (2, 4)


def test_a_policy_in_use_cannot_be_deleted(api):
    used_by_service(policy_create(name="fast"))
    response = api.delete(f"{POLICIES}fast/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "protected"
    assert "faces" in response.json()["error"]["message"]
    assert ScalingPolicy.objects.filter(name="fast").exists()


def test_filters(api):
    policy_create(name="cpu-80", metric="cpu", target_value=80)
    policy_create(name="ratio")
    policy_create(name="drops", metric="drop_fps")
    assert names(api.get(POLICIES, {"metric": "cpu"})) == ["cpu-80"]
    assert names(api.get(POLICIES, {"metric": "drop_fps"})) == ["drops"]
    assert "metric" in field_errors(api.get(POLICIES, {"metric": "memory"}))


def test_admin_pages_and_protected_delete(admin_client):
    policy = policy_create(name="fast")
    assert b"fast" in admin_client.get("/admin/scaling/scalingpolicy/", {"metric__exact": "scale_ratio"}).content
    assert admin_client.get(f"/admin/scaling/scalingpolicy/{policy.pk}/change/").status_code == 200
    invalid = admin_client.post("/admin/scaling/scalingpolicy/add/", {**FAST, "min_replicas": 9})
    assert "min_replicas" in invalid.context["adminform"].form.errors

    used_by_service(policy)
    refused = admin_client.post(f"/admin/scaling/scalingpolicy/{policy.pk}/delete/", {"post": "yes"})
    assert "faces" in refused.content.decode()
    assert ScalingPolicy.objects.filter(name="fast").exists()
