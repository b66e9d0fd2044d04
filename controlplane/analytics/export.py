"""The history as a download: every event a filter selects, as CSV or NDJSON, in constant memory.

Rows come from the database 2000 at a time (``values_list``, no model instances) and leave as they are
encoded; the body is never built. Under ASGI (Daphne) the rows are an async iterator, since Django would
first read a synchronous one to its end to serve it asynchronously.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from itertools import islice

from asgiref.sync import sync_to_async
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework import serializers

from controlplane.analytics.serializers import EventSerializer, Links

CHUNK_ROWS = 2000
# What the API's rows hold, in its order; the last two are made from the stored values.
COLUMNS = EventSerializer.Meta.fields
STORED = ["id", "stream", "queue", "label", "track", "first_seen", "last_seen", "first_seq", "last_seq", "frames",
          "best_score", "best_box", "path", "snapshot"]
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}
_time = serializers.DateTimeField().to_representation  # as the API writes times


def _row_maker(links: Links) -> Callable[[tuple], dict]:
    def row(values: tuple) -> dict:
        stored = dict(zip(STORED, values, strict=True))
        snapshot = stored.pop("snapshot")
        stored["first_seen"], stored["last_seen"] = _time(stored["first_seen"]), _time(stored["last_seen"])
        return {**stored, "snapshot_url": links.snapshot(stored["id"], snapshot), "stream_url": links.stream(stored["stream"])}

    return row


class _Line:
    """csv.writer's file: hands back each line instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def _encoder(fmt: str) -> tuple[list[str], Callable[[dict], str]]:
    """The lines before the rows, and one row's line."""
    if fmt == "ndjson":
        return [], lambda row: json.dumps(row, separators=(",", ":")) + "\n"
    writer = csv.writer(_Line())

    def csv_line(row: dict) -> str:
        return writer.writerow([json.dumps(value) if isinstance(value, list) else value for value in row.values()])

    return [writer.writerow(COLUMNS)], csv_line


def _lines(head: list[str], encode, rows: Iterable[dict]) -> Iterator[str]:
    yield from head
    for row in rows:
        yield encode(row)


def _next_chunk(values: Iterator[tuple]) -> list[tuple]:
    return list(islice(values, CHUNK_ROWS))


async def _alines(head: list[str], encode, values: Iterator[tuple], row) -> AsyncIterator[str]:
    """The lines, each chunk of rows read in the thread of the database's connection. (Not ``aiterator()``:
    on ``values_list`` it runs the query in the event loop's thread, which Django refuses.)"""
    for line in head:
        yield line
    while chunk := await sync_to_async(_next_chunk)(values):
        for stored in chunk:
            yield encode(row(stored))


def export_response(*, events: QuerySet, fmt: str, links: Links, asynchronous: bool) -> StreamingHttpResponse:
    """``events`` (ordered) as a streamed attachment in ``fmt`` ("csv" or "ndjson")."""
    head, encode = _encoder(fmt)
    row = _row_maker(links)
    values = events.values_list(*STORED).iterator(chunk_size=CHUNK_ROWS)  # a generator: nothing read yet
    body = _alines(head, encode, values, row) if asynchronous else _lines(head, encode, map(row, values))
    response = StreamingHttpResponse(body, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="events-{timezone.now():%Y%m%dT%H%M%SZ}.{fmt}"'
    return response
