"""Celery tasks of the history: JSON arguments only."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from controlplane.analytics.retention import events_purge


@shared_task(ignore_result=True)
def purge_old_events() -> dict[str, int]:
    """Periodic (beat, hourly): drop the history older than ``EI_EVENT_RETENTION_DAYS``."""
    return events_purge(older_than=timezone.now() - timedelta(days=settings.EI_EVENT_RETENTION_DAYS))
