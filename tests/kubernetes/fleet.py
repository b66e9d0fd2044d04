"""Desired state for the Kubernetes tests, made through the service functions as the API would, and what
the tests' pods share."""

from __future__ import annotations

from controlplane.orchestration.manifests import PodConfig

POD_CONFIG = PodConfig(
    image="elastic-inference/worker:test", secret="elastic-inference-worker",
    control_plane_url="http://elastic-inference-controlplane:8000",
    resources={"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
)


def policy(name: str = "elastic", **fields):
    from controlplane.scaling.actions import policy_create

    return policy_create(name=name, **{"min_replicas": 1, "max_replicas": 4, **fields})


def service(name: str, model, *, queue: str | None = None, **fields):
    from controlplane.inference.actions import inference_service_create

    return inference_service_create(name=name, queue=queue or name, model=model, **fields)


def stream(name: str, source_kind: str, source: str, queue: str = "people", **fields):
    from controlplane.streams.actions import stream_create

    return stream_create(name=name, source_kind=source_kind, source=source, queue=queue, **fields)


def row(service_row):
    """The row as the reconciler left it."""
    service_row.refresh_from_db()
    return service_row
