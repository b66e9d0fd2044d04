"""The worker's Prometheus series, read back with Prometheus' own text parser."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from inference_worker.metrics import WorkerMetrics


def _frames(metrics: WorkerMetrics) -> dict[tuple, float]:
    text = generate_latest(metrics.registry).decode()
    family = next(f for f in text_string_to_metric_families(text) if f.name == "ei_frames")
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples if s.name == "ei_frames_total"}


def test_frames_evicted_from_a_full_queue_are_counted_with_their_queue():
    metrics = WorkerMetrics(queue="people")
    metrics.dropped(None, 3)  # what the heartbeat claims from ei:overflow:people
    metrics.dropped("gate", 2)  # expired: older than --max-age when popped
    assert _frames(metrics) == {
        (("outcome", "overflow"), ("queue", "people"), ("stream", "")): 3.0,
        (("outcome", "expired"), ("queue", "people"), ("stream", "gate")): 2.0,
    }
