"""The objects a unit becomes, checked as data: no API server needed."""

from __future__ import annotations

import re

import pytest

from controlplane.orchestration import manifests
from controlplane.orchestration.commands import producer_args
from controlplane.orchestration.manifests import dns_name, object_name, quantity, unit_objects
from controlplane.orchestration.units import Autoscale, ModelRef, Producer, WorkerPool, spec_hash
from tests.kubernetes.fleet import POD_CONFIG

DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")  # Service names: the strictest rule a name meets
POLICY = Autoscale(min_replicas=1, max_replicas=4, metric="scale_ratio", target_value=0.8,
                   scale_up_window_seconds=15, scale_down_window_seconds=120)
PEOPLE = WorkerPool(service="people", queue="people", model=ModelRef(builtin="builtin:people", output_family="ssd"))
SCALED = WorkerPool(service="people", queue="people", model=ModelRef(builtin="builtin:people"), autoscale=POLICY)
UPLOADED_IR = ModelRef(model_id=7, file="models/det/1/det.xml", file_sha256="a" * 64, weights="models/det/1/det.bin",
                       weights_sha256="b" * 64, output_family="yolo", labels=("person", "car"))
FILE_STREAM = Producer(stream="Lobby_Cam.1", source_kind="file", source="/videos/lobby.mp4", queues=("people", "faces"),
                       fps=10)


def by_kind(unit, api_version="autoscaling/v2beta2") -> dict[str, dict]:
    return {body["kind"]: body for body in unit_objects(unit, POD_CONFIG, api_version)}


def container(deployment: dict) -> dict:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def env(deployment: dict) -> dict[str, dict]:
    return {item["name"]: item for item in container(deployment)["env"]}


def test_a_worker_pool_with_a_policy_is_a_deployment_a_service_and_an_hpa_all_labelled_as_ours():
    objects = by_kind(SCALED)
    assert sorted(objects) == ["Deployment", "HorizontalPodAutoscaler", "Service"]
    components = {"Deployment": "worker", "Service": "metrics", "HorizontalPodAutoscaler": "autoscaler"}
    for kind, body in objects.items():
        assert body["metadata"]["name"] == "ei-worker-people"
        assert body["metadata"]["labels"] == {
            "app.kubernetes.io/name": "inference-worker", "app.kubernetes.io/instance": "people",
            "app.kubernetes.io/component": components[kind], "app.kubernetes.io/part-of": "elastic-inference",
            "app.kubernetes.io/managed-by": "elastic-inference-controlplane",
        }
        assert body["metadata"]["annotations"]["elastic-inference.io/unit"] == "worker/people"
        assert manifests.owned(body)
    pod_labels = objects["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert pod_labels == objects["Deployment"]["metadata"]["labels"]
    assert objects["Deployment"]["metadata"]["annotations"]["elastic-inference.io/spec-hash"] == spec_hash(SCALED)


def test_the_hpa_owns_the_replica_count_and_without_a_policy_there_is_one_replica_and_no_hpa():
    assert "replicas" not in by_kind(SCALED)["Deployment"]["spec"]
    plain = by_kind(PEOPLE)
    assert plain["Deployment"]["spec"]["replicas"] == 1
    assert "HorizontalPodAutoscaler" not in plain


def test_selector_labels_stay_the_same_whatever_else_changes():
    other = WorkerPool(service="people", queue="other", model=UPLOADED_IR, device="GPU", autoscale=POLICY)
    selectors = {
        str(by_kind(unit)["Deployment"]["spec"]["selector"]) for unit in (PEOPLE, SCALED, other)
    }
    assert len(selectors) == 1
    service = by_kind(PEOPLE)["Service"]
    assert service["spec"]["selector"] == by_kind(PEOPLE)["Deployment"]["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 8000, "targetPort": "metrics", "protocol": "TCP"}]


def test_a_worker_pod_serves_metrics_for_probes_and_prometheus_and_drains_on_sigterm():
    deployment = by_kind(PEOPLE)["Deployment"]
    pod = deployment["spec"]["template"]
    worker = container(deployment)
    assert worker["ports"] == [{"name": "metrics", "containerPort": 8000, "protocol": "TCP"}]
    for probe in ("readinessProbe", "livenessProbe"):
        assert worker[probe]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    assert pod["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true", "prometheus.io/port": "8000", "prometheus.io/path": "/metrics",
    }
    assert pod["spec"]["terminationGracePeriodSeconds"] == 30
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert worker["image"] == POD_CONFIG.image and worker["resources"] == POD_CONFIG.resources
    assert worker["command"] + worker["args"] == [
        "python", "-m", "inference_worker", "--queue", "people", "--model", "builtin:people", "--format", "ssd",
        "--device", "CPU", "--requests", "0",
    ]
    variables = env(deployment)
    assert variables["REDIS_URL"]["valueFrom"] == {
        "secretKeyRef": {"name": "elastic-inference-worker", "key": "redis-url"}}
    assert variables["EI_WORKER_ID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert variables["EI_POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert variables["EI_METRICS_PORT"]["value"] == "8000"
    # The image's own EI_CACHE_DIR holds the built-in models converted at build time; downloads go there too.
    assert "EI_CACHE_DIR" not in variables and "volumeMounts" not in worker
    assert "EI_MODEL_TOKEN" not in variables  # built-ins download nothing


def test_an_uploaded_model_is_downloaded_from_the_control_plane_with_its_checksums_and_token():
    pool = WorkerPool(service="det", queue="det", model=UPLOADED_IR, device="GPU", infer_requests=4, threshold=0.35)
    deployment = by_kind(pool)["Deployment"]
    files = "http://elastic-inference-controlplane:8000/api/models/7/files"
    assert container(deployment)["args"] == [
        "--queue", "det", "--model", f"{files}/det.xml/", "--model-sha256", "a" * 64,
        "--weights-url", f"{files}/det.bin/", "--weights-sha256", "b" * 64, "--format", "yolo",
        "--labels", "person,car", "--device", "GPU", "--requests", "4", "--threshold", "0.35",
    ]
    assert env(deployment)["EI_MODEL_TOKEN"]["valueFrom"] == {
        "secretKeyRef": {"name": "elastic-inference-worker", "key": "model-token"}}
    onnx = ModelRef(model_id=8, file="models/m/2/m.onnx", file_sha256="c" * 64)
    args = container(by_kind(WorkerPool(service="m", queue="m", model=onnx))["Deployment"])["args"]
    assert "--weights-url" not in args
    assert args[2:6] == ["--model", "http://elastic-inference-controlplane:8000/api/models/8/files/m.onnx/",
                         "--model-sha256", "c" * 64]


def test_a_label_selection_is_one_comma_separated_flag_and_changes_the_spec_hash():
    cars = WorkerPool(service="people", queue="people", model=ModelRef(builtin="builtin:vehicles"),
                      keep_labels=("car", "bus", "truck"))
    deployment = by_kind(cars)["Deployment"]
    assert container(deployment)["args"] == [
        "--queue", "people", "--model", "builtin:vehicles", "--format", "auto", "--device", "CPU", "--requests", "0",
        "--keep-labels", "car,bus,truck",
    ]
    assert "--keep-labels" not in container(by_kind(PEOPLE)["Deployment"])["args"]  # the model's default selection
    annotation = deployment["metadata"]["annotations"]["elastic-inference.io/spec-hash"]
    assert annotation == spec_hash(cars) != spec_hash(WorkerPool(service="people", queue="people", model=cars.model))


@pytest.mark.parametrize("api_version", manifests.HPA_VERSIONS)
def test_the_hpa_body_is_the_same_for_v2_and_v2beta2(api_version):
    hpa = by_kind(SCALED, api_version)["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == api_version
    assert hpa["spec"] == by_kind(SCALED, "autoscaling/v2beta2")["HorizontalPodAutoscaler"]["spec"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "ei-worker-people"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 4)
    assert hpa["spec"]["behavior"] == {
        "scaleUp": {"stabilizationWindowSeconds": 15}, "scaleDown": {"stabilizationWindowSeconds": 120}}


def test_the_hpa_annotation_changes_with_its_body():
    def annotation(policy):
        pool = WorkerPool(service="people", queue="people", model=ModelRef(builtin="builtin:people"), autoscale=policy)
        return by_kind(pool)["HorizontalPodAutoscaler"]["metadata"]["annotations"]["elastic-inference.io/spec-hash"]

    assert annotation(POLICY) != annotation(Autoscale(**{**POLICY.__dict__, "max_replicas": 5}))


@pytest.mark.parametrize(("metric", "target", "expected"), [
    ("cpu", 80.0, {"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}),
    ("scale_ratio", 1.0, {"type": "Pods", "pods": {
        "metric": {"name": "ei_scale_ratio"}, "target": {"type": "AverageValue", "averageValue": "1"}}}),
    ("drop_fps", 0.8, {"type": "Pods", "pods": {
        "metric": {"name": "ei_drop_fps"}, "target": {"type": "AverageValue", "averageValue": "800m"}}}),
    ("infer_fps", 12.5, {"type": "Pods", "pods": {
        "metric": {"name": "ei_infer_fps"}, "target": {"type": "AverageValue", "averageValue": "12500m"}}}),
])
def test_each_policy_metric_becomes_its_hpa_metric(metric, target, expected):
    policy = Autoscale(**{**POLICY.__dict__, "metric": metric, "target_value": target})
    assert manifests.hpa_metric(policy) == expected


@pytest.mark.parametrize(("value", "canonical"), [
    (1, "1"), (1.0, "1"), (0.8, "800m"), (12.5, "12500m"), (0.01, "10m"), (1500, "1500"), (2000, "2k"),
    (10000, "10k"), (1 / 3, "333m"),
])
def test_quantities_are_in_the_api_servers_canonical_form(value, canonical):
    assert quantity(value) == canonical


def test_names_that_are_already_safe_are_kept():
    assert dns_name("people") == "people"
    assert object_name(PEOPLE) == "ei-worker-people"
    assert object_name(FILE_STREAM).startswith("ei-producer-lobby-cam-1-")


@pytest.mark.parametrize("names", [
    ("People", "people"), ("a_b", "a.b", "a-b", "A-b"), ("x" * 64, "x" * 63 + "y", "x" * 60),
])
def test_unsafe_names_become_dns_labels_that_never_collide(names):
    for prefix in ("", "ei-worker-", "ei-producer-"):
        made = [dns_name(name, prefix) for name in names]
        assert len(set(made)) == len(names), made
        for name in made:
            assert len(name) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name), name
            assert not prefix or DNS_1035.fullmatch(name)


def test_a_producer_is_one_deployment_that_runs_its_source_into_every_queue():
    (deployment,) = unit_objects(FILE_STREAM, POD_CONFIG, "autoscaling/v2")
    assert deployment["kind"] == "Deployment" and deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    labels = deployment["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "producer" and labels["app.kubernetes.io/component"] == "producer"
    assert labels["app.kubernetes.io/instance"] == dns_name("Lobby_Cam.1")
    assert deployment["metadata"]["annotations"] == {
        "elastic-inference.io/unit": "producer/Lobby_Cam.1", "elastic-inference.io/spec-hash": spec_hash(FILE_STREAM)}
    producer = container(deployment)
    assert producer["command"] + producer["args"] == [
        "python", "-m", "producers", "file", "/videos/lobby.mp4", "--loop", "--stream", "Lobby_Cam.1",
        "--queue", "people", "--queue", "faces", "--fps", "10",
    ]
    assert env(deployment)["REDIS_URL"]["valueFrom"]["secretKeyRef"]["key"] == "redis-url"


def test_worker_and_producer_containers_leave_their_log_tail_as_termination_message():
    """A crash-looping pod's status then says why (the backend shows the last line as the unit's error)."""
    for deployment in (by_kind(PEOPLE)["Deployment"], by_kind(FILE_STREAM)["Deployment"]):
        assert container(deployment)["terminationMessagePolicy"] == "FallbackToLogsOnError"


@pytest.mark.parametrize(("kind", "source", "args"), [
    ("camera", "0", ["camera", "--device", "0"]),
    ("camera", "/dev/video2", ["camera", "--device", "2"]),
    ("url", "rtsp://cam.local/live", ["url", "rtsp://cam.local/live"]),
])
def test_cameras_and_urls_are_passed_as_the_producer_cli_takes_them(kind, source, args):
    producer = Producer(stream="s", source_kind=kind, source=source, queues=("q",), fps=15)
    assert producer_args(producer) == [*args, "--stream", "s", "--queue", "q", "--fps", "15"]
