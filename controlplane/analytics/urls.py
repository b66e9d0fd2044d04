"""API routes of the history: /api/events/ (with its export and snapshots) and /api/streams/<name>/counts/,
which sits beside the streams app's /api/streams/<name>/ (that router has no route below a stream)."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from controlplane.analytics.views import (
    EventExportView,
    EventSnapshotView,
    EventViewSet,
    StreamCountsView,
)
from controlplane.core.names import wire_name_in_url

router = SimpleRouter()
router.register("events", EventViewSet, basename="event")
urlpatterns = [
    path("events/export/", EventExportView.as_view(), name="event-export"),  # before the router's events/<pk>/
    re_path(r"^events/(?P<pk>[^/.]+)/snapshot/$", EventSnapshotView.as_view(), name="event-snapshot"),
    re_path(rf"^streams/(?P<name>{wire_name_in_url})/counts/$", StreamCountsView.as_view(), name="stream-counts"),
    *router.urls,
]
