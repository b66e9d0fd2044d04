"""Retention: events whose last sighting is older than the cutoff go with their snapshot files, in batches,
and so do the counts of buckets that ended before it; the hourly Celery task keeps EI_EVENT_RETENTION_DAYS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from controlplane.analytics.models import Event, EventCount
from controlplane.analytics.retention import events_purge
from controlplane.analytics.tasks import purge_old_events
from tests.controlplane.analytics.conftest import T0

pytestmark = pytest.mark.django_db


def stored(event: Event) -> bool:
    return event.snapshot.storage.exists(event.snapshot.name)


def test_old_events_go_with_their_snapshots_a_batch_a_transaction(make_event):
    cutoff = T0 + timedelta(seconds=100)
    old = [make_event(start=i * 10, seconds=5) for i in range(5)]  # last seen at 5..45 s
    old.append(make_event(start=60, seconds=5, snapshot=False))
    spanning = make_event(start=90, seconds=20)  # first seen before the cutoff, last seen after it
    new = make_event(start=200)
    assert all(stored(event) for event in old if event.snapshot)

    with CaptureQueriesContext(connection) as queries:
        assert events_purge(older_than=cutoff, batch=4) == {"events": 6, "counts": 0}
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE") and "analytics_event" in q["sql"]]
    assert len(deletes) == 2, "six events in batches of four"
    assert sorted(Event.objects.values_list("id", flat=True)) == [spanning.id, new.id]
    assert not any(stored(event) for event in old if event.snapshot)
    assert stored(spanning) and stored(new)
    assert events_purge(older_than=cutoff) == {"events": 0, "counts": 0}


def test_counts_go_once_their_bucket_has_ended_before_the_cutoff(db):
    cutoff = T0 + timedelta(minutes=90)  # 13:30
    for bucket, starts in {
        "minute": [T0 + timedelta(minutes=m) for m in (0, 88, 89, 90)],
        "hour": [T0, T0 + timedelta(hours=1)],  # 12:00 ended before 13:30, 13:00 has not
        "day": [T0.replace(hour=0) - timedelta(days=1), T0.replace(hour=0)],
    }.items():
        EventCount.objects.bulk_create(
            EventCount(stream="street", label="person", bucket=bucket, start=start, count=1) for start in starts
        )
    assert events_purge(older_than=cutoff, batch=1) == {"events": 0, "counts": 5}
    left = {(row.bucket, row.start) for row in EventCount.objects.all()}  # 13:29's minute ended at the cutoff
    assert left == {("minute", T0 + timedelta(minutes=90)), ("hour", T0 + timedelta(hours=1)),
                    ("day", T0.replace(hour=0))}


def test_the_hourly_task_keeps_the_configured_days(settings, make_event):
    settings.EI_EVENT_RETENTION_DAYS = 7
    now = timezone.now()
    gone = make_event(start=(now - T0).total_seconds() - 8 * 86400)
    kept = make_event(start=(now - T0).total_seconds() - 6 * 86400)
    assert purge_old_events.apply().get() == {"events": 1, "counts": 0}
    assert list(Event.objects.values_list("id", flat=True)) == [kept.id]
    assert not stored(gone)

    entry = django_settings.CELERY_BEAT_SCHEDULE["purge-old-events"]
    assert entry["task"] == purge_old_events.name and entry["schedule"] == 3600 and entry["options"]["expires"] <= 3600
