"""What the Kubernetes backend decides from live objects, with no API server: what counts as a difference,
which writes a unit needs, how its objects read as its state, and that one module alone talks to the API."""

from __future__ import annotations

import ast
import copy
from datetime import datetime, timezone

import pytest

from controlplane.orchestration import manifests
from controlplane.orchestration.backends.kubernetes_objects import (
    ERROR_LINE_MAX,
    changes,
    covers,
    observed_unit,
    observed_units,
    quantity_value,
)
from controlplane.orchestration.units import Autoscale, ModelRef, WorkerPool, unit_key
from harness.processes import REPO
from tests.kubernetes.fleet import POD_CONFIG

SCALED = WorkerPool(service="people", queue="people", model=ModelRef(builtin="builtin:people"),
                    autoscale=Autoscale(1, 3, "scale_ratio", 1.0, 0, 60))
HPA_VERSION = "autoscaling/v2beta2"


def served(bodies: list[dict]) -> dict[str, dict]:
    """The bodies as the API server keeps them: with defaults and a uid added."""
    live = {}
    for index, body in enumerate(bodies):
        obj = copy.deepcopy(body)
        obj["metadata"].update(uid=f"uid-{index}", resourceVersion="1", managedFields=[])
        obj["spec"]["revisionHistoryLimit"] = 10
        live[obj["kind"]] = obj
    return live


def test_what_the_api_server_adds_is_no_difference_but_a_changed_or_missing_value_is():
    live = {"spec": {"replicas": 1, "revisionHistoryLimit": 10, "ports": [{"port": 80, "protocol": "TCP"}]}}
    assert covers(live, {"spec": {"replicas": 1, "ports": [{"port": 80}]}})
    assert not covers(live, {"spec": {"replicas": 2}})
    assert not covers(live, {"spec": {"paused": False}})
    assert not covers(live, {"spec": {"ports": [{"port": 80}, {"port": 81}]}})
    assert not covers({"spec": {"ports": [{"port": 80}, {"port": 81}]}}, {"spec": {"ports": [{"port": 80}]}})


def hpa(status: dict) -> dict:
    deployment = {"metadata": {"annotations": {"elastic-inference.io/spec-hash": "abc"}},
                  "spec": {}, "status": {"replicas": 2, "readyReplicas": 1}}
    return {"Deployment": deployment, "HorizontalPodAutoscaler": {"status": status}}


def test_an_hpa_counts_only_once_it_has_decided_something():
    fresh = observed_unit(hpa({"currentReplicas": 0, "desiredReplicas": 0}))
    assert (fresh.desired, fresh.current, fresh.ready, fresh.spec_hash) == (None, 2, 1, "abc")
    assert "first status" in fresh.message and fresh.scaling is None

    blind = {"type": "ScalingActive", "status": "False", "reason": "FailedGetPodsMetric", "message": "no metrics"}
    able = {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale", "message": "got the scale"}
    stuck = observed_unit(hpa({"desiredReplicas": 0, "conditions": [able, blind]}))
    assert stuck.desired is None and stuck.message == "no metrics"
    assert stuck.conditions == [able, blind]

    scaled = observed_unit(hpa({
        "desiredReplicas": 3, "lastScaleTime": "2026-01-01T00:00:00Z", "conditions": [able, blind],
        "currentMetrics": [{"type": "Pods", "pods": {"current": {"averageValue": "1500m"}}}],
    }))
    assert scaled.desired == 3 and scaled.scaling == {"metric_value": 1.5, "reason": "no metrics", "time": None}

    rescaled = {**able, "reason": "SucceededRescale", "message": "scaled to 3"}
    active = {**blind, "status": "True", "message": "computed"}
    cpu = [{"type": "Resource", "resource": {"current": {"averageUtilization": 91}}}]
    working = observed_unit(hpa({"desiredReplicas": 3, "conditions": [rescaled, active], "currentMetrics": cpu}))
    assert working.desired == 3 and working.scaling == {"metric_value": 91.0, "reason": "scaled to 3", "time": None}


def test_the_reason_of_a_change_is_the_hpas_event_for_that_size():
    said = [
        {"message": "New size: 3; reason: pods metric ei_scale_ratio above target", "lastTimestamp": "2026-01-01T10:00:00Z"},
        {"message": "New size: 1; reason: All metrics below target", "lastTimestamp": "2026-01-01T09:00:00Z"},
        {"message": "New size: 3; reason: an older rescale to the same size", "lastTimestamp": "2026-01-01T08:00:00Z"},
    ]
    later = {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale", "message": "recommended size matches"}
    active = {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound", "message": "computed"}
    up = observed_unit(hpa({"desiredReplicas": 3, "conditions": [later, active]}), rescales=said)
    assert up.scaling["reason"] == "New size: 3; reason: pods metric ei_scale_ratio above target"
    assert up.scaling["time"] == datetime(2026, 1, 1, 10, tzinfo=timezone.utc)  # when the HPA did it
    unsaid = observed_unit(hpa({"desiredReplicas": 2, "conditions": [later, active]}), rescales=said)
    assert unsaid.scaling["reason"] == "recommended size matches"  # no event (yet): the conditions


def test_a_deployment_that_cannot_make_pods_is_an_error():
    deployment = {"metadata": {}, "spec": {"replicas": 1}, "status": {"conditions": [
        {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
         "message": "pods are forbidden: quota"}]}}
    assert observed_unit({"Deployment": deployment}).error == "pods are forbidden: quota"


def pod(name: str, unit=SCALED, *, waiting: dict | None = None, last: dict | None = None,
        terminated: dict | None = None, ready: bool = False, init: bool = False, **metadata) -> dict:
    """One of ``unit``'s pods as the kubelet reports it: its one container waiting, terminated or running."""
    state = {"waiting": waiting} if waiting else {"terminated": terminated} if terminated else {"running": {}}
    container = {"name": "worker", "ready": ready, "restartCount": 3 if last else 0, "state": state,
                 "lastState": {"terminated": last} if last else {}}
    statuses = {"initContainerStatuses" if init else "containerStatuses": [container]}
    return {"metadata": {"name": name, "labels": manifests.labels(unit, "worker"), **metadata},
            "status": {"phase": "Pending" if init else "Running", **statuses}}


TRACEBACK = 'Traceback (most recent call last):\n  File "worker.py", line 3\nRuntimeError: cannot read model.xml\n\n'
CRASHING = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container=worker"},
            "last": {"exitCode": 1, "reason": "Error", "message": TRACEBACK}}


def pods_error(*pods: dict) -> str:
    """The error the unit SCALED shows with these pods listed beside its objects."""
    listings = {kind: [obj] for kind, obj in served(manifests.unit_objects(SCALED, POD_CONFIG, HPA_VERSION)).items()}
    return observed_units(listings, list(pods))[unit_key(SCALED)].error


def test_a_crash_looping_container_is_the_error_with_its_last_log_line():
    assert pods_error(pod("a", **CRASHING)) == "CrashLoopBackOff: RuntimeError: cannot read model.xml"
    no_words = pod("a", waiting=CRASHING["waiting"], last={"exitCode": 1, "reason": "Error"})
    assert pods_error(no_words) == "CrashLoopBackOff: back-off 40s restarting failed container=worker"
    endless = pod("a", waiting=CRASHING["waiting"], last={"exitCode": 1, "message": "x" * 5000})
    assert pods_error(endless) == "CrashLoopBackOff: " + "x" * (ERROR_LINE_MAX - 1) + "\u2026"


@pytest.mark.parametrize("reason", ["ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull",
                                    "CreateContainerConfigError"])
def test_an_image_or_configuration_the_kubelet_cannot_use_is_the_error(reason):
    message = 'Back-off pulling image "elastic-inference/worker:typo"'
    assert pods_error(pod("a", waiting={"reason": reason, "message": message})) == f"{reason}: {message}"


def test_a_container_or_init_container_that_exited_with_an_error_is_the_error():
    assert pods_error(pod("a", terminated={"exitCode": 137, "reason": "OOMKilled"})) == "OOMKilled: exit code 137"
    failed_init = pod("a", init=True, terminated={"exitCode": 2, "reason": "Error", "message": "no such model\n"})
    assert pods_error(failed_init) == "Error: no such model"
    assert pods_error(pod("a", terminated={"exitCode": 0, "reason": "Completed"})) == ""


def test_pods_that_are_starting_running_or_on_their_way_out_are_no_error():
    unscheduled = {"metadata": {"name": "c", "labels": manifests.labels(SCALED, "worker")}, "status": {}}
    starting = [pod("a", waiting={"reason": "ContainerCreating"}), pod("b", waiting={"reason": "PodInitializing"})]
    assert pods_error(*starting, unscheduled, pod("d", ready=True)) == ""
    evicted = pod("e", terminated={"exitCode": 137, "reason": "Error"})
    evicted["status"].update(phase="Failed", reason="Evicted")
    replaced = pod("f", **CRASHING, deletionTimestamp="2026-01-01T00:00:00Z")
    assert pods_error(evicted, replaced) == ""


def test_one_crashing_pod_among_ready_ones_is_still_the_error_and_another_units_pods_are_not():
    other = WorkerPool(service="faces", queue="faces", model=ModelRef(builtin="builtin:faces"))
    assert pods_error(pod("a", ready=True), pod("b", **CRASHING)).startswith("CrashLoopBackOff: RuntimeError")
    assert pods_error(pod("a", ready=True), pod("faces", other, **CRASHING)) == ""


def test_a_crashing_pod_says_more_than_the_deployments_progress_deadline():
    live = served(manifests.unit_objects(SCALED, POD_CONFIG, HPA_VERSION))
    live["Deployment"]["status"] = {"conditions": [{"type": "Progressing", "status": "False",
                                                    "reason": "ProgressDeadlineExceeded", "message": "timed out"}]}
    listings = {kind: [obj] for kind, obj in live.items()}
    assert observed_units(listings, [])[unit_key(SCALED)].error == "timed out"
    observed = observed_units(listings, [pod("a", **CRASHING)])[unit_key(SCALED)]
    assert observed.error == "CrashLoopBackOff: RuntimeError: cannot read model.xml"
    assert set(observed.detail) == {"Deployment", "Service", "HorizontalPodAutoscaler"}  # pods are never deleted


def test_an_unchanged_unit_needs_no_write_and_a_change_updates_only_its_object():
    bodies = manifests.unit_objects(SCALED, POD_CONFIG, HPA_VERSION)
    live = served(bodies)
    assert changes(live, bodies).apply == [] and changes(live, bodies).delete == []

    wider = WorkerPool(service="people", queue="people", model=ModelRef(builtin="builtin:people"),
                       autoscale=Autoscale(1, 5, "scale_ratio", 1.0, 0, 60))
    plan = changes(live, manifests.unit_objects(wider, POD_CONFIG, HPA_VERSION))
    assert [(body["kind"], current is live["HorizontalPodAutoscaler"]) for body, current in plan.apply] == [
        ("HorizontalPodAutoscaler", True)]


def test_a_label_selection_changes_the_pod_template_so_the_deployment_rolls_its_pods():
    live = served(manifests.unit_objects(SCALED, POD_CONFIG, HPA_VERSION))
    cars = WorkerPool(service="people", queue="people", model=SCALED.model, autoscale=SCALED.autoscale,
                      keep_labels=("car", "bus"))
    plan = changes(live, manifests.unit_objects(cars, POD_CONFIG, HPA_VERSION))
    assert [body["kind"] for body, _ in plan.apply] == ["Deployment"]
    (deployment, _), = plan.apply
    (worker,) = deployment["spec"]["template"]["spec"]["containers"]
    assert worker["args"][-2:] == ["--keep-labels", "car,bus"]  # a new pod template: a rolling update

    back = changes(served(manifests.unit_objects(cars, POD_CONFIG, HPA_VERSION)),
                   manifests.unit_objects(SCALED, POD_CONFIG, HPA_VERSION))
    assert [body["kind"] for body, _ in back.apply] == ["Deployment"], "back to the model's default selection"


def test_a_missing_object_is_created_and_one_the_unit_no_longer_has_is_deleted():
    bodies = manifests.unit_objects(SCALED, POD_CONFIG, HPA_VERSION)
    live = served(bodies)
    del live["Service"]
    unscaled = WorkerPool(service="people", queue="people", model=ModelRef(builtin="builtin:people"))
    plan = changes(live, manifests.unit_objects(unscaled, POD_CONFIG, HPA_VERSION))
    assert {body["kind"]: current for body, current in plan.apply}["Service"] is None
    assert plan.delete == [("HorizontalPodAutoscaler", live["HorizontalPodAutoscaler"])]


def test_a_deployment_gives_its_replica_count_to_the_hpa_with_one_apply():
    bodies = manifests.unit_objects(SCALED, POD_CONFIG, HPA_VERSION)
    deployment = next(body for body in bodies if body["kind"] == "Deployment")
    assert "replicas" not in deployment["spec"]
    live = served(bodies)
    live["Deployment"]["spec"]["replicas"] = 1
    live["Deployment"]["metadata"]["managedFields"] = [
        {"manager": manifests.FIELD_MANAGER, "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
    assert [body["kind"] for body, _ in changes(live, bodies).apply] == ["Deployment"]
    live["Deployment"]["metadata"]["managedFields"] = [
        {"manager": "kube-controller-manager", "operation": "Update", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
    assert changes(live, bodies).apply == []


def test_owned_objects_are_grouped_by_the_unit_they_belong_to():
    bodies = manifests.unit_objects(SCALED, POD_CONFIG, HPA_VERSION)
    listings = {kind: [obj] for kind, obj in served(bodies).items()}
    listings["Service"].append({"metadata": {"name": "unannotated", "annotations": {}}})
    observed = observed_units(listings, [])
    assert list(observed) == [unit_key(SCALED)]
    assert set(observed[unit_key(SCALED)].detail) == {"Deployment", "Service", "HorizontalPodAutoscaler"}


@pytest.mark.parametrize("quantity, value", [
    ("1500m", 1.5), ("2", 2.0), (91, 91.0), ("12500m", 12.5), ("2k", 2000.0), ("1Ki", 1024.0), ("1e3", 1000.0),
    ("0.25", 0.25),
])
def test_quantities_read_as_numbers(quantity, value):
    assert quantity_value(quantity) == value


def test_a_malformed_quantity_is_refused():
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        quantity_value("1.5 cores")


def test_only_the_client_module_imports_kubernetes():
    importers = set()
    for path in (REPO / "controlplane").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if any(name == "kubernetes" or name.startswith("kubernetes.") for name in names):
                importers.add(path.relative_to(REPO).as_posix())
    assert importers == {"controlplane/orchestration/backends/kubernetes_client.py"}
