"""The kit on a real node: our images in pods, the control plane's API through its Service, worker pods made
by the reconciler inferring frames from a producer pod and from a producer on the node, and the faults a
cluster brings (a worker pod killed, the Redis pod deleted, a pod told to stop).

The tests of this module share one deployment and run in order; each makes services of its own, on
queues of its own, and removes them at the end.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from harness.processes import Proc
from inference_worker import protocol
from tests.cluster.support import (
    ResultReader,
    builtin_model,
    is_ready,
    make,
    pods_of,
    push,
    remove,
    until,
    wait_for_service,
)
from tests.controlplane.registry.model_support import BLAZEFACE
from tests.support import VTEST, frame_bytes, jpeg_of, next_live_result, sample_image, vtest_jpegs

pytestmark = pytest.mark.timeout(900)

PART_OF = "app.kubernetes.io/part-of=elastic-inference"
WORKERS = "app.kubernetes.io/name=inference-worker"
PRODUCERS = "app.kubernetes.io/name=producer"


@pytest.fixture(scope="module")
def people(api, kubectl):
    """The people detector as a service, made through the API; its queue is fed by each test."""
    make(api, "services", {"name": "people", "queue": "people", "model": builtin_model(api, "builtin:people")})
    yield wait_for_service(api, kubectl, "people")
    remove(api, "services", "people")


def test_every_pod_of_the_kit_runs_and_is_ready(kit, kubectl):
    pods = kubectl.pods(PART_OF)
    names = {pod["metadata"]["labels"]["app.kubernetes.io/name"] + "/" + pod["metadata"]["labels"].get(
        "app.kubernetes.io/component", "") for pod in pods}
    assert {"controlplane/server", "controlplane/analytics", "controlplane/celery-worker", "controlplane/celery-beat",
            "redis/broker", "postgres/database"} <= names
    assert all(is_ready(pod) for pod in pods), [
        (pod["metadata"]["name"], pod["status"].get("phase")) for pod in pods if not is_ready(pod)]
    server = next(pod for pod in pods if pod["metadata"]["labels"].get("app.kubernetes.io/component") == "server")
    (migrate,) = server["status"]["initContainerStatuses"]
    assert migrate["state"]["terminated"]["exitCode"] == 0, "the migrate init container ran to completion"


def test_the_api_answers_through_the_control_planes_service(api, kubectl):
    assert api.get("/api/services/").status_code == 200
    assert api.get("/api/schema/").status_code == 200
    service = kubectl.json("get", "service", "elastic-inference-controlplane")
    assert service["spec"]["type"] == "NodePort" and service["spec"]["ports"][0]["nodePort"] == 31080


def test_a_service_becomes_a_deployment_whose_pods_infer_the_frames_of_a_producer_on_the_node(
        api, kubectl, kit, people, cluster_redis, tmp_path):
    """The reconciler (in the Celery pod, with the kit's own ServiceAccount) made the worker Deployment and
    its metrics Service; `python -m producers` on the node, through the Redis NodePort with the password
    from the Secret (as the original's run-css.sh did), gets results with boxes, to Redis and to a
    websocket client of the control plane's Service."""
    deployment = kubectl.json("get", "deployment", "-l", pods_of("inference-worker", "people"))["items"][0]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "docker.io/elastic-inference/worker:local"
    assert kubectl.json("get", "service", "-l", pods_of("inference-worker", "people"))["items"], "the metrics Service"
    make(api, "streams", {"name": "gate", "source_kind": "external", "queue": "people"})
    reader = ResultReader(cluster_redis, "gate")
    producer = Proc([sys.executable, "-m", "producers", "file", "--stream", "gate", "--queue", "people", "--fps", "8",
                     str(VTEST)], tmp_path / "producer.log", env={"REDIS_URL": kit.redis_url})
    try:
        meta, picture = asyncio.run(_first_live_result_with_boxes(kit, api, "gate"))
        until(lambda: len(reader.got) >= 40, 60, "forty results of the producer's frames")
    finally:
        producer.terminate()
        got = reader.stop()
        remove(api, "streams", "gate")
    seqs = [result["seq"] for result in got]
    assert seqs == sorted(set(seqs)), "in order, each once"
    assert {result["worker"] for result in got} <= {pod["metadata"]["name"] for pod in kubectl.pods(WORKERS)}
    assert sum(len(result["detections"]) for result in got) >= len(got), "the street's people are found"
    assert meta["stream"] == "gate" and meta["detections"] and picture[:2] == b"\xff\xd8"


async def _first_live_result_with_boxes(kit, api, stream: str) -> tuple[dict, bytes]:
    token = api.session.headers["Authorization"].split()[1]
    url = kit.url.replace("http://", "ws://") + f"/ws/streams/{stream}/?token={token}"
    async with connect(url, max_size=None) as websocket:
        while True:
            meta, picture = await next_live_result(websocket, 60)
            if meta["detections"]:
                return meta, picture


def test_a_managed_file_stream_runs_in_a_producer_pod(api, kubectl, people, cluster_redis):
    """The sample video baked into the worker image, read by the producer pod the reconciler starts."""
    reader = ResultReader(cluster_redis, "street")
    make(api, "streams", {"name": "street", "source_kind": "file", "queue": "people", "target_fps": 5,
                                  "source": "/opt/elastic-inference/samples/vtest.avi"})
    try:
        until(lambda: len([r for r in reader.got if r["detections"]]) >= 10, 180,
                   "ten results with boxes from the producer pod's frames")
        (producer,) = kubectl.ready_pods(pods_of("producer", "street"))
    finally:
        remove(api, "streams", "street")
        got = reader.stop()
    assert producer["spec"]["containers"][0]["image"] == "docker.io/elastic-inference/worker:local"
    seqs = [result["seq"] for result in got]
    assert seqs == sorted(seqs), "one worker pod publishes the stream in order"
    until(lambda: not kubectl.pods(pods_of("producer", "street")), 120, "the producer pod to go with its stream")


def test_an_uploaded_model_is_downloaded_by_its_worker_pod_with_its_token(api, kubectl, cluster_redis):
    """The BlazeFace model, uploaded through the API and validated by the Celery pod; the worker pod
    downloads it from the control plane's Service with the worker token and checks its sha256."""
    with uploaded(api, "blazeface") as model:
        make(api, "services", {"name": "faces", "queue": "uploaded-face", "model": model["id"]})
        try:
            wait_for_service(api, kubectl, "faces")
            reader = ResultReader(cluster_redis, "portraits")
            face = jpeg_of(sample_image("astronaut"))
            push(cluster_redis, "uploaded-face", "portraits", [face] * 5, fps=5)
            until(lambda: len(reader.got) == 5, 60, "five results of the uploaded model")
            got = reader.stop()
            (pod,) = kubectl.ready_pods(pods_of("inference-worker", "faces"))
            log = kubectl.run("logs", pod["metadata"]["name"]).stdout
        finally:
            remove(api, "services", "faces")
    assert all(result["detections"] for result in got), "the astronaut's face, in every frame"
    env = {item["name"] for item in pod["spec"]["containers"][0]["env"]}
    assert "EI_MODEL_TOKEN" in env and "sha256" in " ".join(pod["spec"]["containers"][0]["args"])
    assert "blazeface" in log, log[-2000:]


@pytest.fixture(scope="module")
def pair(api, kubectl):
    """A service held at two worker pods (a policy with min = max = 2: the HPA sets the replicas even with
    no metric to read), one infer request each, on a queue of its own."""
    make(api, "policies", {"name": "two", "min_replicas": 2, "max_replicas": 2, "metric": "scale_ratio",
                                   "target_value": 1})
    make(api, "services", {"name": "pair", "queue": "pair", "infer_requests": 1, "scaling_policy": "two",
                                   "model": builtin_model(api, "builtin:people")})
    yield wait_for_service(api, kubectl, "pair", replicas=2)
    remove(api, "services", "pair")
    remove(api, "policies", "two")


def push_while(client, stream: str, frames: list[bytes], fps: float, during) -> tuple[list[dict], float]:
    """Push ``frames`` to the pair's queue at ``fps`` and call ``during()`` a third of the way in; returns
    every result the stream got (read until ten quiet seconds) and when ``during`` was called."""
    reader = ResultReader(client, stream)
    pusher = threading.Thread(target=push, args=(client, "pair", stream, frames), kwargs={"fps": fps})
    pusher.start()
    time.sleep(len(frames) / fps / 3)
    at = time.time()
    during()
    pusher.join()
    until(lambda: len(reader.got) == len(frames) or (reader.got and time.time() - reader.got[-1]["ts_done"] > 10),
               120, "the last results")
    return reader.stop(), at


def test_a_worker_pod_deleted_while_it_works_is_replaced_and_loses_only_its_in_flight_frames(api, kubectl, pair, cluster_redis):
    """A forced delete (`--grace-period=0 --force`): the Deployment replaces the pod at once. The kubelet
    stops the container with a SIGTERM but may not wait for it, so at most what the pod held is lost."""
    (hpa,) = kubectl.json("get", "hpa", "-l", pods_of("inference-worker", "pair"))["items"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 2), "the policy, as the reconciler's HPA"
    victim, survivor = (pod["metadata"]["name"] for pod in kubectl.ready_pods(pods_of("inference-worker", "pair")))
    frames = vtest_jpegs(150, every=4)
    got, deleted_at = push_while(cluster_redis, "delete", frames, 6, lambda: kubectl.run(
        "delete", "pod", victim, "--grace-period=0", "--force", "--wait=false"))
    published = sorted(result["seq"] for result in got)
    lost = len(frames) - len(published)
    print(f"pushed={len(frames)} published={len(published)} lost={lost} (a pod force-deleted)")
    assert len(published) == len(set(published)), "no frame twice"
    assert lost <= 6, "only what the deleted pod held: a decode per core and its infer request, a result or two"
    assert any(r["worker"] == survivor and r["ts_done"] > deleted_at + 1 for r in got), "the other pod kept publishing"
    until(lambda: len(kubectl.ready_pods(pods_of("inference-worker", "pair"))) == 2, 120, "the replacement pod")
    assert victim not in {pod["metadata"]["name"] for pod in kubectl.pods(pods_of("inference-worker", "pair"))}


def test_a_worker_killed_outright_loses_only_its_in_flight_frames(api, kubectl, pair, cluster_redis):
    """SIGKILL to a worker's process from the node (what the OOM killer does): the kubelet restarts the
    container, the other pod keeps publishing, and only the frames the killed one held are missing."""
    until(lambda: len(kubectl.ready_pods(pods_of("inference-worker", "pair"))) == 2, 120, "two worker pods")
    victim, survivor = kubectl.ready_pods(pods_of("inference-worker", "pair"))
    container = victim["status"]["containerStatuses"][0]["containerID"].split("://")[1]
    frames = vtest_jpegs(150, every=4)
    got, killed_at = push_while(cluster_redis, "kill", frames, 6, lambda: os.kill(container_pid(container), signal.SIGKILL))
    published = sorted(result["seq"] for result in got)
    lost = len(frames) - len(published)
    print(f"pushed={len(frames)} published={len(published)} lost={lost} (in flight in the killed worker)")
    assert len(published) == len(set(published)), "no frame twice"
    assert lost <= 6, "only what the killed worker held: a decode per core and its infer request, a result or two"
    assert any(r["worker"] == survivor["metadata"]["name"] and r["ts_done"] > killed_at + 1 for r in got)
    until(lambda: kubectl.json("get", "pod", victim["metadata"]["name"])["status"]["containerStatuses"][0]
          ["restartCount"] >= 1 and len(kubectl.ready_pods(pods_of("inference-worker", "pair"))) == 2,
          180, "the killed container restarted in its pod")


def container_pid(container_id: str) -> int:
    """The host pid of a container's main process, from the node's containerd."""
    from scripts.kube.node import Layout

    tasks = subprocess.run(["ctr", "-a", str(Layout().socket), "-n", "k8s.io", "tasks", "ls"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    return next(int(line.split()[1]) for line in tasks if line.startswith(container_id))


def test_a_worker_pod_told_to_stop_finishes_its_in_flight_frames(api, kubectl, pair, cluster_redis):
    """A plain delete (what a drain does): SIGTERM, and the pod's grace period to finish what it holds."""
    until(lambda: len(kubectl.ready_pods(pods_of("inference-worker", "pair"))) == 2, 120, "two worker pods")
    victim = kubectl.ready_pods(pods_of("inference-worker", "pair"))[0]["metadata"]["name"]
    assert kubectl.json("get", "pod", victim)["spec"]["terminationGracePeriodSeconds"] == 30
    frames = vtest_jpegs(120, every=5)
    got, _ = push_while(cluster_redis, "drain", frames, 6, lambda: kubectl.run("delete", "pod", victim, "--wait=false"))
    assert sorted(result["seq"] for result in got) == list(range(len(frames))), "every frame, once: none lost"
    assert any(result["worker"] == victim for result in got)
    until(lambda: len(kubectl.ready_pods(pods_of("inference-worker", "pair"))) == 2, 120, "the replacement pod")


def test_results_flow_again_after_the_redis_pod_is_deleted(api, kit, kubectl, people, cluster_redis):
    """Redis comes back empty in a new pod: workers and the control plane (its websockets too) reconnect by
    themselves, and a producer on the node that retries gets results again within 30 s of Redis Ready."""
    make(api, "streams", {"name": "outage", "source_kind": "external", "queue": "people"})
    frame = vtest_jpegs(1)[0]
    before = restarts(kubectl.pods(pods_of("inference-worker", "people")))
    try:
        kubectl.run("delete", "pod", "-l", "app.kubernetes.io/name=redis")
        until(lambda: kubectl.ready_pods("app.kubernetes.io/name=redis"), 120, "a new Redis pod")
        ready_at = time.time()
        reader = ResultReader(cluster_redis, "outage")

        def flowing() -> bool:
            try:
                cluster_redis.rpush(protocol.frames_key("people"), frame_bytes("outage", int(time.time()), frame))
            except Exception:  # noqa: BLE001 (the NodePort's Redis may still be starting)
                return False
            return bool(reader.got)

        until(flowing, 60, "a result after Redis came back")
        recovered_in = time.time() - ready_at
        reader.stop()
        meta, _ = asyncio.run(_one_live_result(kit, api, cluster_redis, frame))
    finally:
        remove(api, "streams", "outage")
    print(f"results again {recovered_in:.1f} s after the new Redis pod was Ready")
    assert recovered_in <= 30
    assert meta["stream"] == "outage", "the websockets read the new Redis too"
    assert restarts(kubectl.pods(pods_of("inference-worker", "people"))) == before, "the worker pod rode it out"


def restarts(pods: list[dict]) -> dict[str, int]:
    return {pod["metadata"]["name"]: pod["status"]["containerStatuses"][0]["restartCount"] for pod in pods}


async def _one_live_result(kit, api, client, frame) -> tuple[dict, bytes]:
    token = api.session.headers["Authorization"].split()[1]
    url = kit.url.replace("http://", "ws://") + f"/ws/streams/outage/?token={token}"
    deadline = time.monotonic() + 60
    async with connect(url, max_size=None) as websocket:
        while time.monotonic() < deadline:
            client.rpush(protocol.frames_key("people"), frame_bytes("outage", int(time.time() * 1000), frame))
            try:
                return await next_live_result(websocket, 2)
            except TimeoutError:
                continue
    raise AssertionError("no result reached the websocket client after Redis came back")


@contextmanager
def uploaded(api, name: str) -> Iterator[dict]:
    """BlazeFace uploaded through the API under ``name``, once the Celery pod has validated it; deleted after."""
    for model in api.get("/api/models/", params={"page_size": 500}).json()["results"]:
        if model["name"] == name:
            api.delete(f"/api/models/{model['id']}/")  # left by an interrupted run
    with BLAZEFACE.open("rb") as file:
        response = api.session.post(f"{api.base}/api/models/", data={"name": name, "task": "face"},
                                    files={"file": ("blazeface.tflite", file)}, timeout=60)
    assert response.status_code == 201, response.text
    path = f"/api/models/{response.json()['id']}/"
    until(lambda: api.get(path).json()["status"] in ("ready", "failed"), 180, "the model's validation in the Celery pod")
    model = api.get(path).json()
    assert model["status"] == "ready", model["status_message"]
    try:
        yield model
    finally:
        api.delete(path)


def test_a_model_its_worker_pod_cannot_load_shows_failed_with_the_pods_reason(api, kubectl):
    """A model validated, then changed on its volume (a disk gone bad, a hand edit): the worker pod's
    sha256 check refuses it and exits, and the service says so instead of waiting in `applying`."""
    with uploaded(api, "tampered") as model:
        volume = kubectl.json("get", "pvc", "elastic-inference-media")["spec"]["volumeName"]
        root = Path(kubectl.json("get", "pv", volume)["spec"]["hostPath"]["path"])
        stored = root / "models" / "tampered" / model["version"] / "blazeface.tflite"
        stored.write_bytes(stored.read_bytes()[:-16] + bytes(16))
        make(api, "services", {"name": "tampered", "queue": "tampered", "model": model["id"]})
        try:
            until(lambda: api.get("/api/services/tampered/").json()["status"] == "failed", 240, "the service to fail")
            message = api.get("/api/services/tampered/").json()["status_message"]
        finally:
            remove(api, "services", "tampered")
    # "Error" the first time the container exits, "CrashLoopBackOff" while the kubelet waits to restart it
    assert re.match(r"(Error|CrashLoopBackOff): worker: checksum mismatch for http://198\.19\.0\.11:8000/", message), message
