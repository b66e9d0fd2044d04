"""The stream records API: what a script with a token, a viewer and an anonymous client get.

What every record API shares is checked by ``RecordAPIChecks``; the tests below it are the stream's own."""

from __future__ import annotations

import pytest

from controlplane.streams.models import Stream
from controlplane.streams.selectors import stream_get
from controlplane.streams.actions import stream_create, stream_update
from tests.controlplane.records import field_errors, names

from tests.controlplane.record_api import RecordAPIChecks

pytestmark = pytest.mark.django_db

STREAMS = "/api/streams/"
STREET = {"name": "street", "source_kind": "url", "source": "rtsp://cam.local:554/live", "queue": "people"}


def make(name: str, **fields) -> Stream:
    return stream_create(**{"source_kind": "external", "queue": "face", "name": name, **fields})


class TestStreamsAPI(RecordAPIChecks):
    collection = STREAMS
    record = Stream
    required = {"name", "source_kind", "queue"}
    update = {"target_fps": 5, "enabled": False}
    read_only_defaults = {"status": "pending", "status_message": ""}
    bad_fields = [
        ({"name": "../x"}, "name"),
        ({"name": "a" * 65}, "name"),
        ({"name": ""}, "name"),
        ({"name": ["street"]}, "name"),
        ({"queue": "face queue"}, "queue"),
        ({"source_kind": "webcam"}, "source_kind"),
        ({"source": None}, "source"),
        ({"target_fps": "fast"}, "target_fps"),
        ({"target_fps": 0}, "target_fps"),
        ({"target_fps": 121}, "target_fps"),
        ({"enabled": "maybe"}, "enabled"),
    ]

    @pytest.fixture
    def payload(self) -> dict:
        return dict(STREET)

    @pytest.fixture
    def make(self):
        return make


def test_created_body_and_updates(api):
    created = api.post(STREAMS, STREET, format="json")
    assert created.status_code == 201, created.content
    assert created.json() == {
        **STREET, "extra_queues": [], "target_fps": 15, "enabled": True, "status": "pending", "status_message": "",
        "status_changed": None, "created": created.json()["created"], "updated": created.json()["updated"],
    }

    assert api.get(f"{STREAMS}street/").json()["source"] == STREET["source"]

    replaced = api.put(f"{STREAMS}street/", {**STREET, "source_kind": "camera", "source": "/dev/video2"}, format="json")
    assert replaced.status_code == 200, replaced.content
    patched = api.patch(f"{STREAMS}street/", {"target_fps": 5, "enabled": False}, format="json")
    assert patched.status_code == 200, patched.content
    assert stream_get(name="street").source == "/dev/video2"
    assert (stream_get(name="street").target_fps, stream_get(name="street").enabled) == (5, False)


def test_one_stream_feeds_several_queues(api):
    created = api.post(STREAMS, {**STREET, "extra_queues": ["face", "cars"]}, format="json")
    assert created.status_code == 201, created.content
    assert stream_get(name="street").queues == ["people", "face", "cars"]
    refused = api.patch(f"{STREAMS}street/", {"extra_queues": ["no spaces"]}, format="json")
    assert refused.status_code == 400 and "extra_queues" in refused.json()["error"]["fields"]


def test_an_update_keeps_the_status_written_meanwhile():
    stream = make("door")
    Stream.objects.filter(pk=stream.pk).update(status=Stream.Status.READY)  # the reconciler, in between
    stream_update(stream=stream, target_fps=10)
    assert (stream_get(name="door").status, stream_get(name="door").target_fps) == ("ready", 10)


@pytest.mark.parametrize("kind, source", [
    ("camera", "0"), ("camera", "63"), ("camera", "/dev/video12"),
    ("file", "/videos/street.mp4"),
    ("url", "rtsp://10.0.0.5/stream"), ("url", "rtsps://user:pw@cam:322/a"), ("url", "http://cam/mjpg"),
    ("url", "https://example.com/live.m3u8"),
    ("external", ""),
])
def test_sources_that_fit_their_kind(api, kind, source):
    response = api.post(STREAMS, {**STREET, "source_kind": kind, "source": source}, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("kind, source", [
    ("camera", ""), ("camera", "64"), ("camera", "-1"), ("camera", "/dev/sda"), ("camera", "/dev/video99"),
    ("file", ""), ("file", "   "),
    ("url", "ftp://host/x"), ("url", "rtsp://"), ("url", "http:///path"), ("url", "street.mp4"),
    ("url", "rtsp://host:port/x"),
    ("external", "rtsp://cam/live"),
])
def test_sources_that_do_not_fit_their_kind(api, kind, source):
    response = api.post(STREAMS, {**STREET, "source_kind": kind, "source": source}, format="json")
    assert "source" in field_errors(response)
    assert not Stream.objects.exists()


def test_a_partial_update_is_checked_against_the_stored_fields(api):
    make("gate", source_kind="camera", source="1")
    assert "source" in field_errors(api.patch(f"{STREAMS}gate/", {"source_kind": "url"}, format="json"))
    assert stream_get(name="gate").source_kind == "camera"


def test_filters(api):
    make("a-cam", source_kind="camera", source="0", queue="face")
    make("b-file", source_kind="file", source="/v.mp4", queue="people", enabled=False)
    make("c-ext", queue="people")
    Stream.objects.filter(name="c-ext").update(status=Stream.Status.READY)

    assert names(api.get(STREAMS, {"queue": "people"})) == ["b-file", "c-ext"]
    assert names(api.get(STREAMS, {"enabled": "false"})) == ["b-file"]
    assert names(api.get(STREAMS, {"source_kind": "camera"})) == ["a-cam"]
    assert names(api.get(STREAMS, {"status": "ready"})) == ["c-ext"]
    assert "status" in field_errors(api.get(STREAMS, {"status": "sleeping"}))


def test_legacy_gateway_lists_enabled_streams_with_their_websockets(api, anonymous_api, settings):
    make("street")
    make("door", enabled=False)
    make("lobby.1")
    expected = {
        "streams": ["lobby.1", "street"],
        "websockets": {
            "lobby.1": "ws://testserver/ws/streams/lobby.1/",
            "street": "ws://testserver/ws/streams/street/",
        },
    }
    assert api.get("/api/stream").json() == expected
    assert api.get("/api/stream/").json() == expected
    secure = api.get("/api/stream", secure=True, HTTP_HOST="localhost:8443").json()
    assert secure["websockets"]["street"] == "wss://localhost:8443/ws/streams/street/"

    assert anonymous_api.get("/api/stream").status_code in (401, 403)
    settings.EI_ANONYMOUS_READ = True
    assert anonymous_api.get("/api/stream").json()["streams"] == ["lobby.1", "street"]
