"""Writes to streams. Each runs in one transaction: effects on the running fleet go in here as
``transaction.on_commit(...)``, so they follow only changes that were saved."""

from __future__ import annotations

from django.db import transaction

from controlplane.core.reconcile import request_reconcile
from controlplane.core.records import save_validated
from controlplane.streams.models import Stream


@transaction.atomic
def stream_create(*, name: str, source_kind: str, queue: str, **fields) -> Stream:
    row = save_validated(Stream(name=name, source_kind=source_kind, queue=queue, **fields))
    request_reconcile()
    return row


@transaction.atomic
def stream_update(*, stream: Stream, **changes) -> Stream:
    row = save_validated(stream, changes)
    request_reconcile()
    return row


@transaction.atomic
def stream_delete(*, stream: Stream) -> None:
    stream.delete()
    request_reconcile()
