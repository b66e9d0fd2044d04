"""Counts per bucket, kept as events are written: each new event adds one to every minute, hour and day
its sighting overlaps, so a month of history is a small query on ``EventCount``. Only events that were
actually inserted are counted (the writer knows which), so counts stay exact across retries."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.db import connection

from controlplane.analytics.models import Bucket, EventCount

STEPS = {Bucket.MINUTE: timedelta(minutes=1), Bucket.HOUR: timedelta(hours=1), Bucket.DAY: timedelta(days=1)}


def bucket_start(moment: datetime, bucket: str) -> datetime:
    if bucket == Bucket.MINUTE:
        return moment.replace(second=0, microsecond=0)
    if bucket == Bucket.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def overlapped(first_seen: datetime, last_seen: datetime, bucket: str):
    """The starts of the ``bucket``s that [first_seen, last_seen] overlaps."""
    start, step = bucket_start(first_seen, bucket), STEPS[bucket]
    while start <= last_seen:
        yield start
        start += step


def add_counts(events) -> None:
    """Add ``events`` (inserted ones only) to the rollup; called inside the writer's transaction."""
    added = Counter()
    for event in events:
        for bucket in STEPS:
            for start in overlapped(event.first_seen, event.last_seen, bucket):
                added[event.stream, event.label, bucket, start] += 1
    if not added:
        return
    q = connection.ops.quote_name
    table, columns = q(EventCount._meta.db_table), ", ".join(map(q, ("stream", "label", "bucket", "start", "count")))
    # The same upsert on SQLite and PostgreSQL: an increment, which bulk_create(update_conflicts) cannot say.
    sql = (f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s) "
           f"ON CONFLICT ({columns.rsplit(', ', 1)[0]}) DO UPDATE SET {q('count')} = {table}.{q('count')} + excluded.{q('count')}")
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(stream, label, bucket, adapt(start), n) for (stream, label, bucket, start), n in added.items()])
