"""The metrics API's answers as the Kubernetes API shapes them (pure builders, JSON-ready dicts)."""

from __future__ import annotations

from datetime import datetime, timezone

from controlplane.metrics_api.paths import CUSTOM, EXTERNAL
from controlplane.scaling.metrics import SCALING_METRICS

#: Pods metric name -> the heartbeat field it serves: the same metrics an HPA of ours asks for.
POD_METRICS = {metric.pod_metric: metric.heartbeat_field for metric in SCALING_METRICS if metric.per_pod}
#: External metric: frames waiting in a queue (``queue=<name>`` selects it).
QUEUE_BACKLOG = "ei_queue_backlog"


def quantity(value: float) -> str:
    """A resource.Quantity in thousandths, exact enough for a ratio or a rate: 1.15 -> "1150m"."""
    milli = max(0, round(value * 1000))
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def resource_list(group: str, version: str) -> dict:
    """A version's discovery document: what ``kubectl get --raw /apis/<group>/<version>`` lists."""
    if group == CUSTOM:
        resources = [{"name": f"pods/{name}", "singularName": "", "namespaced": True, "kind": "MetricValueList",
                      "verbs": ["get"]} for name in POD_METRICS]
    else:
        resources = [{"name": QUEUE_BACKLOG, "singularName": "", "namespaced": True,
                      "kind": "ExternalMetricValueList", "verbs": ["get"]}]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}",
            "resources": resources}


def pod_metric_list(version: str, namespace: str, metric: str, heartbeats: list[dict]) -> dict:
    """One value per pod, each from that pod's heartbeat: its time and its worker's window, as measured."""
    field = POD_METRICS[metric]
    items = []
    for beat in heartbeats:
        item = {"describedObject": {"kind": "Pod", "namespace": namespace, "name": beat["worker"], "apiVersion": "/v1"},
                "timestamp": rfc3339(beat["updated_at"]), "windowSeconds": round(beat["window_seconds"]),
                "value": quantity(beat[field])}
        if version == "v1beta1":
            item.update(metricName=metric, selector=None)
        else:
            item["metric"] = {"name": metric, "selector": None}
        items.append(item)
    return {"kind": "MetricValueList", "apiVersion": f"{CUSTOM}/{version}", "metadata": {}, "items": items}


def backlog_list(backlogs: dict[str, int], now: float) -> dict:
    """Frames waiting per queue, read at ``now``."""
    items = [{"metricName": QUEUE_BACKLOG, "metricLabels": {"queue": queue}, "timestamp": rfc3339(now),
              "value": str(frames)} for queue, frames in sorted(backlogs.items())]
    return {"kind": "ExternalMetricValueList", "apiVersion": f"{EXTERNAL}/v1beta1", "metadata": {}, "items": items}


def status(code: int, reason: str, message: str) -> dict:
    """A failure in the API's own shape (what kubectl and the HPA controller read)."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
