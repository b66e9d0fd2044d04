"""A Kubernetes backend in a fresh namespace of the test API server, and admin access to check on it."""

from __future__ import annotations

import pytest

from controlplane.orchestration.manifests import PodConfig

POD_CONFIG = PodConfig(
    image="elastic-inference/worker:test", secret="elastic-inference-worker",
    control_plane_url="http://elastic-inference-controlplane:8000",
    resources={"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
)


@pytest.fixture
def backend(kube_api, kube_namespace):
    from controlplane.orchestration.backends.kubernetes import KubernetesBackend

    return KubernetesBackend(kube_api, namespace=kube_namespace, pod_config=POD_CONFIG)


@pytest.fixture
def admin(kube_api, kube_namespace):
    from tests.controlplane.orchestration.kube.support import Admin

    return Admin(kube_api, kube_namespace)
