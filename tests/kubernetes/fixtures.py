"""A real kube-apiserver for the tests (see scripts/kube/cluster.py): the one `make kube-up` left
running, or a private one for the session. Each test gets its own namespace, deleted afterwards."""

from __future__ import annotations

import uuid

import pytest

from scripts.kube.cluster import DEFAULT_DIR, Cluster


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory) -> Cluster:
    running = Cluster.running(DEFAULT_DIR)
    if running is not None:
        yield running
        return
    cluster = Cluster.start(tmp_path_factory.mktemp("kube"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def kube_api(kube_cluster):
    """An admin ``kubernetes.client.ApiClient`` for the test's own setup and checks."""
    from kubernetes import config

    api_client = config.new_client_from_config(config_file=kube_cluster.kubeconfig)
    yield api_client
    api_client.close()


@pytest.fixture
def kube_namespace(kube_api) -> str:
    """A fresh namespace, removed with what is in it after the test."""
    from kubernetes import client

    name = f"ei-test-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(kube_api)
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)
