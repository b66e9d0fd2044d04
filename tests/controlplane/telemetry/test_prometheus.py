"""The control plane's /metrics: the fleet gauges per inference service, next to Django's own metrics."""

from __future__ import annotations

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from controlplane.telemetry.collectors import register_fleet_collector
from harness.processes import free_port
from tests.heartbeats import write_heartbeat


def scrape() -> dict[str, dict[tuple, float]]:
    """Every sample of /metrics by family name, keyed by its sorted labels."""
    response = Client().get("/metrics")
    assert response.status_code == 200
    return {
        family.name: {tuple(sorted(sample.labels.items())): sample.value for sample in family.samples}
        for family in text_string_to_metric_families(response.content.decode())
    }


def labels(service: str, queue: str) -> tuple:
    return (("queue", queue), ("service", service))


def test_fleet_gauges_per_service(r, make_service):
    make_service("faces", "face")
    make_service("people", "people")
    write_heartbeat(r, "w-a", "face", infer_fps=10.5, drop_fps=1.0, scale_ratio=1.5)
    write_heartbeat(r, "w-b", "face", infer_fps=4.5, drop_fps=0.5, scale_ratio=0.5)

    metrics = scrape()
    assert metrics["ei_service_infer_fps"] == {labels("faces", "face"): 15.0, labels("people", "people"): 0.0}
    assert metrics["ei_service_drop_fps"][labels("faces", "face")] == 1.5
    assert metrics["ei_service_scale_ratio"] == {labels("faces", "face"): 1.0, labels("people", "people"): 0.0}
    assert metrics["ei_service_replicas"] == {labels("faces", "face"): 2.0, labels("people", "people"): 0.0}
    assert metrics["ei_fleet_up"] == {(): 1.0}
    assert "django_http_requests_before_middlewares" in metrics


def test_redis_down_leaves_the_fleet_out_and_the_rest_in(r, make_service, settings, caplog):
    make_service("faces", "face")
    assert scrape()["ei_fleet_up"] == {(): 1.0}
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    metrics = scrape()
    assert metrics["ei_fleet_up"] == {(): 0.0}
    assert not {"ei_service_infer_fps", "ei_service_drop_fps", "ei_service_scale_ratio", "ei_service_replicas"} & set(metrics)
    assert "django_http_requests_before_middlewares" in metrics
    scrape()
    assert sum("redis unavailable" in record.getMessage() for record in caplog.records) == 1, "logged once"


def test_the_collector_is_registered_once(r, db):
    assert register_fleet_collector() is register_fleet_collector()
    text = Client().get("/metrics").content.decode()
    assert text.count("\nei_fleet_up ") == 1, "one series, not one per registration"


def test_the_fleet_gauges_never_share_a_name_with_the_workers_gauges(r, make_service):
    """A Prometheus scraping both would add every figure twice in a sum() over a shared name."""
    from prometheus_client import generate_latest

    from inference_worker.metrics import WorkerMetrics

    make_service("faces", "face")
    write_heartbeat(r, "w-a", "face", infer_fps=10.5, drop_fps=1.0, scale_ratio=1.5)
    worker = WorkerMetrics(queue="face")
    worker.snapshot()
    worker_families = {family.name for family in text_string_to_metric_families(generate_latest(worker.registry).decode())}
    assert {"ei_infer_fps", "ei_drop_fps", "ei_scale_ratio"} <= worker_families
    assert not {name for name in scrape() if name.startswith("ei_")} & worker_families
