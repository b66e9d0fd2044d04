"""How long the history is kept: events whose last sighting is older than a cutoff go, with their snapshot
files, and so do the counts of buckets that ended before it.

Rows go a batch at a time, each batch its own short transaction, so the analyzer, which writes events all
the time, never waits behind one long delete. A batch's files are deleted once its rows are: a failure in
between leaves a file without a row (harmless), never a row without its file.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from controlplane.analytics.models import Event, EventCount
from controlplane.analytics.selectors import BUCKET_LENGTHS

BATCH = 5000
log = logging.getLogger(__name__)


def _delete_files(names: list[str]) -> None:
    storage = Event._meta.get_field("snapshot").storage
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            log.warning("could not delete the snapshot %s", name, exc_info=True)


def events_purge(*, older_than: datetime, batch: int = BATCH) -> dict[str, int]:
    """Deletes what is older than ``older_than``; how many events and counts went. Meant to run on its own
    (Celery), not inside a caller's transaction, which would make the batches one."""
    events = 0
    while rows := list(Event.objects.filter(last_seen__lt=older_than).order_by("id").values_list("id", "snapshot")[:batch]):
        with transaction.atomic():
            events += Event.objects.filter(id__in=[event_id for event_id, _ in rows]).delete()[0]
        _delete_files([snapshot for _, snapshot in rows if snapshot])
    counts = 0
    for bucket, length in BUCKET_LENGTHS.items():
        ended = EventCount.objects.filter(bucket=bucket, start__lte=older_than - length).order_by("id")
        while ids := list(ended.values_list("id", flat=True)[:batch]):
            with transaction.atomic():
                counts += EventCount.objects.filter(id__in=ids).delete()[0]
    return {"events": events, "counts": counts}
