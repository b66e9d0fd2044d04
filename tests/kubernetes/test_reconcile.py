"""Reconcile passes against a real API server: what they create, change, put back, delete, and never touch."""

from __future__ import annotations

import pytest

from controlplane.orchestration.reconciler import reconcile
from harness.processes import wait_until
from tests.kubernetes.fleet import policy, service, stream

pytestmark = pytest.mark.django_db

WORKER = ("Deployment", "Service", "HorizontalPodAutoscaler")


def fleet(model):
    """Two services (one autoscaled, one not, with a name that is no DNS label), a file and a URL stream
    (producers we run) and an external one (a producer someone else runs)."""
    service("people", model, scaling_policy=policy(max_replicas=5, target_value=0.8))
    service("Faces_2", model)
    stream("lobby", "file", "/videos/lobby.mp4", extra_queues=["Faces_2"])
    stream("gate", "url", "rtsp://gate.local/live")
    stream("phone", "external", "")


def test_the_first_pass_creates_the_objects_of_every_service_and_managed_stream(backend, admin, people_model):
    fleet(people_model)
    report = reconcile(backend=backend)
    assert report.errors == {}
    made = set(admin.owned())
    assert {(kind, "ei-worker-people") for kind in WORKER} <= made
    assert {("Deployment", "ei-producer-lobby"), ("Deployment", "ei-producer-gate")} <= made
    faces = {name for kind, name in made if name.startswith("ei-worker-faces-2-")}
    assert len(faces) == 1 and {("Deployment", *faces), ("Service", *faces)} <= made
    assert len(made) == 3 + 2 + 2  # no HPA without a policy, no producer for the external stream
    assert len(report.actions) == len(made)
    lobby = admin.get("Deployment", "ei-producer-lobby")
    assert lobby["spec"]["template"]["spec"]["containers"][0]["args"][-4:] == ["--queue", "Faces_2", "--fps", "15"]


def test_a_second_pass_writes_nothing(backend, admin, people_model):
    fleet(people_model)
    # targets whose quantities the API server would rewrite if we sent them in another form
    service("cars", people_model, scaling_policy=policy("fps", metric="infer_fps", target_value=12.5))
    service("cpu", people_model, scaling_policy=policy("cpu", metric="cpu", target_value=75))
    service("drops", people_model, scaling_policy=policy("drops", metric="drop_fps", target_value=2000))
    assert reconcile(backend=backend).actions
    before = admin.settled()
    report = reconcile(backend=backend)
    assert report.actions == [] and report.errors == {}
    assert admin.versions() == before  # every resourceVersion as it was


def test_a_policy_change_patches_only_the_hpa(backend, admin, people_model):
    elastic = policy(max_replicas=4)
    service("people", people_model, scaling_policy=elastic)
    reconcile(backend=backend)
    before = admin.settled()
    from controlplane.scaling.actions import policy_update

    policy_update(policy=elastic, max_replicas=6, target_value=1.5, scale_down_window_seconds=60)
    report = reconcile(backend=backend)
    assert report.actions == [f"updated HorizontalPodAutoscaler ei-worker-people in {backend.namespace}"]
    after = admin.versions()
    for kind in ("Deployment", "Service"):
        assert after[(kind, "ei-worker-people")] == before[(kind, "ei-worker-people")]
    hpa = ("HorizontalPodAutoscaler", "ei-worker-people")
    assert after[hpa] != before[hpa]
    spec = admin.get("HorizontalPodAutoscaler", "ei-worker-people")["spec"]
    assert spec["maxReplicas"] == 6
    assert spec["metrics"][0]["pods"]["target"]["averageValue"] == "1500m"
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 60


def test_adding_a_policy_hands_the_replica_count_to_the_hpa_and_removing_it_takes_it_back(
        backend, admin, people_model):
    from controlplane.inference.actions import inference_service_update

    people = service("people", people_model)
    reconcile(backend=backend)
    assert admin.get("Deployment", "ei-worker-people")["spec"]["replicas"] == 1
    people = inference_service_update(service=people, scaling_policy=policy(min_replicas=2))
    report = reconcile(backend=backend)
    assert sorted(report.actions) == sorted([
        f"created HorizontalPodAutoscaler ei-worker-people in {backend.namespace}",
        f"updated Deployment ei-worker-people in {backend.namespace}",  # gives up spec.replicas
    ])
    replicas = lambda: admin.get("Deployment", "ei-worker-people")["spec"]["replicas"]  # noqa: E731
    wait_until(lambda: replicas() == 2, 60, "the HPA controller to scale up to its minimum")
    assert reconcile(backend=backend).actions == []  # the HPA's count stays
    assert replicas() == 2
    inference_service_update(service=people, scaling_policy=None)
    report = reconcile(backend=backend)
    assert sorted(report.actions) == sorted([
        f"updated Deployment ei-worker-people in {backend.namespace}",
        f"deleted HorizontalPodAutoscaler ei-worker-people in {backend.namespace}",
    ])
    assert admin.get("HorizontalPodAutoscaler", "ei-worker-people") is None
    assert replicas() == 1


def test_disabling_a_service_or_deleting_a_stream_deletes_their_objects(backend, admin, people_model):
    from controlplane.inference.actions import inference_service_update
    from controlplane.streams.actions import stream_delete

    people = service("people", people_model, scaling_policy=policy())
    service("faces", people_model)
    lobby = stream("lobby", "file", "/videos/lobby.mp4")
    reconcile(backend=backend)
    inference_service_update(service=people, enabled=False)
    stream_delete(stream=lobby)
    report = reconcile(backend=backend)
    assert report.errors == {}
    assert sorted(report.actions) == sorted(
        [f"deleted {kind} ei-worker-people in {backend.namespace}" for kind in WORKER]
        + [f"deleted Deployment ei-producer-lobby in {backend.namespace}"])
    assert set(admin.owned()) == {("Deployment", "ei-worker-faces"), ("Service", "ei-worker-faces")}
    people.refresh_from_db()
    assert people.status == "disabled"


def test_changes_made_by_hand_to_our_fields_are_put_back_and_other_fields_are_left_alone(
        backend, admin, people_model):
    service("people", people_model, scaling_policy=policy())
    reconcile(backend=backend)
    admin.edit("Deployment", "ei-worker-people", {"metadata": {
        "labels": {"app.kubernetes.io/component": "hacked"}, "annotations": {"note": "left by a person"}}})
    admin.edit("Deployment", "ei-worker-people", {"spec": {"template": {"spec": {"containers": [{
        "name": "worker", "image": "someone/else:1",
        "env": [{"name": "EI_METRICS_PORT", "value": "9999"}],
        "resources": {"limits": {"cpu": "8"}},
    }]}}}}, content_type="application/strategic-merge-patch+json")
    admin.edit("Service", "ei-worker-people", {"spec": {"selector": {"app.kubernetes.io/instance": "other"}}})

    report = reconcile(backend=backend)
    assert sorted(report.actions) == sorted(
        [f"updated {kind} ei-worker-people in {backend.namespace}" for kind in ("Deployment", "Service")])
    deployment = admin.get("Deployment", "ei-worker-people")
    assert deployment["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
    assert deployment["metadata"]["annotations"]["note"] == "left by a person"  # not ours: kept
    (worker,) = deployment["spec"]["template"]["spec"]["containers"]
    assert worker["image"] == backend.pod_config.image
    assert {"name": "EI_METRICS_PORT", "value": "8000"} in worker["env"]
    assert worker["resources"]["limits"]["cpu"] == "2"
    service_selector = admin.get("Service", "ei-worker-people")["spec"]["selector"]
    assert service_selector["app.kubernetes.io/instance"] == "people"
    assert reconcile(backend=backend).actions == []


def test_objects_without_our_labels_are_never_touched(backend, admin, people_model):
    def foreign(name):
        labels = {"app": name}
        admin.create({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "nginx"}]}}},
        })

    for name in ("someone-elses", "ei-worker-taken"):
        foreign(name)
    service("people", people_model)
    taken = service("taken", people_model)
    before = admin.settled()
    report = reconcile(backend=backend)
    assert set(report.errors) == {"worker/taken"}
    assert "ei-worker-taken" in report.errors["worker/taken"] and "not managed by" in report.errors["worker/taken"]
    taken.refresh_from_db()
    assert taken.status == "failed" and "not managed by elastic-inference" in taken.status_message
    for name in ("someone-elses", "ei-worker-taken"):
        assert admin.get("Deployment", name)["metadata"]["resourceVersion"] == before[("Deployment", name)]
    assert ("Deployment", "ei-worker-people") in admin.owned()  # the rest of the fleet went on
