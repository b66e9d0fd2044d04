"""A service's ``scaling`` in the API: the metric per replica, the target, the replicas the rule wants and
why, on the local backend and on Kubernetes, from real heartbeats in the test Redis."""

from __future__ import annotations

from datetime import datetime

import jsonschema
import pytest

from controlplane.inference.models import InferenceService
from controlplane.registry.models import InferenceModel
from controlplane.scaling.models import ScalingPolicy
from harness.processes import free_port
from tests.controlplane.openapi import strict_schema
from tests.heartbeats import write_heartbeat

pytestmark = pytest.mark.django_db

FACES = "/api/services/faces/"
NAMESPACE = "ei-test"
UNAVAILABLE = "worker heartbeats are unavailable: Redis is not reachable"
FAILED_GET = ("unable to get metric ei_scale_ratio: unable to fetch metrics from custom metrics API: "
              "the server could not find the metric ei_scale_ratio for pods")


@pytest.fixture
def faces() -> InferenceService:
    """Rows made directly, as the reconciler's writes are: no reconcile is asked for."""
    model = InferenceModel.objects.get(builtin="builtin:face")
    policy = ScalingPolicy.objects.create(name="ratio", min_replicas=1, max_replicas=4, metric="scale_ratio",
                                          target_value=1.0)
    return InferenceService.objects.create(name="faces", queue="face", model=model, scaling_policy=policy)


@pytest.fixture
def kubernetes(settings):
    settings.EI_BACKEND = "kubernetes"
    settings.EI_K8S_NAMESPACE = NAMESPACE


def scaling(client, url: str = FACES) -> dict | None:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["scaling"]


def observed(service: InferenceService, *, desired: int | None, conditions: list[dict]) -> None:
    InferenceService.objects.filter(pk=service.pk).update(replicas_desired=desired, conditions=conditions)


def condition(kind: str, status: str, reason: str, message: str) -> dict:
    return {"type": kind, "status": status, "reason": reason, "message": message}


def test_local_shows_each_replicas_value_and_what_the_rule_wants(r, viewer_api, faces):
    write_heartbeat(r, "faces-0", "face", scale_ratio=1.5)
    write_heartbeat(r, "faces-1", "face", scale_ratio=2.1)
    write_heartbeat(r, "people-0", "people", scale_ratio=9.0)

    shown = scaling(viewer_api)
    per_replica = shown.pop("per_replica")
    assert [(row["worker"], row["value"]) for row in per_replica] == [("faces-0", 1.5), ("faces-1", 2.1)]
    assert all(datetime.fromisoformat(row["updated_at"]).tzinfo for row in per_replica)
    assert shown == {"metric": "scale_ratio", "pod_metric": "ei_scale_ratio", "target": 1.0, "min_replicas": 1,
                     "max_replicas": 4, "average": 1.8, "wanted_replicas": 4,
                     "reason": "average 1.8 above target 1: wants 4"}
    listed = viewer_api.get("/api/services/").json()["results"]
    assert listed[0]["scaling"]["wanted_replicas"] == 4


def test_local_holds_at_the_maximum_and_says_so(r, viewer_api, faces):
    write_heartbeat(r, "faces-0", "face", scale_ratio=6.0)

    shown = scaling(viewer_api)
    assert shown["wanted_replicas"] == 4
    assert shown["reason"] == "average 6 above target 1: wants 6, held at the maximum of 4"


def test_local_within_tolerance_keeps_the_pool_with_no_reason(r, viewer_api, faces):
    write_heartbeat(r, "faces-0", "face", scale_ratio=1.05)
    write_heartbeat(r, "faces-1", "face", scale_ratio=0.95)

    shown = scaling(viewer_api)
    assert (shown["average"], shown["wanted_replicas"], shown["reason"]) == (1.0, 2, "")


def test_local_without_workers_says_none_reports(r, viewer_api, faces):
    shown = scaling(viewer_api)
    assert (shown["per_replica"], shown["average"], shown["wanted_replicas"]) == ([], None, None)
    assert shown["reason"] == "no worker reports the metric yet"


def test_a_heartbeat_from_another_namespace_is_not_shown(r, viewer_api, faces, settings):
    write_heartbeat(r, "faces-0", "face", scale_ratio=0.5)
    write_heartbeat(r, "faces-pod", "face", scale_ratio=3.0, namespace=NAMESPACE)
    write_heartbeat(r, "elsewhere-pod", "face", scale_ratio=7.0, namespace="other")

    assert [row["worker"] for row in scaling(viewer_api)["per_replica"]] == ["faces-0"]
    settings.EI_BACKEND, settings.EI_K8S_NAMESPACE = "kubernetes", NAMESPACE
    assert [row["worker"] for row in scaling(viewer_api)["per_replica"]] == ["faces-pod"]


def test_kubernetes_wants_what_the_hpa_wants_and_explains_a_metric_it_cannot_read(r, viewer_api, faces, kubernetes):
    write_heartbeat(r, "faces-abc", "face", scale_ratio=2.5, namespace=NAMESPACE)
    write_heartbeat(r, "faces-def", "face", scale_ratio=1.5, namespace=NAMESPACE)
    observed(faces, desired=3, conditions=[
        condition("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale"),
        condition("ScalingActive", "False", "FailedGetPodsMetric", FAILED_GET),
    ])

    shown = scaling(viewer_api)
    assert [(row["worker"], row["value"]) for row in shown["per_replica"]] == [("faces-abc", 2.5), ("faces-def", 1.5)]
    assert (shown["average"], shown["wanted_replicas"]) == (2.0, 3)
    assert shown["reason"] == f"the HPA cannot read the metric: {FAILED_GET}"


def test_kubernetes_says_when_the_hpa_cannot_scale_or_is_held_at_a_bound(r, viewer_api, faces, kubernetes):
    observed(faces, desired=4, conditions=[
        condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size"),
        condition("ScalingActive", "True", "ValidMetricFound", "the HPA was able to successfully calculate a replica count"),
        condition("ScalingLimited", "True", "TooManyReplicas", "the desired replica count is more than the maximum replica count"),
    ])
    shown = scaling(viewer_api)
    assert shown["wanted_replicas"] == 4
    assert shown["reason"] == ("held at the maximum of 4 replicas: "
                               "the desired replica count is more than the maximum replica count")

    observed(faces, desired=2, conditions=[
        condition("AbleToScale", "False", "FailedGetScale", "deployments.apps \"faces\" not found"),
    ])
    assert scaling(viewer_api)["reason"] == "the HPA cannot scale: deployments.apps \"faces\" not found"

    observed(faces, desired=2, conditions=[
        condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size"),
        condition("ScalingActive", "True", "ValidMetricFound", "the HPA was able to successfully calculate a replica count"),
        condition("ScalingLimited", "False", "DesiredWithinRange", "the desired count is within the acceptable range"),
    ])
    assert scaling(viewer_api)["reason"] == ""


def test_with_redis_away_the_service_still_answers_and_says_why_no_value_shows(r, viewer_api, faces, settings):
    write_heartbeat(r, "faces-0", "face", scale_ratio=1.5)
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    shown = scaling(viewer_api)
    assert (shown["per_replica"], shown["average"], shown["wanted_replicas"]) == ([], None, None)
    assert shown["reason"] == UNAVAILABLE
    listed = viewer_api.get("/api/services/")
    assert listed.status_code == 200 and listed.json()["results"][0]["scaling"]["reason"] == UNAVAILABLE


def test_a_service_without_a_policy_has_no_scaling(r, viewer_api, faces):
    InferenceService.objects.filter(pk=faces.pk).update(scaling_policy=None)
    write_heartbeat(r, "faces-0", "face", scale_ratio=1.5)

    assert scaling(viewer_api) is None


def test_the_schema_documents_scaling_exactly(r, viewer_api, faces):
    write_heartbeat(r, "faces-0", "face", scale_ratio=1.5)
    schema = viewer_api.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    documented = components["InferenceService"]["properties"]["scaling"]

    jsonschema.validate(scaling(viewer_api), strict_schema(documented, components))
    jsonschema.validate(None, strict_schema(documented, components))
    assert "plain words" in components["Scaling"]["properties"]["reason"]["description"]
