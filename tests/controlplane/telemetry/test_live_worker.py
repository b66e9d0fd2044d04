"""A real worker process and real frames, seen through /api/workers/, /api/metrics/ and /metrics."""

from __future__ import annotations

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from controlplane.streams.models import Stream
from producers.publisher import Publisher
from harness.processes import Proc, wait_until
from tests.support import frame_bytes, jpeg_of, sample_image, worker_command

FRAMES = 8


def replicas_on_metrics(service: str) -> float | None:
    text = Client().get("/metrics").content.decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ei_service_replicas" and sample.labels["service"] == service:
                return sample.value
    return None


def test_a_running_worker_shows_in_every_view(r, redis_url, viewer_api, make_service, tmp_path):
    make_service("faces", "face")
    Stream.objects.create(name="hall", source_kind=Stream.SourceKind.EXTERNAL, queue="face")
    worker = Proc(worker_command(redis_url, "face", "builtin:face", "--worker-id", "edge-face-1"), tmp_path / "worker.log")
    try:
        listed = wait_until(lambda: viewer_api.get("/api/workers/").json()["results"] or worker.popen.poll() is not None,
                            60, "the worker's heartbeat")
        assert worker.popen.poll() is None, worker.output()
        (seen,) = listed
        assert (seen["worker"], seen["queue"], seen["model"], seen["service"]) == ("edge-face-1", "face", "builtin:face", "faces")
        assert seen["pid"] == worker.popen.pid

        jpeg = jpeg_of(sample_image("astronaut"))
        publisher = Publisher(r, "hall", ["face"], max_queue=32)
        for seq in range(FRAMES):
            publisher.send(frame_bytes("hall", seq, jpeg), None)

        def figures():
            body = viewer_api.get("/api/metrics/").json()
            (faces,), (hall,) = body["services"], body["streams"]
            return hall["inferred"] == FRAMES and faces["infer_fps"] > 0 and (faces, hall)

        faces, hall = wait_until(figures, 60, "every frame inferred")
        assert faces["replicas"] == 1 and faces["latency_p50_ms"] > 0
        assert (hall["produced"], hall["queued"], hall["overflow"], hall["queues"]) == (FRAMES, 0, 0, ["face"])
        assert hall["latency_p50_ms"] > 0
        assert replicas_on_metrics("faces") == 1.0
        assert worker.terminate() == 0, worker.output()
    finally:
        worker.kill()
    assert viewer_api.get("/api/workers/").json()["count"] == 0, "a worker that stops deregisters"
    assert replicas_on_metrics("faces") == 0.0
