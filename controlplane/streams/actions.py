"""Writes to streams: each in one transaction, asking for a reconcile once it commits."""

from __future__ import annotations

from controlplane.core.records import RecordWrites, create_row, delete_row, update_row
from controlplane.streams.models import Stream


def stream_create(*, name: str, source_kind: str, queue: str, **fields) -> Stream:
    return create_row(Stream, name=name, source_kind=source_kind, queue=queue, **fields)


def stream_update(*, stream: Stream, **changes) -> Stream:
    return update_row(stream, **changes)


def stream_delete(*, stream: Stream) -> None:
    delete_row(stream)


STREAM_WRITES = RecordWrites("stream", stream_create, stream_update, stream_delete)
