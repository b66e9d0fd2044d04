"""Reads of the history: events by the filters a request gave, and a stream's counts per bucket."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet

from controlplane.analytics.models import Bucket, Event, EventCount

# Every order ends with the id, so rows first seen at the same instant keep one order across pages.
ORDERINGS = {"-first_seen": ("-first_seen", "-id"), "first_seen": ("first_seen", "id")}
BUCKET_LENGTHS = {Bucket.MINUTE: timedelta(minutes=1), Bucket.HOUR: timedelta(hours=1), Bucket.DAY: timedelta(days=1)}


def event_list(*, filters: dict | None = None) -> QuerySet[Event]:
    """Events matching ``filters`` (what ``filters.EventFilters`` validates: stream, label, since, until,
    min_score, ordering). An event matches a window when its sighting overlaps it."""
    filters = filters or {}
    events = Event.objects.all()
    for field in ("stream", "label"):
        if filters.get(field):
            events = events.filter(**{field: filters[field]})
    if filters.get("since") is not None:
        events = events.filter(last_seen__gte=filters["since"])
    if filters.get("until") is not None:
        events = events.filter(first_seen__lte=filters["until"])
    if filters.get("min_score") is not None:
        events = events.filter(best_score__gte=filters["min_score"])
    return events.order_by(*ORDERINGS[filters.get("ordering", "-first_seen")])


def event_get(*, event_id: int) -> Event:
    """Raises ``Event.DoesNotExist``."""
    return Event.objects.get(pk=event_id)


def count_series(*, stream: str, bucket: str, since: datetime, until: datetime, label: str | None = None) -> QuerySet:
    """``{start, label, count}`` of the buckets that overlap [since, until], oldest first, then by label."""
    counts = EventCount.objects.filter(
        stream=stream, bucket=bucket, start__gt=since - BUCKET_LENGTHS[bucket], start__lte=until,
    )
    if label:
        counts = counts.filter(label=label)
    return counts.order_by("start", "label").values("start", "label", "count")
