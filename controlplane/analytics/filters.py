"""What a request may ask of the history: the query parameters of the event list, its export and the counts,
validated into the dicts the selectors take (bad values are a 400 in the project's error shape)."""

from __future__ import annotations

from datetime import UTC, timedelta

from django.utils import timezone
from rest_framework import serializers

from controlplane.analytics.models import Bucket
from controlplane.analytics.selectors import BUCKET_LENGTHS, ORDERINGS

# A counts series is at most a week of minutes: more is a bigger bucket's job.
MAX_BUCKETS = 7 * 24 * 60
DEFAULT_WINDOW = timedelta(hours=24)


class UTCDateTimeField(serializers.DateTimeField):
    """ISO 8601, in UTC: PostgreSQL refuses offsets beyond its range (e.g. +21:51) that ISO 8601 allows."""

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        try:
            return moment.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before the first representable instant
            self.fail("invalid", format="an ISO 8601 time within the years 1 to 9999")


def _window_in_order(attrs: dict) -> dict:
    if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
        raise serializers.ValidationError({"until": ["Must not be before since."]})
    return attrs


class EventFilters(serializers.Serializer):
    """Which events: all of them, newest first, unless narrowed."""

    stream = serializers.CharField(required=False, max_length=64, help_text="Only this stream's events.")
    label = serializers.CharField(required=False, max_length=64, help_text="Only objects of this label.")
    since = UTCDateTimeField(required=False, help_text="Only events still seen at or after this time (last_seen >= since).")
    until = UTCDateTimeField(required=False, help_text="Only events first seen at or before this time (first_seen <= until).")
    min_score = serializers.FloatField(required=False, min_value=0, max_value=1, help_text="Only events whose best score is at least this.")
    ordering = serializers.ChoiceField(
        choices=list(ORDERINGS), default="-first_seen", help_text="By first sighting: newest first (default) or oldest first.",
    )

    def validate(self, attrs):
        return _window_in_order(attrs)


class ExportFilters(EventFilters):
    # Named `format` for the clients' sake although DRF reads that parameter for content negotiation: the
    # export view keeps DRF out of it (see views.EventExportView).
    format = serializers.ChoiceField(choices=["csv", "ndjson"], default="csv", help_text="csv (a header row) or ndjson (one JSON object a line).")


class CountFilters(serializers.Serializer):
    """Which counts of a stream: a bucket size over a window, by default minutes over the last 24 hours."""

    bucket = serializers.ChoiceField(choices=Bucket.choices, default=Bucket.MINUTE, help_text="The bucket size.")
    since = UTCDateTimeField(required=False, help_text="Buckets that end after this time; default 24 hours before until.")
    until = UTCDateTimeField(required=False, help_text="Buckets that start at or before this time; default now.")
    label = serializers.CharField(required=False, max_length=64, help_text="Only this label's counts.")

    def validate(self, attrs):
        attrs.setdefault("until", timezone.now())
        attrs.setdefault("since", attrs["until"] - DEFAULT_WINDOW)
        attrs = _window_in_order(attrs)
        if (attrs["until"] - attrs["since"]) / BUCKET_LENGTHS[attrs["bucket"]] > MAX_BUCKETS:
            raise serializers.ValidationError(
                {"bucket": [f"More than {MAX_BUCKETS} {attrs['bucket']}s in the window: choose a bigger bucket."]}
            )
        return attrs
