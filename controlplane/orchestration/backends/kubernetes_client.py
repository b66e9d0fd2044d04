"""The Kubernetes API as the backend uses it, and the only module that imports ``kubernetes``: credentials,
discovery of the API versions the server serves (the HPA's newest first), and our objects in one namespace
listed, read, applied and deleted as plain dicts. A refusal or a network failure becomes a BackendError
that a user can act on.
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
    "Pod": ("v1",),  # listed only
}


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


def _api_reason(exc: ApiException) -> str:
    try:
        return json.loads(exc.body)["message"]
    except (TypeError, ValueError, KeyError):
        return f"{exc.status} {exc.reason}"


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
        """Run one API request. With ``missing_ok`` a 404 returns None (a read before create, a delete of
        something gone)."""
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
