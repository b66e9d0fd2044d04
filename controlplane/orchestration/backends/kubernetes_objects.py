"""What the Kubernetes backend decides from live objects, without a client: which of a unit's bodies need an
apply, which of its objects are left over, and the state its objects and its pods show. Objects are plain
dicts as the API server serves them, so every rule here is tested without one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from controlplane.orchestration import manifests
from controlplane.orchestration.backends.base import Observed
from controlplane.orchestration.manifests import FIELD_MANAGER

KINDS = ("Deployment", "Service", "HorizontalPodAutoscaler")  # what a unit is made of; its pods are read only

#: Waiting reasons the kubelet gives a container that will not run without a change (image, config, code);
#: ContainerCreating and PodInitializing are a pod merely starting.
_FAILING_WAITS = frozenset({
    "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "CreateContainerConfigError",
})
ERROR_LINE_MAX = 300  # characters of a container's last log line on the status page

_DECIMAL_SUFFIX = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SUFFIX = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_QUANTITY = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))([eE][+-]?\d+|[numkMGTPE]?|[KMGTPE]i)")


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


def needs_apply(live: dict | None, body: dict) -> bool:
    """False only when ``live`` holds all of ``body`` already, so a pass over an unchanged fleet writes
    nothing; a Deployment whose replica count now belongs to its HPA needs one apply to let it go."""
    if live is None or not covers(live, body):
        return True
    return body["kind"] == "Deployment" and "replicas" not in body["spec"] and _applied_replicas(live)


@dataclass(frozen=True)
class Changes:
    """The writes that make a unit's live objects match its bodies."""

    apply: list[tuple[dict, dict | None]]  # (body, the live object it updates, None for a new one)
    delete: list[tuple[str, dict]]  # (kind, live object) the unit no longer has, e.g. a removed policy's HPA


def changes(live: dict[str, dict], desired: list[dict]) -> Changes:
    """``live``: the unit's objects by kind; ``desired``: its bodies from ``manifests.unit_objects``."""
    unclaimed = dict(live)
    writes = []
    for body in desired:
        current = unclaimed.pop(body["kind"], None)
        if needs_apply(current, body):
            writes.append((body, current))
    return Changes(apply=writes, delete=list(unclaimed.items()))


def quantity_value(quantity: str | float) -> float:
    """A Kubernetes quantity ("1500m", "2k", "1Gi", "1e3", 91) as a number."""
    match = _QUANTITY.fullmatch(str(quantity))
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {quantity!r}")
    number, suffix = match.groups()
    if suffix in _BINARY_SUFFIX:
        return float(Decimal(number) * 2 ** _BINARY_SUFFIX[suffix])
    if suffix in _DECIMAL_SUFFIX:
        return float(Decimal(number).scaleb(_DECIMAL_SUFFIX[suffix]))
    return float(Decimal(number + suffix))  # a decimal exponent


def _metric_value(hpa_status: dict) -> float | None:
    """The first current metric the HPA reports, as a number (utilisation % or average value)."""
    for metric in hpa_status.get("currentMetrics") or []:
        current = (metric.get(metric.get("type", "").lower()) or {}).get("current") or {}
        for field in ("averageUtilization", "averageValue", "value"):
            if current.get(field) is not None:
                return quantity_value(current[field])
    return None


def _rescale(events: Sequence[dict], replicas: int | None) -> dict:
    """The newest "New size: <replicas>; reason: ..." the HPA said, and when: ``{}`` when it said none."""
    said = [event for event in events if (event.get("message") or "").startswith(f"New size: {replicas};")]
    newest = max(said, key=lambda event: event.get("lastTimestamp") or "", default=None)
    if newest is None:
        return {}
    stamp = newest.get("lastTimestamp")
    return {"reason": newest["message"],
            "time": datetime.fromisoformat(stamp) if stamp else None}


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


def _last_line(text: str | None) -> str:
    """The last non-empty line of a termination message (the log's tail under FallbackToLogsOnError: a
    traceback ends with the exception), cut to ``ERROR_LINE_MAX``."""
    line = next((line.strip() for line in reversed((text or "").splitlines()) if line.strip()), "")
    return line if len(line) <= ERROR_LINE_MAX else line[:ERROR_LINE_MAX - 1] + "\u2026"


def _container_error(status: dict) -> str:
    """Why one container (a pod's containerStatuses or initContainerStatuses entry) does not run, or ""
    while it runs, starts or finished well. Its last words beat the kubelet's back-off notice."""
    state = status.get("state") or {}
    waiting, terminated = state.get("waiting") or {}, state.get("terminated") or {}
    if waiting.get("reason") in _FAILING_WAITS:
        last = (status.get("lastState") or {}).get("terminated") or {}
        words = _last_line(last.get("message")) or waiting.get("message", "")
        return f"{waiting['reason']}: {words}" if words else waiting["reason"]
    if terminated.get("exitCode", 0) != 0:
        words = _last_line(terminated.get("message")) or f"exit code {terminated['exitCode']}"
        return f"{terminated.get('reason') or 'Error'}: {words}"
    return ""


def _pod_error(pod: dict) -> str:
    """The first failing container of a pod the ReplicaSet still counts. A pod being deleted or finished
    (evicted, replaced in a rollout) says nothing about the unit: another takes its place."""
    status = pod.get("status") or {}
    if pod["metadata"].get("deletionTimestamp") or status.get("phase") in ("Succeeded", "Failed"):
        return ""
    containers = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    return next((error for error in map(_container_error, containers) if error), "")


def _selected_pods(deployment: dict, pods: list[dict]) -> list[dict]:
    """The pods a Deployment selects: its template's labels include its selector, so no pod needs the
    unit annotation, and an old ReplicaSet's pods still count during a rollout."""
    match = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels")
    return [pod for pod in pods if match and covers(pod["metadata"].get("labels") or {}, match)]


def observed_units(listings: dict[str, list[dict]], pods: list[dict],
                   rescales: Sequence[dict] = ()) -> dict[str, Observed]:
    """Owned objects listed by kind, grouped by the unit each belongs to (its annotation), with the owned
    pods each unit's Deployment selects and its HPA's rescale events."""
    by_unit: dict[str, dict[str, dict]] = defaultdict(dict)
    for kind, items in listings.items():
        for item in items:
            if key := (item["metadata"].get("annotations") or {}).get(manifests.UNIT_ANNOTATION):
                by_unit[key][kind] = item
    return {
        key: observed_unit(objects, _selected_pods(objects.get("Deployment") or {}, pods),
                           _events_of(objects.get("HorizontalPodAutoscaler"), rescales))
        for key, objects in by_unit.items()
    }


def _events_of(hpa: dict | None, events: Sequence[dict]) -> list[dict]:
    if hpa is None:
        return []
    uid = (hpa.get("metadata") or {}).get("uid")
    return [event for event in events if (event.get("involvedObject") or {}).get("uid") == uid]


def observed_unit(objects: dict[str, dict], pods: Sequence[dict] = (), rescales: Sequence[dict] = ()) -> Observed:
    """One unit's live objects (by kind) and its pods as the reconciler sees them. A failing pod is the
    error even while others are ready (the status page must say why one is not), and its container's
    reason says more than the Deployment's progress deadline that follows it."""
    deployment = objects.get("Deployment") or {}
    status = deployment.get("status") or {}
    annotations = (deployment.get("metadata") or {}).get("annotations") or {}
    observed = Observed(
        spec_hash=annotations.get(manifests.SPEC_HASH_ANNOTATION, ""),
        desired=(deployment.get("spec") or {}).get("replicas"),
        current=status.get("replicas", 0),  # the HPA's currentReplicas copies this, a sync period later
        ready=status.get("readyReplicas", 0),
        error=next((error for error in map(_pod_error, pods) if error), "") or _deployment_error(deployment),
        detail=objects,  # never the pods: the unit's objects are what apply and delete act on
    )
    if "HorizontalPodAutoscaler" in objects:
        _observe_autoscaler(observed, objects["HorizontalPodAutoscaler"].get("status") or {}, rescales)
    return observed


def _observe_autoscaler(observed: Observed, status: dict, rescales: Sequence[dict] = ()) -> None:
    """The HPA's view. Its desiredReplicas starts at 0 and stays there while no metric can be read, so it
    counts only once the HPA has scaled at least once or computed a replica count (ScalingActive). The
    reason of a change is the HPA's event for it, else its conditions (which move on by the next sync)."""
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
    said = _rescale(rescales, observed.desired)
    observed.scaling = {"metric_value": _metric_value(status), "reason": said.get("reason") or _scaling_reason(conditions),
                        "time": said.get("time")}  # the HPA's time for the change, else the pass's
