"""The Kubernetes API as the control plane uses it, and the only module that imports ``kubernetes``:
credentials, discovery of the API versions the server serves (the HPA's newest first), our objects in one
namespace listed, read, applied and deleted as plain dicts, and what the metrics API asks of the cluster
(pods by selector, the front-proxy settings, access reviews). A refusal or a network failure becomes a
BackendError that a user can act on.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from controlplane.orchestration import manifests
from controlplane.orchestration.backends.base import BackendError
from controlplane.orchestration.manifests import FIELD_MANAGER

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 30  # seconds; a reconcile pass must not hang on a silent API server
API_VERSIONS = {
    "Deployment": ("apps/v1",), "Service": ("v1",), "HorizontalPodAutoscaler": manifests.HPA_VERSIONS,
    "Pod": ("v1",), "Event": ("v1",),  # listed only
}
#: The HPAs' own words for each decision ("New size: 3; reason: pods metric ei_scale_ratio above target").
RESCALE_EVENTS = "involvedObject.kind=HorizontalPodAutoscaler,reason=SuccessfulRescale"


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


class Refused(BackendError):
    """The API server answered with an error: ``status`` is its HTTP status, ``reason`` its Status reason
    (e.g. BadRequest for a malformed label selector), so a caller can relay it as it came."""

    def __init__(self, message: str, *, status: int, reason: str):
        super().__init__(message)
        self.status = status
        self.reason = reason


def _api_reason(exc: ApiException) -> str:
    try:
        return json.loads(exc.body)["message"]
    except (TypeError, ValueError, KeyError):
        return f"{exc.status} {exc.reason}"


def _status_reason(exc: ApiException) -> str:
    try:
        return json.loads(exc.body)["reason"]
    except (TypeError, ValueError, KeyError):
        return str(exc.reason or "")


def _call(api: client.ApiClient, what: str, request, *, missing_ok: bool = False):
    """Run one API request. With ``missing_ok`` a 404 returns None (a read before create, a delete of
    something gone)."""
    try:
        return request()
    except ApiException as exc:
        if missing_ok and exc.status == 404:
            return None
        raise Refused(f"Kubernetes refused to {what}: {_api_reason(exc)}", status=exc.status,
                      reason=_status_reason(exc)) from exc
    except urllib3.exceptions.HTTPError as exc:
        reason = getattr(exc, "reason", None) or exc
        raise BackendError(f"cannot reach the Kubernetes API at {api.configuration.host}: {reason}") from exc


class ClusterReader:
    """What the metrics API reads from the cluster, each a single typed request."""

    def __init__(self, api_client: client.ApiClient):
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.authorization = client.AuthorizationV1Api(api_client)

    def pod_names(self, namespace: str, label_selector: str = "") -> list[str]:
        """Names of the pods in ``namespace`` that ``label_selector`` selects (all for ""); a malformed
        selector is the API server's own 400."""
        pods = _call(self.api_client, f"list pods in namespace {namespace}", lambda: self.core.list_namespaced_pod(
            namespace, label_selector=label_selector, _request_timeout=REQUEST_TIMEOUT))
        return [pod.metadata.name for pod in pods.items]

    def config_map(self, namespace: str, name: str) -> dict[str, str]:
        found = _call(self.api_client, f"read ConfigMap {namespace}/{name}", lambda: self.core.read_namespaced_config_map(
            name, namespace, _request_timeout=REQUEST_TIMEOUT))
        return dict(found.data or {})

    def review_access(self, *, user: str, groups: list[str], extra: dict[str, list[str]],
                      resource: dict | None = None, path: str = "") -> tuple[bool, str]:
        """A SubjectAccessReview for ``user``: on ``resource`` (namespace, verb, group, version, resource,
        subresource, name) or on the non-resource ``path`` (verb get). Returns (allowed, the reason)."""
        spec = client.V1SubjectAccessReviewSpec(
            user=user, groups=groups, extra=extra or None,
            resource_attributes=client.V1ResourceAttributes(**resource) if resource else None,
            non_resource_attributes=None if resource else client.V1NonResourceAttributes(path=path, verb="get"))
        review = _call(self.api_client, f"review the access of {user}",
                       lambda: self.authorization.create_subject_access_review(
                           client.V1SubjectAccessReview(spec=spec), _request_timeout=REQUEST_TIMEOUT))
        return bool(review.status.allowed), review.status.reason or ""


class NamespaceClient:
    """Requests for the kinds of ``API_VERSIONS`` in ``namespace``, each resource discovered once."""

    def __init__(self, api_client: client.ApiClient, namespace: str):
        self.api_client = api_client
        self.namespace = namespace
        self._dynamic: DynamicClient | None = None
        self._resources: dict[str, Any] = {}

    def api_version(self, kind: str) -> str:
        return self._resource(kind).group_version

    def list_owned(self, kind: str) -> list[dict]:
        """Every object of ``kind`` with our labels."""
        listing = self._call(f"list {kind}s", lambda: self._resource(kind).get(
            namespace=self.namespace, label_selector=manifests.OWNED_SELECTOR, _request_timeout=REQUEST_TIMEOUT))
        return listing.to_dict()["items"]

    def rescale_events(self) -> list[dict]:
        """The HPAs' SuccessfulRescale events in the namespace: why each changed its replicas."""
        listing = self._call("list Events", lambda: self._resource("Event").get(
            namespace=self.namespace, field_selector=RESCALE_EVENTS, _request_timeout=REQUEST_TIMEOUT))
        return listing.to_dict()["items"]

    def read(self, kind: str, name: str) -> dict | None:
        found = self._call(f"read {kind} {name}", lambda: self._resource(kind).get(
            name=name, namespace=self.namespace, _request_timeout=REQUEST_TIMEOUT), missing_ok=True)
        return None if found is None else found.to_dict()

    def apply(self, body: dict) -> None:
        """Server-side apply under our field manager, taking back fields someone else changed (force)."""
        kind, name = body["kind"], body["metadata"]["name"]
        self._call(f"apply {kind} {name}", lambda: self._resource(kind).server_side_apply(
            body=body, name=name, namespace=self.namespace, field_manager=FIELD_MANAGER, force_conflicts=True,
            _request_timeout=REQUEST_TIMEOUT))

    def delete(self, kind: str, obj: dict) -> bool:
        """Delete this very object (its uid, never a same-named one that replaced it); False if gone."""
        name, uid = obj["metadata"]["name"], obj["metadata"]["uid"]
        deleted = self._call(f"delete {kind} {name}", lambda: self._resource(kind).delete(
            name=name, namespace=self.namespace, body={"preconditions": {"uid": uid}},
            propagation_policy="Background", _request_timeout=REQUEST_TIMEOUT), missing_ok=True)
        return deleted is not None

    def _resource(self, kind: str):
        if kind not in self._resources:
            self._resources[kind] = self._discover(kind)
        return self._resources[kind]

    def _discover(self, kind: str):
        """The first of the kind's API versions that the server serves."""
        versions = API_VERSIONS[kind]
        for api_version in versions:
            try:
                return self._call("discover the API", lambda api_version=api_version: self._discovery().resources.get(
                    api_version=api_version, kind=kind))
            except ResourceNotFoundError:
                continue
        raise BackendError(f"the Kubernetes API serves none of {', '.join(versions)}: it is too old")

    def _discovery(self) -> DynamicClient:
        if self._dynamic is None:
            self._dynamic = DynamicClient(self.api_client)
        return self._dynamic

    def _call(self, what: str, request, *, missing_ok: bool = False):
        return _call(self.api_client, f"{what} in namespace {self.namespace}", request, missing_ok=missing_ok)
