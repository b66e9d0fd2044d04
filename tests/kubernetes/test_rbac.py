"""The Role in k8s/base/rbac.yaml is enough for the reconciler in its namespace, and no more."""

from __future__ import annotations

import uuid

import pytest
import yaml

from controlplane.orchestration.backends.base import BackendError
from controlplane.orchestration.reconciler import reconcile
from harness.processes import REPO
from tests.kubernetes.fleet import POD_CONFIG, policy, row, service, stream

pytestmark = pytest.mark.django_db

RBAC = REPO / "k8s" / "base" / "rbac.yaml"
ACCOUNT = "elastic-inference-controlplane"


def install_rbac(admin, namespace: str) -> None:
    """As `kubectl apply -k` would, with the kustomization's namespace set to the test's."""
    for document in yaml.safe_load_all(RBAC.read_text()):
        document["metadata"]["namespace"] = namespace
        for subject in document.get("subjects", []):
            subject["namespace"] = namespace
        admin.client.resources.get(api_version=document["apiVersion"], kind=document["kind"]).create(
            body=document, namespace=namespace)


def account_client(kube_api, namespace: str):
    """An API client that authenticates as the ServiceAccount, with a token minted by TokenRequest."""
    from kubernetes import client

    request = client.CoreV1Api(kube_api).create_namespaced_service_account_token(
        ACCOUNT, namespace, {"spec": {"expirationSeconds": 600}})
    configuration = client.Configuration(host=kube_api.configuration.host)
    configuration.verify_ssl = False
    configuration.api_key = {"BearerToken": request.status.token}
    configuration.api_key_prefix = {"BearerToken": "Bearer"}
    return client.ApiClient(configuration)


@pytest.fixture
def other_namespace(kube_api):
    from kubernetes import client

    name = f"ei-other-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(kube_api).create_namespace({"metadata": {"name": name}})
    yield name
    client.CoreV1Api(kube_api).delete_namespace(name)


def test_the_role_lets_the_reconciler_do_all_its_work_in_its_namespace(kube_api, kube_namespace, admin, people_model):
    from controlplane.inference.actions import inference_service_update
    from controlplane.orchestration.backends.kubernetes import KubernetesBackend

    install_rbac(admin, kube_namespace)
    account = account_client(kube_api, kube_namespace)
    backend = KubernetesBackend(account, namespace=kube_namespace, pod_config=POD_CONFIG)
    people = service("people", people_model, scaling_policy=policy())
    stream("lobby", "file", "/videos/lobby.mp4")

    report = reconcile(backend=backend)  # list, get (name free?), apply: create
    assert report.errors == {} and len(report.actions) == 4
    assert len(admin.owned()) == 4
    admin.edit("Deployment", "ei-worker-people", {"spec": {"template": {"spec": {"containers": [
        {"name": "worker", "image": "someone/else:1"}]}}}}, content_type="application/strategic-merge-patch+json")
    report = reconcile(backend=backend)  # apply: patch
    assert report.errors == {} and report.actions == [f"updated Deployment ei-worker-people in {kube_namespace}"]
    inference_service_update(service=people, enabled=False)
    report = reconcile(backend=backend)  # delete
    assert report.errors == {} and len(report.actions) == 3
    assert set(admin.owned()) == {("Deployment", "ei-producer-lobby")}


def test_the_role_allows_nothing_elsewhere_and_no_secrets(kube_api, kube_namespace, other_namespace, admin,
                                                          people_model):
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    from controlplane.orchestration.backends.kubernetes import KubernetesBackend

    install_rbac(admin, kube_namespace)
    account = account_client(kube_api, kube_namespace)
    with pytest.raises(ApiException) as refused:
        client.CoreV1Api(account).list_namespaced_secret(kube_namespace)
    assert refused.value.status == 403

    elsewhere = KubernetesBackend(account, namespace=other_namespace, pod_config=POD_CONFIG)
    with pytest.raises(BackendError, match="forbidden") as error:
        elsewhere.observe()
    assert f"namespace {other_namespace}" in str(error.value)
    assert f'User "system:serviceaccount:{kube_namespace}:{ACCOUNT}"' in str(error.value)

    people = service("people", people_model)
    report = reconcile(backend=elsewhere)
    assert report.actions == [] and "forbidden" in report.errors["worker/people"]
    people = row(people)
    assert people.status == "failed" and "forbidden" in people.status_message


def test_the_role_lets_the_reconciler_list_pods_and_events_and_do_nothing_else_with_them(kube_api, kube_namespace,
                                                                             other_namespace, admin):
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    install_rbac(admin, kube_namespace)
    pods = client.CoreV1Api(account_client(kube_api, kube_namespace))
    assert pods.list_namespaced_pod(kube_namespace).items == []  # what each pass reads, for why pods fail
    assert pods.list_namespaced_event(kube_namespace).items == []  # and the HPAs' reasons
    for refused_call in (
        lambda: pods.read_namespaced_pod_log("any", kube_namespace),  # a log's tail comes in the pod's status
        lambda: pods.read_namespaced_pod("any", kube_namespace),
        lambda: pods.delete_namespaced_pod("any", kube_namespace),
        lambda: pods.create_namespaced_pod(kube_namespace, {"metadata": {"name": "any"}, "spec": {"containers": [
            {"name": "c", "image": "busybox"}]}}),
        lambda: pods.list_namespaced_pod(other_namespace),
        lambda: pods.read_namespaced_event("any", kube_namespace),
        lambda: pods.delete_namespaced_event("any", kube_namespace),
        lambda: pods.list_namespaced_event(other_namespace),
    ):
        with pytest.raises(ApiException) as refused:
            refused_call()
        assert refused.value.status == 403
