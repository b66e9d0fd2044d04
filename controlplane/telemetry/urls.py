"""API routes of this app: /api/workers/ and /api/metrics/ (the Prometheus /metrics is django-prometheus')."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from controlplane.telemetry.views import MetricsView, WorkerViewSet

router = SimpleRouter()
router.register("workers", WorkerViewSet, basename="worker")
urlpatterns = [path("metrics/", MetricsView.as_view(), name="fleet-metrics"), *router.urls]
