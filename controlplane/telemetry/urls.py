"""API routes of this app: /api/workers/, /api/metrics/ and /api/services/<name>/history/ (the Prometheus
/metrics is django-prometheus')."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from controlplane.core.names import wire_name_in_url
from controlplane.telemetry.views import MetricsView, ServiceHistoryView, WorkerViewSet

router = SimpleRouter()
router.register("workers", WorkerViewSet, basename="worker")
urlpatterns = [
    path("metrics/", MetricsView.as_view(), name="fleet-metrics"),
    re_path(rf"^services/(?P<name>{wire_name_in_url})/history/$", ServiceHistoryView.as_view(), name="service-history"),
    *router.urls,
]
