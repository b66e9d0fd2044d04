"""Fleet history: samples of each service's pool taken from real heartbeats, kept in the test Redis, and
read through /api/services/<name>/history/; then the same sampling driven by Celery beat in a worker."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

import jsonschema
import pytest

from controlplane.telemetry import history
from controlplane.telemetry.tasks import sample_fleet
from harness.processes import Proc, free_port, wait_until
from tests.controlplane.openapi import strict_schema
from tests.heartbeats import write_heartbeat
from tests.support import database_url


def url(service: str) -> str:
    return f"/api/services/{service}/history/"


def stored(r, service: str) -> list[dict]:
    return [json.loads(raw) for raw in r.lrange(history.history_key(service), 0, -1)]


def figures(sample: dict) -> dict:
    return {key: value for key, value in sample.items() if key != "t"}


def test_a_sample_takes_each_pool_from_the_heartbeats(r, viewer_api, make_service):
    make_service("faces", "face")
    make_service("people", "people")
    write_heartbeat(r, "w-a", "face", infer_fps=10.5, drop_fps=1.0, scale_ratio=1.2)
    write_heartbeat(r, "w-b", "face", infer_fps=4.5, drop_fps=0.5, scale_ratio=0.4)
    write_heartbeat(r, "w-c", "vehicles", infer_fps=7.0)

    before = time.time()
    assert history.fleet_history_record() == 2
    response = viewer_api.get(url("faces"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["service"] == "faces" and body["interval_seconds"] == 5
    [sample] = body["samples"]
    assert figures(sample) == {"replicas": 2, "infer_fps": 15.0, "drop_fps": 1.5, "scale_ratio": 0.8}
    assert round(before, 3) <= sample["t"] <= round(time.time(), 3)
    [idle] = viewer_api.get(url("people")).json()["samples"]
    assert figures(idle) == {"replicas": 0, "infer_fps": 0.0, "drop_fps": 0.0, "scale_ratio": 0.0}

    schema = viewer_api.get("/api/schema/", {"format": "json"}).json()
    documented = schema["paths"]["/api/services/{name}/history/"]["get"]["responses"]["200"]
    jsonschema.validate(body, strict_schema(documented["content"]["application/json"]["schema"],
                                      schema["components"]["schemas"]))


def test_one_sample_per_slot_and_in_time_order(r, make_service):
    make_service("faces", "face")
    slot_start = (time.time() // 5) * 5 - 60
    write_heartbeat(r, "w-a", "face", infer_fps=3.0)
    assert history.fleet_history_record(now=slot_start + 1) == 1
    write_heartbeat(r, "w-a", "face", infer_fps=9.0)
    assert history.fleet_history_record(now=slot_start + 4.9) == 0, "a second beat in the same slot"
    assert history.fleet_history_record(now=slot_start + 5) == 1
    assert history.fleet_history_record(now=slot_start + 3) == 0, "a late beat of an older slot"

    samples = stored(r, "faces")
    assert [sample["t"] for sample in samples] == [slot_start + 1, slot_start + 5]
    assert [sample["infer_fps"] for sample in samples] == [3.0, 9.0], "the slot keeps its first sample"


def test_thirty_minutes_are_kept_and_a_deleted_service_leaves_only_an_expiring_list(r, viewer_api, make_service):
    faces = make_service("faces", "face")
    make_service("people", "people")
    newest = time.time()
    for age in range(365, -1, -1):
        history.fleet_history_record(now=newest - 5 * age)

    samples = stored(r, "faces")
    assert len(samples) == history.MAX_SAMPLES == 360
    assert samples[0]["t"] == round(newest - 5 * 359, 3) and samples[-1]["t"] == round(newest, 3)
    assert 30 * 60 < r.ttl(history.history_key("faces")) <= 35 * 60

    for minutes in (None, 30):
        before = time.time()
        response = viewer_api.get(url("faces"), {"minutes": minutes} if minutes else {})
        after = time.time()
        window = (minutes or 10) * 60
        recent = response.json()["samples"]
        assert recent and recent == samples[-len(recent):], "the newest samples, oldest first"
        assert recent[0]["t"] >= before - window, "none older than the window"
        assert len(recent) == len(samples) or samples[-len(recent) - 1]["t"] < after - window, "all in it"

    faces.delete()
    history.fleet_history_record(now=newest + 5)
    assert stored(r, "faces")[-1]["t"] == round(newest, 3), "a deleted service is no longer sampled"
    assert stored(r, "people")[-1]["t"] == round(newest + 5, 3)
    assert r.ttl(history.history_key("faces")) > 0, "and its list is gone once it expires"


@pytest.mark.parametrize("minutes", ["0", "31", "-1", "ten", "2.5"])
def test_minutes_out_of_bounds_are_a_field_error(r, viewer_api, make_service, minutes):
    make_service("faces", "face")
    response = viewer_api.get(url("faces"), {"minutes": minutes})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"minutes"}


def test_bounds_are_inclusive(r, viewer_api, make_service):
    make_service("faces", "face")
    for minutes in (1, 30):
        response = viewer_api.get(url("faces"), {"minutes": minutes})
        assert response.status_code == 200 and response.json()["samples"] == []


def test_an_unknown_service_is_a_404_and_reads_need_a_login(r, viewer_api, anonymous_api, make_service, settings):
    make_service("faces", "face")
    missing = viewer_api.get(url("nope"))
    assert missing.status_code == 404 and missing.json()["error"]["status"] == 404
    assert anonymous_api.get(url("faces")).status_code in (401, 403)
    settings.EI_ANONYMOUS_READ = True
    assert anonymous_api.get(url("faces")).status_code == 200


def test_redis_down_is_a_503_and_a_skipped_beat(r, viewer_api, make_service, settings, redis_url, caplog):
    make_service("faces", "face")
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = viewer_api.get(url("faces"))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "redis_unavailable"
    with caplog.at_level(logging.WARNING, logger="controlplane.telemetry.tasks"):
        sample_fleet()
    assert "redis unavailable" in caplog.text

    settings.REDIS_URL = redis_url
    sample_fleet()
    assert len(viewer_api.get(url("faces")).json()["samples"]) == 1


@pytest.mark.django_db(transaction=True)
def test_celery_beat_samples_the_fleet_every_interval(r, redis_url, api, make_service, tmp_path):
    """Needs the ``sample-fleet`` entry in CELERY_BEAT_SCHEDULE: a worker with embedded beat, on the test
    Redis and database, fills the history while a worker heartbeat is kept alive."""
    make_service("faces", "face")
    worker = Proc(
        [sys.executable, "-m", "celery", "-A", "controlplane", "worker", "--beat", "--schedule",
         str(tmp_path / "beat-schedule"), "--pool", "solo", "--concurrency", "1", "-l", "info"],
        tmp_path / "celery.log",
        env={"REDIS_URL": redis_url, "DATABASE_URL": database_url(), "EI_DATA_DIR": os.environ["EI_DATA_DIR"],
             "CELERY_TASK_ALWAYS_EAGER": "false"},
    )

    def two_samples():
        write_heartbeat(r, "w-a", "face", infer_fps=6.0, scale_ratio=0.5)
        samples = api.get(url("faces")).json()["samples"]
        return samples if len(samples) >= 2 or worker.popen.poll() is not None else None

    try:
        samples = wait_until(two_samples, 120, "two beats of sample-fleet (in CELERY_BEAT_SCHEDULE?)", interval=0.5)
        assert worker.popen.poll() is None, worker.output()
    finally:
        try:
            assert worker.terminate(60) == 0, "a warm shutdown on SIGTERM"
        except subprocess.TimeoutExpired:
            worker.popen.kill()
    assert "controlplane.telemetry.tasks.sample_fleet" in worker.output()
    assert figures(samples[-1]) == {"replicas": 1, "infer_fps": 6.0, "drop_fps": 0.0, "scale_ratio": 0.5}
