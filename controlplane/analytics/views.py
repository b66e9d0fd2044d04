"""The history over HTTP: events (list, one, its snapshot, the export) and a stream's counts. Read-only,
for whoever may read any record (``ModelPermissionsOrReader``, the default); the model downloaders may not."""

from __future__ import annotations

from django.core.handlers.asgi import ASGIRequest
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, viewsets
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.analytics import selectors
from controlplane.analytics.export import export_response
from controlplane.analytics.filters import CountFilters, EventFilters, ExportFilters
from controlplane.analytics.models import Event
from controlplane.analytics.serializers import CountSerializer, EventSerializer, Links
from inference_worker.protocol import NAME_RE

EVENT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The event's id.")


class EventCursor(CursorPagination):
    """Pages that stay put while the analyzer adds events (no offsets), in the order the selector gave:
    first_seen, then id."""

    ordering = selectors.ORDERINGS["-first_seen"]
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_ordering(self, request, queryset, view):
        return tuple(queryset.query.order_by) or self.ordering


class EventViewSet(viewsets.ReadOnlyModelViewSet):
    """Tracked objects, newest first: ``/api/events/?stream=&label=&since=&until=&min_score=``."""

    serializer_class = EventSerializer
    pagination_class = EventCursor
    filter_backends = []  # EventFilters reads the query: one validation for the list and the export

    def get_queryset(self):
        if self.action != "list":
            return selectors.event_list()
        query = EventFilters(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.event_list(filters=query.validated_data)

    @extend_schema(parameters=[EventFilters])
    def list(self, request, *args, **kwargs):
        """Events whose sighting overlaps [since, until], by first sighting; follow ``next`` for more."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        """One event by id."""
        return super().retrieve(request, *args, **kwargs)


class EventSnapshotView(APIView):
    """The JPEG of an event's best score, as the worker received it."""

    renderer_classes = [JSONRenderer]  # for the errors; the picture is a FileResponse

    def perform_content_negotiation(self, request, force=False):
        # The body is the picture whatever the client accepts; errors come back in the JSON error shape.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="events_snapshot",
        parameters=[EVENT_ID],
        responses={(200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="The JPEG.")},
    )
    def get(self, request, pk: str):
        try:
            event = selectors.event_get(event_id=int(pk))
        except (ValueError, Event.DoesNotExist):
            raise exceptions.NotFound(f"No event with id {pk}.") from None
        if not event.snapshot:
            raise exceptions.NotFound(f"Event {pk} has no snapshot.")
        try:
            picture = event.snapshot.storage.open(event.snapshot.name, "rb")
        except FileNotFoundError:
            raise exceptions.NotFound(f"The snapshot of event {pk} is gone from the storage.") from None
        response = FileResponse(picture, content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=86400"  # an event's snapshot never changes
        return response


class EventExportView(APIView):
    """Every event the filters select, as one download."""

    # DRF takes ?format= as the renderer to use (URL_FORMAT_OVERRIDE): "csv" would be a 404, "api" the
    # browsable API. Here it is the export's format, which ExportFilters checks; with JSON the one renderer
    # and negotiation forced, the errors are JSON whatever ?format= or Accept say.
    renderer_classes = [JSONRenderer]

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="events_export",
        parameters=[ExportFilters],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="A header row, then one row an event."),
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description="One event, as the list gives it, a line."),
        },
    )
    def get(self, request):
        """The events of ``/api/events/`` with the same filters, in their order, all of them, streamed as an
        attachment (a million rows are fine)."""
        query = ExportFilters(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = dict(query.validated_data)
        fmt = filters.pop("format")
        return export_response(
            events=selectors.event_list(filters=filters), fmt=fmt, links=Links(request),
            asynchronous=isinstance(request._request, ASGIRequest),
        )


class StreamCountsView(APIView):
    """A stream's distinct objects per bucket and label, from the analyzer's rollups."""

    @extend_schema(
        operation_id="streams_counts",
        parameters=[OpenApiParameter("name", str, OpenApiParameter.PATH, pattern=NAME_RE.pattern,
                                     description="The stream (it may be deleted since)."),
                    CountFilters],
        responses=CountSerializer(many=True),
    )
    def get(self, request, name: str):
        """Counts of the buckets overlapping [since, until] (default: the last 24 hours), oldest first."""
        query = CountFilters(data=request.query_params)
        query.is_valid(raise_exception=True)
        series = selectors.count_series(stream=name, **query.validated_data)
        return Response(CountSerializer(series, many=True).data)

