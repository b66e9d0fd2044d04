"""The Kubernetes objects of a unit, as plain dicts: pure functions, no client, no cluster.

A worker pool becomes a Deployment, a metrics Service and (with a scaling policy) a
HorizontalPodAutoscaler; a producer becomes a Deployment. Every object carries the labels that mark it
as ours and the annotation naming its unit, so the backend can find and group them again, and nothing
else. Bodies hold only the fields we mean to own under server-side apply: whatever the API server
defaults stays out, so a body compares as a subset of the live object.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from controlplane.orchestration.commands import download_model_args, producer_args, worker_args
from controlplane.orchestration.units import Autoscale, Producer, Unit, WorkerPool, spec_hash, unit_key
from controlplane.scaling.metrics import METRICS_BY_NAME

FIELD_MANAGER = "elastic-inference-controlplane"
PART_OF = "elastic-inference"
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
UNIT_ANNOTATION = "elastic-inference.io/unit"
SPEC_HASH_ANNOTATION = "elastic-inference.io/spec-hash"
#: Lists only what this control plane created, in any namespace it is pointed at.
OWNED_SELECTOR = f"{PART_OF_LABEL}={PART_OF},{MANAGED_BY_LABEL}={FIELD_MANAGER}"

METRICS_PORT = 8000
RUN_AS_USER = 10001
HPA_VERSIONS = ("autoscaling/v2", "autoscaling/v2beta2")  # newest first; same fields in both

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_NOT_DNS = re.compile(r"[^a-z0-9-]")
_DNS_LABEL_MAX = 63
_SUFFIXES = ("", "k", "M", "G", "T")


@dataclass(frozen=True)
class PodConfig:
    """What every pod shares, from settings: image, the Secret with `redis-url` and `model-token`, where
    uploaded models are downloaded from, and the worker's resources."""

    image: str
    secret: str
    control_plane_url: str
    pull_policy: str = "IfNotPresent"
    resources: dict = field(default_factory=dict)


def dns_name(wire: str, prefix: str = "") -> str:
    """``prefix + wire`` as a DNS-1123 label. Wire names allow upper case, ``_`` and ``.`` and run to 64
    characters; a name that had to change gets a digest of the original, so two never collide."""
    name = prefix + _NOT_DNS.sub("-", wire.lower())
    if name == prefix + wire and len(name) <= _DNS_LABEL_MAX and _DNS_LABEL.match(name):
        return name
    digest = hashlib.sha256(wire.encode()).hexdigest()[:8]
    return f"{name[:_DNS_LABEL_MAX - len(digest) - 1].rstrip('-')}-{digest}"


def object_name(unit: Unit) -> str:
    """The name shared by a unit's objects (one of each kind), e.g. ``ei-worker-people``."""
    return dns_name(unit.name, f"ei-{unit.kind}-")


def quantity(value: float) -> str:
    """A decimal in the API server's canonical form ("1", "800m", "12500m", "2k"), to the milli, so a
    body we send equals what we read back."""
    milli = round(value * 1000)
    if milli % 1000:
        return f"{milli}m"
    whole, suffix = milli // 1000, 0
    while whole and whole % 1000 == 0 and suffix < len(_SUFFIXES) - 1:
        whole, suffix = whole // 1000, suffix + 1
    return f"{whole}{_SUFFIXES[suffix]}"


def content_hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def owned(obj: dict) -> bool:
    """True for objects this control plane created; anything else in the namespace is never touched."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(PART_OF_LABEL) == PART_OF and labels.get(MANAGED_BY_LABEL) == FIELD_MANAGER


def _app(unit: Unit) -> str:
    return "inference-worker" if isinstance(unit, WorkerPool) else "producer"


def selector_labels(unit: Unit) -> dict[str, str]:
    """Pods of one unit; only names go in, so the (immutable) Deployment selector never changes."""
    return {NAME_LABEL: _app(unit), INSTANCE_LABEL: dns_name(unit.name)}


def labels(unit: Unit, component: str) -> dict[str, str]:
    return {
        **selector_labels(unit), COMPONENT_LABEL: component, PART_OF_LABEL: PART_OF, MANAGED_BY_LABEL: FIELD_MANAGER,
    }


def _metadata(unit: Unit, component: str, **annotations: str) -> dict:
    return {
        "name": object_name(unit),
        "labels": labels(unit, component),
        "annotations": {UNIT_ANNOTATION: unit_key(unit), **annotations},
    }


def _secret_env(name: str, secret: str, key: str) -> dict:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


_CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
#: A container that exits with an error leaves its log's tail as its termination message, which the
#: backend shows as the unit's error (a bad model's traceback ends with why).
_TERMINATION_MESSAGE = "FallbackToLogsOnError"
_POD_SECURITY = {"runAsNonRoot": True, "runAsUser": RUN_AS_USER, "runAsGroup": RUN_AS_USER, "fsGroup": RUN_AS_USER}


def worker_deployment(pool: WorkerPool, config: PodConfig) -> dict:
    """Without a policy one replica; with one, ``spec.replicas`` is left to the HPA."""
    env = [_secret_env("REDIS_URL", config.secret, "redis-url")]
    if not pool.model.builtin:
        env.append(_secret_env("EI_MODEL_TOKEN", config.secret, "model-token"))
    env += [
        {"name": "EI_WORKER_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        # the metrics API serves a heartbeat for this pod only when asked about this namespace
        {"name": "EI_POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "EI_METRICS_PORT", "value": str(METRICS_PORT)},
    ]
    probe = {"httpGet": {"path": "/metrics", "port": "metrics"}}
    container = {
        "name": "worker",
        "image": config.image,
        "imagePullPolicy": config.pull_policy,
        "command": ["python", "-m", "inference_worker"],
        "args": worker_args(pool, download_model_args(pool.model, config.control_plane_url)),
        "env": env,
        "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
        "readinessProbe": {**probe, "periodSeconds": 5},
        # a model download or conversion may take minutes before the metrics endpoint answers
        "startupProbe": {**probe, "periodSeconds": 5, "failureThreshold": 60},
        "livenessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 3},
        "resources": config.resources,
        "securityContext": _CONTAINER_SECURITY,
        "terminationMessagePolicy": _TERMINATION_MESSAGE,
    }
    pod = {
        "metadata": {
            "labels": labels(pool, "worker"),
            "annotations": {
                "prometheus.io/scrape": "true", "prometheus.io/port": str(METRICS_PORT),
                "prometheus.io/path": "/metrics",
            },
        },
        "spec": {
            "containers": [container],
            "terminationGracePeriodSeconds": 30,  # the worker finishes its in-flight frames on SIGTERM
            "automountServiceAccountToken": False,
            "securityContext": _POD_SECURITY,
        },
    }
    spec = {"selector": {"matchLabels": selector_labels(pool)}, "template": pod}
    if pool.autoscale is None:
        spec = {"replicas": 1, **spec}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": _metadata(pool, "worker", **{SPEC_HASH_ANNOTATION: spec_hash(pool)}),
        "spec": spec,
    }


def metrics_service(pool: WorkerPool) -> dict:
    """Where Prometheus (and prometheus-adapter, for the HPA's pod metrics) finds the workers."""
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": _metadata(pool, "metrics"),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(pool),
            # protocol is a list key: server-side apply on 1.20 refuses a port without it
            "ports": [{"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"}],
        },
    }


def hpa_metric(autoscale: Autoscale) -> dict:
    metric = METRICS_BY_NAME[autoscale.metric]
    if not metric.per_pod:
        target = {"type": "Utilization", "averageUtilization": int(autoscale.target_value)}
        return {"type": "Resource", "resource": {"name": "cpu", "target": target}}
    target = {"type": "AverageValue", "averageValue": quantity(autoscale.target_value)}
    return {"type": "Pods", "pods": {"metric": {"name": metric.pod_metric}, "target": target}}


def autoscaler(pool: WorkerPool, api_version: str) -> dict:
    """The HPA for ``autoscaling/v2`` or ``autoscaling/v2beta2``: their fields are the same."""
    policy = pool.autoscale
    spec = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": object_name(pool)},
        "minReplicas": policy.min_replicas,
        "maxReplicas": policy.max_replicas,
        "metrics": [hpa_metric(policy)],
        "behavior": {
            "scaleUp": {"stabilizationWindowSeconds": policy.scale_up_window_seconds},
            "scaleDown": {"stabilizationWindowSeconds": policy.scale_down_window_seconds},
        },
    }
    return {
        "apiVersion": api_version, "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(pool, "autoscaler", **{SPEC_HASH_ANNOTATION: content_hash(spec)}),
        "spec": spec,
    }


def producer_deployment(producer: Producer, config: PodConfig) -> dict:
    container = {
        "name": "producer",
        "image": config.image,
        "imagePullPolicy": config.pull_policy,
        "command": ["python", "-m", "producers"],
        "args": producer_args(producer),
        "env": [_secret_env("REDIS_URL", config.secret, "redis-url")],
        "securityContext": _CONTAINER_SECURITY,
        "terminationMessagePolicy": _TERMINATION_MESSAGE,
    }
    pod = {
        "metadata": {"labels": labels(producer, "producer")},
        "spec": {
            "containers": [container],
            "terminationGracePeriodSeconds": 30,
            "automountServiceAccountToken": False,
            "securityContext": _POD_SECURITY,
        },
    }
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": _metadata(producer, "producer", **{SPEC_HASH_ANNOTATION: spec_hash(producer)}),
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},  # never two producers of one stream at once
            "selector": {"matchLabels": selector_labels(producer)},
            "template": pod,
        },
    }


def unit_objects(unit: Unit, config: PodConfig, hpa_api_version: str) -> list[dict]:
    """Every object of ``unit``, in the order to apply them (what a Service or HPA points at first)."""
    if isinstance(unit, Producer):
        return [producer_deployment(unit, config)]
    objects = [worker_deployment(unit, config), metrics_service(unit)]
    if unit.autoscale is not None:
        objects.append(autoscaler(unit, hpa_api_version))
    return objects
