"""What the API server and its controllers report comes back onto the rows and the API: replica counts,
HPA conditions, the HPA's scaling decisions as scaling events, and why a pod does not run."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from controlplane.orchestration.reconciler import reconcile
from harness.processes import wait_until
from tests.kubernetes.fleet import POD_CONFIG, policy, row, service

pytestmark = pytest.mark.django_db


def reconcile_until(backend, service_row, check, what: str):
    """Reconcile until the row shows what the controllers did on their own schedule. The HPA controller
    scales a Deployment below the policy's minimum up at once, metrics or not (there are none here, and
    no kubelet: pods stay Pending)."""
    def done():
        reconcile(backend=backend)
        return check(row(service_row))
    wait_until(done, 90, what, interval=1)
    return service_row


def condition_types(service_row) -> set[str]:
    return {condition["type"] for condition in service_row.conditions}


def test_replica_counts_and_hpa_conditions_reach_the_row_and_the_api(backend, api, people_model):
    people = service("people", people_model, scaling_policy=policy(min_replicas=2))
    faces = service("faces", people_model)
    reconcile(backend=backend)
    for created in (row(people), row(faces)):
        assert created.replicas_ready == 0 and created.status == "applying", created.status_message
    assert row(faces).replicas_desired == 1

    reconcile_until(backend, people, lambda r: (r.replicas_desired, r.replicas_current) == (2, 2) and (
        condition_types(r) == {"AbleToScale", "ScalingActive"}), "the HPA to scale to its minimum and try its metric")
    assert people.replicas_ready == 0 and people.status == "applying"
    conditions = {condition["type"]: condition for condition in people.conditions}
    assert conditions["AbleToScale"]["status"] == "True"
    scaling_active = conditions["ScalingActive"]  # no metrics API here
    assert scaling_active["status"] == "False" and "ei_scale_ratio" in scaling_active["message"]

    shown = api.get("/api/services/people/").json()
    assert (shown["replicas_desired"], shown["replicas_current"], shown["replicas_ready"]) == (2, 2, 0)
    assert {c["type"] for c in shown["conditions"]} == {"AbleToScale", "ScalingActive"}
    assert shown["status"] == "applying" and shown["status_message"] == "0/2 ready"


def test_a_scaling_decision_of_the_hpa_becomes_a_scaling_event(backend, admin, api, people_model):
    from controlplane.scaling.models import ScalingEvent

    people = service("people", people_model, scaling_policy=policy(min_replicas=2, max_replicas=5, target_value=1.2))
    reconcile_until(backend, people, lambda r: r.replicas_desired == 2, "the HPA to scale to its minimum")
    assert not ScalingEvent.objects.exists()  # nothing was known before the HPA's first decision

    rescaled = "the HPA controller was able to update the target scale to 3"
    admin.edit_status("HorizontalPodAutoscaler", "ei-worker-people", {"status": {  # as the controller writes it
        "desiredReplicas": 3, "currentReplicas": 2,
        "lastScaleTime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "currentMetrics": [{"type": "Pods", "pods": {
            "metric": {"name": "ei_scale_ratio"}, "current": {"averageValue": "1800m"}}}],
        "conditions": [
            {"type": "AbleToScale", "status": "True", "reason": "SucceededRescale", "message": rescaled,
             "lastTransitionTime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")},
        ],
    }})
    reconcile(backend=backend)

    (event,) = ScalingEvent.objects.all()
    assert (event.service_name, event.from_replicas, event.to_replicas) == ("people", 2, 3)
    assert event.service_id == people.pk and event.backend == "kubernetes"
    assert (event.metric, event.target_value, event.metric_value) == ("scale_ratio", 1.2, 1.8)
    # the controller's next sync may have added that it cannot read the metric: then that is the reason
    assert event.reason == rescaled or event.reason.startswith("the HPA was unable to compute the replica count")
    assert row(people).replicas_desired == 3

    listed = api.get("/api/scaling-events/").json()["results"]
    assert [(e["service"], e["from_replicas"], e["to_replicas"]) for e in listed] == [("people", 2, 3)]
    reconcile(backend=backend)
    assert ScalingEvent.objects.count() == 1  # one decision, one event


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def worker_status(state: dict, *, ready: bool, last: dict | None = None) -> dict:
    """A pod's status as a kubelet would write it, its one container in ``state``."""
    ready_now = {"status": "True" if ready else "False", "lastTransitionTime": now()}
    return {"status": {
        "phase": "Running",
        "conditions": [{"type": "Ready", **ready_now}, {"type": "ContainersReady", **ready_now}],
        "containerStatuses": [{
            "name": "worker", "image": POD_CONFIG.image, "imageID": "", "ready": ready, "restartCount": 4,
            "state": state, "lastState": {"terminated": last} if last else {},
        }],
    }}


def test_a_crash_looping_pod_fails_its_service_with_its_last_log_line_until_it_is_ready(backend, admin, api,
                                                                                        people_model):
    people = service("people", people_model)
    reconcile(backend=backend)
    (pod,) = wait_until(admin.pods, 60, "the ReplicaSet to make the worker's pod")
    name = pod["metadata"]["name"]

    log_tail = "Traceback (most recent call last):\n  ...\nRuntimeError: cannot read model.xml: not an IR file\n"
    backing_off = {"reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting failed container=worker"}
    crashed = {"exitCode": 1, "reason": "Error", "message": log_tail, "startedAt": now(), "finishedAt": now()}
    admin.edit_status("Pod", name, worker_status({"waiting": backing_off}, ready=False, last=crashed))
    reconcile(backend=backend)
    why = "CrashLoopBackOff: RuntimeError: cannot read model.xml: not an IR file"
    assert (row(people).status, people.status_message) == ("failed", why)
    shown = api.get("/api/services/people/").json()
    assert (shown["status"], shown["status_message"]) == ("failed", why)

    admin.edit_status("Pod", name, worker_status({"running": {"startedAt": now()}}, ready=True))
    reconcile_until(backend, people, lambda r: r.status == "ready", "the ReplicaSet to count the pod ready")
    assert people.status_message == "1/1 ready" and people.replicas_ready == 1
