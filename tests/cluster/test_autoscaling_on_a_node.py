"""The HPA scales worker pods for real: the real kube-controller-manager reads ei_scale_ratio from the
control plane's metrics API (through the real aggregation layer), raises the worker Deployment when a
producer outruns one worker, and lowers it after the policy's scale-down window once the stream stops;
with Redis away the metrics API answers 503 and the HPA keeps its replicas.

One long test, in the order a user lives it: each phase needs the state the one before left.
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
import redis

from inference_worker import protocol
from tests.cluster.support import (
    ResultReader,
    builtin_model,
    make,
    pods_of,
    remove,
    until,
    wait_for_service,
)
from tests.support import frame_bytes, vtest_jpegs

pytestmark = pytest.mark.timeout(900)

SERVICE, QUEUE, STREAM = "crowd", "crowd", "crowd-gate"
DEPLOYMENT = f"ei-worker-{SERVICE}"
SCALE_DOWN_WINDOW = 30  # seconds
WARM_UP_FPS = 20  # well within one worker's reach: long enough at it, its heartbeat tells its capacity
OVERLOAD = 2.5  # times that capacity: enough for the HPA to want more than one pod on any machine
METRIC_PATH = (f"/apis/custom.metrics.k8s.io/v1beta2/namespaces/elastic-inference/pods/*/ei_scale_ratio"
               f"?labelSelector=app.kubernetes.io/instance={SERVICE}")


class Producer:
    """Frames of the street video into the queue at ``fps`` (which may be changed) from a thread, as a
    producer on the node would push them (through the Redis NodePort); it waits out a Redis that is away."""

    def __init__(self, client: redis.Redis, jpegs: list[bytes], fps: float):
        self.client, self.jpegs, self.fps = client, jpegs, fps
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        key, seq, due = protocol.frames_key(QUEUE), 0, time.monotonic()
        while not self.stopped.is_set():
            self.stopped.wait(max(0.0, due - time.monotonic()))
            try:
                self.client.rpush(key, frame_bytes(STREAM, seq, self.jpegs[seq % len(self.jpegs)]))
            except redis.RedisError:
                self.stopped.wait(0.5)
            seq += 1
            due = max(due + 1 / self.fps, time.monotonic() - 1)  # behind by over a second: start afresh

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)


class ReplicaLog:
    """The worker Deployment's replicas (what the HPA set) every second, for counting the changes."""

    def __init__(self, kubectl):
        self.kubectl, self.seen = kubectl, []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(1):
            done = self.kubectl.run("get", "deployment", DEPLOYMENT, "-o", "jsonpath={.spec.replicas}", check=False)
            if done.returncode == 0 and done.stdout.strip():
                replicas = int(done.stdout)
                if not self.seen or self.seen[-1] != replicas:
                    self.seen.append(replicas)

    def stop(self) -> list[int]:
        self.stopped.set()
        self.thread.join(10)
        return self.seen


def capacity(client: redis.Redis, pod: str) -> float:
    """Frames per second the worker ``pod`` could infer, from its heartbeat: without drops its scale ratio
    is the fraction of the time it was busy, so its rate over that (see ``inference_worker.metrics``).

    A fixed rate overloads one machine and not the next (a fast one's people worker keeps up with 60 fps
    on one infer request), so the test measures before it overloads."""
    worker = protocol.Heartbeat.from_hash(client.hgetall(protocol.worker_key(pod)))
    if worker.drop_fps > 0:  # already behind: what it infers is all it can
        return worker.infer_fps
    return worker.infer_fps / max(worker.scale_ratio, 0.05)


def hpa(kubectl) -> dict:
    """In autoscaling/v2beta2, which has the conditions: a 1.20 API server prefers v1, and a newer kubectl
    asked for hpa.v2beta2.autoscaling still prints v1."""
    return json.loads(kubectl.run(
        "get", "--raw", f"/apis/autoscaling/v2beta2/namespaces/elastic-inference/horizontalpodautoscalers/{DEPLOYMENT}"
    ).stdout)


def described_value(text: str) -> float | None:
    """The current ei_scale_ratio in `kubectl describe hpa`: a kubectl of the cluster's release prints a
    Metrics line, a newer one (which reads autoscaling/v1 of a 1.20 server) the current-metrics annotation."""
    found = re.search(r'"ei_scale_ratio" on pods:\s+(\d+)(m?) /', text) or re.search(
        r'"metricName":"ei_scale_ratio","currentAverageValue":"(\d+)(m?)"', text)
    return found and int(found.group(1)) / (1000 if found.group(2) else 1)


def condition(status: dict, kind: str) -> dict:
    return next((c for c in status.get("conditions") or [] if c["type"] == kind), {})


@pytest.fixture(scope="module")
def crowd(api, kubectl):
    """A people service on a queue of its own, one infer request per worker, under a policy min 1, max 3 on
    ei_scale_ratio with target 1."""
    remove(api, "services", SERVICE)  # an interrupted run's, which would hold on to the policy
    make(api, "policies", {"name": "crowd-burst", "min_replicas": 1, "max_replicas": 3, "metric": "scale_ratio",
                           "target_value": 1.0, "scale_up_window_seconds": 0,
                           "scale_down_window_seconds": SCALE_DOWN_WINDOW})
    make(api, "services", {"name": SERVICE, "queue": QUEUE, "model": builtin_model(api, "builtin:people"),
                           "infer_requests": 1, "scaling_policy": "crowd-burst"})
    yield wait_for_service(api, kubectl, SERVICE)
    remove(api, "services", SERVICE)
    remove(api, "policies", "crowd-burst")
    until(lambda: not kubectl.pods(pods_of("inference-worker", SERVICE)), 120, "the pool's pods gone")


def test_the_hpa_scales_worker_pods_on_the_served_metric_and_keeps_them_while_it_is_missing(
        api, kubectl, crowd, cluster_redis):
    first_pod = kubectl.ready_pods(pods_of("inference-worker", SERVICE))[0]["metadata"]["name"]
    until(lambda: condition(hpa(kubectl).get("status", {}), "ScalingActive").get("status") == "True", 120,
          "the HPA reading ei_scale_ratio while idle")
    started = time.time()
    replicas, reader = ReplicaLog(kubectl), ResultReader(cluster_redis, STREAM)
    producer = Producer(cluster_redis, vtest_jpegs(120), WARM_UP_FPS)
    try:
        # a whole metrics window at the warm-up rate, then well over what one worker can do
        until(lambda: [r for r in reader.got if r["ts_done"] > time.time() - 1] and time.time() - started > 10, 60,
              "results at the warm-up rate")
        producer.fps = OVERLOAD * capacity(cluster_redis, first_pod)
        # overload: the HPA raises the Deployment, the new pods become Ready and infer
        until(lambda: (hpa(kubectl)["status"].get("desiredReplicas") or 0) >= 2, 180, "the HPA scaling up")
        until(lambda: len(kubectl.ready_pods(pods_of("inference-worker", SERVICE))) >= 2, 180, "a second Ready pod")
        until(lambda: {r["worker"] for r in reader.got} - {first_pod}, 120, "a result from a new pod")
        described = kubectl.run("describe", "hpa", DEPLOYMENT).stdout
        assert (described_value(described) or 0) > 0, described  # the load is on (the average of more pods now)

        # the stream stops and Redis goes away: no metric, so the HPA keeps what it has
        producer.stop()
        stopped = time.monotonic()
        kubectl.run("scale", "deployment", "elastic-inference-redis", "--replicas=0")
        try:
            until(lambda: condition(hpa(kubectl)["status"], "ScalingActive").get("status") == "False", 60,
                  "the HPA failing to read the metric")
            # what it has once it can no longer read (a sync just before may still have raised it)
            held = int(kubectl.json("get", "deployment", DEPLOYMENT)["spec"]["replicas"])
            refused = kubectl.run("get", "--raw", METRIC_PATH, check=False)
            assert refused.returncode and "ServiceUnavailable" in refused.stderr + refused.stdout, refused
            message = condition(hpa(kubectl)["status"], "ScalingActive")["message"]
            assert "ei_scale_ratio" in message, message
            time.sleep(SCALE_DOWN_WINDOW + 5)  # longer than the window it would have scaled down after
            assert int(kubectl.json("get", "deployment", DEPLOYMENT)["spec"]["replicas"]) == held
        finally:
            kubectl.run("scale", "deployment", "elastic-inference-redis", "--replicas=1")
            until(lambda: kubectl.ready_pods("app.kubernetes.io/name=redis"), 120, "a Ready Redis pod again")

        # idle again with the metric back: down to one, no sooner than the scale-down window after the stream
        # stopped (the window's high readings are old by now: it may come at the first reading)
        until(lambda: hpa(kubectl)["status"].get("desiredReplicas") == 1, SCALE_DOWN_WINDOW + 180,
              "the HPA scaling back down")
        assert time.monotonic() - stopped >= SCALE_DOWN_WINDOW
        until(lambda: replicas.seen[-1:] == [1], 30, "the Deployment back at one replica")
    finally:
        producer.stop()
        reader.stop()
        seen = replicas.stop()

    # no flapping: up to a peak, then down, each way without turning back
    peak = seen.index(max(seen))
    assert seen[0] == 1 and seen[-1] == 1 and max(seen) >= 2, seen
    assert seen[:peak + 1] == sorted(seen[:peak + 1]) and seen[peak:] == sorted(seen[peak:], reverse=True), seen

    # every change the HPA made is a scaling event with the value that caused it and the HPA's words
    def events() -> list[dict]:
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started - 1))
        return api.get("/api/scaling-events/", params={"service": SERVICE, "since": since}).json()["results"]

    # the reconciler records it on its next pass (every 10 s), once Celery is back on the restarted Redis
    until(lambda: any(e["to_replicas"] == 1 for e in events()), 240, "the scale-down's event")
    recorded = sorted(events(), key=lambda e: e["time"])
    up, down = recorded[0], recorded[-1]
    assert up["backend"] == "kubernetes" and up["from_replicas"] == 1 and up["to_replicas"] >= 2, recorded
    assert up["metric"] == "scale_ratio" and up["metric_value"] > 1, json.dumps(recorded)
    assert up["reason"] == f"New size: {up['to_replicas']}; reason: pods metric ei_scale_ratio above target", recorded
    assert down["to_replicas"] == 1 and down["metric_value"] is not None, json.dumps(recorded)
    assert down["reason"].startswith("New size: 1; reason: "), json.dumps(recorded)
    service = api.get(f"/api/services/{SERVICE}/").json()
    assert service["scaling"]["target"] == 1.0 and service["scaling"]["wanted_replicas"] == 1, service["scaling"]
