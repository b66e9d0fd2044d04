"""/api/workers/ and /api/metrics/ against a real Redis holding what workers and producers write."""

from __future__ import annotations

import dataclasses

import jsonschema

from controlplane.streams.models import Stream
from inference_worker import protocol
from producers.publisher import Publisher
from harness.processes import free_port, wait_until
from tests.controlplane.conftest import client_for
from tests.controlplane.openapi import strict_schema
from tests.heartbeats import write_heartbeat
from tests.support import frame_bytes, jpeg_of, sample_image

ENDPOINTS = ("/api/workers/", "/api/metrics/")


def by_name(rows: list[dict]) -> dict[str, dict]:
    return {row["name"]: row for row in rows}


def metrics(client) -> dict:
    response = client.get("/api/metrics/")
    assert response.status_code == 200, response.content
    return response.json()


def push_result(client, stream: str, queue: str, latency_ms: float) -> None:
    meta = {"v": 1, "stream": stream, "seq": 0, "queue": queue, "model": "builtin:face", "worker": "w1",
            "ts_capture": 1_700_000_000.0, "ts_done": 1_700_000_000.0 + latency_ms / 1000, "width": 8, "height": 8,
            "detections": []}
    client.xadd(protocol.results_key(stream), protocol.encode_result(meta, b"\xff\xd8"))


def test_services_without_workers_show_an_empty_pool(r, api, make_service):
    make_service("faces", "face")
    make_service("people", "people")

    assert api.get("/api/workers/").json()["results"] == []
    assert by_name(metrics(api)["services"]) == {
        "faces": {"name": "faces", "queue": "face", "replicas": 0, "infer_fps": 0.0, "drop_fps": 0.0,
                  "scale_ratio": 0.0, "latency_p50_ms": None, "latency_p99_ms": None},
        "people": {"name": "people", "queue": "people", "replicas": 0, "infer_fps": 0.0, "drop_fps": 0.0,
                   "scale_ratio": 0.0, "latency_p50_ms": None, "latency_p99_ms": None},
    }


def test_pool_figures_add_up_over_the_heartbeats(r, viewer_api, make_service):
    make_service("faces", "face")
    make_service("people", "people")
    write_heartbeat(r, "w-a", "face", infer_fps=10.5, drop_fps=1.0, scale_ratio=1.2, latency_p50_ms=20.0,
                    latency_p99_ms=80.0, inferred=300)
    write_heartbeat(r, "w-b", "face", infer_fps=4.5, drop_fps=0.5, scale_ratio=0.4, latency_p50_ms=35.0,
                    latency_p99_ms=50.0)
    write_heartbeat(r, "w-c", "vehicles", infer_fps=7.0)

    faces, people = metrics(viewer_api)["services"]
    assert faces == {"name": "faces", "queue": "face", "replicas": 2, "infer_fps": 15.0, "drop_fps": 1.5,
                     "scale_ratio": 0.8, "latency_p50_ms": 35.0, "latency_p99_ms": 80.0}
    assert people["replicas"] == 0 and people["infer_fps"] == 0.0

    listed = viewer_api.get("/api/workers/").json()
    assert listed["count"] == 3
    assert [(w["worker"], w["service"]) for w in listed["results"]] == [("w-a", "faces"), ("w-b", "faces"), ("w-c", None)]
    first = listed["results"][0]
    assert (first["infer_fps"], first["inferred"], first["host"], first["pid"]) == (10.5, 300, "edge-1", 4242)
    assert first["started_at"].endswith("Z") and first["started_at"] < first["updated_at"]

    only_face = viewer_api.get("/api/workers/", {"queue": "face"}).json()["results"]
    assert [w["worker"] for w in only_face] == ["w-a", "w-b"]
    assert viewer_api.get("/api/workers/", {"queue": "nothing-here"}).json()["count"] == 0


def test_a_bad_queue_filter_is_a_field_error(r, viewer_api):
    response = viewer_api.get("/api/workers/", {"queue": "no spaces/please"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"queue"}


def test_stream_figures_from_counters_queues_and_results(r, api, db):
    Stream.objects.create(name="door", source_kind=Stream.SourceKind.EXTERNAL, queue="face")
    frame = frame_bytes("cam", 0, jpeg_of(sample_image("coffee")))
    cam = Publisher(r, "cam", ["q"], max_queue=2)
    evicted = sum(cam.send(frame, None) for _ in range(5))
    Publisher(r, "yard", ["q"], max_queue=3).send(frame_bytes("yard", 0, jpeg_of(sample_image("coffee"))),
                                                  {"stream": "yard", "queues": "q,face", "fps": 12.5})
    r.hset(protocol.stream_stats_key("lot"), mapping={"produced": 10, "inferred": 4, "expired": 2, "rejected": 1})
    r.hset(protocol.stream_stats_key("late"), mapping={"produced": 1, "inferred": 3})
    for latency in [1000.0] * 50 + [20.0, 25.0, 15.0] * 16 + [20.0, 20.0]:  # only the newest 50 count
        push_result(r, "cam", "q", latency)
    r.rpush(protocol.frames_key("q"), b"not a frame")  # garbage is skipped, not a 500
    r.xadd(protocol.results_key("cam"), {"meta": b"{not json", "jpeg": b""})

    streams = by_name(metrics(api)["streams"])
    assert list(streams) == ["cam", "door", "late", "lot", "yard"]
    assert streams["door"] == {
        "name": "door", "queues": ["face"], "input_fps": None, "input_fps_source": None, "produced": 0,
        "inferred": 0, "expired": 0, "rejected": 0, "queued": 0, "overflow": 0, "latency_p50_ms": None,
    }
    cam = streams["cam"]
    assert (cam["produced"], cam["queued"], cam["overflow"]) == (5, 2, evicted) == (5, 2, 3)
    assert cam["queues"] == ["q"] and cam["latency_p50_ms"] == 20.0
    assert (streams["yard"]["queued"], streams["yard"]["overflow"]) == (1, 0)
    assert (streams["yard"]["input_fps"], streams["yard"]["input_fps_source"]) == (12.5, "producer")
    assert streams["yard"]["queues"] == ["face", "q"]
    assert streams["lot"]["overflow"] == 10 - 4 - 2 - 1
    assert streams["late"]["overflow"] == 0, "never below zero"


def test_input_rate_is_estimated_from_counters_without_a_producer_heartbeat(r, api, db):
    Stream.objects.create(name="gate", source_kind=Stream.SourceKind.EXTERNAL, queue="people")
    assert by_name(metrics(api)["streams"])["gate"]["input_fps"] is None, "one reading gives no rate"
    r.hincrby(protocol.stream_stats_key("gate"), "produced", 30)

    gate = wait_until(lambda: (row := by_name(metrics(api)["streams"])["gate"])["input_fps"] is not None and row,
                      10, "a rate estimate")
    assert gate["input_fps_source"] == "counters"
    assert 0 < gate["input_fps"] <= 30, "30 frames over at least the second between two readings"


def test_reads_need_a_login_and_nothing_can_be_written(r, anonymous_api, viewer_api, admin_user):
    admin_api = client_for(admin_user)
    for url in ENDPOINTS:
        assert anonymous_api.get(url).status_code in (401, 403)
        assert viewer_api.get(url).status_code == 200
        assert viewer_api.post(url, {}, format="json").status_code == 403
        for method in (admin_api.post, admin_api.put, admin_api.patch, admin_api.delete):
            response = method(url, {}, format="json")
            assert response.status_code == 405, (url, method)
            assert response.json()["error"]["status"] == 405


def test_redis_down_is_a_503_that_says_so_until_it_is_back(r, viewer_api, settings, redis_url):
    write_heartbeat(r, "w-a", "face")
    assert viewer_api.get("/api/workers/").json()["count"] == 1

    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    for url in ENDPOINTS:
        response = viewer_api.get(url)
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["status"] == 503 and error["code"] == "redis_unavailable"
        assert "Redis is unreachable" in error["message"]

    settings.REDIS_URL = redis_url
    assert viewer_api.get("/api/workers/").json()["count"] == 1


def test_the_schema_documents_the_responses_exactly(r, viewer_api, make_service, db):
    make_service("faces", "face")
    write_heartbeat(r, "w-a", "face", infer_fps=3.0)
    Stream.objects.create(name="porch", source_kind=Stream.SourceKind.EXTERNAL, queue="face")
    push_result(r, "porch", "face", 12.0)
    schema = viewer_api.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]

    for url in ENDPOINTS:
        documented = schema["paths"][url]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        body = viewer_api.get(url).json()
        assert all(body.get(key, True) for key in ("results", "services", "streams")), "something to check"
        jsonschema.validate(body, strict_schema(documented, components))


def test_the_worker_schema_is_the_heartbeat_of_the_protocol_with_its_meanings(viewer_api, db):
    properties = viewer_api.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]["FleetWorker"]["properties"]
    heartbeat = dataclasses.fields(protocol.Heartbeat)
    assert list(properties) == [spec.name for spec in heartbeat] + ["service"]
    json_types = {str: "string", int: "integer", float: "number"}
    for spec in heartbeat:
        documented = properties[spec.name]
        assert documented["description"] == spec.metadata["doc"], spec.name
        if spec.metadata["epoch"]:
            assert (documented["type"], documented["format"]) == ("string", "date-time"), spec.name
        else:
            assert documented["type"] == json_types[protocol.HEARTBEAT_TYPES[spec.name]], spec.name
