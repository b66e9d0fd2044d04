"""The Kubernetes backend: each unit as Deployments, a metrics Service and an HPA in one namespace.

Writes are server-side applies under one field manager, with force, and only for objects whose body is
not already a subset of the live object: a pass over an unchanged fleet writes nothing, and what someone
changed by hand in our fields is put back. Objects without our labels are never touched. What to write is
decided in ``kubernetes_objects`` (no client); the requests go through ``kubernetes_client``.
"""

from __future__ import annotations

from controlplane.orchestration import manifests
from controlplane.orchestration.backends.base import BackendError, Observed
from controlplane.orchestration.backends.kubernetes_client import (
    NamespaceClient,
    api_client,
)
from controlplane.orchestration.backends.kubernetes_objects import (
    KINDS,
    changes,
    observed_units,
)
from controlplane.orchestration.manifests import PodConfig
from controlplane.orchestration.units import Unit


class KubernetesBackend:
    """Runs units in ``namespace`` through ``api_client``; the HPA API version is found by discovery."""

    name = "kubernetes"
    observes_scaling = True

    def __init__(self, api_client, *, namespace: str, pod_config: PodConfig):
        self.api = NamespaceClient(api_client, namespace)
        self.namespace = namespace
        self.pod_config = pod_config

    @classmethod
    def from_settings(cls) -> KubernetesBackend:
        from django.conf import settings

        pod_config = PodConfig(
            image=settings.EI_K8S_WORKER_IMAGE,
            pull_policy=settings.EI_K8S_IMAGE_PULL_POLICY,
            secret=settings.EI_K8S_WORKER_SECRET,
            control_plane_url=settings.EI_K8S_CONTROL_PLANE_URL,
            resources=settings.EI_K8S_WORKER_RESOURCES,
        )
        return cls(api_client(), namespace=settings.EI_K8S_NAMESPACE, pod_config=pod_config)

    @property
    def hpa_api_version(self) -> str:
        return self.api.api_version("HorizontalPodAutoscaler")

    def observe(self) -> dict[str, Observed]:
        """Our objects, our pods in one list more (only a pod says why a Deployment gets no ready replica: a
        crash, an image that cannot be pulled) and the HPAs' rescale events (their reason for each change)."""
        return observed_units({kind: self.api.list_owned(kind) for kind in KINDS}, self.api.list_owned("Pod"),
                              self.api.rescale_events())

    def apply(self, unit: Unit, observed: Observed | None) -> list[str]:
        desired = manifests.unit_objects(unit, self.pod_config, self.hpa_api_version)
        plan = changes(observed.detail if observed is not None else {}, desired)
        lines = []
        for body, current in plan.apply:
            kind, name = body["kind"], body["metadata"]["name"]
            if current is None:
                self._refuse_foreign(kind, name)
            self.api.apply(body)
            lines.append(f"{'created' if current is None else 'updated'} {kind} {name} in {self.namespace}")
        for kind, obj in plan.delete:
            lines += self._delete_object(kind, obj)
        return lines

    def delete(self, key: str, observed: Observed) -> list[str]:
        return [line for kind, obj in observed.detail.items() for line in self._delete_object(kind, obj)]

    def finish(self) -> None:
        """Nothing to record: the API server keeps its objects (etcd), and a lost one is created again."""

    def _refuse_foreign(self, kind: str, name: str) -> None:
        """Apply would take over a same-named object someone else made: refuse instead."""
        existing = self.api.read(kind, name)
        if existing is not None and not manifests.owned(existing):
            raise BackendError(
                f"{kind} {name} in namespace {self.namespace} exists but is not managed by elastic-inference; "
                f"rename or delete it")

    def _delete_object(self, kind: str, obj: dict) -> list[str]:
        deleted = self.api.delete(kind, obj)
        return [f"deleted {kind} {obj['metadata']['name']} in {self.namespace}"] if deleted else []
