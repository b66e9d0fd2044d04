"""The Kubernetes backend: each unit as Deployments, a metrics Service and an HPA in one namespace.

Writes are server-side applies under one field manager, with force, and only for objects whose body is
not already a subset of the live object: a pass over an unchanged fleet writes nothing, and what someone
changed by hand in our fields is put back. Objects without our labels are never touched. The only module
that imports ``kubernetes``.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections import defaultdict
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError
from kubernetes.utils import parse_quantity

from controlplane.orchestration import manifests
from controlplane.orchestration.backends.base import BackendError, Observed
from controlplane.orchestration.manifests import FIELD_MANAGER, PodConfig
from controlplane.orchestration.units import Unit

log = logging.getLogger(__name__)

KINDS = ("Deployment", "Service", "HorizontalPodAutoscaler")
REQUEST_TIMEOUT = 30  # seconds; a reconcile pass must not hang on a silent API server


def covers(live: Any, desired: Any) -> bool:
    """True when ``desired`` is a subset of ``live``: what the API server defaults does not count; lists
    compare elementwise and must be as long."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(k in live and covers(live[k], v) for k, v in desired.items())
    if isinstance(desired, list):
        return isinstance(live, list) and len(live) == len(desired) and all(map(covers, live, desired))
    return live == desired


def _applied_replicas(deployment: dict) -> bool:
    """True while our field manager still owns ``spec.replicas``: an apply that leaves the field out
    must run once to give it up, or a later apply would reset what the HPA chose."""
    return any(
        entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply"
        and "f:replicas" in (entry.get("fieldsV1") or {}).get("f:spec", {})
        for entry in deployment["metadata"].get("managedFields") or []
    )


def _api_reason(exc: ApiException) -> str:
    try:
        return json.loads(exc.body)["message"]
    except (TypeError, ValueError, KeyError):
        return f"{exc.status} {exc.reason}"


def _quantity(value: Any) -> float | None:
    return None if value is None else float(parse_quantity(value))


def _metric_value(hpa_status: dict) -> float | None:
    """The first current metric the HPA reports, as a number (utilisation % or average value)."""
    for metric in hpa_status.get("currentMetrics") or []:
        current = (metric.get(metric.get("type", "").lower()) or {}).get("current") or {}
        for field in ("averageUtilization", "averageValue", "value"):
            if current.get(field) is not None:
                return _quantity(current[field])
    return None


def _scaling_reason(conditions: list[dict]) -> str:
    """A failing condition says best why the HPA does what it does; else AbleToScale says what it did."""
    by_type = {c["type"]: c for c in conditions}
    for kind in ("ScalingActive", "AbleToScale"):
        if by_type.get(kind, {}).get("status") == "False":
            return by_type[kind].get("message", "")
    return by_type.get("AbleToScale", {}).get("message", "")


def _deployment_error(deployment: dict) -> str:
    for condition in (deployment.get("status") or {}).get("conditions") or []:
        broken = (condition["type"] == "ReplicaFailure" and condition["status"] == "True") or (
            condition["type"] == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded")
        if broken:
            return condition.get("message") or condition.get("reason", "")
    return ""


def observed_unit(objects: dict[str, dict]) -> Observed:
    """One unit's live objects (by kind) as the reconciler sees them."""
    deployment = objects.get("Deployment") or {}
    status = deployment.get("status") or {}
    annotations = (deployment.get("metadata") or {}).get("annotations") or {}
    observed = Observed(
        spec_hash=annotations.get(manifests.SPEC_HASH_ANNOTATION, ""),
        desired=(deployment.get("spec") or {}).get("replicas"),
        current=status.get("replicas", 0),  # the HPA's currentReplicas copies this, a sync period later
        ready=status.get("readyReplicas", 0),
        error=_deployment_error(deployment),
        detail=objects,
    )
    if "HorizontalPodAutoscaler" in objects:
        _observe_autoscaler(observed, objects["HorizontalPodAutoscaler"].get("status") or {})
    return observed


def _observe_autoscaler(observed: Observed, status: dict) -> None:
    """The HPA's view. Its desiredReplicas starts at 0 and stays there while no metric can be read, so it
    counts only once the HPA has scaled at least once or computed a replica count (ScalingActive)."""
    conditions = [
        {k: c.get(k, "") for k in ("type", "status", "reason", "message")} for c in status.get("conditions") or []
    ]
    observed.conditions = conditions
    if not conditions:
        observed.desired, observed.message = None, "waiting for the HorizontalPodAutoscaler's first status"
        return
    active = next((c for c in conditions if c["type"] == "ScalingActive"), {})
    if status.get("lastScaleTime") or active.get("status") == "True":
        observed.desired = status.get("desiredReplicas")
    else:
        observed.desired, observed.message = None, active.get("message", "")
    observed.scaling = {"metric_value": _metric_value(status), "reason": _scaling_reason(conditions)}


def api_client(kubeconfig: str | None = None) -> client.ApiClient:
    """In a pod, the service account's credentials; elsewhere ``kubeconfig``, else KUBECONFIG, else
    ~/.kube/config."""
    configuration = client.Configuration()
    try:
        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=configuration)
        else:  # KUBECONFIG read now: the client fixes its default path when it is first imported
            path = kubeconfig or os.environ.get("KUBECONFIG") or None
            config.load_kube_config(config_file=path, client_configuration=configuration)
    except (ConfigException, OSError) as exc:
        raise BackendError(f"no Kubernetes credentials: {exc}") from exc
    if not configuration.verify_ssl:
        # said once here rather than by urllib3 on every request of every pass
        log.warning("TLS certificates of the Kubernetes API at %s are not verified (insecure-skip-tls-verify)",
                    configuration.host)
        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    return client.ApiClient(configuration)


class KubernetesBackend:
    """Runs units in ``namespace`` through ``api_client``; the HPA API version is found by discovery."""

    name = "kubernetes"
    observes_scaling = True

    def __init__(self, api_client: client.ApiClient, *, namespace: str, pod_config: PodConfig):
        self.api_client = api_client
        self.namespace = namespace
        self.pod_config = pod_config
        self._dynamic: DynamicClient | None = None
        self._resources: dict[str, Any] = {}

    @classmethod
    def from_settings(cls) -> "KubernetesBackend":
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
        return self._resource("HorizontalPodAutoscaler").group_version

    def observe(self) -> dict[str, Observed]:
        by_unit: dict[str, dict[str, dict]] = defaultdict(dict)
        for kind in KINDS:
            listing = self._call(f"list {kind}s", lambda kind=kind: self._resource(kind).get(
                namespace=self.namespace, label_selector=manifests.OWNED_SELECTOR, _request_timeout=REQUEST_TIMEOUT))
            for item in listing.to_dict()["items"]:
                key = (item["metadata"].get("annotations") or {}).get(manifests.UNIT_ANNOTATION)
                if key:
                    by_unit[key][kind] = item
        return {key: observed_unit(objects) for key, objects in by_unit.items()}

    def apply(self, unit: Unit, observed: Observed | None) -> list[str]:
        live = dict(observed.detail) if observed is not None else {}
        lines = []
        desired = manifests.unit_objects(unit, self.pod_config, self.hpa_api_version)
        for body in desired:
            kind, name = body["kind"], body["metadata"]["name"]
            current = live.pop(kind, None)
            if current is not None and covers(current, body) and not (
                    kind == "Deployment" and "replicas" not in body["spec"] and _applied_replicas(current)):
                continue
            if current is None:
                self._refuse_foreign(kind, name)
            self._call(f"apply {kind} {name}", lambda: self._resource(kind).server_side_apply(
                body=body, name=name, namespace=self.namespace, field_manager=FIELD_MANAGER, force_conflicts=True,
                _request_timeout=REQUEST_TIMEOUT))
            lines.append(f"{'created' if current is None else 'updated'} {kind} {name} in {self.namespace}")
        for kind, obj in live.items():  # e.g. the HPA of a policy that was removed
            lines += self._delete_object(kind, obj)
        return lines

    def delete(self, key: str, observed: Observed) -> list[str]:
        return [line for kind, obj in observed.detail.items() for line in self._delete_object(kind, obj)]

    def finish(self) -> None:
        """Nothing to record: the API server keeps its objects (etcd), and a lost one is created again."""

    def _refuse_foreign(self, kind: str, name: str) -> None:
        """Apply would take over a same-named object someone else made: refuse instead."""
        existing = self._call(f"read {kind} {name}", lambda: self._resource(kind).get(
            name=name, namespace=self.namespace, _request_timeout=REQUEST_TIMEOUT), missing_ok=True)
        if existing is not None and not manifests.owned(existing.to_dict()):
            raise BackendError(
                f"{kind} {name} in namespace {self.namespace} exists but is not managed by elastic-inference; "
                f"rename or delete it")

    def _delete_object(self, kind: str, obj: dict) -> list[str]:
        name, uid = obj["metadata"]["name"], obj["metadata"]["uid"]
        # the uid precondition never deletes a same-named object that replaced ours
        deleted = self._call(f"delete {kind} {name}", lambda: self._resource(kind).delete(
            name=name, namespace=self.namespace, body={"preconditions": {"uid": uid}},
            propagation_policy="Background", _request_timeout=REQUEST_TIMEOUT), missing_ok=True)
        return [] if deleted is None else [f"deleted {kind} {name} in {self.namespace}"]

    def _resource(self, kind: str):
        if kind not in self._resources:
            if kind == "HorizontalPodAutoscaler":
                self._resources[kind] = self._hpa_resource()
            else:
                api_version = "apps/v1" if kind == "Deployment" else "v1"
                self._resources[kind] = self._call(
                    "discover the API", lambda: self._discovery().resources.get(api_version=api_version, kind=kind))
        return self._resources[kind]

    def _hpa_resource(self):
        for api_version in manifests.HPA_VERSIONS:
            try:
                return self._call("discover the API", lambda: self._discovery().resources.get(
                    api_version=api_version, kind="HorizontalPodAutoscaler"))
            except ResourceNotFoundError:
                continue
        raise BackendError(f"the Kubernetes API serves none of {', '.join(manifests.HPA_VERSIONS)}: it is too old")

    def _discovery(self) -> DynamicClient:
        if self._dynamic is None:
            self._dynamic = DynamicClient(self.api_client)
        return self._dynamic

    def _call(self, what: str, request, *, missing_ok: bool = False):
        """Run one API request; refusals and network failures become a BackendError a user can act on.
        With ``missing_ok`` a 404 returns None (a read before create, a delete of something gone)."""
        try:
            return request()
        except ApiException as exc:
            if missing_ok and exc.status == 404:
                return None
            raise BackendError(
                f"Kubernetes refused to {what} in namespace {self.namespace}: {_api_reason(exc)}") from exc
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            host = self.api_client.configuration.host
            raise BackendError(f"cannot reach the Kubernetes API at {host}: {reason}") from exc
