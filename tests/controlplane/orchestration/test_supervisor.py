"""The local backend end to end: the supervisor runs real workers and producers for the units the
reconciler wrote, restarts what dies, and grows and shrinks a pool with the load."""

from __future__ import annotations

import os
import signal

import pytest

from controlplane.inference.models import InferenceService

from controlplane.registry.models import InferenceModel
from controlplane.inference.actions import inference_service_create
from controlplane.orchestration.reconciler import reconcile
from controlplane.scaling.models import ScalingEvent
from controlplane.scaling.actions import policy_create
from controlplane.streams.models import Stream
from controlplane.streams.actions import stream_create, stream_update
from inference_worker import protocol
from inference_worker.fleet import live_workers
from harness.processes import wait_until
from tests.support import VTEST

pytestmark = pytest.mark.django_db(transaction=True)  # the supervisor process reads and writes these rows


def workers(r, queue: str) -> dict[str, dict]:
    return {w["worker"]: w for w in live_workers(r) if w.get("queue") == queue}


def status_after_reconcile(local_backend, row):
    reconcile(backend=local_backend)
    row.refresh_from_db()
    return row.status


def test_a_file_stream_and_a_service_run_until_disabled(supervisor, local_backend, people_model, r):
    inference_service_create(name="people", queue="people", model=people_model)
    stream_create(name="street", source_kind="file", source=str(VTEST), queue="people", target_fps=10)
    reconcile(backend=local_backend)

    wait_until(lambda: r.xlen(protocol.results_key("street")) >= 5, 120, "results of the managed stream")
    service, stream = InferenceService.objects.get(name="people"), Stream.objects.get(name="street")
    wait_until(lambda: status_after_reconcile(local_backend, service) == "ready", 30, "the service to be ready")
    wait_until(lambda: status_after_reconcile(local_backend, stream) == "ready", 30, "the stream to be ready")
    assert service.replicas_ready == 1 and service.status_message == "1/1 ready"

    stream_update(stream=stream, enabled=False)
    reconcile(backend=local_backend)
    wait_until(lambda: not r.exists(protocol.producer_key("street")), 30, "the producer to stop")
    assert "producer/street is no longer wanted" in supervisor.output()
    assert status_after_reconcile(local_backend, stream) == "disabled"


def test_a_killed_worker_comes_back(supervisor, local_backend, people_model, r):
    inference_service_create(name="people", queue="people", model=people_model)
    reconcile(backend=local_backend)
    first = wait_until(lambda: workers(r, "people").get("people-0"), 120, "the worker's heartbeat")
    os.kill(first["pid"], signal.SIGKILL)

    def replaced():
        worker = workers(r, "people").get("people-0")
        return worker if worker and worker["pid"] != first["pid"] else None

    wait_until(replaced, 120, "a new worker in the same slot")
    assert "supervisor: worker/people#0 exited with code -9: " in supervisor.output()
    service = InferenceService.objects.get(name="people")
    wait_until(lambda: status_after_reconcile(local_backend, service) == "ready", 30, "the service to be ready again")
    assert service.conditions == [
        {"type": "Restarted", "status": "True", "reason": "ProcessExited", "message": "restarted 1 times"}
    ]


def test_redis_restarting_empty_stops_nothing_and_the_next_pass_restores_it(supervisor, local_backend, people_model, r):
    inference_service_create(name="people", queue="people", model=people_model)
    reconcile(backend=local_backend)
    service = InferenceService.objects.get(name="people")
    wait_until(lambda: status_after_reconcile(local_backend, service) == "ready", 120, "the service to be ready")
    pid = workers(r, "people")["people-0"]["pid"]

    r.flushall()  # what a Redis restarted without persistence holds: no units, no statuses
    wait_until(lambda: "Redis holds no desired state" in supervisor.output(), 30, "the supervisor to notice")
    assert wait_until(lambda: workers(r, "people").get("people-0"), 30, "the worker's next heartbeat")["pid"] == pid
    wait_until(lambda: status_after_reconcile(local_backend, service) == "ready", 30, "the statuses reported again")
    assert workers(r, "people")["people-0"]["pid"] == pid, "the same process throughout"
    output = supervisor.output()
    assert "no longer wanted" not in output and "replacing its processes" not in output, output[-3000:]


def test_a_worker_that_cannot_start_is_failed_with_its_reason(supervisor, local_backend, r, settings, tmp_path):
    corrupt = tmp_path / "media" / "models" / "broken" / "1" / "broken.onnx"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"this is not an onnx model")
    # The row says ready (as if the file was damaged on disk after validation); the worker finds out.
    model = InferenceModel.objects.create(name="broken", framework="onnx", status="ready",
                                          file="models/broken/1/broken.onnx")
    inference_service_create(name="broken", queue="broken", model=model)
    reconcile(backend=local_backend)
    service = InferenceService.objects.get(name="broken")
    wait_until(lambda: status_after_reconcile(local_backend, service) == "failed", 120, "the service to fail")
    assert "worker/broken exited with code 2" in service.status_message
    assert "broken.onnx" in service.status_message  # the worker's own one-line reason


def test_the_pool_grows_under_overload_and_shrinks_when_it_ends(supervisor, local_backend, people_model, r):
    """One people worker with a single infer request cannot keep up with a 120 fps stream: frames are
    dropped, the scale ratio goes above the target, the pool grows; when the stream stops it shrinks back."""
    policy = policy_create(name="elastic", min_replicas=1, max_replicas=3, metric="scale_ratio", target_value=1.0,
                           scale_up_window_seconds=0, scale_down_window_seconds=3)
    inference_service_create(name="people", queue="people", model=people_model, scaling_policy=policy, infer_requests=1)
    reconcile(backend=local_backend)
    wait_until(lambda: "people-0" in workers(r, "people"), 120, "the first worker")
    stream = stream_create(name="rush", source_kind="file", source=str(VTEST), queue="people", target_fps=120)
    reconcile(backend=local_backend)

    def added_worker_working():
        pool = workers(r, "people")
        return len(pool) >= 2 and any(w["inferred"] > 0 for name, w in pool.items() if name != "people-0")

    wait_until(added_worker_working, 180, "an added worker doing work")
    up = ScalingEvent.objects.filter(service_name="people").order_by("time").first()
    assert up.backend == "local" and up.from_replicas == 1 and up.to_replicas >= 2
    assert up.metric == "scale_ratio" and up.metric_value > 1.1 and up.target_value == 1.0
    assert "per replica against a target of 1" in up.reason

    stream_update(stream=stream, enabled=False)
    reconcile(backend=local_backend)
    wait_until(lambda: list(workers(r, "people")) == ["people-0"], 180, "the pool to shrink to one worker")
    down = ScalingEvent.objects.filter(service_name="people").order_by("time").last()
    assert down.to_replicas == 1 and down.from_replicas > 1 and down.metric_value < 1.0
    assert "per replica against a target of 1" in down.reason


def test_a_second_supervisor_is_refused(supervisor, redis_url, tmp_path):
    import subprocess
    import sys

    from harness.processes import REPO
    from tests.support import database_url

    done = subprocess.run([sys.executable, "manage.py", "supervise"], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": database_url()})
    assert done.returncode != 0
    assert "another supervisor is running" in done.stderr
