"""The metrics a scaling policy may scale on: the one list that the policy's choices, the local autoscaler
(which reads the worker heartbeats) and the HPA builder (which names the pod metric) all read.

Plain Python, no Django: the Kubernetes manifests are built from it before Django is set up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScalingMetric:
    name: str  # as stored in a policy
    label: str
    heartbeat_field: str | None  # the worker heartbeat's field; None: measured by the kubelet (CPU)
    pod_metric: str | None  # the Pods metric an HPA asks for (the worker's Prometheus gauge); None: a Resource metric

    @property
    def per_pod(self) -> bool:
        return self.pod_metric is not None


SCALING_METRICS = (
    ScalingMetric("scale_ratio", "Scale ratio (workers needed per worker)", "scale_ratio", "ei_scale_ratio"),
    ScalingMetric("drop_fps", "Dropped frames per second per replica", "drop_fps", "ei_drop_fps"),
    ScalingMetric("infer_fps", "Inferred frames per second per replica", "infer_fps", "ei_infer_fps"),
    ScalingMetric("cpu", "CPU utilisation (%)", None, None),
)
METRICS_BY_NAME = {metric.name: metric for metric in SCALING_METRICS}


def metric_choices() -> list[tuple[str, str]]:
    """The policy field's choices; a callable, so a new metric needs no migration."""
    return [(metric.name, metric.label) for metric in SCALING_METRICS]
