"""/api/events/export/: the filtered rows as CSV or NDJSON, equal to what the list gives, streamed in
chunks under WSGI and ASGI alike, and its ``format`` parameter kept from DRF's content negotiation."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext

from controlplane.analytics import export
from controlplane.analytics.models import Event
from tests.controlplane.analytics.conftest import T0
from tests.controlplane.conftest import client_for
from tests.controlplane.records import field_errors

EXPORT = "/api/events/export/"
pytestmark = pytest.mark.django_db


def listed(api, query: dict) -> list[dict]:
    """Every row the list gives for ``query``, following the cursor."""
    rows, url, params = [], "/api/events/", {**query, "page_size": 500}
    while url:
        body = api.get(url, params).json()
        rows += body["results"]
        url, params = body["next"], None
    return rows


def body_of(response) -> str:
    assert isinstance(response, StreamingHttpResponse) and response.status_code == 200
    return b"".join(response.streaming_content).decode()


def as_csv(rows: list[dict]) -> list[dict]:
    """The rows as a CSV reader gives them back: strings, lists as JSON, null as empty."""
    def text(value):
        return json.dumps(value) if isinstance(value, list) else "" if value is None else str(value)

    return [{key: text(value) for key, value in row.items()} for row in rows]


@pytest.fixture
def history(make_event):
    make_event("street", "person", 0, score=0.9)
    make_event("street", "car", 10, score=0.95)
    make_event("street", "person", 20, score=0.4, snapshot=False)
    make_event("street", "person", 30, score=0.8)
    make_event("yard", "person", 40, score=0.99)


@pytest.mark.parametrize("query", [
    {}, {"stream": "street", "label": "person", "min_score": 0.5},
    {"since": (T0 + timedelta(seconds=12)).isoformat(), "ordering": "first_seen"},
])
def test_ndjson_and_csv_hold_exactly_the_filtered_rows(viewer_api, history, query):
    rows = listed(viewer_api, query)
    assert rows

    ndjson = viewer_api.get(EXPORT, {**query, "format": "ndjson"})
    assert ndjson["Content-Type"] == "application/x-ndjson"
    assert ndjson["Content-Disposition"].startswith('attachment; filename="events-')
    assert ndjson["Content-Disposition"].endswith('.ndjson"')
    assert [json.loads(line) for line in body_of(ndjson).splitlines()] == rows

    spreadsheet = viewer_api.get(EXPORT, {**query, "format": "csv"})
    assert spreadsheet["Content-Type"] == "text/csv; charset=utf-8"
    assert spreadsheet["Content-Disposition"].endswith('.csv"')
    text = body_of(spreadsheet)
    assert text.splitlines()[0] == ",".join(rows[0])  # the header names the API's fields, in its order
    assert list(csv.DictReader(io.StringIO(text))) == as_csv(rows)


def test_csv_is_the_default_and_format_is_not_drfs_content_negotiation(viewer_api, history):
    rows = listed(viewer_api, {})
    default = viewer_api.get(EXPORT)
    assert default["Content-Type"] == "text/csv; charset=utf-8"
    assert list(csv.DictReader(io.StringIO(body_of(default)))) == as_csv(rows)
    # whatever the client accepts, the body is the export
    assert body_of(viewer_api.get(EXPORT, {"format": "ndjson"}, HTTP_ACCEPT="text/html")).count("\n") == len(rows)
    # DRF's own renderer formats are no export format: a 400 in the error shape, not a JSON body or a 404
    for fmt in ("json", "api", "xml"):
        assert field_errors(viewer_api.get(EXPORT, {"format": fmt})) == {"format": [f'"{fmt}" is not a valid choice.']}
    assert "min_score" in field_errors(viewer_api.get(EXPORT, {"format": "csv", "min_score": "x"}))


def test_rows_are_read_in_chunks_only_as_the_body_is_sent(viewer_api, make_event):
    make_event()
    first = Event.objects.get()
    many = 2 * export.CHUNK_ROWS + 500
    Event.objects.bulk_create(
        Event(stream="street", queue="people", label="person", track=first.track + i, first_seen=T0 + timedelta(seconds=i),
              last_seen=T0 + timedelta(seconds=i + 1), first_seq=i, last_seq=i, frames=1, best_score=0.5,
              best_box=[0, 0, 1, 1], path=[])
        for i in range(1, many)
    )
    with CaptureQueriesContext(connection) as queries:
        response = viewer_api.get(EXPORT, {"format": "ndjson", "ordering": "first_seen"})
    assert not [q for q in queries if "analytics_event" in q["sql"]], "nothing read before the body is iterated"
    lines = body_of(response).splitlines()
    assert len(lines) == many
    assert [json.loads(line)["track"] for line in lines] == list(range(first.track, first.track + many))


def test_under_asgi_the_body_is_an_async_iterator(viewer_api, viewer, history):
    """As Daphne serves it; driven from this thread (async_to_sync), so the view and the chunks' reads come
    back to this thread's connection and see the test's rows."""
    async def collect(chunks) -> str:
        return "".join([chunk.decode() async for chunk in chunks])

    token = client_for(viewer)._credentials["HTTP_AUTHORIZATION"]
    response = async_to_sync(AsyncClient().get)(EXPORT, {"format": "ndjson", "stream": "street"},
                                                headers={"Authorization": token})
    assert response.status_code == 200 and response.is_async
    lines = async_to_sync(collect)(response.streaming_content).splitlines()
    assert [json.loads(line) for line in lines] == listed(viewer_api, {"stream": "street"})
