"""The real one-node cluster (``scripts/kube/node.py``) with the kit deployed by ``scripts/kube/deploy_local.py``.

Started once for this package's tests, or reused when ``make cluster-up`` left one running (then it is left up);
a cluster these tests started is stopped after them, so the
rest of the suite has the machine to itself. A machine that cannot run a node (no cgroups, no
network namespaces) skips these tests with one line saying why; anything else that goes wrong fails them.
"""

from __future__ import annotations

import pytest

from scripts.kube import deploy_local
from scripts.kube import node as kube_node
from tests.cluster.support import KUBECONFIG, ControlPlaneAPI, Kubectl, image_archives


@pytest.fixture(scope="package")
def node():
    reason = kube_node.unsupported()
    if reason:
        pytest.skip(f"no Kubernetes node on this machine: {reason}")
    was_up = kube_node.running()
    started = kube_node.up(KUBECONFIG)
    kube_node.load(image_archives())
    yield started
    if not was_up:
        kube_node.down()


@pytest.fixture(scope="package")
def kit(node) -> deploy_local.Deployed:
    return deploy_local.deploy(KUBECONFIG)


@pytest.fixture(scope="package")
def kubectl(node) -> Kubectl:
    return Kubectl(KUBECONFIG, deploy_local.NAMESPACE)


@pytest.fixture(scope="package")
def api(kit) -> ControlPlaneAPI:
    return ControlPlaneAPI.login(kit.url, kit.admin_user, kit.admin_password)


@pytest.fixture(scope="package")
def cluster_redis(kit):
    """A client of the cluster's Redis through its NodePort, as a producer on the node would be."""
    from inference_worker.runtime import redis_client

    return redis_client(kit.redis_url)
