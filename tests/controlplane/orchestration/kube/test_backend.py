"""The backend's own rules: what counts as a difference, how live objects read as a unit's state, which HPA
API it picks, and the errors a user sees when the API server is wrong or away."""

from __future__ import annotations

import pytest

from controlplane.orchestration.backends.base import BackendError
from controlplane.orchestration.backends.kubernetes import KubernetesBackend, covers, observed_unit
from controlplane.orchestration.units import Autoscale, ModelRef, WorkerPool, unit_key
from tests.controlplane.orchestration.kube.conftest import POD_CONFIG
from harness.processes import free_port

SCALED = WorkerPool(service="people", queue="people", model=ModelRef(builtin="builtin:people"),
                    autoscale=Autoscale(1, 3, "scale_ratio", 1.0, 0, 60))


def test_what_the_api_server_adds_is_no_difference_but_a_changed_or_missing_value_is():
    live = {"spec": {"replicas": 1, "revisionHistoryLimit": 10, "ports": [{"port": 80, "protocol": "TCP"}]}}
    assert covers(live, {"spec": {"replicas": 1, "ports": [{"port": 80}]}})
    assert not covers(live, {"spec": {"replicas": 2}})
    assert not covers(live, {"spec": {"paused": False}})
    assert not covers(live, {"spec": {"ports": [{"port": 80}, {"port": 81}]}})
    assert not covers({"spec": {"ports": [{"port": 80}, {"port": 81}]}}, {"spec": {"ports": [{"port": 80}]}})


def hpa(status: dict) -> dict:
    deployment = {"metadata": {"annotations": {"elastic-inference.io/spec-hash": "abc"}},
                  "spec": {}, "status": {"replicas": 2, "readyReplicas": 1}}
    return {"Deployment": deployment, "HorizontalPodAutoscaler": {"status": status}}


def test_an_hpa_counts_only_once_it_has_decided_something():
    fresh = observed_unit(hpa({"currentReplicas": 0, "desiredReplicas": 0}))
    assert (fresh.desired, fresh.current, fresh.ready, fresh.spec_hash) == (None, 2, 1, "abc")
    assert "first status" in fresh.message and fresh.scaling is None

    blind = {"type": "ScalingActive", "status": "False", "reason": "FailedGetPodsMetric", "message": "no metrics"}
    able = {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale", "message": "got the scale"}
    stuck = observed_unit(hpa({"desiredReplicas": 0, "conditions": [able, blind]}))
    assert stuck.desired is None and stuck.message == "no metrics"
    assert stuck.conditions == [able, blind]

    scaled = observed_unit(hpa({
        "desiredReplicas": 3, "lastScaleTime": "2026-01-01T00:00:00Z", "conditions": [able, blind],
        "currentMetrics": [{"type": "Pods", "pods": {"current": {"averageValue": "1500m"}}}],
    }))
    assert scaled.desired == 3 and scaled.scaling == {"metric_value": 1.5, "reason": "no metrics"}

    rescaled = {**able, "reason": "SucceededRescale", "message": "scaled to 3"}
    active = {**blind, "status": "True", "message": "computed"}
    cpu = [{"type": "Resource", "resource": {"current": {"averageUtilization": 91}}}]
    working = observed_unit(hpa({"desiredReplicas": 3, "conditions": [rescaled, active], "currentMetrics": cpu}))
    assert working.desired == 3 and working.scaling == {"metric_value": 91.0, "reason": "scaled to 3"}


def test_a_deployment_that_cannot_make_pods_is_an_error():
    deployment = {"metadata": {}, "spec": {"replicas": 1}, "status": {"conditions": [
        {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
         "message": "pods are forbidden: quota"}]}}
    assert observed_unit({"Deployment": deployment}).error == "pods are forbidden: quota"


def test_on_this_api_server_discovery_picks_autoscaling_v2beta2(kube_api, backend, admin):
    from kubernetes import client

    groups = client.ApisApi(kube_api).get_api_versions().groups
    versions = {group.name: {version.version for version in group.versions} for group in groups}
    assert "v2" not in versions["autoscaling"] and "v2beta2" in versions["autoscaling"]
    assert backend.hpa_api_version == "autoscaling/v2beta2"
    backend.apply(SCALED, None)
    made = admin.resource("HorizontalPodAutoscaler").get(name="ei-worker-people", namespace=backend.namespace)
    assert made.apiVersion == "autoscaling/v2beta2" and made.spec.maxReplicas == 3
    assert backend.observe()[unit_key(SCALED)].detail["HorizontalPodAutoscaler"]["apiVersion"] == "autoscaling/v2beta2"


def test_a_missing_namespace_is_reported_not_mistaken_for_a_missing_object(kube_api):
    backend = KubernetesBackend(kube_api, namespace="no-such-namespace", pod_config=POD_CONFIG)
    with pytest.raises(BackendError, match='Kubernetes refused to apply Deployment ei-worker-people in namespace '
                                           'no-such-namespace: namespaces "no-such-namespace" not found'):
        backend.apply(SCALED, None)


def test_an_api_server_that_is_away_is_reported_with_its_address():
    from kubernetes import client

    configuration = client.Configuration(host=f"https://127.0.0.1:{free_port()}")
    configuration.retries = False
    backend = KubernetesBackend(client.ApiClient(configuration), namespace="x", pod_config=POD_CONFIG)
    with pytest.raises(BackendError, match=rf"cannot reach the Kubernetes API at {configuration.host}: .*refused"):
        backend.observe()


@pytest.mark.django_db
def test_an_api_server_that_is_away_fails_every_service_with_that_message(people_model):
    from kubernetes import client

    from controlplane.orchestration.reconciler import reconcile
    from tests.controlplane.orchestration.kube.fleet import row, service

    people = service("people", people_model)
    configuration = client.Configuration(host=f"https://127.0.0.1:{free_port()}")
    configuration.retries = False
    report = reconcile(backend=KubernetesBackend(client.ApiClient(configuration), namespace="x", pod_config=POD_CONFIG))
    assert report.actions == [] and report.errors["worker/people"].startswith("cannot reach the Kubernetes API")
    people = row(people)
    assert people.status == "failed" and people.status_message == report.errors["worker/people"]


def test_from_settings_uses_the_kubeconfig_and_sends_its_token(kube_cluster, kube_namespace, settings, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", kube_cluster.kubeconfig)
    settings.EI_K8S_NAMESPACE = kube_namespace
    backend = KubernetesBackend.from_settings()
    assert backend.namespace == kube_namespace and backend.pod_config.image == settings.EI_K8S_WORKER_IMAGE
    assert backend.observe() == {}  # an anonymous request would be forbidden


def test_from_settings_without_credentials_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(BackendError, match="no Kubernetes credentials"):
        KubernetesBackend.from_settings()
