"""What the Kubernetes backend decides from live objects, without a client: which of a unit's bodies need an
apply, which of its objects are left over, and the state its objects show. Objects are plain dicts as the
API server serves them, so every rule here is tested without one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from controlplane.orchestration import manifests
from controlplane.orchestration.backends.base import Observed
from controlplane.orchestration.manifests import FIELD_MANAGER

KINDS = ("Deployment", "Service", "HorizontalPodAutoscaler")

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


def observed_units(listings: dict[str, list[dict]]) -> dict[str, Observed]:
    """Owned objects listed by kind, grouped by the unit each belongs to (its annotation)."""
    by_unit: dict[str, dict[str, dict]] = defaultdict(dict)
    for kind, items in listings.items():
        for item in items:
            if key := (item["metadata"].get("annotations") or {}).get(manifests.UNIT_ANNOTATION):
                by_unit[key][kind] = item
    return {key: observed_unit(objects) for key, objects in by_unit.items()}


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
