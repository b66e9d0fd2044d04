"""The backend against an API server: which HPA API it picks, and the errors a user sees when the API
server is wrong or away. What it reads from live objects is in test_objects."""

from __future__ import annotations

import pytest

from controlplane.orchestration.backends.base import BackendError
from controlplane.orchestration.backends.kubernetes import KubernetesBackend
from controlplane.orchestration.units import Autoscale, ModelRef, WorkerPool, unit_key
from harness.processes import free_port
from tests.kubernetes.fleet import POD_CONFIG

SCALED = WorkerPool(service="people", queue="people", model=ModelRef(builtin="builtin:people"),
                    autoscale=Autoscale(1, 3, "scale_ratio", 1.0, 0, 60))


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
    from tests.kubernetes.fleet import row, service

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
