"""/api/scaling-events/: every scaling step, newest first, read-only, filterable; also in the admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from controlplane.scaling.actions import scaling_event_record

EVENTS = "/api/scaling-events/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def events():
    now = timezone.now()
    return [
        scaling_event_record(service_name="people", backend="local", from_replicas=1, to_replicas=3, metric="scale_ratio",
                             metric_value=2.4, target_value=1.0, reason="2.40 per replica against a target of 1",
                             time=now - timedelta(minutes=10)),
        scaling_event_record(service_name="face", backend="kubernetes", from_replicas=2, to_replicas=1, metric="cpu",
                             metric_value=20.0, target_value=80.0, reason="recommended size", time=now - timedelta(minutes=5)),
        scaling_event_record(service_name="people", backend="local", from_replicas=3, to_replicas=1, metric="scale_ratio",
                             metric_value=0.1, target_value=1.0, reason="0.10 per replica against a target of 1", time=now),
    ]


def test_lists_newest_first_with_everything_needed_to_explain_a_step(api, events):
    listing = api.get(EVENTS)
    assert listing.status_code == 200
    rows = listing.json()["results"]
    assert [(row["service"], row["from_replicas"], row["to_replicas"]) for row in rows] == [
        ("people", 3, 1), ("face", 2, 1), ("people", 1, 3)]
    assert rows[2] | {"id": 0, "time": ""} == {
        "id": 0, "time": "", "service": "people", "backend": "local", "metric": "scale_ratio", "metric_value": 2.4,
        "target_value": 1.0, "from_replicas": 1, "to_replicas": 3, "reason": "2.40 per replica against a target of 1",
    }


def test_filters_by_service_backend_and_time(api, events):
    def pairs(**query):
        return [(row["service"], row["to_replicas"]) for row in api.get(EVENTS, query).json()["results"]]

    assert pairs(service="people") == [("people", 1), ("people", 3)]
    assert pairs(backend="kubernetes") == [("face", 1)]
    since = (timezone.now() - timedelta(minutes=7)).isoformat()
    assert pairs(since=since) == [("people", 1), ("face", 1)]
    assert api.get(EVENTS, {"since": "yesterday"}).status_code == 400
    assert pairs(since="3337-03-29T04:40:24+21:51") == []  # an offset PostgreSQL would refuse


def test_events_are_facts_not_editable(api, anonymous_api, events):
    assert api.post(EVENTS, {"service": "people", "from_replicas": 1, "to_replicas": 9}, format="json").status_code == 405
    assert api.delete(f"{EVENTS}{events[0].pk}/").status_code == 405
    assert anonymous_api.get(EVENTS).status_code == 401


def test_admin_lists_them_read_only(admin_client, events):
    listing = admin_client.get("/admin/scaling/scalingevent/")
    assert listing.status_code == 200 and b"people" in listing.content
    assert admin_client.get("/admin/scaling/scalingevent/add/").status_code == 403


def test_an_event_keeps_its_service_name_when_the_service_goes(events, people_service):
    from controlplane.inference.actions import inference_service_delete

    event = scaling_event_record(service_name="people", backend="local", from_replicas=1, to_replicas=2)
    assert event.service == people_service
    inference_service_delete(service=people_service)
    event.refresh_from_db()
    assert event.service is None and event.service_name == "people"


@pytest.fixture
def people_service(db):
    from controlplane.registry.models import InferenceModel
    from controlplane.inference.actions import inference_service_create

    return inference_service_create(name="people", queue="people", model=InferenceModel.objects.get(builtin="builtin:people"))
