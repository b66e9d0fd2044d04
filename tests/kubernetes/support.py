"""Admin access to the test namespace, to look at what the backend made and to change it behind its back."""

from __future__ import annotations

from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError

from controlplane.orchestration.backends.kubernetes_objects import KINDS
from controlplane.orchestration.manifests import OWNED_SELECTOR
from harness.processes import wait_until

API_VERSIONS = {"Deployment": "apps/v1", "Service": "v1", "HorizontalPodAutoscaler": "autoscaling/v2beta2", "Pod": "v1"}
MANUAL = "kubectl-edit"  # the field manager of a person editing objects by hand


class Admin:
    def __init__(self, api_client, namespace: str):
        self.client = DynamicClient(api_client)
        self.namespace = namespace

    def resource(self, kind: str):
        return self.client.resources.get(api_version=API_VERSIONS[kind], kind=kind)

    def get(self, kind: str, name: str) -> dict | None:
        try:
            return self.resource(kind).get(name=name, namespace=self.namespace).to_dict()
        except NotFoundError:
            return None

    def owned(self) -> dict[tuple[str, str], str]:
        """Every object with our labels, as (kind, name) -> resourceVersion."""
        return self.versions(OWNED_SELECTOR)

    def pods(self) -> list[dict]:
        """The pods the ReplicaSets made for our Deployments (no kubelet here: nothing runs them)."""
        return self.resource("Pod").get(namespace=self.namespace, label_selector=OWNED_SELECTOR).to_dict()["items"]

    def versions(self, label_selector: str | None = None) -> dict[tuple[str, str], str]:
        """The resourceVersions of the kinds a unit is made of (not of the pods the controllers make)."""
        return {
            (kind, item["metadata"]["name"]): item["metadata"]["resourceVersion"]
            for kind in KINDS
            for item in self.resource(kind).get(
                namespace=self.namespace, label_selector=label_selector).to_dict()["items"]
        }

    def settled(self, quiet: float = 6.0, timeout: float = 120.0) -> dict[tuple[str, str], str]:
        """Every object's resourceVersion once the controllers have stopped writing status (Deployments get
        ReplicaSets and Pods, HPAs their conditions): the same twice ``quiet`` seconds apart, longer than
        the HPA controller's 5 s sync period."""
        previous: dict = {}

        def unchanged():
            nonlocal previous
            current, before = self.versions(), previous
            previous = current
            return current if current == before else None

        return wait_until(unchanged, timeout, "the controllers to stop writing status", interval=quiet)

    def create(self, body: dict) -> dict:
        return self.resource(body["kind"]).create(body=body, namespace=self.namespace).to_dict()

    def edit(self, kind: str, name: str, patch: dict | list, content_type="application/merge-patch+json") -> dict:
        """A change by hand, as `kubectl edit` or `kubectl patch` would make it."""
        return self.resource(kind).patch(
            body=patch, name=name, namespace=self.namespace, content_type=content_type, field_manager=MANUAL
        ).to_dict()

    def edit_status(self, kind: str, name: str, patch: dict) -> dict:
        return self.resource(kind).status.patch(
            body=patch, name=name, namespace=self.namespace, content_type="application/merge-patch+json"
        ).to_dict()
