"""Why a service scaled, or did not: its policy's metric per live replica, the target, the replicas the
rule wants and, when the HPA cannot compute, its condition in plain words. Read-only, built on read from
the row and the worker heartbeats, so the local backend and Kubernetes explain themselves the same way."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

import redis
from django.conf import settings

from controlplane.core.redis import get_redis
from controlplane.inference.models import InferenceService
from controlplane.scaling.autoscaler import recommend
from controlplane.scaling.metrics import METRICS_BY_NAME
from inference_worker.fleet import live_workers

REDIS_AWAY = "worker heartbeats are unavailable: Redis is not reachable"
NO_WORKER = "no worker reports the metric yet"


def live_heartbeats() -> list[dict] | None:
    """The fleet's heartbeats, or None while Redis is away: the services API still answers then."""
    try:
        return live_workers(get_redis())
    except redis.RedisError:
        return None


def service_scaling(service: InferenceService, heartbeats: list[dict] | None) -> dict | None:
    """The ``scaling`` object of a service row (None without a policy). ``heartbeats``: the live fleet as
    :func:`live_heartbeats` reads it, None when it could not be read."""
    policy = service.scaling_policy
    if policy is None:
        return None
    kubernetes = settings.EI_BACKEND == "kubernetes"
    metric = METRICS_BY_NAME[policy.metric]
    # A service's workers are those of its queue (queues are unique per service), as telemetry counts
    # pools; a heartbeat from another namespace is another control plane's worker.
    namespace = settings.EI_K8S_NAMESPACE if kubernetes else ""
    pool = [beat for beat in heartbeats or [] if beat["queue"] == service.queue and beat["namespace"] == namespace]
    field = metric.heartbeat_field
    per_replica = [
        {"worker": beat["worker"], "value": beat[field] if field else None,
         "updated_at": datetime.fromtimestamp(beat["updated_at"], UTC)}
        for beat in pool
    ]
    average = round(statistics.fmean(beat[field] for beat in pool), 3) if field and pool else None
    if kubernetes:
        wanted, reason = service.replicas_desired, hpa_reason(service.conditions or [], policy)
    else:
        raw = None if average is None else recommend(current=len(pool), metric=average, target=policy.target_value)
        wanted = None if raw is None else min(max(raw, policy.min_replicas), policy.max_replicas)
        reason = "" if heartbeats is None else local_reason(len(pool), average, raw, policy, field is not None)
    if heartbeats is None:
        reason = "; ".join(filter(None, [reason, REDIS_AWAY]))
    return {
        "metric": policy.metric, "pod_metric": metric.pod_metric, "target": policy.target_value,
        "min_replicas": policy.min_replicas, "max_replicas": policy.max_replicas,
        "per_replica": per_replica, "average": average, "wanted_replicas": wanted, "reason": reason,
    }


def hpa_reason(conditions: list[dict], policy) -> str:
    """The HPA's conditions in plain words: why it cannot compute or scale, or the bound that holds it;
    "" when it scales freely."""
    if not conditions:
        return "the HPA has reported no status yet"
    by_type = {condition["type"]: condition for condition in conditions}
    active, able, limited = (by_type.get(kind, {}) for kind in ("ScalingActive", "AbleToScale", "ScalingLimited"))
    if active.get("status") == "False":
        what = "cannot read the metric" if active.get("reason", "").startswith("FailedGet") else "is not scaling"
        return f"the HPA {what}: {active.get('message') or active.get('reason')}"
    if able.get("status") == "False":
        return f"the HPA cannot scale: {able.get('message') or able.get('reason')}"
    if limited.get("status") == "True":
        bound = {"TooFewReplicas": f"the minimum of {policy.min_replicas}",
                 "TooManyReplicas": f"the maximum of {policy.max_replicas}"}.get(limited.get("reason"), "a bound")
        return f"held at {bound} replicas: {limited.get('message') or limited.get('reason')}"
    return ""


def local_reason(current: int, average: float | None, raw: int | None, policy, reported: bool) -> str:
    """What the HPA rule makes of the average (``raw``: its answer before the bounds); "" when it keeps
    the pool as it is."""
    if not reported:
        return f"the heartbeats carry no {policy.metric}: the supervisor measures it itself (see the scaling events)"
    if not current:
        return NO_WORKER
    if raw == current:
        return ""
    side = "above" if average > policy.target_value else "below"
    reason = f"average {average:g} {side} target {policy.target_value:g}: wants {raw}"
    if raw > policy.max_replicas:
        return f"{reason}, held at the maximum of {policy.max_replicas}"
    if raw < policy.min_replicas:
        return f"{reason}, held at the minimum of {policy.min_replicas}"
    return reason
