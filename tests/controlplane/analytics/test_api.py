"""/api/events/ (filters, order, cursor pages, one event, its snapshot) and /api/streams/<name>/counts/,
read through the real API as the dashboard and scripts do."""

from __future__ import annotations

from datetime import timedelta

import jsonschema
import pytest
from django.utils import timezone

from controlplane.analytics.models import EventCount
from tests.controlplane.analytics.conftest import T0
from tests.controlplane.conftest import client_for
from tests.controlplane.openapi import strict_schema
from tests.controlplane.records import error, field_errors

EVENTS = "/api/events/"
pytestmark = pytest.mark.django_db


def iso(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def downloader_api(db):
    from django.contrib.auth.models import Group, User

    from controlplane.core.permissions import MODEL_DOWNLOADERS

    user = User.objects.create_user("ei-worker")
    user.groups.add(Group.objects.get_or_create(name=MODEL_DOWNLOADERS)[0])
    return client_for(user)


def test_a_row_has_every_field_as_documented(viewer_api, make_event):
    event = make_event("lobby.cam-1", "car", 30, seconds=2.5, score=0.91)
    bare = make_event("lobby.cam-1", "car", 40, snapshot=False)
    body = viewer_api.get(EVENTS).json()
    assert body["next"] is None and body["previous"] is None
    row, bare_row = body["results"][1], body["results"][0]
    assert row == {
        "id": event.id, "stream": "lobby.cam-1", "queue": "people", "label": "car", "track": event.track,
        "first_seen": "2030-05-01T12:00:30Z", "last_seen": "2030-05-01T12:00:32.500000Z",
        "first_seq": event.first_seq, "last_seq": event.last_seq, "frames": 5,
        "best_score": 0.91, "best_box": [0.1, 0.2, 0.3, 0.5], "path": [[0.0, 0.2, 0.35], [2.5, 0.25, 0.4]],
        "snapshot_url": f"http://testserver/api/events/{event.id}/snapshot/",
        "stream_url": "http://testserver/#/live/lobby.cam-1",
    }
    assert bare_row["id"] == bare.id and bare_row["snapshot_url"] is None
    assert viewer_api.get(f"{EVENTS}{event.id}/").json() == row

    schema = viewer_api.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    for path, answer in (("/api/events/", body), ("/api/events/{id}/", row)):
        documented = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        jsonschema.validate(answer, strict_schema(documented, components))


def test_filters_by_stream_label_score_and_overlap_with_the_window(viewer_api, make_event):
    early = make_event("street", "person", 0, seconds=10, score=0.5)  # 0..10
    late = make_event("street", "car", 100, seconds=10, score=0.9)  # 100..110
    long = make_event("yard", "person", 5, seconds=200, score=0.7)  # 5..205
    assert ids(viewer_api.get(EVENTS, {"stream": "street"})) == [late.id, early.id]
    assert ids(viewer_api.get(EVENTS, {"label": "person"})) == [long.id, early.id]
    assert ids(viewer_api.get(EVENTS, {"stream": "street", "label": "person"})) == [early.id]
    assert ids(viewer_api.get(EVENTS, {"min_score": 0.7})) == [late.id, long.id]
    assert ids(viewer_api.get(EVENTS, {"min_score": 0.91})) == []
    # overlap: last_seen >= since and first_seen <= until, the ends included
    assert ids(viewer_api.get(EVENTS, {"since": iso(10), "until": iso(50)})) == [long.id, early.id]
    assert ids(viewer_api.get(EVENTS, {"since": iso(10.001), "until": iso(50)})) == [long.id]
    assert ids(viewer_api.get(EVENTS, {"since": iso(150)})) == [long.id]
    assert ids(viewer_api.get(EVENTS, {"until": iso(4.9)})) == [early.id]
    assert ids(viewer_api.get(EVENTS, {"until": iso(100)})) == [late.id, long.id, early.id]
    # another offset names the same instant
    assert ids(viewer_api.get(EVENTS, {"since": "2030-05-01T14:02:30+02:00"})) == [long.id]
    assert ids(viewer_api.get(EVENTS, {"stream": "nowhere"})) == []


def test_order_is_by_first_sighting_then_id_either_way(viewer_api, make_event):
    a = make_event(start=10)
    b = make_event(start=0)
    c = make_event(start=10)  # first seen with a: the id decides
    assert ids(viewer_api.get(EVENTS)) == [c.id, a.id, b.id]
    assert ids(viewer_api.get(EVENTS, {"ordering": "-first_seen"})) == [c.id, a.id, b.id]
    assert ids(viewer_api.get(EVENTS, {"ordering": "first_seen"})) == [b.id, a.id, c.id]


@pytest.mark.parametrize("ordering", ["-first_seen", "first_seen"])
def test_the_cursor_walks_every_page_once_with_ties_across_pages(viewer_api, make_event, ordering):
    # 11 events, runs of four first seen at the same instant, so ties straddle the pages of 3
    events = [make_event(label="car" if i % 2 else "person", start=(i // 4) * 60) for i in range(11)]
    make_event(stream="elsewhere")
    expected = ids(viewer_api.get(EVENTS, {"stream": "street", "ordering": ordering, "page_size": 500}))
    assert sorted(expected) == sorted(event.id for event in events)

    seen, pages = [], 0
    url, params = EVENTS, {"stream": "street", "ordering": ordering, "page_size": 3}
    while url:
        body = viewer_api.get(url, params).json()
        assert len(body["results"]) <= 3
        seen += [row["id"] for row in body["results"]]
        url, params, pages = body["next"], None, pages + 1
    assert seen == expected and pages == 4

    last_page = viewer_api.get(EVENTS, {"stream": "street", "ordering": ordering, "page_size": 3})
    back = viewer_api.get(viewer_api.get(last_page.json()["next"]).json()["previous"]).json()
    assert [row["id"] for row in back["results"]] == expected[:3]


@pytest.mark.parametrize("query, field", [
    ({"since": "yesterday"}, "since"),
    ({"until": "2030-13-01T00:00:00Z"}, "until"),
    ({"since": "0001-01-01T00:00:00+05:00"}, "since"),  # before the first instant in UTC
    ({"min_score": "high"}, "min_score"),
    ({"min_score": 1.5}, "min_score"),
    ({"ordering": "track"}, "ordering"),
    ({"since": "2030-05-01T12:00:00Z", "until": "2030-05-01T11:00:00Z"}, "until"),
    ({"label": "x" * 65}, "label"),
])
def test_bad_filters_are_a_400_naming_the_parameter(viewer_api, make_event, query, field):
    make_event()
    assert field in field_errors(viewer_api.get(EVENTS, query))


def test_unknown_events_and_cursors_are_a_404(viewer_api, make_event):
    make_event()
    assert error(viewer_api.get(f"{EVENTS}999999/"), 404)["code"] == "not_found"
    assert error(viewer_api.get(f"{EVENTS}abc/"), 404)["code"] == "not_found"
    assert error(viewer_api.get(EVENTS, {"cursor": "not-a-cursor"}), 404)["code"] == "not_found"


def test_readers_only(anonymous_api, viewer_api, downloader_api, admin_user, settings, make_event):
    event = make_event()
    paths = [EVENTS, f"{EVENTS}{event.id}/", f"{EVENTS}{event.id}/snapshot/", f"{EVENTS}export/?format=ndjson",
             "/api/streams/street/counts/"]
    assert {anonymous_api.get(path).status_code for path in paths} == {401}
    assert {downloader_api.get(path).status_code for path in paths} == {403}, "stream history is not a model file"
    assert {viewer_api.get(path).status_code for path in paths} == {200}
    assert viewer_api.post(EVENTS, {}, format="json").status_code == 403
    admin = client_for(admin_user)
    assert admin.post(EVENTS, {}, format="json").status_code == 405, "nobody writes the history here"
    assert admin.delete(f"{EVENTS}{event.id}/").status_code == 405
    settings.EI_ANONYMOUS_READ = True
    assert {anonymous_api.get(path).status_code for path in paths} == {200}


def test_the_snapshot_is_the_stored_jpeg(viewer_api, make_event, jpeg):
    event = make_event()
    url = viewer_api.get(f"{EVENTS}{event.id}/").json()["snapshot_url"]
    for accept in ("image/jpeg", "application/json", "*/*"):
        response = viewer_api.get(url, HTTP_ACCEPT=accept)
        assert response.status_code == 200, accept
        assert response["Content-Type"] == "image/jpeg"
        assert b"".join(response.streaming_content) == jpeg

    bare = make_event(snapshot=False)
    assert error(viewer_api.get(f"{EVENTS}{bare.id}/snapshot/"), 404)["message"] == f"Event {bare.id} has no snapshot."
    event.snapshot.storage.delete(event.snapshot.name)
    assert error(viewer_api.get(url), 404)["code"] == "not_found"
    assert error(viewer_api.get(f"{EVENTS}999999/snapshot/"), 404)["code"] == "not_found"


def counts_url(stream: str = "street") -> str:
    return f"/api/streams/{stream}/counts/"


def make_counts(bucket: str, starts, label="person", stream="street", base=T0, step=timedelta(minutes=1)):
    for i in starts:
        EventCount.objects.create(stream=stream, label=label, bucket=bucket, start=base + i * step, count=abs(i) + 1)


def test_counts_of_the_buckets_that_overlap_the_window(viewer_api):
    make_counts("minute", range(5))
    make_counts("minute", range(2), label="car")
    make_counts("minute", range(5), stream="yard")
    make_counts("hour", range(3), step=timedelta(hours=1))
    window = {"since": iso(60.5), "until": iso(180)}  # inside minute 1, to the start of minute 3
    assert viewer_api.get(counts_url(), {**window, "bucket": "minute"}).json() == [
        {"start": "2030-05-01T12:01:00Z", "label": "car", "count": 2},
        {"start": "2030-05-01T12:01:00Z", "label": "person", "count": 2},
        {"start": "2030-05-01T12:02:00Z", "label": "person", "count": 3},
        {"start": "2030-05-01T12:03:00Z", "label": "person", "count": 4},
    ]
    assert [row["count"] for row in viewer_api.get(counts_url(), {**window, "label": "car"}).json()] == [2]
    hours = viewer_api.get(counts_url(), {"since": iso(3599), "until": iso(7200), "bucket": "hour"}).json()
    assert [(row["start"], row["count"]) for row in hours] == [("2030-05-01T12:00:00Z", 1),
                                                               ("2030-05-01T13:00:00Z", 2),
                                                               ("2030-05-01T14:00:00Z", 3)]
    assert viewer_api.get(counts_url("gone.cam"), window).json() == [], "a stream's history outlives it"


def test_counts_default_to_minutes_over_the_last_24_hours(viewer_api):
    now = timezone.now().replace(second=0, microsecond=0)
    make_counts("minute", [-24 * 60 - 1, -60, 0], base=now)
    make_counts("hour", [0], base=now.replace(minute=0), step=timedelta(hours=1))
    body = viewer_api.get(counts_url()).json()
    assert [row["start"] for row in body] == [
        (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z"), now.isoformat().replace("+00:00", "Z"),
    ]


@pytest.mark.parametrize("query, field", [
    ({"bucket": "week"}, "bucket"),
    ({"since": "2030-01-01T00:00:00Z", "until": "2030-03-01T00:00:00Z"}, "bucket"),  # too many minutes
    ({"since": "2030-05-02T00:00:00Z", "until": "2030-05-01T00:00:00Z"}, "until"),
    ({"since": "soon"}, "since"),
])
def test_bad_count_queries_are_a_400(viewer_api, query, field):
    assert field in field_errors(viewer_api.get(counts_url(), query))


def test_counts_sit_beside_the_streams_routes(api, viewer_api):
    from controlplane.streams.models import Stream

    Stream.objects.create(name="lobby.cam-1", source_kind="external", queue="people")
    assert api.get("/api/streams/lobby.cam-1/").json()["name"] == "lobby.cam-1"
    assert viewer_api.get(counts_url("lobby.cam-1")).json() == []
    assert [row["name"] for row in api.get("/api/streams/").json()["results"]] == ["lobby.cam-1"]
    assert api.delete("/api/streams/lobby.cam-1/").status_code == 204


def test_the_schema_lists_the_history(viewer_api):
    paths = viewer_api.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert {"/api/events/", "/api/events/{id}/", "/api/events/{id}/snapshot/", "/api/events/export/",
            "/api/streams/{name}/counts/"} <= set(paths)
    assert set(paths["/api/events/"]) == {"get"}
    assert list(paths["/api/events/{id}/snapshot/"]["get"]["responses"]["200"]["content"]) == ["image/jpeg"]
    export = paths["/api/events/export/"]["get"]
    assert set(export["responses"]["200"]["content"]) == {"text/csv", "application/x-ndjson"}
    assert {p["name"] for p in export["parameters"]} == {"format", "stream", "label", "since", "until", "min_score", "ordering"}
    counts = paths["/api/streams/{name}/counts/"]["get"]
    assert {p["name"] for p in counts["parameters"]} == {"name", "bucket", "since", "until", "label"}
