"""Reads of streams."""

from __future__ import annotations

from django.db.models import QuerySet

from controlplane.streams.models import Stream


def stream_list(*, filters: dict | None = None) -> QuerySet[Stream]:
    """Streams by name; ``filters`` are field lookups, e.g. ``{"enabled": True, "queue": "face"}``."""
    return Stream.objects.filter(**(filters or {}))


def stream_get(*, name: str) -> Stream:
    """The stream called ``name``; raises ``Stream.DoesNotExist``."""
    return Stream.objects.get(name=name)
