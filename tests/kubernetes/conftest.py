"""The Kubernetes tests' fixtures: the test API server (``fixtures``), a Kubernetes backend in a fresh
namespace of it, admin access to check on what the backend made, and the control plane's API client and
built-in model row that the other control-plane tests use."""

from __future__ import annotations

import pytest

from tests.controlplane.conftest import api, operator  # noqa: F401 (fixtures)
from tests.controlplane.orchestration.fixtures import people_model  # noqa: F401 (fixture)
from tests.kubernetes.fixtures import kube_api, kube_cluster, kube_namespace  # noqa: F401 (fixtures)
from tests.kubernetes.fleet import POD_CONFIG


@pytest.fixture
def backend(kube_api, kube_namespace):
    from controlplane.orchestration.backends.kubernetes import KubernetesBackend

    return KubernetesBackend(kube_api, namespace=kube_namespace, pod_config=POD_CONFIG)


@pytest.fixture
def admin(kube_api, kube_namespace):
    from tests.kubernetes.support import Admin

    return Admin(kube_api, kube_namespace)
