"""Shapes of the history API: an event as the list, its export and the dashboard read it, and a count."""

from __future__ import annotations

from urllib.parse import quote

from django.urls import reverse
from rest_framework import serializers

from controlplane.analytics.models import Event


class Links:
    """The URLs an event row carries, absolute when the request is known: built from two prefixes rather
    than a ``reverse`` per row, since an export writes a million of them."""

    def __init__(self, request=None):
        absolute = request.build_absolute_uri if request is not None else (lambda path: path)
        self._events = absolute(reverse("event-list"))
        self._dashboard = absolute(reverse("dashboard"))

    def snapshot(self, event_id: int, snapshot: str) -> str | None:
        return f"{self._events}{event_id}/snapshot/" if snapshot else None

    def stream(self, stream: str) -> str:
        """The stream's live page on the dashboard (``#/live/<stream>`` of static/dashboard/routes.js)."""
        return f"{self._dashboard}#/live/{quote(stream, safe='')}"


class EventSerializer(serializers.ModelSerializer):
    """One tracked object, from its first sighting to its last."""

    best_box = serializers.ListField(
        child=serializers.FloatField(), min_length=4, max_length=4,
        help_text="[x0, y0, x1, y1] of the best-scoring sighting, 0..1 of the frame.",
    )
    path = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=3, max_length=3),
        help_text="Its box centre over time, simplified: [[seconds from first seen, x, y], ...].",
    )
    snapshot_url = serializers.SerializerMethodField(help_text="The JPEG of its best score; null when none was kept.")
    stream_url = serializers.SerializerMethodField(help_text="The stream's live page on the dashboard.")

    class Meta:
        model = Event
        fields = [
            "id", "stream", "queue", "label", "track", "first_seen", "last_seen", "first_seq", "last_seq", "frames",
            "best_score", "best_box", "path", "snapshot_url", "stream_url",
        ]
        read_only_fields = fields

    def _links(self) -> Links:
        if "links" not in self.context:
            self.context["links"] = Links(self.context.get("request"))
        return self.context["links"]

    def get_snapshot_url(self, event) -> str | None:
        return self._links().snapshot(event.id, event.snapshot.name)

    def get_stream_url(self, event) -> str:
        return self._links().stream(event.stream)


class CountSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="The bucket's start.")
    label = serializers.CharField()
    count = serializers.IntegerField(help_text="Distinct objects of the label whose sightings overlap the bucket.")
